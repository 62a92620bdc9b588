/* sysprobe OP... : tries each operation inside a job and prints one line
 * "OP: ok" or "OP: ERRNAME" per operation, so tests can assert on what the
 * sandbox allowed. Statically linked: the bundled rootfs has no libc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <arpa/inet.h>

static const char *ename(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    case ESRCH: return "ESRCH";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static int run(const char *op)
{
    errno = 0;
    long r = -1;
    if (!strcmp(op, "keyctl"))
        r = syscall(SYS_add_key, "user", "sbx", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */);
    else if (!strcmp(op, "bpf")) {
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        r = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
    } else if (!strcmp(op, "perf_event_open")) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        r = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    } else if (!strcmp(op, "userfaultfd"))
        r = syscall(SYS_userfaultfd, 0);
    else if (!strcmp(op, "unshare-user"))
        r = unshare(CLONE_NEWUSER);
    else if (!strcmp(op, "unshare-ns"))
        r = unshare(CLONE_NEWNS);
    else if (!strcmp(op, "mount"))
        r = mount("none", "/tmp", "tmpfs", 0, NULL);
    else if (!strcmp(op, "umount-proc"))
        r = umount2("/proc", MNT_DETACH);
    else if (!strcmp(op, "clock_settime")) {
        struct timespec ts = {0};
        clock_gettime(CLOCK_REALTIME, &ts);
        r = clock_settime(CLOCK_REALTIME, &ts);
    } else if (!strcmp(op, "io_uring_setup")) {
        char params[120];
        memset(params, 0, sizeof params);
        r = syscall(425 /* io_uring_setup */, 1, params);
    } else if (!strcmp(op, "ptrace-init"))
        r = ptrace(PTRACE_ATTACH, 1, 0, 0);
    else if (!strcmp(op, "kill-init"))
        r = kill(1, SIGKILL);
    else if (!strcmp(op, "setns")) {
        int fd = open("/proc/self/ns/mnt", O_RDONLY);
        r = fd < 0 ? -1 : setns(fd, 0);
    } else if (!strcmp(op, "tiocsti")) {
        char c = 'x';
        r = ioctl(0, TIOCSTI, &c);
    } else if (!strcmp(op, "tiocsti-hi")) {
        char c = 'x';
        r = syscall(SYS_ioctl, 0, 0xffffffff00000000UL | TIOCSTI, &c);
    } else if (!strcmp(op, "socket-inet"))
        r = socket(AF_INET, SOCK_STREAM, 0);
    else if (!strcmp(op, "socket-raw"))
        r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    else if (!strcmp(op, "socket-packet"))
        r = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    else if (!strcmp(op, "open_by_handle_at"))
        r = syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY);
    else if (!strcmp(op, "mknod"))
        r = mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1));
    else if (!strcmp(op, "chroot"))
        r = chroot("/tmp");
    else if (!strcmp(op, "kexec_load"))
        r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
    else if (!strcmp(op, "init_module"))
        r = syscall(SYS_init_module, NULL, 0, "");
    else if (!strcmp(op, "reboot"))
        r = syscall(SYS_reboot, 0xfee1dead, 672274793, 0x1234567, NULL);
    else if (!strcmp(op, "swapon"))
        r = syscall(SYS_swapon, "/tmp/swap", 0);
    else if (!strcmp(op, "acct"))
        r = syscall(SYS_acct, NULL);
    else if (!strcmp(op, "iopl"))
        r = syscall(SYS_iopl, 3);
    else if (!strcmp(op, "sethostname"))
        r = sethostname("x", 1);
    else if (!strcmp(op, "setuid0"))
        r = setuid(0);
    else if (!strcmp(op, "getpid"))
        r = getpid() > 0 ? 0 : -1;
    else if (!strcmp(op, "write"))
        r = write(1, "", 0);
    else if (!strcmp(op, "fork")) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        r = p < 0 ? -1 : waitpid(p, NULL, 0) > 0 ? 0 : -1;
    } else {
        printf("%s: unknown-op\n", op);
        return 2;
    }
    if (r < 0)
        printf("%s: %s\n", op, ename(errno));
    else
        printf("%s: ok\n", op);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= run(argv[i]);
    return rc;
}
