/* libFuzzer target for the seccomp profile file parser: any bytes must give
 * either a profile or an error naming the file and line, never a crash or a
 * leak. A parsed profile is also compiled: whatever the parser accepts,
 * libseccomp must accept too, because its errors carry no line number. The
 * one allowed failure is a program too large for the kernel (E2BIG).
 * Seeds: fuzz/corpus/fuzz_seccomp_profile/. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "executor/seccomp/seccomp.h"
#include "executor/seccomp/seccomp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbx_err err = {0};
    struct sbx_sc_profile p = {0};
    if (sbx_sc_parse("fuzz.profile", (const char *)data, size, &p, &err) == 0) {
        struct sock_filter *filter = NULL;
        unsigned short len = 0;
        int r = sbx_sc_to_bpf(&p, "fuzz.profile", &filter, &len, &err);
        sbx_sc_profile_clear(&p);
        if (r == 0)
            free(filter);
        else if (r != -E2BIG)
            abort(); /* the parser let through what libseccomp refuses */
    } else if (strncmp(err.msg, "seccomp profile fuzz.profile", 28) != 0) {
        abort(); /* every error must name the file */
    }
    return 0;
}
