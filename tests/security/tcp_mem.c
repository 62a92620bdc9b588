/* Kernel memory outside the job's memory limit: loopback TCP buffers. Pairs
 * of connected sockets whose receiver never reads hold up to tcp_rmem[2] +
 * tcp_wmem[2] bytes each in the kernel; unless they are charged to the job's
 * memory cgroup, a job under a small --memory holds as much of the host's
 * TCP memory (shared by every socket on the host) as it likes.
 *   tcp_mem CAP_MIB LIMIT_MIB : queues up to CAP_MIB, then compares the
 * growth of the host-wide TCP memory (/proc/net/sockstat "TCP: ... mem",
 * pages) with 4 x LIMIT_MIB. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "attack.h"

static long tcp_pages(void)
{
    char buf[4096];
    int fd = open("/proc/net/sockstat", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strstr(buf, "TCP:");
    p = p ? strstr(p, " mem ") : NULL;
    return p ? atol(p + 5) : -1;
}

int main(int argc, char **argv)
{
    long cap = (argc > 1 ? atol(argv[1]) : 512) << 20;
    long limit = (argc > 2 ? atol(argv[2]) : 32) << 20;
    long before = tcp_pages();
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 128) < 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) < 0) {
        printf("setup: %s\n", strerror(errno));
        return 2;
    }
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    long queued = 0, stuck = 0;
    int pairs = 0;
    while (queued < cap && pairs < 2000 && stuck < 8) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c < 0)
            break;
        if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
            break;
        int s = accept(l, NULL, NULL);
        if (s < 0)
            break;
        pairs++;
        long here = 0;
        /* Until the pair takes no more: a few empty rounds, as the
         * receiver's window opens while the kernel moves the data. */
        for (int idle = 0; idle < 20 && queued < cap;) {
            ssize_t w = send(c, chunk, sizeof chunk, MSG_NOSIGNAL);
            if (w > 0) {
                here += w;
                queued += w;
                idle = 0;
            } else if (w < 0 && errno == EAGAIN) {
                idle++;
                usleep(1000);
            } else {
                break;
            }
        }
        stuck += here < (1 << 16);
    }
    usleep(200000);
    long after = tcp_pages();
    long grown = (after - before) * 4096;
    printf("queued %ld MiB in %d pairs; host TCP memory %ld -> %ld pages (+%ld MiB); limit %ld MiB\n",
           queued >> 20, pairs, before, after, grown >> 20, limit >> 20);
    attempt(before < 0 || after < 0 || grown > 4 * limit, "tcp buffers",
            "the host's TCP memory grew by %ld MiB under a %ld MiB memory limit", grown >> 20,
            limit >> 20);
    return escapes;
}
