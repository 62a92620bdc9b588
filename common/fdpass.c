#include "fdpass.h"

#include <string.h>

void sbx_cmsg_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t n)
{
    if (!n)
        return;
    memset(ctl, 0, CMSG_SPACE(sizeof(int) * n));
    mh->msg_control = ctl;
    mh->msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}
