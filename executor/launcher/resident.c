/* The launcher's side of a resident sandbox's runs (sbx_exec_opts.resident):
 * a run is prepared ahead of its command (its PID 1 made in namespaces of
 * its own, its cgroup entered, then waiting), so that taking a warm sandbox
 * or running in a session costs one message and an exec on the critical
 * path. A run is an sbx_job like any other for its caller: the same poll,
 * step, signal, kill, usage and result calls; only how it ends differs (its
 * PID 1 is the sandbox's child, not ours: the sandbox's PID 1 says when it
 * and its whole PID namespace are gone). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "executor/job/runspec.h"
#include "executor/seccomp/seccomp.h"
#include "job_internal.h"
#include "sync.h"

/* How long a run's PID 1 may take to get ready, and to go once killed. */
#define RUN_END_TIMEOUT_MS 10000

static int run_pollfds(struct sbx_job *run, struct pollfd *fds);
static int run_step(struct sbx_job *run, const struct pollfd *fds);
static void run_reap(struct sbx_job *run);
static void run_wait_gone(struct sbx_job *run);

static const struct sbx_job_ops run_ops = {
    .pollfds = run_pollfds,
    .step = run_step,
    .reap = run_reap,
    .wait_gone = run_wait_gone,
};

/* A sandbox on its second run runs many (a session): the next run's cgroup
 * is made now, while the sandbox's PID 1 makes this run (on another core,
 * with nothing else for us to do until it is ready), rather than on the
 * next run's path (~0.23 ms of v1 mkdirs on this host). Empty and without
 * limits until that run is prepared in it; it goes with the sandbox if it
 * never is. A failure leaves none: the next run makes its own. */
static void spare_cgroup(struct sbx_job *sb, unsigned next)
{
    if (!sb->cg || sb->spare_cg || next < 3)
        return;
    char name[32];
    snprintf(name, sizeof name, "run-%u", next);
    struct sbx_err e = {0};
    if (sbx_cgroup_create_child(sb->cg, name, NULL, &sb->spare_cg, &e) < 0)
        sb->spare_cg = NULL;
    else
        sbx_cgroup_stats_prepare(sb->spare_cg);
}

int sbx_sandbox_prepare(struct sbx_job *sb, struct sbx_job **out, struct sbx_err *err)
{
    *out = NULL;
    if (!sb->resident)
        return sbx_err_set(err, EINVAL, "run: the job is not a resident sandbox");
    if (!sb->started || sb->reaped || sb->killed || sb->sock < 0)
        return sbx_err_set(err, ESRCH, "run: the sandbox is not running");
    struct sbx_job *run = calloc(1, sizeof *run);
    if (!run)
        return sbx_err_set(err, ENOMEM, "out of memory");
    run->pid = -1;
    run->pidfd = run->sock = run->listener = -1;
    run->exec_status = 125;
    run->slot.lock_fd = -1;
    run->output_fds[0] = run->output_fds[1] = run->output_fds[2] = -1;
    run->sandbox = sb;
    run->ops = &run_ops;
    run->rootless = sb->rootless;
    run->landlock = sb->landlock;
    run->host_uid = sb->host_uid;
    run->host_gid = sb->host_gid;
    unsigned n = ++sb->runs;
    sb->live_runs++;

    int fds[1 + SBX_CG_MAX_DIRS];
    int nfds = 0;
    bool spare = false;
    if (sb->cg) {
        char name[32];
        snprintf(name, sizeof name, "run-%u", n);
        run->cg = sb->spare_cg;
        sb->spare_cg = NULL;
        spare = run->cg != NULL;
        int r = run->cg ? 0 : sbx_cgroup_create_child(sb->cg, name, NULL, &run->cg, err);
        if (r < 0)
            goto failed;
        nfds = sbx_cgroup_open_procs(run->cg, fds + 1, err);
        if (nfds < 0)
            goto failed;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        sbx_err_sys(err, errno, "run: socketpair");
        for (int i = 1; i <= nfds; i++)
            close(fds[i]);
        goto failed;
    }
    fds[0] = sv[1];
    /* The sandbox's own network namespace is new and unused for its first
     * run; every later one gets a new one: made by PID 1 as it clones the
     * run (the second), or ahead, after it cloned the run before (init.c,
     * make_spare_net). */
    struct sbx_msg m = {.type = SBX_MSG_PREPARE, .code = n > 1 ? SBX_PREPARE_NEWNET : 0};
    int r = sbx_msg_send(sb->sock, &m, fds, (size_t)nfds + 1);
    for (int i = 0; i <= nfds; i++)
        close(fds[i]);
    run->sock = sv[0];
    if (r < 0) {
        sbx_err_sys(err, -r, "run: asking the sandbox for a run");
        goto failed;
    }
    run->t_start = sbx_job_now_ns_();
    run->setup_deadline = run->t_start + (int64_t)SETUP_TIMEOUT_MS * 1000000;
    /* While PID 1 makes the run: its statistics are read at its end, on
     * its path (a spare cgroup had them opened when it was made). */
    if (run->cg && !spare)
        sbx_cgroup_stats_prepare(run->cg);
    spare_cgroup(sb, n + 1);
    *out = run;
    return 0;
failed:
    sbx_job_free_(run);
    return -(err->code ? err->code : EIO);
}

bool sbx_run_prepared(const struct sbx_job *run)
{
    return run->sandbox && run->prepared && !run->setup_over && !run->reaped;
}

bool sbx_run_net_ahead(const struct sbx_job *run)
{
    return run->sandbox && run->net_ahead;
}

/* What the sandbox has left for a run's memory: its limit, less what its
 * PID 1, the next run and earlier runs' files hold. A run's limit is capped
 * to it, so that its own cgroup runs out first: the OOM killer picks among
 * the run's processes and counts the kill there (OOM_KILLED), and the
 * sandbox lives on. 0: no cap (no limit, or nothing sensible left, and the
 * sandbox's own limit decides). */
#define RUN_MEMORY_MARGIN ((uint64_t)4 << 20)
static uint64_t memory_left(const struct sbx_job *run)
{
    const struct sbx_job *sb = run->sandbox;
    uint64_t total = sb->memory_limit, all, own;
    if (!total || !sb->cg || sbx_cgroup_memory_current(sb->cg, &all) < 0 ||
        sbx_cgroup_memory_current(run->cg, &own) < 0)
        return 0;
    uint64_t others = all > own ? all - own : 0;
    if (total <= others + 2 * RUN_MEMORY_MARGIN)
        return 0;
    return total - others - RUN_MEMORY_MARGIN;
}

/* The same for processes: a run that forks all it may must leave the
 * sandbox room to make its next run (its init and that run's first
 * process) and PID 1 its own. */
#define RUN_PIDS_RESERVE 3
static uint32_t pids_left(const struct sbx_job *run)
{
    const struct sbx_job *sb = run->sandbox;
    uint64_t total = sb->pids_limit, all, own;
    if (!total || !sb->cg || sbx_cgroup_pids_current(sb->cg, &all) < 0 ||
        sbx_cgroup_pids_current(run->cg, &own) < 0)
        return 0;
    uint64_t others = all > own ? all - own : 0;
    if (total <= others + RUN_PIDS_RESERVE + 1)
        return 0;
    return (uint32_t)(total - others - RUN_PIDS_RESERVE);
}

static uint64_t narrowed(uint64_t asked, uint64_t left)
{
    return left && (!asked || asked > left) ? left : asked;
}

/* When a run gets ready, its cgroup gets what the sandbox has left (which
 * stays so while no other run of the sandbox is live: sandboxd prepares a
 * session's next run once the last one is gone), off the critical path; the
 * run's start writes only what its request narrows. Computed again at the
 * start when another run was or is live (its usage may have grown), and
 * when this failed: the start then fails closed. */
static void preset_limits(struct sbx_job *run)
{
    if (!run->cg)
        return;
    run->limits_shared = run->sandbox->live_runs > 1;
    run->memory_left = memory_left(run);
    run->pids_left = pids_left(run);
    struct sbx_cg_limits l = {.memory = run->memory_left, .pids = run->pids_left};
    struct sbx_err e = {0};
    if ((l.memory || l.pids) && sbx_cgroup_limit(run->cg, &l, &e) < 0)
        return;
    run->memory_set = l.memory;
    run->pids_set = l.pids;
    run->limits_set = true;
}

int sbx_run_start(struct sbx_job *run, const struct sbx_spec *spec, const int stdio[3],
                  struct sbx_err *err)
{
    if (!sbx_run_prepared(run) || run->setup_deadline)
        return sbx_err_set(err, EINVAL, "run: not ready for a command");
    if (run->cg) {
        if (!run->limits_set || run->limits_shared || run->sandbox->live_runs > 1)
            preset_limits(run);
        /* Only what differs from what is set; CPUs the sandbox's own cgroup
         * already bounds (its runs' are its children) need no second copy. */
        struct sbx_cg_limits l = {0};
        uint64_t mem = narrowed(spec->limits.memory, run->memory_left);
        uint64_t pids = narrowed(spec->limits.pids, run->pids_left);
        if (mem != run->memory_set || !run->limits_set)
            l.memory = mem;
        if (pids != run->pids_set || !run->limits_set)
            l.pids = (uint32_t)pids;
        if (spec->limits.cpus > 0 && spec->limits.cpus != run->sandbox->cpus_limit)
            l.cpus = spec->limits.cpus;
        int r = l.memory || l.pids || l.cpus > 0 ? sbx_cgroup_limit(run->cg, &l, err) : 0;
        if (r < 0)
            return r;
    }
    run->wall_limit_ns = spec->limits.wall_time_ns;
    run->cpu_limit_ns = spec->limits.cpu_time_ns;
    _cleanup_close_ int memfd = sbx_runspec_encode(spec, err);
    if (memfd < 0)
        return memfd;
    int fds[4] = {memfd};
    size_t n = 1;
    struct sbx_msg m = {.type = SBX_MSG_RUN};
    for (int i = 0; i < 3; i++)
        if (stdio && stdio[i] >= 0) {
            fds[n++] = stdio[i];
            m.code |= 1 << i;
        }
    int r = sbx_msg_send(run->sock, &m, fds, n);
    if (r < 0)
        return sbx_err_sys(err, -r, "run: sending the command");
    run->t_start = sbx_job_now_ns_();
    run->setup_deadline = run->t_start + (int64_t)SETUP_TIMEOUT_MS * 1000000;
    return 0;
}

static int run_pollfds(struct sbx_job *run, struct pollfd *fds)
{
    fds[0] = (struct pollfd){.fd = run->sock, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = -1};
    fds[2] = (struct pollfd){.fd = run->listener, .events = POLLIN};
    return 3;
}

/* The run and its PID namespace are gone (status: its PID 1's). */
static void ended(struct sbx_job *run, int status)
{
    if (!run->have_status)
        run->status = status;
    run->reaped = true;
    run->t_end = sbx_job_now_ns_();
    if (run->sock >= 0) {
        close(run->sock);
        run->sock = -1;
    }
}

/* One message from the run's socket. */
static void read_one(struct sbx_job *run)
{
    struct sbx_msg m;
    int fd = -1;
    size_t nfds = 1;
    int r = sbx_msg_recv(run->sock, &m, &fd, &nfds);
    if (r == -ECONNRESET)
        return;
    if (r < 0) {
        /* Every end closed: the sandbox's PID 1 died with the run. */
        if (!run->started && !run->setup_over) {
            struct sbx_err e = {0};
            sbx_err_set(&e, ECHILD, "run: the sandbox ended before the run started");
            sbx_job_end_setup_(run, true, &e);
        }
        ended(run, SIGKILL);
        return;
    }

    switch (m.type) {
    case SBX_MSG_READY:
        if (nfds && !run->prepared && run->pidfd < 0) {
            run->pidfd = fd;
            run->prepared = true;
            run->net_ahead = m.code & SBX_READY_NET_AHEAD;
            run->setup_deadline = 0; /* waits for its command as long as it takes */
            preset_limits(run);
            return;
        }
        break;
    case SBX_MSG_STARTED:
        if (!run->started && !run->setup_over) {
            run->listener = nfds ? fd : -1;
            run->started = true;
            run->t_start = sbx_job_now_ns_();
            run->next_cpu_check = run->t_start;
            sbx_job_deliver_pending_(run);
            return;
        }
        break;
    case SBX_MSG_SETUP_FAILED:
    case SBX_MSG_EXEC_FAILED:
        if (!run->started && !run->setup_over) {
            struct sbx_err e = {0};
            if (m.type == SBX_MSG_EXEC_FAILED) {
                run->exec_status = m.code == ENOENT ? 127 : 126;
                sbx_err_set(&e, m.code ? m.code : EIO, "command %s", m.text);
            } else {
                sbx_err_set(&e, m.code ? m.code : EIO, "%s", m.text);
            }
            sbx_job_end_setup_(run, true, &e);
        }
        break;
    case SBX_MSG_EXITED:
        /* Its PID 1 has ended every process of the run: the run is over,
         * though its namespaces are still being torn down (RUN_ENDED). */
        run->have_status = true;
        run->status = m.code;
        run->reaped = true;
        run->t_end = sbx_job_now_ns_();
        break;
    case SBX_MSG_OUTPUT_FILE:
        run->output_file = true;
        break;
    case SBX_MSG_RUN_ENDED:
        if (!run->started && !run->setup_over) {
            struct sbx_err e = {0};
            sbx_err_set(&e, ECHILD, "run: its init died during setup");
            sbx_job_end_setup_(run, true, &e);
        }
        if (nfds)
            close(fd);
        ended(run, m.code);
        return;
    default:
        break;
    }
    if (nfds)
        close(fd);
}

static int run_step(struct sbx_job *run, const struct pollfd *fds)
{
    /* EXITED then RUN_ENDED may both be queued: read what there is. */
    for (int i = 0; i < 4 && run->sock >= 0 && !run->reaped; i++) {
        struct pollfd p = {.fd = run->sock, .events = POLLIN};
        if (i == 0 ? !(fds[0].revents & (POLLIN | POLLHUP | POLLERR)) : poll(&p, 1, 0) != 1)
            break;
        read_one(run);
    }
    sbx_job_listener_step_(run, fds[2].revents);
    if (!run->reaped && !run->started && !run->setup_over && run->setup_deadline &&
        sbx_job_now_ns_() >= run->setup_deadline) {
        struct sbx_err e = {0};
        sbx_err_set(&e, ETIMEDOUT, "setup: the run did not start within %d s",
                    SETUP_TIMEOUT_MS / 1000);
        sbx_job_end_setup_(run, true, &e);
    }
    if (run->started)
        sbx_job_check_limits_(run);
    return run->reaped;
}

/* Until the run's PID 1 is gone (its cgroup can go then), briefly: it has
 * ended every other process and only tears its namespaces down. */
static void run_wait_gone(struct sbx_job *run)
{
    int64_t deadline = sbx_job_now_ns_() + (int64_t)RUN_END_TIMEOUT_MS * 1000000;
    while (run->sock >= 0) {
        int64_t left = (deadline - sbx_job_now_ns_()) / 1000000;
        struct pollfd p = {.fd = run->sock, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            break;
        struct sbx_msg m;
        size_t nfds = 0;
        if (sbx_msg_recv(run->sock, &m, NULL, &nfds) < 0 || m.type == SBX_MSG_RUN_ENDED)
            break;
    }
    if (run->sock >= 0) {
        close(run->sock);
        run->sock = -1;
    }
}

static void run_reap(struct sbx_job *run)
{
    if (run->reaped)
        return;
    if (run->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, NULL, 0);
    /* A run still waiting for its command reads the end of its socket and
     * exits by itself (one not yet ready may not have sent its pidfd). */
    if (run->sock >= 0)
        shutdown(run->sock, SHUT_WR);
    int64_t deadline = sbx_job_now_ns_() + (int64_t)RUN_END_TIMEOUT_MS * 1000000;
    while (!run->reaped && run->sock >= 0) {
        int64_t left = (deadline - sbx_job_now_ns_()) / 1000000;
        struct pollfd p = {.fd = run->sock, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            break;
        read_one(run);
    }
    if (!run->reaped)
        ended(run, SIGKILL); /* the cgroup's teardown kills what may be left */
}
