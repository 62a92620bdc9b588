/* Error context: every fallible function returns 0 or a negative errno and,
 * on failure, fills a struct sbx_err with one human line (as libcrun does).
 * The line names the field or the setup step and the reason, so that callers
 * can print it as is. */
#ifndef SBX_COMMON_ERR_H
#define SBX_COMMON_ERR_H

#include <stddef.h>

#define SBX_ERR_MSG_MAX 512

struct sbx_err {
    int code;                    /* positive errno, 0 when no error */
    char msg[SBX_ERR_MSG_MAX];
};

/* Sets the message and returns -code (code is a positive errno; 0 becomes
 * EINVAL), so that `return sbx_err_set(err, EINVAL, ...)` reads naturally.
 * err may be NULL. */
int sbx_err_set(struct sbx_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, appending ": strerror(code)". */
int sbx_err_sys(struct sbx_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: ", keeping the code; returns
 * -code. For adding context while an error travels up. */
int sbx_err_wrap(struct sbx_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void sbx_err_clear(struct sbx_err *err);

#endif
