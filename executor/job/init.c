#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "common/cleanup.h"
#include "executor/console.h"
#include "executor/caps.h"
#include "executor/launcher/sync.h"
#include "fsize.h"
#include "interp.h"

/* The job's process shares our fd table until it execs (CLONE_FILES), so the
 * seccomp listener it creates when installing its filter stays here after
 * the exec. It is the one fd that reads as "anon_inode:seccomp notify". */
static int find_listener(void)
{
    _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, "anon_inode:seccomp notify") == 0)
            return atoi(e->d_name);
    }
    return -ENOENT;
}

struct job_arg {
    const struct sbx_plan *plan;
    int exec_pipe;
    int tty;                 /* the console's slave, or -1 */
    volatile int listener;   /* set by the job's process (CLONE_VM) */
};

static int job_main(void *arg)
{
    struct job_arg *a = arg;
    sbx_job_exec(a->plan, a->exec_pipe, a->tty, &a->listener);
}

/* The job's process runs on this stack, in our memory, until its execve. */
#define JOB_STACK ((size_t)256 * 1024)

/* ASan warns (on the job's stderr) about a process running on a stack it did
 * not see made: sanitizer builds keep the plain vfork. */
#if defined(__SANITIZE_ADDRESS__)
#define JOB_CLONE_VM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JOB_CLONE_VM 0
#endif
#endif
#ifndef JOB_CLONE_VM
#define JOB_CLONE_VM 1
#endif

static pid_t start_job(const struct sbx_plan *plan, int tty, int *exec_errno, int *listener)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        sbx_child_fail(plan->sock, errno, "init: pipe: %s", strerror(errno));
    /* CLONE_VFORK: we resume only once the job's process has exec'd or died,
     * so the exec status is known at once. CLONE_VM (as posix_spawn): no copy
     * of our address space for a process that is about to exec, and no
     * copy-on-write faults while it sets itself up; we are stopped meanwhile,
     * and what it changes (credentials, rlimits, seccomp, Landlock, signal
     * mask) belongs to its own task. CLONE_FILES: see find_listener. */
    struct job_arg arg = {.plan = plan, .exec_pipe = p[1], .tty = tty, .listener = -1};
    pid_t pid = -1;
    *listener = -1;
#if JOB_CLONE_VM
    void *stack = mmap(NULL, JOB_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        sbx_child_fail(plan->sock, errno, "init: job stack: %s", strerror(errno));
    pid = clone(job_main, (char *)stack + JOB_STACK, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD,
                &arg);
    int e_vm = errno;
    munmap(stack, JOB_STACK);
    /* Kernels before 6.x refuse CLONE_VM into a new time namespace (the
     * two would share a vvar page): start it the plain vfork way there. */
    if (pid < 0 && e_vm != EINVAL)
        sbx_child_fail(plan->sock, e_vm, "init: starting the job: %s", strerror(e_vm));
    if (pid >= 0)
        *listener = arg.listener; /* the job's process wrote it in our memory */
#endif
    if (pid < 0) {
        struct clone_args ca = {.flags = CLONE_VFORK | CLONE_FILES, .exit_signal = SIGCHLD};
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0)
            sbx_child_fail(plan->sock, errno, "init: starting the job: %s", strerror(errno));
        if (pid == 0)
            job_main(&arg);
        /* its copy of arg is gone: find_listener */
    }
    close(p[1]);
    int e = 0;
    ssize_t n = read(p[0], &e, sizeof e);
    close(p[0]);
    *exec_errno = n == (ssize_t)sizeof e ? e : 0;
    return (pid_t)pid;
}

/* A detached job waits here, set up but before its command, until its
 * start: the launcher learns that it waits, then opening the FIFO for
 * writing blocks until someone opens it for reading (runc's exec FIFO). The
 * launcher may be gone by then, so nothing more is said to it until the
 * command runs. */
static void wait_for_start(const struct sbx_plan *plan)
{
    struct sbx_msg ready = {.type = SBX_MSG_READY};
    if (sbx_msg_send(plan->sock, &ready, NULL, 0) < 0)
        _exit(125);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", plan->start_fd);
    int fd;
    while ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (fd < 0)
        _exit(125);
    /* The reader takes this byte as the sign that the command starts now. */
    ssize_t n = write(fd, "0", 1);
    close(fd);
    close(plan->start_fd);
    if (n != 1)
        _exit(125);
}

__attribute__((noreturn)) void sbx_init_run(const struct sbx_plan *plan, int upper_fd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked signals are queued for PID 1 even with no handler, so
     * sigwaitinfo sees the launcher's SIGTERM; the job's process unblocks
     * them before exec. */
    sigprocmask(SIG_BLOCK, &set, NULL);

    /* The engine waits for the pty during create (conmon does, before it
     * calls start): it is made and sent before the wait. */
    int tty = -1;
    if (plan->console_fd >= 0) {
        struct sbx_err cerr = {0};
        if (sbx_console_send(plan->console_fd, &tty, &cerr) < 0)
            sbx_child_fail(plan->sock, cerr.code, "%s", cerr.msg);
        close(plan->console_fd);
    }
    if (plan->detached)
        wait_for_start(plan);

    int exec_errno = 0;
    int listener = -1;
    pid_t job = start_job(plan, tty, &exec_errno, &listener);
    /* The job's process has its own copy (its fd table became its own at
     * execve): PID 1 holding the slave would keep the master from seeing
     * the hang-up when the command's session ends. */
    if (tty >= 0)
        close(tty);
    if (exec_errno) {
        struct sbx_msg m = {.type = SBX_MSG_EXEC_FAILED, .code = exec_errno};
        char interp[256];
        /* The kernel says ENOENT for a missing loader too: say which file
         * is missing (the command is there but cannot run: 126). */
        if (exec_errno == ENOENT && sbx_missing_interpreter(plan->spec, interp, sizeof interp)) {
            exec_errno = m.code = ELIBACC;
            snprintf(m.text, sizeof m.text, "%s: its interpreter %s is missing in the sandbox",
                     plan->spec->command, interp);
        } else {
            snprintf(m.text, sizeof m.text, "%s: %s", plan->spec->command, strerror(exec_errno));
        }
        sbx_msg_send(plan->sock, &m, NULL, 0);
        _exit(exec_errno == ENOENT ? 127 : 126);
    }

    struct sbx_msg started = {.type = SBX_MSG_STARTED};
    /* The job's process told us its number; the /proc scan stays as a
     * fallback only. */
    if (listener < 0 && plan->seccomp && plan->seccomp->wants_listener)
        listener = find_listener();
    /* A detached job's launcher has usually exited by now: nobody to tell. */
    if (sbx_msg_send(plan->sock, &started, listener >= 0 ? &listener : NULL, listener >= 0) < 0 &&
        !plan->detached)
        _exit(125);
    if (listener >= 0)
        close(listener);

    /* PID 1 holds nothing of the caller's: not its terminal, not its pipes
     * (whose EOF a reader may be waiting for), not the files or streams the
     * launcher handed the job (plan->stdio, above 2: the job's process has
     * its own copies now). */
    for (int i = 0; i < 3; i++)
        if (plan->stdio[i] > 2)
            close(plan->stdio[i]);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && devnull >= 0; fd++)
        dup3(devnull, fd, O_CLOEXEC);
    if (devnull > 2)
        close(devnull);
    else if (devnull < 0)
        syscall(SYS_close_range, 0U, 2U, 0U);
    struct sbx_err err = {0};
    if (sbx_caps_init_only_kill(&err) < 0)
        _exit(125);

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(job, sig);
            continue;
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
            if (pid != job)
                continue;
            /* Before the end is reported (the launcher then kills all): a
             * file the job wrote up to the file-size limit. */
            struct sbx_msg f = {.type = SBX_MSG_OUTPUT_FILE};
            if (sbx_fsize_reached(plan->spec, upper_fd, f.text, sizeof f.text))
                sbx_msg_send(plan->sock, &f, NULL, 0);
            struct sbx_msg m = {.type = SBX_MSG_EXITED, .code = status};
            sbx_msg_send(plan->sock, &m, NULL, 0);
            /* Exiting ends the PID namespace: the kernel kills every other
             * process of the job and reaps it before our parent sees us go. */
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}
