#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static int set_v(struct sbx_err *err, int code,
                                                     bool with_errno, const char *fmt, va_list ap)
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
    /* Truncation is fine: the message is for people and stays bounded. */
    size_t n = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->msg, prefix, n);
    size_t left = sizeof err->msg - n;
    if (left > 2) {
        err->msg[n] = ':';
        err->msg[n + 1] = ' ';
        size_t m = strnlen(old, left - 3);
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = '\0';
    } else {
        err->msg[sizeof err->msg - 1] = '\0';
    }
    return -err->code;
}

void sbx_err_clear(struct sbx_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
