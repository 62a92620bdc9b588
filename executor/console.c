#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int sbx_console_send(int sock, int *slave, struct sbx_err *err)
{
    *slave = -1;
    /* /dev/pts/ptmx, not /dev/ptmx: sbx's /dev/ptmx is a symlink to it, and
     * the job's devpts is a new instance mounted by the executor. */
    _cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return sbx_err_sys(err, errno, "console: opening /dev/pts/ptmx");
    int unlock = 0, n = -1;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
        return sbx_err_sys(err, errno, "console: unlocking the pty");
    /* The slave through the master, not by its name: no path lookup that
     * anything could redirect. */
    _cleanup_close_ int s = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0)
        return sbx_err_sys(err, errno, "console: opening the pty's slave");
    char name[32];
    int len = snprintf(name, sizeof name, "/dev/pts/%d", n);
    struct iovec iov = {.iov_base = name, .iov_len = (size_t)len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    ssize_t sent;
    while ((sent = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (sent < 0)
        return sbx_err_sys(err, errno, "console: sending the pty master over --console-socket");
    *slave = take_fd(s);
    return 0;
}

int sbx_console_take(int slave, uid_t uid, struct sbx_err *err)
{
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return sbx_err_sys(err, errno, "console: making the pty the controlling terminal");
    if (fchown(slave, uid, (gid_t)-1) < 0)
        return sbx_err_sys(err, errno, "console: giving the pty to uid %u", (unsigned)uid);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            return sbx_err_sys(err, errno, "console: dup2");
    return 0;
}
