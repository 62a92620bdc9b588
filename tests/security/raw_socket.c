/* Raw and packet sockets: forging packets, sniffing, and the AF_PACKET
 * kernel bugs (CVE-2016-8655, CVE-2020-14386). They need CAP_NET_RAW, which
 * the job lacks; AF_VSOCK reaches the hypervisor from any namespace. */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(void)
{
    struct {
        int domain, type, proto;
        const char *name;
    } t[] = {
        {AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), "AF_PACKET SOCK_RAW"},
        {AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL), "AF_PACKET SOCK_DGRAM"},
        {AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET SOCK_RAW IPPROTO_RAW"},
        {AF_INET, SOCK_RAW, IPPROTO_ICMP, "AF_INET SOCK_RAW ICMP"},
        {AF_INET6, SOCK_RAW, IPPROTO_RAW, "AF_INET6 SOCK_RAW"},
        {40 /* AF_VSOCK */, SOCK_STREAM, 0, "AF_VSOCK SOCK_STREAM"},
        {40 /* AF_VSOCK */, SOCK_DGRAM, 0, "AF_VSOCK SOCK_DGRAM"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int s = socket(t[i].domain, t[i].type, t[i].proto);
        char what[96];
        snprintf(what, sizeof what, "socket(%s)", t[i].name);
        attempt(s >= 0, what, "%s", res(s));
        if (s >= 0)
            close(s);
    }
    /* Unprivileged ICMP (ping sockets) depends on net.ipv4.ping_group_range
     * of the job's own network namespace: harmless, reported only. */
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    printf("INFO ping socket: %s\n", res(s));
    return done();
}
