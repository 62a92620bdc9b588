#include "safeprint.h"

#include <stdio.h>

const char *sbx_safe_str(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    if (!size)
        return buf;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char tmp[12];
        int n;
        if (*p < 0x20 || *p == 0x7f)
            n = snprintf(tmp, sizeof tmp, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            n = snprintf(tmp, sizeof tmp, "\\xc2\\x%02x", *++p);
        else if (*p == '\\')
            n = snprintf(tmp, sizeof tmp, "\\\\");
        else
            tmp[0] = (char)*p, tmp[1] = '\0', n = 1;
        if (o + (size_t)n >= size)
            break;
        for (int i = 0; i < n; i++)
            buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}
