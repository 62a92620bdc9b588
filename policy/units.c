/* Sizes and durations. Integer arithmetic throughout: "0.1" must mean
 * exactly 100000000 ns, which no binary floating point can promise. */
#include "units.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a run of decimal digits into *v; -ERANGE when it does not fit. */
static int read_digits(const char **p, uint64_t *v, int *ndigits)
{
    uint64_t acc = 0;
    int n = 0;
    for (; is_digit(**p); (*p)++, n++) {
        unsigned d = (unsigned)(**p - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -ERANGE;
        acc = acc * 10 + d;
    }
    *v = acc;
    *ndigits = n;
    return 0;
}

int sbx_parse_size(const char *s, uint64_t *out)
{
    if (!s || !is_digit(*s))
        return -EINVAL; /* empty, sign, white space, ".5" */
    const char *p = s;
    uint64_t v = 0;
    int n;
    /* Keep parsing after an overflow so that "99999999999999999999x" is
     * reported as malformed, not merely too large. */
    int r = read_digits(&p, &v, &n);
    if (r < 0) {
        while (is_digit(*p))
            p++;
    }
    unsigned shift = 0;
    static const char units[] = "KMGTPE";
    const char *u = *p ? strchr(units, *p) : NULL;
    if (u) {
        shift = 10 * (unsigned)(u - units + 1);
        p++;
        if (p[0] == 'i' && p[1] == 'B')
            p += 2;
        else if (p[0] == 'B')
            p++;
    } else if (p[0] == 'B') {
        p++;
    }
    if (*p)
        return -EINVAL;
    if (r < 0)
        return r;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = v << shift;
    return 0;
}

struct dur_unit {
    const char *name;
    uint64_t ns;
};

static const struct dur_unit dur_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", 60ULL * 1000000000},
    {"h", 3600ULL * 1000000000},
};

int sbx_parse_duration_ns(const char *s, bool allow_negative, int64_t *out_ns)
{
    if (!s)
        return -EINVAL;
    const char *p = s;
    bool neg = false;
    if (allow_negative && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (!is_digit(*p))
        return -EINVAL;
    uint64_t ip = 0;
    int n;
    int range = read_digits(&p, &ip, &n);
    if (range < 0)
        while (is_digit(*p))
            p++;

    /* The fraction as digits; trailing zeros carry no precision. */
    const char *frac = NULL;
    size_t nfrac = 0;
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return -EINVAL;
        frac = p;
        while (is_digit(*p))
            p++;
        nfrac = (size_t)(p - frac);
        while (nfrac > 0 && frac[nfrac - 1] == '0')
            nfrac--;
    }

    uint64_t mult = 1000000000;
    if (*p) {
        const struct dur_unit *u = NULL;
        for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
            if (strcmp(p, dur_units[i].name) == 0)
                u = &dur_units[i];
        if (!u)
            return -EINVAL;
        mult = u->ns;
    }
    if (range < 0)
        return range;

    /* Beyond 18 significant fraction digits no unit here resolves to whole
     * nanoseconds, so such a value could only be rounded: refuse it. */
    if (nfrac > 18)
        return -EINVAL;
    unsigned __int128 f = 0, pow10 = 1;
    for (size_t i = 0; i < nfrac; i++) {
        f = f * 10 + (unsigned)(frac[i] - '0');
        pow10 *= 10;
    }
    unsigned __int128 fns = f * mult;
    if (fns % pow10 != 0)
        return -EINVAL; /* finer than a nanosecond */
    fns /= pow10;

    unsigned __int128 total = (unsigned __int128)ip * mult + fns;
    unsigned __int128 limit = neg ? (unsigned __int128)INT64_MAX + 1 : (unsigned __int128)INT64_MAX;
    if (total > limit)
        return -ERANGE;
    if (neg)
        *out_ns = total == (unsigned __int128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)total;
    else
        *out_ns = (int64_t)total;
    return 0;
}

int sbx_check_config_path(const char *field, const char *p, struct sbx_err *err)
{
    if (p[0] != '/')
        return sbx_err_set(err, EINVAL, "%s: \"%s\" must be an absolute path", field, p);
    if (strlen(p) > 4095)
        return sbx_err_set(err, ENAMETOOLONG, "%s: longer than 4095 bytes", field);
    for (const char *c = p; *c;) {
        while (*c == '/')
            c++;
        size_t n = strcspn(c, "/");
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return sbx_err_set(err, EINVAL, "%s: \"%s\" must not contain \".\" or \"..\"", field,
                               p);
        c += n;
    }
    return 0;
}
