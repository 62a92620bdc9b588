/* Exhausting the host's disk: write until something stops us, to argv[1]
 * (a path in the job: the rootfs, /tmp or a bind mount), at most argv[2]
 * MiB. The rootfs and /tmp are tmpfs of bounded size (ENOSPC); a --bind-rw
 * directory is the operator's disk and only RLIMIT_FSIZE (--output-limit)
 * bounds one file there. Prints how much was written and why it stopped. */
#include "attack.h"

#include <fcntl.h>
#include <signal.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    signal(SIGXFSZ, SIG_IGN); /* see EFBIG instead of dying */
    long max = atol(argv[2]);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        attempt(0, "create", "%s", res(fd));
        return done();
    }
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    long mib = 0;
    ssize_t n = 0;
    while (mib < max && (n = write(fd, buf, sizeof buf)) == (ssize_t)sizeof buf)
        mib++;
    char what[300];
    snprintf(what, sizeof what, "fill %s with %ld MiB", argv[1], max);
    attempt(mib >= max, what, "stopped after %ld MiB: %s", mib, n < 0 ? res(n) : "short write");
    close(fd);
    return done();
}
