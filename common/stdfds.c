#include "stdfds.h"

#include <errno.h>
#include <fcntl.h>
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
