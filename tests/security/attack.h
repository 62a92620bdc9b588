/* Shared by the attack programs in tests/security: each tries one class of
 * escape inside a job, prints one line per attempt ("BLOCKED what: how" or
 * "ESCAPED what: how") and exits with the number of attempts that worked,
 * so 0 means every attempt failed. Statically linked: the bundled rootfs
 * has no libc. */
#ifndef SBX_TESTS_SECURITY_ATTACK_H
#define SBX_TESTS_SECURITY_ATTACK_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int escapes;

/* blocked(WORKED, WHAT, FMT...): WORKED is true when the attack succeeded. */
__attribute__((format(printf, 3, 4), unused)) static void attempt(int worked, const char *what,
                                                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %s: ", worked ? "ESCAPED" : "BLOCKED", what);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (worked)
        escapes++;
}

/* The result of a call that returned r (-1 and errno on failure). */
__attribute__((unused)) static const char *res(long r)
{
    static char buf[8][64];
    static int i;
    char *b = buf[i++ % 8];
    if (r < 0)
        snprintf(b, 64, "%s (errno %d)", strerrorname_np(errno) ? strerrorname_np(errno) : "?", errno);
    else
        snprintf(b, 64, "succeeded (%ld)", r);
    return b;
}

/* Opening PATH for writing and writing VAL to it, as one attempt. */
__attribute__((unused)) static void attempt_write(const char *path, const char *val)
{
    char what[256];
    snprintf(what, sizeof what, "write %s", path);
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        attempt(0, what, "open: %s", res(fd));
        return;
    }
    ssize_t n = write(fd, val, strlen(val));
    attempt(n > 0, what, "%s", res(n));
    close(fd);
}

__attribute__((unused)) static int done(void)
{
    printf("# %d escape(s)\n", escapes);
    return escapes > 125 ? 125 : escapes;
}
#endif
