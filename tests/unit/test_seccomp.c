/* Seccomp profiles on the real kernel (runs as root): each test forks a child
 * that sets no_new_privs, installs a compiled profile, hands the listener to
 * the parent over a socketpair (SCM_RIGHTS, as the launcher does) and tries
 * system calls. A child reports a failed check as one line on the socket and
 * exits 1; a call the filter "kills" blocks in USER_NOTIF, and the parent
 * reads its name with sbx_seccomp_notif_read and kills the child. */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "executor/seccomp/seccomp.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* ------------------------------------------------------------ harness */

static int child_sock = -1; /* the child's end, for reports */

/* No stdio in the child: under strict only a few calls are allowed. */
static void child_report(const char *msg)
{
    ssize_t n = write(child_sock, msg, strlen(msg));
    (void)n;
}

static void child_fail(int line, const char *expr, long got, int err)
{
    char buf[256];
    snprintf(buf, sizeof buf, "line %d: %s (returned %ld, errno %d)", line, expr, got, err);
    child_report(buf);
    _exit(1);
}

/* CHECK_ERR(call, E): the call fails with errno E. CHECK_OK: it succeeds. */
#define CHECK_ERR(call, e)                                       \
    do {                                                         \
        errno = 0;                                               \
        long r_ = (long)(call);                                  \
        if (!(r_ == -1 && errno == (e)))                         \
            child_fail(__LINE__, #call " fails with " #e, r_, errno); \
    } while (0)
#define CHECK_OK(call)                                           \
    do {                                                         \
        errno = 0;                                               \
        long r_ = (long)(call);                                  \
        if (r_ < 0)                                              \
            child_fail(__LINE__, #call " succeeds", r_, errno);  \
    } while (0)

/* The listener is created after the filter is in place, when the child may
 * only read and write: it writes the fd's number, the parent takes a copy
 * with pidfd_getfd, and the child waits for the ack (as sbx's PID 1 keeps a
 * copy through a shared fd table, so no profile must allow sendmsg). */
static void send_fd(int sock, int fd)
{
    char ack;
    if (write(sock, &fd, sizeof fd) != (ssize_t)sizeof fd || read(sock, &ack, 1) != 1)
        _exit(3);
}

static int recv_fd(int sock, pid_t pid)
{
    int n;
    if (read(sock, &n, sizeof n) != (ssize_t)sizeof n)
        return -1;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return -1;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
    close(pidfd);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    char ack = 'A';
    if (write(sock, &ack, 1) != 1) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

struct outcome {
    bool exited;
    int status;         /* exit code, or signal */
    char notified[128]; /* name of the call the filter stopped, or "" */
    char report[512];   /* what the child said */
};

/* Runs body(arg) in a child under profile s; body returning means success. */
static void run_child(const struct sbx_seccomp *s, void (*body)(long), long arg, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        child_sock = sv[1];
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(4);
        int listener = -1;
        int r = sbx_seccomp_install(s, &listener);
        if (r < 0) {
            child_fail(__LINE__, "sbx_seccomp_install", r, -r);
        }
        if (listener >= 0) {
            send_fd(child_sock, listener);
            close(listener);
        }
        body(arg);
        _exit(0);
    }
    close(sv[1]);
    int listener = s && s->wants_listener ? recv_fd(sv[0], pid) : -1;
    if (s && s->wants_listener)
        assert_true(listener >= 0);

    /* Wait for a notification or the child's end, whichever comes first.
     * Once the child is gone the listener polls as POLLHUP at once, so the
     * 10 s limit is kept in real time, not in loop turns. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            o->exited = WIFEXITED(status);
            o->status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
            pid = -1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 10)
            break;
        struct pollfd pfd = {.fd = listener, .events = POLLIN};
        if (listener >= 0 && poll(&pfd, 1, 50) == 1 && (pfd.revents & POLLIN)) {
            int r = sbx_seccomp_notif_read(listener, o->notified, sizeof o->notified);
            assert_int_equal(r, 0);
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            o->exited = false;
            o->status = SIGKILL;
            pid = -1;
            break;
        }
        usleep(10 * 1000);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("child hung");
    }
    ssize_t n = read(sv[0], o->report, sizeof o->report - 1);
    (void)n;
    if (listener >= 0)
        close(listener);
    close(sv[0]);
}

static struct sbx_seccomp *compile_ok(const char *profile)
{
    struct sbx_err err = {0};
    struct sbx_seccomp *s = NULL;
    int r = sbx_seccomp_compile(profile, &s, &err);
    if (r != 0)
        fail_msg("compile %s: %s", profile, err.msg);
    assert_non_null(s);
    return s;
}

static void expect_success(const struct outcome *o)
{
    if (!o->exited || o->status != 0)
        fail_msg("child: exited=%d status=%d notified=\"%s\" report=\"%s\"", o->exited, o->status,
                 o->notified, o->report);
}

static void expect_notified(const struct outcome *o, const char *name)
{
    if (strcmp(o->notified, name) != 0)
        fail_msg("expected a notification for \"%s\", got \"%s\" (exited=%d status=%d report=\"%s\")",
                 name, o->notified, o->exited, o->status, o->report);
}

/* ------------------------------------------------------------ compile */

static void test_compile_builtins(void **state)
{
    (void)state;
    struct sbx_err err = {0};
    struct sbx_seccomp *s = (void *)1;
    assert_int_equal(sbx_seccomp_compile("none", &s, &err), 0);
    assert_null(s);

    const char *names[] = {"default", "strict"};
    for (size_t i = 0; i < 2; i++) {
        s = compile_ok(names[i]);
        assert_true(s->prog.len > 10);
        assert_true(s->wants_listener);
        sbx_seccomp_free(s);
    }

    assert_int_equal(sbx_seccomp_compile("/nonexistent/x.profile", &s, &err), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(err.msg, "/nonexistent/x.profile"));
}

/* ------------------------------------------------------------ default */

static void body_default(long arg)
{
    (void)arg;
    /* what must keep working */
    CHECK_OK(syscall(SYS_getpid));
    int fd = open("/dev/null", O_RDWR);
    CHECK_OK(fd);
    char c = 'x';
    CHECK_OK(write(fd, &c, 1));
    CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK_OK(syscall(SYS_personality, 0xffffffffUL));
    /* the ioctl rule is precise: other commands reach the kernel */
    CHECK_ERR(ioctl(fd, TCGETS, &(struct termios){0}), ENOTTY);
    pid_t pid = fork(); /* clone without namespace flags */
    if (pid == 0)
        _exit(0);
    CHECK_OK(pid);
    CHECK_OK(waitpid(pid, NULL, 0));

    /* what must fail with EPERM */
    CHECK_ERR(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM);
    CHECK_ERR(syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING), EPERM);
    CHECK_ERR(syscall(SYS_bpf, 0, NULL, 0), EPERM);
    CHECK_ERR(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
    CHECK_ERR(syscall(SYS_userfaultfd, 0), EPERM);
    CHECK_ERR(unshare(CLONE_NEWUSER), EPERM);
    CHECK_ERR(syscall(SYS_setns, 0, 0), EPERM);
    CHECK_ERR(mount("none", "/tmp", "tmpfs", 0, NULL), EPERM);
    CHECK_ERR(umount2("/tmp", 0), EPERM);
    CHECK_ERR(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
    CHECK_ERR(syscall(SYS_open_tree, AT_FDCWD, "/", 0), EPERM);
    CHECK_ERR(syscall(467 /* open_tree_attr */, AT_FDCWD, "/", 0, NULL, 0), EPERM);
    struct timespec ts = {0};
    CHECK_ERR(clock_settime(CLOCK_REALTIME, &ts), EPERM);
    CHECK_ERR(syscall(SYS_adjtimex, NULL), EPERM);
    CHECK_ERR(syscall(SYS_io_uring_setup, 1, NULL), EPERM);
    CHECK_ERR(syscall(SYS_ptrace, PTRACE_PEEKDATA, 1, 0, 0), EPERM);
    CHECK_ERR(syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0), EPERM);
    CHECK_ERR(syscall(SYS_init_module, NULL, 0, ""), EPERM);
    CHECK_ERR(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    CHECK_ERR(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
    CHECK_ERR(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM);
    CHECK_ERR(syscall(SYS_set_mempolicy, 0, NULL, 0), EPERM);
    CHECK_ERR(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM);
    /* clone with a namespace flag: EPERM; clone3: ENOSYS so libc falls back */
    CHECK_ERR(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, NULL, NULL, 0), EPERM);
    CHECK_ERR(syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0), EPERM);
    CHECK_ERR(syscall(SYS_clone3, NULL, 0), ENOSYS);
    /* numbers above the reviewed ones: ENOSYS */
    CHECK_ERR(syscall(470), ENOSYS);
    CHECK_ERR(syscall(500), ENOSYS);

    /* TIOCSTI and TIOCLINUX: EPERM, also with high bits set in the command
     * (the kernel truncates it to 32 bits; without the mask those would
     * reach the ioctl and fail with ENOTTY on /dev/null instead). */
    CHECK_ERR(syscall(SYS_ioctl, fd, (unsigned long)TIOCSTI, &c), EPERM);
    CHECK_ERR(syscall(SYS_ioctl, fd, (1UL << 32) | TIOCSTI, &c), EPERM);
    CHECK_ERR(syscall(SYS_ioctl, fd, 0xffffffff00000000UL | TIOCSTI, &c), EPERM);
    CHECK_ERR(syscall(SYS_ioctl, fd, (unsigned long)TIOCLINUX, &c), EPERM);
    CHECK_ERR(syscall(SYS_ioctl, fd, (1UL << 40) | TIOCLINUX, &c), EPERM);
}

/* Runs body under the default profile and expects it to report success. */
static void run_default_ok(void (*body)(long))
{
    struct sbx_seccomp *s = compile_ok("default");
    struct outcome o;
    run_child(s, body, 0, &o);
    expect_success(&o);
    sbx_seccomp_free(s);
}

static void test_default_denies(void **state)
{
    (void)state;
    run_default_ok(body_default);
}

/* personality: exactly Docker's allowed values pass. */
static const unsigned long personality_ok[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
static const unsigned long personality_bad[] = {
    1, 2, 4, 0x10, 0x9, 0x18, 0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */,
    0x0100000, 0x20009, 0x30008, 0x10008, 0x28, 0xfffffffe, 0xfffffff7, 0xfffdffff, 0xfffffffb,
    0x7fffffff, 0x80000000, 0x100000000UL, 0x100000008UL, 0xffffffffffffffffUL,
};

static void body_personality(long arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof personality_bad / sizeof personality_bad[0]; i++) {
        errno = 0;
        long r = syscall(SYS_personality, personality_bad[i]);
        if (!(r == -1 && errno == EPERM))
            child_fail(__LINE__, "personality(bad value) fails with EPERM", (long)personality_bad[i],
                       errno);
    }
    for (size_t i = 0; i < sizeof personality_ok / sizeof personality_ok[0]; i++) {
        errno = 0;
        long r = syscall(SYS_personality, personality_ok[i]);
        if (r == -1)
            child_fail(__LINE__, "personality(allowed value) succeeds", (long)personality_ok[i],
                       errno);
    }
}

static void test_default_personality(void **state)
{
    (void)state;
    run_default_ok(body_personality);
}

static void body_i386(long arg)
{
    (void)arg;
    long r;
    /* getpid (20) through the i386 entry: a foreign arch */
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    child_fail(__LINE__, "int $0x80 was not stopped", r, 0);
}

static void body_x32(long arg)
{
    (void)arg;
    long r;
    /* getpid (39) with the x32 bit, through the 64-bit entry */
    __asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000L | 39) : "rcx", "r11", "memory");
    child_fail(__LINE__, "x32 syscall was not stopped", r, 0);
}

static void test_default_foreign_arch_killed(void **state)
{
    (void)state;
    struct sbx_seccomp *s = compile_ok("default");
    struct outcome o;
    run_child(s, body_i386, 0, &o);
    expect_notified(&o, "getpid (i386)");
    run_child(s, body_x32, 0, &o);
    expect_notified(&o, "getpid (x32)");
    sbx_seccomp_free(s);
}

/* ------------------------------------------------------------ strict */

enum strict_bad {
    BAD_SOCKET,
    BAD_OPEN_WRITE,
    BAD_OPEN_CREAT,
    BAD_PRLIMIT_SET,
    BAD_IOCTL_HIGH_BITS,
    BAD_FORK,
    BAD_I386,
};

static void body_strict(long bad)
{
    /* a judged program's life: open input read-only, read, map, write
     * output, look at the clock and limits */
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_OK(fd);
    char buf[16];
    CHECK_OK(syscall(SYS_read, fd, buf, sizeof buf));
    struct stat st;
    CHECK_OK(syscall(SYS_fstat, fd, &st));
    struct termios t;
    CHECK_ERR(syscall(SYS_ioctl, fd, TCGETS, &t), ENOTTY); /* allowed, /dev/null is no tty */
    CHECK_OK(syscall(SYS_close, fd));
    void *p = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    CHECK_OK(p == MAP_FAILED ? -1 : 0);
    CHECK_OK(syscall(SYS_mprotect, p, 4096, PROT_READ));
    CHECK_OK(syscall(SYS_munmap, p, 4096));
    struct timespec ts;
    CHECK_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
    struct rlimit rl;
    CHECK_OK(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl));
    CHECK_OK(syscall(SYS_getpid));
    CHECK_OK(syscall(SYS_write, child_sock, "ok;", 3));

    switch (bad) {
    case BAD_SOCKET:
        syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
        break;
    case BAD_OPEN_WRITE:
        syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
        break;
    case BAD_OPEN_CREAT:
        syscall(SYS_openat, AT_FDCWD, "/tmp/sbx-strict-test", O_RDONLY | O_CREAT, 0600);
        break;
    case BAD_PRLIMIT_SET:
        syscall(SYS_prlimit64, 0, RLIMIT_STACK, &rl, NULL);
        break;
    case BAD_IOCTL_HIGH_BITS:
        /* TCGETS is allowed; TIOCSTI with high bits must not pass as it */
        syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, buf);
        break;
    case BAD_FORK:
        syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
        break;
    case BAD_I386:
        body_i386(0);
        break;
    }
    child_fail(__LINE__, "the forbidden call returned", 0, errno);
}

static void test_strict(void **state)
{
    (void)state;
    struct sbx_seccomp *s = compile_ok("strict");
    static const struct {
        enum strict_bad bad;
        const char *name;
    } cases[] = {
        {BAD_SOCKET, "socket"},     {BAD_OPEN_WRITE, "openat"}, {BAD_OPEN_CREAT, "openat"},
        {BAD_PRLIMIT_SET, "prlimit64"}, {BAD_IOCTL_HIGH_BITS, "ioctl"}, {BAD_FORK, "clone"},
        {BAD_I386, "getpid (i386)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct outcome o;
        run_child(s, body_strict, cases[i].bad, &o);
        if (strncmp(o.report, "ok;", 3) != 0)
            fail_msg("case %zu: allowed sequence failed: %s", i, o.report);
        expect_notified(&o, cases[i].name);
    }
    unlink("/tmp/sbx-strict-test");
    sbx_seccomp_free(s);
}

/* A notification whose process died before the supervisor read it: the
 * read reports -ENOENT instead of blocking. */
static void body_socket_now(long arg)
{
    (void)arg;
    syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    child_fail(__LINE__, "socket was not stopped", 0, errno);
}

static void test_notif_read_after_death(void **state)
{
    (void)state;
    struct sbx_seccomp *s = compile_ok("strict");
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        child_sock = sv[1];
        int listener = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sbx_seccomp_install(s, &listener) < 0)
            _exit(4);
        send_fd(child_sock, listener);
        close(listener);
        body_socket_now(0);
        _exit(0);
    }
    close(sv[1]);
    int listener = recv_fd(sv[0], pid);
    assert_true(listener >= 0);
    struct pollfd pfd = {.fd = listener, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_true(pfd.revents & POLLIN);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    alarm(10); /* a blocking read would hang the test: fail it instead */
    char name[64];
    assert_int_equal(sbx_seccomp_notif_read(listener, name, sizeof name), -ENOENT);
    alarm(0);
    close(listener);
    close(sv[0]);
    sbx_seccomp_free(s);
}

/* ------------------------------------------------------------ real programs */

/* Real dynamically linked programs start and run under each profile: the
 * loader's and libc's start-up calls are all allowed. Their stdout is the
 * report socket. */
static const char *const exec_cases[][5] = {
    {"strict", "/bin/true", NULL},
    {"strict", "/bin/cat", "/proc/self/comm", NULL},
    {"strict", "/bin/sh", "-c", "echo ok", NULL},
    {"default", "/bin/sh", "-c", "ls / >/dev/null && cat /proc/self/comm | tr a-z A-Z", NULL},
};

static void body_exec(long i)
{
    CHECK_OK(dup2(child_sock, 1));
    execv(exec_cases[i][1], (char *const *)&exec_cases[i][1]);
    child_fail(__LINE__, "execv", -1, errno);
}

static void test_exec_real_programs(void **state)
{
    (void)state;
    static const char *const want[] = {"", "cat\n", "ok\n", "CAT\n"};
    for (long i = 0; i < (long)(sizeof exec_cases / sizeof exec_cases[0]); i++) {
        struct sbx_seccomp *s = compile_ok(exec_cases[i][0]);
        struct outcome o;
        run_child(s, body_exec, i, &o);
        sbx_seccomp_free(s);
        if (!o.exited || o.status != 0 || strcmp(o.report, want[i]) != 0)
            fail_msg("%s under %s: exited=%d status=%d notified=\"%s\" output=\"%s\"",
                     exec_cases[i][1], exec_cases[i][0], o.exited, o.status, o.notified, o.report);
    }
}

/* ------------------------------------------------------------ files */

static int compile_text(const char *text, struct sbx_seccomp **s, struct sbx_err *err)
{
    return sbx_seccomp_compile_text("test.profile", text, strlen(text), s, err);
}

static void test_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg; /* expected in the error */
    } cases[] = {
        {"", "no default action"},
        {"# only a comment\n", "no default action"},
        {"allow read\n", "line 1: a rule before the default action"},
        {"default allow\ndefault kill\n", "line 2: default given twice"},
        {"default frobnicate\n", "line 1: unknown directive \"frobnicate\""},
        {"default allow\nerrno EPERM no_such_call\n", "line 2: unknown system call \"no_such_call\""},
        {"default allow\nerrno EPERM stime\n", "line 2: \"stime\" is not an x86_64 system call"},
        {"default allow\nerrno EWHAT ptrace\n", "line 2: \"EWHAT\" is not an errno"},
        {"default allow\nerrno 0 ptrace\n", "line 2: \"0\" is not an errno"},
        {"default allow\nerrno 4095 ptrace\n", "line 2: \"4095\" is not an errno"},
        {"default errno 4095\n", "line 1: \"4095\" is not an errno"},
        {"default allow\nerrno\n", "line 2: errno needs a value"},
        {"default allow\nerrno EPERM\n", "line 2: no system call named"},
        {"default allow\nerrno EPERM ptrace\nkill ptrace\n",
         "line 3: ptrace: conflicts with the rule at line 2"},
        {"default allow\nerrno EPERM ptrace\nerrno EPERM ptrace\n",
         "line 3: ptrace: duplicates the rule at line 2"},
        {"default allow\nerrno EPERM ioctl arg1 == 1\nerrno EPERM ioctl\n",
         "line 3: ioctl: duplicates the rule at line 2"},
        {"default allow\nerrno EPERM ioctl arg1 == 1\nkill ioctl arg1 == 2\n",
         "line 3: ioctl: conflicts with the rule at line 2"},
        {"default allow\nallow read\n", "line 2: read: the rule has the profile's default action"},
        {"default allow\nerrno EPERM ioctl arg6 == 1\n", "line 2: \"arg6\": arguments are arg0 to arg5"},
        {"default allow\nerrno EPERM ioctl arg1 =~ 1\n", "line 2: \"=~\" is not a comparison"},
        {"default allow\nerrno EPERM ioctl arg1 == 0x\n", "line 2: \"0x\" is not a number"},
        {"default allow\nerrno EPERM ioctl arg1 == -1\n", "line 2: \"-1\" is not a number"},
        {"default allow\nerrno EPERM ioctl arg1 == 99999999999999999999\n",
         "line 2: \"99999999999999999999\" is not a number"},
        {"default allow\nerrno EPERM ioctl arg1 == 12abc\n", "line 2: \"12abc\" is not a number"},
        {"default allow\nerrno EPERM ioctl arg1 &0xff != 1\n", "line 2: a masked comparison takes =="},
        {"default allow\nerrno EPERM ioctl arg1 &0xff == 0x100\n", "line 2: value 0x100 has bits outside"},
        {"default allow\nerrno EPERM ioctl arg1 &zz == 1\n", "line 2: \"&zz\": a mask is &NUMBER"},
        {"default allow\nerrno EPERM ioctl arg1 ==\n", "line 2: arg1: a condition is"},
        {"default allow\nerrno EPERM ioctl arg1 == 1 arg1 == 2\n", "line 2: arg1 is compared twice"},
        {"default allow\nerrno EPERM ioctl read arg1 == 1\n",
         "line 2: a rule with conditions names exactly one system call"},
        {"default allow\nerrno EPERM ioctl arg1 == 1 junk\n", "line 2: \"junk\": expected a condition"},
        {"include strict\nallow socket arg4 == 1 arg1 <= 5\n",
         "line 2: a <, <=, > or >= comparison must be the rule's only condition"},
        {"default allow\ninclude default\n", "line 2: include must come first"},
        {"include nosuch\n", "line 1: cannot include \"nosuch\""},
        {"include\n", "line 1: include takes one built-in profile"},
        {"default allow\nerrno EPERM ptrace\ndefault kill\n", "line 3: default given twice"},
        {"include default\nerrno EPERM ptrace\ndefault kill\n", "line 3: default must come before"},
        {"default allow extra\n", "line 1: unexpected \"extra\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sbx_err err = {0};
        struct sbx_seccomp *s = (void *)1;
        int r = compile_text(cases[i].text, &s, &err);
        if (r != -EINVAL || s != NULL || strstr(err.msg, cases[i].msg) == NULL ||
            strstr(err.msg, "test.profile") == NULL)
            fail_msg("case %zu (%s): r=%d msg=\"%s\", expected \"%s\"", i, cases[i].text, r, err.msg,
                     cases[i].msg);
    }

    /* a hostile size: rejected at the rule limit, quickly */
    size_t cap = 5000 * 40, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    len += (size_t)snprintf(big, cap, "default allow\n");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(big + len, cap - len, "errno EPERM ioctl arg1 == %d\n", i);
    {
        struct sbx_err err = {0};
        struct sbx_seccomp *s = NULL;
        assert_int_equal(sbx_seccomp_compile_text("big.profile", big, len, &s, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "big.profile: line 4098: more than 4096 rules"));
    }
    free(big);

    /* a NUL inside the text (the fuzzer's favourite) */
    static const char nul[] = "default allow\n\n\nallow\0read\n";
    struct sbx_err err = {0};
    struct sbx_seccomp *s = NULL;
    assert_int_equal(sbx_seccomp_compile_text("test.profile", nul, sizeof nul - 1, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "test.profile: line 4: NUL byte"));
}

static void body_included(long arg)
{
    (void)arg;
    /* lifted from the built-in: ptrace reaches the kernel (no such pid) */
    CHECK_ERR(syscall(SYS_ptrace, PTRACE_PEEKDATA, 999999, 0, 0), ESRCH);
    /* added by the file */
    CHECK_ERR(socket(AF_NETLINK, SOCK_RAW, 0), EACCES);
    CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    /* kept from the built-in */
    CHECK_ERR(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), EPERM);
    CHECK_ERR(syscall(SYS_clone3, NULL, 0), ENOSYS);
    /* overridden: mount was EPERM, is now ENOSYS */
    CHECK_ERR(mount("none", "/tmp", "tmpfs", 0, NULL), ENOSYS);
    /* killed by the file */
    syscall(SYS_getcpu, NULL, NULL, NULL);
    child_fail(__LINE__, "getcpu was not stopped", 0, errno);
}

static void test_file_include_default(void **state)
{
    (void)state;
    const char *text = "# start from the built-in default\n"
                       "include default\n"
                       "allow ptrace            # lift a built-in rule\n"
                       "errno EACCES socket arg0 == 16\n"
                       "errno ENOSYS mount\n"
                       "kill getcpu\n";
    struct sbx_err err = {0};
    struct sbx_seccomp *s = NULL;
    int r = compile_text(text, &s, &err);
    if (r != 0)
        fail_msg("%s", err.msg);
    assert_true(s->wants_listener);
    struct outcome o;
    run_child(s, body_included, 0, &o);
    expect_notified(&o, "getcpu");
    sbx_seccomp_free(s);
}

static void test_example_profiles(void **state)
{
    (void)state;
    const char *files[] = {SBX_SOURCE_DIR "/executor/seccomp/profiles/python.profile",
                           SBX_SOURCE_DIR "/executor/seccomp/profiles/judge-c.profile"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct sbx_seccomp *s = compile_ok(files[i]);
        sbx_seccomp_free(s);
    }
    /* file errors name the path and line */
    char path[] = "/tmp/sbx-seccomp-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "include strict\nallow nosuchcall\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    struct sbx_err err = {0};
    struct sbx_seccomp *s = NULL;
    assert_int_equal(sbx_seccomp_compile(path, &s, &err), -EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s: line 2: unknown system call \"nosuchcall\"", path);
    if (!strstr(err.msg, want))
        fail_msg("got \"%s\"", err.msg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_builtins),
        cmocka_unit_test(test_default_denies),
        cmocka_unit_test(test_default_personality),
        cmocka_unit_test(test_default_foreign_arch_killed),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_notif_read_after_death),
        cmocka_unit_test(test_exec_real_programs),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_include_default),
        cmocka_unit_test(test_example_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
