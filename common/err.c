#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int set_v(struct sbx_err *err, int code, bool with_errno, const char *fmt, va_list ap)
{
    if (code < 0)
        code = -code;
    if (code == 0)
        code = EINVAL;
    if (!err)
        return -code;
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (with_errno && n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(code));
    return -code;
}

int sbx_err_set(struct sbx_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = set_v(err, code, false, fmt, ap);
    va_end(ap);
    return r;
}

int sbx_err_sys(struct sbx_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = set_v(err, code, true, fmt, ap);
    va_end(ap);
    return r;
}

int sbx_err_wrap(struct sbx_err *err, const char *fmt, ...)
{
    if (!err)
        return -EINVAL;
    if (err->code == 0)
        err->code = EINVAL;
    char prefix[SBX_ERR_MSG_MAX], old[SBX_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return -err->code;
}

void sbx_err_clear(struct sbx_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
