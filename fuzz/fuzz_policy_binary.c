/* The wire-format loader on arbitrary bytes; whatever loads must validate or
 * be rejected cleanly, print as JSON, and pack back without trouble. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/json.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    JobPolicy *p;
    struct sbx_err err = {0};
    if (sbx_policy_load_binary(data, size, &p, &err) < 0) {
        if (err.msg[0] == '\0' || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    struct sbx_spec spec;
    if (sbx_policy_validate(p, "/rootfs", &spec, &err) == 0)
        sbx_spec_free(&spec);
    else if (err.msg[0] == '\0' || strchr(err.msg, '\n'))
        abort();
    free(sbx_json_format(&p->base));
    size_t n = protobuf_c_message_get_packed_size(&p->base);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf && protobuf_c_message_pack(&p->base, buf) != n)
        abort();
    free(buf);
    sbx_policy_free(p);
    return 0;
}
