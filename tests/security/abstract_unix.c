/* Abstract UNIX sockets live in the network namespace, not the filesystem:
 * a host service listening on one (X11's @/tmp/.X11-unix/X0, containerd's
 * shims, ...) is reachable by name from any process in its namespace.
 * `abstract_unix listen NAME SECONDS` (on the host) listens and prints any
 * connection; `abstract_unix connect NAME...` (in the job) tries each. */
#include "attack.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof a->sun_path - 1)
        n = sizeof a->sun_path - 1;
    memcpy(a->sun_path + 1, name, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "listen") == 0) {
        struct sockaddr_un a;
        socklen_t l = addr(&a, argv[2]);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0 || bind(s, (struct sockaddr *)&a, l) < 0 || listen(s, 8) < 0) {
            perror("listen");
            return 2;
        }
        printf("LISTENING\n");
        fflush(stdout);
        struct pollfd p = {.fd = s, .events = POLLIN};
        int conns = 0;
        while (poll(&p, 1, atoi(argv[3]) * 1000) > 0) {
            int c = accept(s, NULL, NULL);
            if (c >= 0) {
                conns++;
                printf("CONNECTION\n");
                fflush(stdout);
                close(c);
            }
        }
        return conns ? 1 : 0;
    }
    for (int i = 2; i < argc; i++) {
        struct sockaddr_un a;
        socklen_t l = addr(&a, argv[i]);
        int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
        for (int t = 0; t < 3; t++) {
            int s = socket(AF_UNIX, types[t], 0);
            int r = connect(s, (struct sockaddr *)&a, l);
            char what[160];
            snprintf(what, sizeof what, "connect(@%s, type %d)", argv[i], types[t]);
            attempt(r == 0, what, "%s", res(r));
            close(s);
        }
    }
    /* /proc/net/unix lists the abstract sockets of our namespace only. */
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512];
    int host_seen = 0;
    while (f && fgets(line, sizeof line, f))
        for (int i = 2; i < argc; i++)
            host_seen |= strstr(line, argv[i]) != NULL;
    if (f)
        fclose(f);
    attempt(host_seen, "find it in /proc/net/unix", "%s", host_seen ? "listed" : "not listed");
    return done();
}
