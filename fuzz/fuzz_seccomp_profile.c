/* libFuzzer target for the seccomp profile file parser: any bytes must give
 * either a profile or an error naming the file and line, never a crash or a
 * leak. A parsed profile is also compiled, so that whatever the parser lets
 * through is something libseccomp accepts (an error there is fine, a crash
 * is not). Seeds: fuzz/corpus/fuzz_seccomp_profile/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandboxd/seccomp.h"
#include "sandboxd/seccomp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbx_err err = {0};
    struct sbx_sc_profile p = {0};
    if (sbx_sc_parse("fuzz.profile", (const char *)data, size, &p, &err) == 0) {
        struct sock_filter *filter = NULL;
        unsigned short len = 0;
        if (sbx_sc_to_bpf(&p, "fuzz.profile", &filter, &len, &err) == 0)
            free(filter);
        sbx_sc_profile_clear(&p);
    } else if (strncmp(err.msg, "seccomp profile fuzz.profile", 28) != 0) {
        abort(); /* every error must name the file */
    }
    return 0;
}
