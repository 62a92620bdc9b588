/* PID 1 of the job is a copy of the launcher: it holds the sync socket to
 * the host's supervisor and ran host code. Tracing it, reading its memory
 * or stealing its fds would put the job's code on the host's side. */
#include "attack.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

int main(void)
{
    long r = ptrace(PTRACE_ATTACH, 1, 0, 0);
    attempt(r == 0, "ptrace(PTRACE_ATTACH, 1)", "%s", res(r));
    r = ptrace(PTRACE_SEIZE, 1, 0, 0);
    attempt(r == 0, "ptrace(PTRACE_SEIZE, 1)", "%s", res(r));
    char buf[64];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    r = process_vm_readv(1, &local, 1, &remote, 1, 0);
    attempt(r > 0, "process_vm_readv(1)", "%s", res(r));
    r = process_vm_writev(1, &local, 1, &remote, 1, 0);
    attempt(r > 0, "process_vm_writev(1)", "%s", res(r));
    const char *files[] = {"/proc/1/mem", "/proc/1/environ", "/proc/1/maps", "/proc/1/fd/",
                           "/proc/1/root/", "/proc/1/syscall", "/proc/1/stack"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char what[64];
        int fd = open(files[i], O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        snprintf(what, sizeof what, "read %s", files[i]);
        /* A directory opens but reads EISDIR: count opening it as a leak. */
        attempt(fd >= 0 && (n > 0 || errno == EISDIR), what, "%s", fd < 0 ? res(fd) : res(n));
        if (fd >= 0)
            close(fd);
    }
    int pfd = (int)syscall(SYS_pidfd_open, 1, 0);
    attempt(0, "pidfd_open(1)", "%s (allowed: it only names PID 1)", res(pfd));
    for (int fd = 0; pfd >= 0 && fd < 16; fd++) {
        long g = syscall(SYS_pidfd_getfd, pfd, fd, 0);
        char what[64];
        snprintf(what, sizeof what, "pidfd_getfd(PID 1, fd %d)", fd);
        if (g >= 0 || errno != EBADF)
            attempt(g >= 0, what, "%s", res(g));
        if (g >= 0)
            close((int)g);
    }
    r = kill(1, SIGKILL);
    attempt(0, "kill(1, SIGKILL)", "%s (signals PID 1 has no handler for are dropped)", res(r));
    return done();
}
