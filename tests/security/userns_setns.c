/* Nested user namespaces (root again, with a fresh capability set, over a
 * new namespace: the gate to most unprivileged kernel bugs) and setns into
 * PID 1's namespaces or anything /proc exposes. */
#include "attack.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/sched.h>

int main(void)
{
    int flags[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS,
                   CLONE_NEWIPC, CLONE_NEWCGROUP, CLONE_NEWTIME};
    const char *names[] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        char what[64];
        snprintf(what, sizeof what, "unshare(CLONE_NEW%s)", names[i]);
        pid_t c = fork();
        if (c == 0)
            _exit(unshare(flags[i]) == 0 ? 0 : errno);
        int st;
        waitpid(c, &st, 0);
        errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
        int worked = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        attempt(worked, what, "%s", worked ? "succeeded" : res(-1));
        snprintf(what, sizeof what, "clone(CLONE_NEW%s)", names[i]);
        long r;
        if (flags[i] == CLONE_NEWTIME) {
            /* In clone(2) that bit lies in the exit-signal byte: no namespace. */
            printf("INFO clone(2) cannot ask for a time namespace\n");
            goto clone3;
        }
        r = syscall(SYS_clone, (long)flags[i] | SIGCHLD, 0, 0, 0, 0);
        if (r == 0)
            _exit(0);
        if (r > 0)
            waitpid((pid_t)r, NULL, 0);
        attempt(r > 0, what, "%s", res(r));
    clone3:;
        struct clone_args ca = {.flags = (unsigned long long)flags[i], .exit_signal = SIGCHLD};
        r = syscall(SYS_clone3, &ca, sizeof ca);
        if (r == 0)
            _exit(0);
        if (r > 0)
            waitpid((pid_t)r, NULL, 0);
        snprintf(what, sizeof what, "clone3(CLONE_NEW%s)", names[i]);
        attempt(r > 0, what, "%s", res(r));
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[64], what[96];
        snprintf(path, sizeof path, "/proc/1/ns/%s", names[i]);
        int fd = open(path, O_RDONLY);
        snprintf(what, sizeof what, "setns(%s)", path);
        if (fd < 0) {
            attempt(0, what, "open: %s", res(fd));
            continue;
        }
        int r = setns(fd, 0);
        attempt(r == 0, what, "%s", res(r));
        close(fd);
    }
    /* The parent namespace of our user namespace (NS_GET_PARENT, 0xb702). */
    int self = open("/proc/self/ns/user", O_RDONLY);
    int parent = self >= 0 ? ioctl(self, 0xb702) : -1;
    attempt(parent >= 0, "NS_GET_PARENT of our user namespace", "%s", res(parent));
    return done();
}
