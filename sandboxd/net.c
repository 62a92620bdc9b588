#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/cleanup.h"

/* SIOCSIFFLAGS on a socket of the job's own network namespace: one ioctl
 * where rtnetlink through libnl-route took a socket, a dump of lo and a
 * change request (and two shared libraries loaded by every launcher). */
int sbx_net_loopback_up(struct sbx_err *err)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sbx_err_sys(err, errno, "network: socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return sbx_err_sys(err, errno == ENODEV ? ENODEV : errno, "network: finding lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return sbx_err_sys(err, errno, "network: bringing lo up");
    return 0;
}
