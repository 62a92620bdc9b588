/* Passing fds over a UNIX socket (SCM_RIGHTS). */
#ifndef SBX_COMMON_FDPASS_H
#define SBX_COMMON_FDPASS_H

#include <stddef.h>
#include <sys/socket.h>

/* Attaches n fds to mh as one SCM_RIGHTS control message, in ctl (room for
 * CMSG_SPACE(n * sizeof(int)) bytes, suitably aligned); nothing when n is 0. */
void sbx_cmsg_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t n);

#endif
