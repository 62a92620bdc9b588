#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

static void nl_sock_freep(struct nl_sock **s)
{
    if (*s)
        nl_socket_free(*s);
}
static void link_putp(struct rtnl_link **l)
{
    if (*l)
        rtnl_link_put(*l);
}

/* Through rtnetlink with libnl-route-3: the library the project standardises
 * on for links, ready for the veth and address work a network mode with
 * real connectivity will need. Statically linked, its cost is one netlink
 * socket, a dump of lo and a change request. */
int sbx_net_loopback_up(struct sbx_err *err)
{
    __attribute__((cleanup(nl_sock_freep))) struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return sbx_err_set(err, ENOMEM, "network: allocating a netlink socket");
    int r = nl_connect(sk, NETLINK_ROUTE);
    if (r < 0)
        return sbx_err_set(err, EIO, "network: netlink: %s", nl_geterror(r));
    __attribute__((cleanup(link_putp))) struct rtnl_link *lo = NULL;
    if ((r = rtnl_link_get_kernel(sk, 0, "lo", &lo)) < 0)
        return sbx_err_set(err, ENODEV, "network: finding lo: %s", nl_geterror(r));
    __attribute__((cleanup(link_putp))) struct rtnl_link *change = rtnl_link_alloc();
    if (!change)
        return sbx_err_set(err, ENOMEM, "network: allocating a link change");
    rtnl_link_set_flags(change, IFF_UP);
    if ((r = rtnl_link_change(sk, lo, change, 0)) < 0)
        return sbx_err_set(err, EIO, "network: bringing lo up: %s", nl_geterror(r));
    return 0;
}

int sbx_net_prepare(bool loopback, struct sbx_err *err)
{
    int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        return sbx_err_sys(err, errno, "network namespace: opening our own");
    if (unshare(CLONE_NEWNET) < 0) {
        int e = errno;
        close(own);
        return sbx_err_sys(err, e, "network namespace: unshare");
    }
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int r = fd < 0 ? sbx_err_sys(err, errno, "network namespace: opening it") : 0;
    if (r == 0 && loopback)
        r = sbx_net_loopback_up(err);
    /* A service left in a job's network namespace would serve from it, a
     * sandbox's PID 1 make its next runs there: neither goes on. (_exit,
     * not abort: the init of a PID namespace ignores a SIGABRT it sends
     * itself, and a sandbox's PID 1 calls this.) */
    if (setns(own, CLONE_NEWNET) < 0)
        _exit(125);
    close(own);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    return fd;
}
