/* Sizes and durations on arbitrary strings, with the invariants callers rely
 * on: failures leave the output alone, and a duration that parses unsigned
 * parses the same when signs are allowed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    uint64_t sz = 42;
    int r = sbx_parse_size(s, &sz);
    if (r != 0 && r != -EINVAL && r != -ERANGE)
        abort();
    if (r != 0 && sz != 42)
        abort();
    if (r == 0 && (s[0] < '0' || s[0] > '9'))
        abort();

    int64_t a = 42, b = 42;
    int ra = sbx_parse_duration_ns(s, false, &a);
    int rb = sbx_parse_duration_ns(s, true, &b);
    if (ra != 0 && ra != -EINVAL && ra != -ERANGE)
        abort();
    if (ra != 0 && a != 42)
        abort();
    if (ra == 0 && (a < 0 || rb != 0 || a != b))
        abort();
    free(s);
    return 0;
}
