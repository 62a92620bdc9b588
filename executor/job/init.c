#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "common/cleanup.h"
#include "common/stdfds.h"
#include "executor/console.h"
#include "executor/caps.h"
#include "executor/launcher/sync.h"
#include "executor/mounts.h"
#include "executor/net.h"
#include "fsize.h"
#include "interp.h"
#include "runspec.h"

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
#define JOB_STACK_HOT ((size_t)32 * 1024)

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

#if JOB_CLONE_VM
/* A run's PID 1 maps the job's stack while the run is made (its top
 * populated: no page faults in the command's process either); others map
 * it at start. */
static void *ready_stack;
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
    void *stack = ready_stack ? ready_stack
                              : mmap(NULL, JOB_STACK, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        sbx_child_fail(plan->sock, errno, "init: job stack: %s", strerror(errno));
    pid = clone(job_main, (char *)stack + JOB_STACK, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD,
                &arg);
    int e_vm = errno;
    if (!ready_stack)
        munmap(stack, JOB_STACK);
    /* Kernels before 6.x refuse CLONE_VM into a new time namespace (the
     * two would share a vvar page): start it the plain vfork way there. */
    if (pid < 0 && e_vm != EINVAL)
        sbx_child_fail(plan->sock, e_vm, "init: starting the job: %s", strerror(e_vm));
    if (pid >= 0)
        *listener = arg.listener; /* the job's process wrote it in our memory */
#endif
    if (pid < 0) {
        /* clone, not clone3: the default filter, which a run's PID 1 may
         * hold, answers clone3 with ENOSYS. No stack: the child runs on a
         * copy of ours, as after fork. */
        pid = (pid_t)syscall(SYS_clone, CLONE_VFORK | CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
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

/* PID 1 holds nothing of the caller's: not its terminal, not its pipes
 * (whose EOF a reader may be waiting for), not the files or streams the
 * launcher handed the job (plan->stdio, above 2: the job's process has its
 * own copies by now). */
static void drop_callers_stdio(const struct sbx_plan *plan)
{
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
}

/* As PID 1 of its namespace: SIGKILL to every other process in it, and
 * each reaped (orphans come to us), until none is left. */
static void kill_and_reap_all(void)
{
    for (;;) {
        kill(-1, SIGKILL);
        pid_t p = waitpid(-1, NULL, __WALL);
        if (p < 0 && errno == ECHILD)
            return;
    }
}

/* One run of a resident sandbox, in the namespaces its clone made: PID, mount
 * and IPC (and network, for every run but the first) of its own, so that
 * nothing a run leaves (processes, SysV and POSIX IPC objects, sockets) is
 * there for the next one; only the root's files are shared. It gets ready
 * (a /proc of its own, its cgroup, last so that its setup is not charged to
 * the run), says so with its pidfd, and waits for its command; from then on
 * it is the run's PID 1, exactly as a job's. */
__attribute__((noreturn)) static void run_main(const struct sbx_plan *plan, int upper_fd,
                                               int run_sock, int *cg, int ncg, unsigned flags,
                                               int spare_net)
{
    struct sbx_err err = {0};
    /* A network namespace PID 1 made ahead (lo up if the policy wants
     * loopback): joined, then closed with the rest below. */
    if (spare_net >= 0 && setns(spare_net, CLONE_NEWNET) < 0)
        sbx_child_fail(run_sock, errno, "run: joining its network namespace: %s", strerror(errno));
    /* Nothing of PID 1's: not the sandbox's socket, the uid slot's lock,
     * PID 1's signalfd nor the other runs' sockets. */
    int keep[4 + SBX_CG_MAX_DIRS] = {0, 1, 2, run_sock};
    int nk = 4;
    if (upper_fd >= 0)
        keep[nk++] = upper_fd;
    for (int i = 0; i < ncg && nk < (int)(sizeof keep / sizeof keep[0]); i++)
        keep[nk++] = cg[i];
    sbx_close_all_but(keep, nk);
    if (sbx_mounts_proc_renew(&err) < 0)
        sbx_child_fail(run_sock, err.code, "run: %s", err.msg);
    if ((flags & SBX_PREPARE_NEWNET) && spare_net < 0 && plan->spec->loopback &&
        sbx_net_loopback_up(&err) < 0)
        sbx_child_fail(run_sock, err.code, "run: %s", err.msg);
#if JOB_CLONE_VM
    /* Its top, what the job's process uses before its execve (two pages,
     * counted; its error paths and PATH search a few more), populated
     * before the run's cgroup is entered: those pages are charged to the
     * sandbox (they live as long as this PID 1), not to the run's memory or
     * its peak. All 256 KiB took ~0.14 ms. */
    void *st = mmap(NULL, JOB_STACK, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    ready_stack = st == MAP_FAILED ? NULL : st;
    for (size_t off = JOB_STACK - JOB_STACK_HOT; ready_stack && off < JOB_STACK; off += 4096)
        ((volatile char *)ready_stack)[off] = 0;
#endif
    if (ncg && sbx_cgroup_enter_fds(cg, ncg, "0", &err) < 0)
        sbx_child_fail(run_sock, err.code, "run: %s", err.msg);
    /* The run sees its own cgroup as the root. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        sbx_child_fail(run_sock, errno, "run: cgroup namespace: unshare: %s", strerror(errno));
    /* What is the same for every run, done before its command comes: the
     * bounding set emptied (it counts only at execve, which PID 1 never
     * calls), and the filter installed, its attach and JIT (~0.1 ms) off
     * the critical path. Only a profile that allows every call PID 1 makes
     * from here on may be held (init_may_hold); the run's processes inherit
     * it, and PID 1 hands its listener on as a job's PID 1 does. */
    if (sbx_caps_drop_bounding(&err) < 0)
        sbx_child_fail(run_sock, err.code, "run: %s", err.msg);
    int held = -1;
    bool hold = plan->seccomp && plan->seccomp->init_may_hold && !plan->extra_seccomp;
    if (hold) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            sbx_child_fail(run_sock, errno, "run: setting no_new_privs: %s", strerror(errno));
        int r = sbx_seccomp_install(plan->seccomp, &held);
        if (r < 0)
            sbx_child_fail(run_sock, -r, "run: seccomp: installing the filter: %s", strerror(-r));
    }
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    struct sbx_msg ready = {.type = SBX_MSG_READY,
                            .code = spare_net >= 0 ? SBX_READY_NET_AHEAD : 0};
    if (self < 0 || sbx_msg_send(run_sock, &ready, &self, 1) < 0)
        _exit(125);
    close(self);

    struct sbx_msg m;
    int fds[4];
    size_t n = 4;
    if (sbx_msg_recv(run_sock, &m, fds, &n) < 0)
        _exit(125); /* never used: the launcher let go of it */
    if (m.type != SBX_MSG_RUN || n < 1)
        sbx_child_fail(run_sock, EPROTO, "run: unexpected message from the launcher");
    /* Should the sandbox's cgroup run out of memory rather than the run's,
     * the run's processes are the OOM killer's first choice, never the
     * sandbox's PID 1 or the next run's, which the sandbox needs. Set when
     * the command comes, not while the run waits for it: an idle prepared
     * run must not be the host's first OOM victim. Our /proc files are ours
     * only while we are dumpable: for this one write, before any process of
     * the run exists (other runs' processes are in PID namespaces of their
     * own, where we have no pid to name). */
    prctl(PR_SET_DUMPABLE, 1);
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int e = oom < 0 || write(oom, "1000", 4) != 4 ? errno : 0;
    if (oom >= 0)
        close(oom);
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        _exit(125);
    if (e)
        sbx_child_fail(run_sock, e, "run: oom_score_adj: %s", strerror(e));
    struct sbx_spec spec;
    char *storage;
    if (sbx_runspec_decode(fds[0], plan->spec, &spec, &storage, &err) < 0)
        sbx_child_fail(run_sock, err.code, "%s", err.msg);
    close(fds[0]);
    struct sbx_plan rp = *plan;
    rp.spec = &spec;
    rp.sock = run_sock;
    rp.resident = false;
    rp.lock_fd = -1;
    rp.run = true;
    rp.seccomp_held = hold;
    rp.held_listener = held;
    /* Files of earlier runs stay: only this run's count for its output
     * limit (a file at the limit is the run's unless it was there before,
     * unchanged: same inode, same ctime, which no call can set back). */
    static struct sbx_fsize_snap old;
    sbx_fsize_snapshot(&spec, upper_fd, &old);
    rp.fsize_old = &old;
    size_t k = 1;
    for (int i = 0; i < 3; i++)
        rp.stdio[i] = (m.code & (1 << i)) && k < n ? fds[k++] : -1;
    sbx_init_run(&rp, upper_fd);
}

/* A run that wants a network namespace of its own takes the spare, if
 * there is one, instead of making one as it is cloned (~0.45 ms of the
 * clone on this host's kernel). */
static pid_t start_run(const struct sbx_plan *plan, int upper_fd, int run_sock, int *cg, int ncg,
                       unsigned flags, int *spare_net)
{
    int net = flags & SBX_PREPARE_NEWNET ? *spare_net : -1;
    struct clone_args ca = {
        .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
                 (flags & SBX_PREPARE_NEWNET && net < 0 ? CLONE_NEWNET : 0),
        .exit_signal = SIGCHLD,
    };
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        run_main(plan, upper_fd, run_sock, cg, ncg, flags, net);
    if (pid > 0 && net >= 0) {
        close(net);
        *spare_net = -1;
    }
    return pid;
}

/* After a run that made or took a network namespace, the sandbox is one
 * that runs many (a session): the next run's is made now, while this one
 * gets ready in its own process and before its command comes, so that it
 * is not on the next run's path. No process but PID 1, briefly (to bring
 * lo up), is ever in it before that run: it holds nothing of this one's.
 * Only when the sandbox's own network namespace is one its user namespace
 * owns, which PID 1 can return to. A failure leaves none: the next run
 * makes its own. */
static void make_spare_net(const struct sbx_plan *plan, unsigned flags, int *spare_net)
{
    if (!(flags & SBX_PREPARE_NEWNET) || *spare_net >= 0 || plan->joined_netns)
        return;
    struct sbx_err err = {0};
    int fd = sbx_net_prepare(plan->spec->loopback, &err);
    *spare_net = fd >= 0 ? fd : -1;
}

/* Runs of a resident sandbox alive at once: one running, the next prepared. */
#define MAX_RUNS 4

struct run_slot {
    pid_t pid;
    int sock;
};

/* A resident sandbox's PID 1: set up, it makes a run whenever the launcher
 * asks (SBX_MSG_PREPARE; several may be alive at once), and says
 * on a run's socket when that run, and with it its PID namespace, is gone.
 * It keeps its capabilities in the sandbox's user namespace for that
 * (non-dumpable: no process of a run, which has none, can ptrace it or read
 * its memory); the sandbox ends when the launcher closes its socket or
 * kills it. */
__attribute__((noreturn)) static void resident_loop(const struct sbx_plan *plan, int upper_fd)
{
    drop_callers_stdio(plan);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        sbx_child_fail(plan->sock, errno, "sandbox: signalfd: %s", strerror(errno));
    struct sbx_msg ready = {.type = SBX_MSG_READY};
    if (sbx_msg_send(plan->sock, &ready, NULL, 0) < 0)
        _exit(125);
    struct run_slot runs[MAX_RUNS];
    for (int i = 0; i < MAX_RUNS; i++)
        runs[i] = (struct run_slot){.pid = 0, .sock = -1};
    int spare_net = -1;
    for (;;) {
        struct pollfd p[2] = {{.fd = plan->sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
                for (int i = 0; i < MAX_RUNS; i++)
                    if (runs[i].pid == pid) {
                        struct sbx_msg end = {.type = SBX_MSG_RUN_ENDED, .code = st};
                        sbx_msg_send(runs[i].sock, &end, NULL, 0);
                        close(runs[i].sock);
                        runs[i] = (struct run_slot){.pid = 0, .sock = -1};
                    }
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        struct sbx_msg m;
        int fds[1 + SBX_CG_MAX_DIRS];
        size_t n = sizeof fds / sizeof fds[0];
        if (sbx_msg_recv(plan->sock, &m, fds, &n) < 0)
            _exit(0);
        if (m.type != SBX_MSG_PREPARE || n < 1)
            sbx_child_fail(plan->sock, EPROTO, "sandbox: unexpected message from the launcher");
        int run_sock = fds[0], slot = 0;
        while (slot < MAX_RUNS && runs[slot].pid)
            slot++;
        pid_t pid = -1;
        int e = EAGAIN;
        if (slot < MAX_RUNS) {
            pid = start_run(plan, upper_fd, run_sock, fds + 1, (int)n - 1, (unsigned)m.code,
                            &spare_net);
            e = errno;
        }
        for (size_t i = 1; i < n; i++)
            close(fds[i]);
        if (pid > 0) {
            runs[slot] = (struct run_slot){.pid = pid, .sock = run_sock};
            make_spare_net(plan, (unsigned)m.code, &spare_net);
            continue;
        }
        struct sbx_msg f = {.type = SBX_MSG_SETUP_FAILED, .code = e};
        snprintf(f.text, sizeof f.text, "run: creating its namespaces: %s", strerror(e));
        sbx_msg_send(run_sock, &f, NULL, 0);
        struct sbx_msg end = {.type = SBX_MSG_RUN_ENDED, .code = 125 << 8};
        sbx_msg_send(run_sock, &end, NULL, 0);
        close(run_sock);
    }
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
    if (plan->resident)
        resident_loop(plan, upper_fd);

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
    if (plan->seccomp_held)
        listener = plan->held_listener;
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

    drop_callers_stdio(plan);
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
            if (sbx_fsize_reached(plan->spec, upper_fd, plan->fsize_old, f.text, sizeof f.text))
                sbx_msg_send(plan->sock, &f, NULL, 0);
            /* A run's PID 1 ends the others itself: then the end can be told
             * before its own exit, which tears its namespaces down (an RCU
             * grace period for the mount namespace): the launcher answers
             * meanwhile and waits for that (SBX_MSG_RUN_ENDED) only before
             * it removes the run's cgroup. */
            if (plan->run)
                kill_and_reap_all();
            struct sbx_msg m = {.type = SBX_MSG_EXITED, .code = status};
            sbx_msg_send(plan->sock, &m, NULL, 0);
            /* Exiting ends the PID namespace: the kernel kills every other
             * process of the job and reaps it before our parent sees us go. */
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}
