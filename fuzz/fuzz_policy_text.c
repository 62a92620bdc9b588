/* The text loader on arbitrary bytes, then validation and JSON of whatever
 * loads: nothing may crash, leak or read out of bounds. */
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
    if (sbx_policy_load_text((const char *)data, size, &p, &err) < 0) {
        if (err.msg[0] == '\0' || memchr(err.msg, '\n', strlen(err.msg)))
            abort(); /* every error is one non-empty line */
        return 0;
    }
    struct sbx_spec spec;
    if (sbx_policy_validate(p, "/rootfs", &spec, &err) == 0) {
        if (!spec.argv || !spec.argv[0] || !spec.envp || spec.n_layers == 0 || spec.cwd[0] != '/')
            abort();
        sbx_spec_free(&spec);
    } else if (err.msg[0] == '\0' || strchr(err.msg, '\n')) {
        abort();
    }
    char *json = sbx_json_format(&p->base);
    free(json);
    sbx_policy_free(p);
    return 0;
}
