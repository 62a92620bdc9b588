#include "sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdpass.h"

int sbx_msg_send(int sock, const struct sbx_msg *m, const int *fds, size_t nfds)
{
    if (nfds > SBX_MSG_MAX_FDS)
        return -E2BIG;
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SBX_MSG_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    sbx_cmsg_put_fds(&mh, u.buf, fds, nfds);
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof *m ? 0 : -EIO;
}

int sbx_msg_recv(int sock, struct sbx_msg *m, int *fds, size_t *nfds)
{
    size_t cap = nfds ? *nfds : 0;
    if (nfds)
        *nfds = 0;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SBX_MSG_MAX_FDS)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;

    /* Take every fd that arrived, even on a malformed message, so none leaks. */
    size_t got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int tmp[SBX_MSG_MAX_FDS];
        memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
        for (size_t i = 0; i < k; i++) {
            if (got < cap)
                fds[got++] = tmp[i];
            else
                close(tmp[i]);
        }
    }
    if (nfds)
        *nfds = got;
    if (n != (ssize_t)sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        for (size_t i = 0; i < got; i++)
            close(fds[i]);
        if (nfds)
            *nfds = 0;
        return -EBADMSG;
    }
    m->text[SBX_MSG_TEXT - 1] = '\0';
    return 0;
}

void sbx_child_fail(int sock, int code, const char *fmt, ...)
{
    struct sbx_msg m = {.type = SBX_MSG_SETUP_FAILED, .code = code < 0 ? -code : code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    (void)sbx_msg_send(sock, &m, NULL, 0);
    _exit(125);
}
