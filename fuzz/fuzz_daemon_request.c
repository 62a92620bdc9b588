/* libFuzzer target: sandboxd's request path as the daemon runs it on a
 * frame's bytes, decoding (sbx_request_decode) then checking every field
 * (sbx_request_check, which fills caps and runs sbx_policy_validate), for
 * an ordinary client and for an administrator, under a configuration with
 * caps and shared paths so that every branch is reachable. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandboxd/daemon_proto.h"

static const char config[] =
    "max_concurrent: 2\n"
    "queue_length: 4\n"
    "allowed_uids: 1000\n"
    "client_caps { memory: \"256M\" pids: 64 cpus: 1.5 cpu_time: \"10s\" wall_time: \"20s\" "
    "output: \"1M\" max_jobs: 4 }\n"
    "shared_paths: \"/srv/data\"\n"
    "shared_paths: \"/usr\"\n"
    "default_rootfs: \"/usr/share/sbx/rootfs\"\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sbx_dconfig cfg;
    static bool loaded;
    if (!loaded) {
        struct sbx_err err = {0};
        if (sbx_dconfig_parse(config, strlen(config), &cfg, &err) < 0)
            abort();
        loaded = true;
    }
    /* The input is a frame's body: the daemon refuses a length over
     * max_request_bytes before reading the body. */
    if (size > cfg.max_request)
        return 0;
    for (int admin = 0; admin < 2; admin++) {
        struct sbx_err err = {0};
        Request *req = NULL;
        if (sbx_request_decode(data, size, &req, &err) < 0)
            return 0;
        struct sbx_req_ctx ctx = {.cfg = &cfg, .admin = admin};
        struct sbx_job_req jr;
        Sbx__V1__Error__Code code;
        if (sbx_request_check(req, &ctx, &jr, &code, &err) == 0) {
            (void)sbx_request_op_name(req);
            sbx_job_req_free(&jr);
        } else if (!err.msg[0]) {
            abort(); /* every refusal must say why */
        }
        sbx_request_free(req);
    }
    return 0;
}
