#include "stdfds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int sbx_ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The lowest free number is fd itself: 0-2 below it are open. */
        int n = open("/dev/null", O_RDWR);
        if (n < 0)
            return -errno;
        if (n != fd) {
            close(n);
            return -EBADF;
        }
    }
    return 0;
}

int sbx_stdio_fd_check(int fd, const char **what)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st) < 0)
        return -errno;
    *what = NULL;
    if (fl & O_PATH)
        *what = "an O_PATH fd";
    else if (S_ISDIR(st.st_mode))
        *what = "a directory";
    else if (S_ISBLK(st.st_mode))
        *what = "a block device";
    else if (S_ISCHR(st.st_mode)) {
        unsigned mi = minor(st.st_rdev);
        bool mem = major(st.st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
        if (!mem && !isatty(fd))
            *what = "a character device other than a tty or /dev/null";
    } else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
        *what = "not a file, pipe or socket";
    return *what ? -EINVAL : 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

void sbx_close_all_but(int *keep, int n)
{
    qsort(keep, (size_t)n, sizeof keep[0], cmp_int);
    unsigned next = 0;
    for (int i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < next)
            continue;
        if ((unsigned)keep[i] > next)
            syscall(SYS_close_range, next, (unsigned)keep[i] - 1, 0U);
        next = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, next, ~0U, 0U);
}
