/* `sbx run` flag parsing on arbitrary argument vectors (NUL-separated in the
 * input), then validation of the policy it builds; and the same vector
 * parsed as `sbx session create` and `sbx session run` flags. --policy is
 * skipped: it would read whatever file the fuzzer names, /dev/stdin
 * included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/flags.h"
#include "common/cleanup.h"
#include "policy/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    _cleanup_free_ char *buf = malloc(size + 1);
    _cleanup_free_ char **argv = calloc(size + 2, sizeof *argv);
    if (!buf || !argv)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    for (char *p = buf; p <= buf + size; p += strlen(p) + 1) {
        if (strncmp(p, "--policy", 8) == 0)
            return 0;
        argv[argc++] = p;
    }
    struct sbx_run_opts opts;
    struct sbx_err err = {0};
    if (sbx_run_parse_flags(argc, argv, &opts, &err) == 0 && opts.policy) {
        struct sbx_spec spec;
        if (sbx_policy_validate(opts.policy, "/rootfs", &spec, &err) == 0)
            sbx_spec_free(&spec);
        free(sbx_json_format(&opts.policy->base));
    } else if (err.msg[0] == '\0' && !opts.help) {
        abort();
    }
    sbx_run_opts_free(&opts);
    for (int mode = SBX_FLAGS_SESSION_CREATE; mode <= SBX_FLAGS_SESSION_RUN; mode++) {
        struct sbx_err merr = {0};
        if (sbx_run_parse_flags_mode(argc, argv, (enum sbx_flag_mode)mode, &opts, &merr) == 0)
            free(opts.policy ? sbx_json_format(&opts.policy->base) : NULL);
        else if (merr.msg[0] == '\0')
            abort();
        sbx_run_opts_free(&opts);
    }
    return 0;
}
