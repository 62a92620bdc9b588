/* The launcher side of a job: build the plan, clone the child into its new
 * namespaces, write its id maps, hand it its mount sources, then supervise
 * (wall-time and CPU-time limits, seccomp notifications, signals) and turn
 * what happened into a JobResult. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "common/cleanup.h"
#include "common/stdfds.h"
#include "common/hostfile.h"
#include "executor/cgroup/cgroup.h"
#include "executor/hostfit.h"
#include "executor/datadir.h"
#include "executor/landlock.h"
#include "executor/job/child.h"
#include "executor/mounts.h"
#include "executor/rlimits.h"
#include "executor/seccomp/seccomp.h"
#include "sync.h"

#ifndef SBX_DEFAULT_ROOTFS
#define SBX_DEFAULT_ROOTFS "/usr/share/sbx/rootfs"
#endif

#include "job_internal.h"

int64_t sbx_job_now_ns_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *sbx_default_rootfs(void)
{
    const char *env = getenv("SBX_DEFAULT_ROOTFS");
    if (env && *env)
        return env;
    static char installed[4200];
    const char *dir = sbx_install_dir();
    if (dir && !installed[0])
        snprintf(installed, sizeof installed, "%s/rootfs", dir);
    return dir ? installed : SBX_DEFAULT_ROOTFS;
}

void sbx_result_init(struct sbx_result *res)
{
    memset(res, 0, sizeof *res);
    sbx__v1__job_result__init(&res->msg);
    res->msg.error = res->error;
    res->msg.syscall = res->syscall;
}

void sbx_result_setup_failed(struct sbx_result *res, const struct sbx_err *err)
{
    res->msg.has_status = true;
    res->msg.status = SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED;
    snprintf(res->error, sizeof res->error, "%s", err->msg);
}

int sbx_result_exit_status(const JobResult *r)
{
    switch (r->status) {
    case SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED:
        return r->exit_code == 126 || r->exit_code == 127 ? r->exit_code : 125;
    default:
        if (r->signal)
            return 128 + r->signal;
        return r->exit_code;
    }
}

void sbx_job_free_(struct sbx_job *job)
{
    /* A run's PID 1 lives in the run's cgroup until its namespaces are gone. */
    if (job->sandbox) {
        job->ops->wait_gone(job);
        job->sandbox->live_runs--;
    }
    if (job->pidfd >= 0)
        close(job->pidfd);
    if (job->sock >= 0)
        close(job->sock);
    if (job->listener >= 0)
        close(job->listener);
    for (int i = 0; i < 3; i++)
        if (job->output_fds[i] >= 0)
            close(job->output_fds[i]);
    struct sbx_err e = {0};
    /* Children first: a cgroup goes only once its children have. */
    if (job->spare_cg)
        sbx_cgroup_destroy(job->spare_cg, &e);
    if (job->cg_init)
        sbx_cgroup_destroy(job->cg_init, &e);
    if (job->cg)
        sbx_cgroup_destroy(job->cg, &e);
    sbx_uid_slot_release(&job->slot);
    sbx_seccomp_free(job->seccomp);
    free(job);
}

static void job_freep(struct sbx_job **j)
{
    if (*j)
        sbx_job_free_(*j);
}

/* Opens the policy's stdio files (as the launcher: the caller's own rights),
 * before the job runs, as regular files only: a symlink or FIFO a job left
 * in a directory it could write is refused, never followed or blocked on. */
static int open_stdio(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                      struct sbx_job *job, int stdio[3], struct sbx_err *err)
{
    static const char *const names[3] = {"stdio.stdin_file", "stdio.stdout_file",
                                         "stdio.stderr_file"};
    const char *files[3] = {spec->stdin_file, spec->stdout_file, spec->stderr_file};
    for (int i = 0; i < 3; i++) {
        stdio[i] = opts && opts->stdio[i] >= 0 ? opts->stdio[i] : -1;
        /* A stream the caller gives (a pipe through the supervisor, for
         * the output limit) already leads to the file. */
        if (!files[i] || stdio[i] >= 0)
            continue;
        int flags = i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC | O_APPEND;
        job->output_fds[i] = sbx_hostfile_open(names[i], files[i], flags, 0644, err);
        if (job->output_fds[i] < 0)
            return job->output_fds[i];
        stdio[i] = job->output_fds[i];
    }
    return 0;
}

/* Every fd the job gets as stdio, the caller's own 0-2 included (-1: the
 * launcher's own fd is passed on), must be a stream, never a directory. */
static int check_stdio(const struct sbx_spec *spec, const int stdio[3], struct sbx_err *err)
{
    static const char *const names[3] = {"stdio.stdin_file", "stdio.stdout_file",
                                         "stdio.stderr_file"};
    static const char *const streams[3] = {"stdin", "stdout", "stderr"};
    const char *files[3] = {spec->stdin_file, spec->stdout_file, spec->stderr_file};
    for (int i = 0; i < 3; i++) {
        const char *what;
        int r = sbx_stdio_fd_check(stdio[i] >= 0 ? stdio[i] : i, &what);
        if (r == -EINVAL)
            return files[i] ? sbx_err_set(err, EINVAL, "%s: %s is %s; a job's stdio must be a "
                                          "regular file, a pipe, a socket or a tty",
                                          names[i], files[i], what)
                            : sbx_err_set(err, EINVAL, "%s: the job's %s is %s; it must be a "
                                          "regular file, a pipe, a socket or a tty",
                                          streams[i], streams[i], what);
        if (r < 0)
            return sbx_err_sys(err, -r, "%s", files[i] ? names[i] : streams[i]);
    }
    return 0;
}

static int send_sources(struct sbx_job *job, const struct sbx_spec *spec, size_t n,
                        struct sbx_err *err)
{
    _cleanup_free_ int *fds = n ? calloc(n, sizeof(int)) : NULL;
    if (n && !fds)
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (n && !job->rootless) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)job->pid);
        /* A range the engine chose comes with files it already shifted
         * into it: idmapping them again would shift them twice. */
        _cleanup_close_ int userns = job->engine_idmap ? -1 : open(path, O_RDONLY | O_CLOEXEC);
        if (userns < 0 && !job->engine_idmap)
            return sbx_err_sys(err, errno, "opening the job's user namespace");
        int r = sbx_mount_sources_open(spec, userns, fds, err);
        if (r < 0)
            return r;
    }
    size_t sent = 0;
    int r = 0;
    do {
        size_t chunk = job->rootless ? 0 : n - sent;
        if (chunk > SBX_MSG_MAX_FDS)
            chunk = SBX_MSG_MAX_FDS;
        struct sbx_msg m = {.type = sent + chunk == n || job->rootless ? SBX_MSG_GO : SBX_MSG_FDS,
                            .nfds = (uint32_t)chunk};
        r = sbx_msg_send(job->sock, &m, fds + sent, chunk);
        sent += chunk;
        if (r < 0 || m.type == SBX_MSG_GO)
            break;
    } while (sent < n);
    for (size_t i = 0; !job->rootless && i < n; i++)
        close(fds[i]);
    if (r < 0)
        return sbx_err_sys(err, -r, "sending mount sources to the job");
    return 0;
}

struct joined {
    int type, fd, own;
    const char *proc, *what;    /* /proc/self/ns/<proc>; the name in errors */
};

static int join_for_clone(struct joined *j, size_t n, struct sbx_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (j[i].fd < 0)
            continue;
        char path[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", j[i].proc);
        j[i].own = open(path, O_RDONLY | O_CLOEXEC);
        if (j[i].own < 0 || setns(j[i].fd, j[i].type) < 0)
            return sbx_err_sys(err, errno, "%s namespace: joining the given one", j[i].what);
    }
    return 0;
}

/* Back to the launcher's own namespaces, whatever happened. Returns -EIO
 * (err filled when non-NULL) when that fails: the launcher cannot stay in
 * a container's namespace, so the job fails closed. */
static int leave_after_clone(struct joined *j, size_t n, struct sbx_err *err)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (j[i].own < 0)
            continue;
        if (setns(j[i].own, j[i].type) < 0) {
            if (err && r == 0)
                sbx_err_sys(err, errno, "%s namespace: returning to the launcher's", j[i].what);
            r = -EIO;
        }
        close(j[i].own);
        j[i].own = -1;
    }
    return r;
}

static struct sbx_cgroup *placement(const struct sbx_job *job);

static int clone_child(struct sbx_job *job, const struct sbx_plan *plan_tmpl, int child_sock,
                       struct sbx_err *err)
{
    int cgfd = job->cg ? sbx_cgroup_clone_fd(placement(job)) : -1;
    /* No CLONE_NEWNET: the child makes its network namespace itself. */
    struct clone_args ca = {
        .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                 (plan_tmpl->joined_uts ? 0 : CLONE_NEWUTS) |
                 (plan_tmpl->joined_ipc ? 0 : CLONE_NEWIPC) | CLONE_PIDFD |
                 (cgfd >= 0 ? CLONE_INTO_CGROUP : 0),
        .pidfd = (uint64_t)(uintptr_t)&job->pidfd,
        .exit_signal = SIGCHLD,
        .cgroup = (uint64_t)(cgfd >= 0 ? cgfd : 0),
    };
    /* Owned by the job's slot uid, not root: the job's kernel counts are
     * charged to its own host uid (SECURITY.md). */
    struct sbx_userns_owner owner;
    if (sbx_userns_owner_enter(&plan_tmpl->idmap, &owner, err) < 0)
        return -err->code;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    int e = errno;
    if (pid != 0)
        sbx_userns_owner_leave(&owner);
    if (pid < 0)
        return sbx_err_sys(err, e, "creating the job's namespaces (clone3)");
    if (pid == 0) {
        close(job->sock);
        struct sbx_plan plan = *plan_tmpl;
        plan.sock = child_sock;
        sbx_child_main(&plan);
    }
    job->pid = (pid_t)pid;
    return 0;
}

/* Reads one setup message from the child: 1 once the command runs, 0 when
 * there is nothing more to read yet, or a negative errno with err saying why
 * the setup failed (exec_status: 126/127 when the command could not run;
 * *said: the child reported it, rather than died without a word). */
int sbx_job_read_setup_msg_(struct sbx_job *job, int *exec_status, bool *said, struct sbx_err *err)
{
    *said = false;
    struct sbx_msg m;
    size_t nfds = 1;
    int fd = -1;
    int r = sbx_msg_recv(job->sock, &m, &fd, &nfds);
    /* A child that failed with a message of ours still unread in its
     * queue leaves ECONNRESET on our socket, reported once before the
     * messages it sent: the next poll finds its reason. */
    if (r == -ECONNRESET)
        return 0;
    if (r == -EPIPE)
        return sbx_err_set(err, ECHILD, "setup: the job's init died during setup");
    if (r < 0)
        return sbx_err_sys(err, -r, "setup: reading from the job");
    if (m.type == SBX_MSG_STARTED) {
        job->listener = nfds ? fd : -1;
        return 1;
    }
    /* A detached job is as far as it goes without its start. */
    if (m.type == SBX_MSG_READY && !nfds)
        return 1;
    if (nfds)
        close(fd);
    *said = m.type == SBX_MSG_SETUP_FAILED || m.type == SBX_MSG_EXEC_FAILED;
    switch (m.type) {
    case SBX_MSG_SETUP_FAILED:
        return sbx_err_set(err, m.code ? m.code : EIO, "%s", m.text);
    case SBX_MSG_EXEC_FAILED:
        *exec_status = m.code == ENOENT ? 127 : 126;
        return sbx_err_set(err, m.code ? m.code : EIO, "command %s", m.text);
    default:
        return sbx_err_set(err, EPROTO, "setup: unexpected message %u from the job", m.type);
    }
}

void sbx_job_deliver_pending_(struct sbx_job *job)
{
    for (int sig = 1; sig <= 64 && job->pending_sigs; sig++)
        if (job->pending_sigs & (UINT64_C(1) << (sig - 1))) {
            job->pending_sigs &= ~(UINT64_C(1) << (sig - 1));
            syscall(SYS_pidfd_send_signal, job->pidfd, sig, NULL, 0);
        }
}

/* The child's PID 1 is gone or must go: reap it (it was sent SIGKILL, so
 * this does not wait on the job's own work). */
static void reap_now(struct sbx_job *job)
{
    if (job->reaped)
        return;
    if (job->sandbox) {
        job->ops->reap(job);
        return;
    }
    syscall(SYS_pidfd_send_signal, job->pidfd, SIGKILL, NULL, 0);
    int st;
    if (wait4(job->pid, &st, __WALL, &job->ru) == job->pid && !job->have_status)
        job->status = st;
    job->reaped = true;
    job->t_end = sbx_job_now_ns_();
}

/* The setup is over without the command running: why, then SIGKILL (a
 * child that reported a failure exits by itself; one that hangs must not). */
void sbx_job_end_setup_(struct sbx_job *job, bool failed, const struct sbx_err *err)
{
    job->setup_over = true;
    if (failed) {
        job->setup_failed = true;
        job->setup_err = *err;
    } else {
        /* Killed on request: report it as such, whatever the child's own
         * exit status (it may have been on its way out for another reason). */
        job->have_status = true;
        job->status = SIGKILL;
    }
    syscall(SYS_pidfd_send_signal, job->pidfd, SIGKILL, NULL, 0);
}

static bool frozen_past_wall(const struct sbx_job *job)
{
    return job->frozen && job->wall_limit_ns > 0 &&
           sbx_job_now_ns_() - job->t_start >= job->wall_limit_ns;
}


/* The setup phase of sbx_job_step: returns 1 when the job ended during it
 * (a failed setup, or killed on request), else 0. */
static int setup_step(struct sbx_job *job, const struct pollfd *fds)
{
    if (!job->setup_over) {
        struct sbx_err err = {0};
        bool said = false;
        int r = 0;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
            r = sbx_job_read_setup_msg_(job, &job->exec_status, &said, &err);
        else if (fds[1].revents & POLLIN)
            /* The child died without a word: it was killed from outside. */
            r = sbx_err_set(&err, ECHILD, "setup: the job's init died during setup");
        else if (job->setup_deadline && sbx_job_now_ns_() >= job->setup_deadline)
            r = sbx_err_set(&err, ETIMEDOUT, "setup: the job did not start within %d s",
                            SETUP_TIMEOUT_MS / 1000);
        else if (frozen_past_wall(job)) {
            /* Paused during its setup: the setup clock stops, the wall clock
             * does not, or a paused job would hold its slot for ever. */
            job->killed = KILL_WALL;
            sbx_job_end_setup_(job, false, NULL);
            sbx_job_kill_(job, KILL_WALL);
            return 0;
        }
        if (r > 0) {
            job->started = true;
            job->t_start = sbx_job_now_ns_();
            job->next_cpu_check = job->t_start;
            sbx_job_deliver_pending_(job);
            return 0;
        }
        if (r == 0)
            return 0;
        /* A child killed on request dies without a word; one that said why
         * it failed did fail, kill or not. Killed for its output, the
         * command did run (the bytes came from it), though PID 1 may have
         * died before it could say so: the limit, not a setup failure. */
        sbx_job_end_setup_(job, said || (job->killed != KILL_REQUESTED && job->killed != KILL_OUTPUT), &err);
    }
    if (!(fds[1].revents & POLLIN))
        return 0;
    int st;
    if (wait4(job->pid, &st, __WALL | WNOHANG, &job->ru) != job->pid)
        return 0;
    if (!job->have_status)
        job->status = st;
    job->reaped = true;
    job->t_end = sbx_job_now_ns_();
    return 1;
}

/* A setup step of the launcher failed after the clone: a child that failed
 * first (then closed its socket, which is what the launcher tripped on) has
 * said why, and that is the reason to report. */
static void prefer_child_reason(struct sbx_job *job, int *exec_status, struct sbx_err *err)
{
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = job->sock, .events = POLLIN};
        if (poll(&p, 1, 0) != 1)
            return;
        struct sbx_err e = {0};
        bool said = false;
        int code = *exec_status;
        if (sbx_job_read_setup_msg_(job, &code, &said, &e) != 0 && !said)
            return;
        if (said) {
            *err = e;
            *exec_status = code;
            return;
        }
    }
}

static int make_cgroup(struct sbx_job *job, const struct sbx_spec *spec,
                       const struct sbx_exec_opts *opts, struct sbx_err *err)
{
    struct sbx_cg_limits l = {
        .memory = spec->limits.memory,
        .pids = spec->limits.pids,
        .cpus = spec->limits.cpus,
        .cpu_weight = spec->limits.cpu_weight,
        .cpuset = spec->limits.cpuset,
    };
    static unsigned seq;
    char name[256]; /* a kept job's name is its caller's: up to 200 bytes */
    if (opts && opts->job_name)
        snprintf(name, sizeof name, "%s", opts->job_name);
    else
        snprintf(name, sizeof name, "%d-%u", (int)getpid(), seq++);
    if (opts && opts->detached)
        return sbx_cgroup_create_kept(name, &l, &job->cg, err);
    if (!opts || !opts->resident)
        return sbx_cgroup_create(name, &l, &job->cg, err);
    /* A run may narrow any limit: every controller a limit can use. */
    l.children = true;
    int r = sbx_cgroup_create(name, &l, &job->cg, err);
    if (r == 0)
        r = sbx_cgroup_create_child(job->cg, "init", NULL, &job->cg_init, err);
    return r;
}

/* Where the child goes: the job's cgroup, or a resident sandbox's "init". */
static struct sbx_cgroup *placement(const struct sbx_job *job)
{
    return job->cg_init ? job->cg_init : job->cg;
}

/* waiting: the caller will wait for the setup (sbx_job_start), so it may as
 * well do the v1 cgroup migration itself, in parallel with the child's
 * setup; a service (sbx_job_spawn) leaves it to the child. */
static int spawn(const struct sbx_spec *spec, const struct sbx_exec_opts *opts, bool waiting,
                 struct sbx_job **out, struct sbx_result *res, int *exec_status,
                 struct sbx_err *err)
{
    *exec_status = 125;
    *out = NULL;
    __attribute__((cleanup(job_freep))) struct sbx_job *job = NULL;
    if (sbx_hostfit_check(spec, err) < 0)
        goto failed;
    job = calloc(1, sizeof *job);
    if (!job) {
        sbx_err_set(err, ENOMEM, "out of memory");
        goto failed;
    }
    job->pidfd = job->sock = job->listener = -1;
    job->exec_status = 125;
    job->slot.lock_fd = -1;
    job->output_fds[0] = job->output_fds[1] = job->output_fds[2] = -1;
    job->wall_limit_ns = spec->limits.wall_time_ns;
    job->cpu_limit_ns = spec->limits.cpu_time_ns;

    struct sbx_plan plan = {.spec = spec, .sock = -1, .lock_fd = -1, .start_fd = -1,
                            .console_fd = -1};
    if (sbx_rlimits_fit(spec, err) < 0)
        goto failed;
    if (opts && opts->detached) {
        if (opts->start_fd < 0) {
            sbx_err_set(err, EINVAL, "setup: a detached job needs a start FIFO");
            goto failed;
        }
        plan.detached = true;
        plan.start_fd = opts->start_fd;
        plan.joined_netns = opts->netns_fd >= 0;
        plan.joined_ipc = opts->ipcns_fd >= 0;
        plan.joined_uts = opts->utsns_fd >= 0;
        plan.console_fd = opts->console_fd;
        plan.masked_paths = opts->masked_paths;
        plan.readonly_paths = opts->readonly_paths;
        plan.sysctls = opts->sysctls;
        plan.extra_seccomp = opts->extra_seccomp;
        plan.readonly_root = opts->readonly_root;
        plan.procattr = opts->procattr;
        plan.mqueue = opts->mqueue && opts->ipcns_fd < 0;
        plan.sysfs = opts->sysfs && opts->netns_fd < 0;
    }
    if (opts && opts->premade_netns && !plan.detached) {
        if (opts->netns_fd < 0) {
            sbx_err_set(err, EINVAL, "setup: a premade network namespace needs its fd");
            goto failed;
        }
        plan.joined_netns = plan.premade_netns = true;
    }
    if (opts && opts->resident) {
        if (opts->detached) {
            sbx_err_set(err, EINVAL, "setup: a job is either detached or resident");
            goto failed;
        }
        plan.resident = true;
        job->resident = true;
        job->memory_limit = spec->limits.memory;
        job->pids_limit = spec->limits.pids;
        job->cpus_limit = spec->limits.cpus;
        /* The sandbox lives as long as its owner wants; limits of time
         * are its runs'. */
        job->wall_limit_ns = job->cpu_limit_ns = 0;
    }
    if (sbx_seccomp_compile(spec->seccomp, &job->seccomp, err) < 0)
        goto failed;
    plan.seccomp = job->seccomp;
    plan.landlock_abi = sbx_landlock_abi();
    job->landlock = plan.landlock_abi > 0;

    job->rootless = geteuid() != 0;
    if (job->rootless) {
        plan.idmap = (struct sbx_idmap){.host_uid = getuid(), .host_gid = getgid(), .count = 1,
                                        .rootless = true};
        if (spec->uid || spec->gid) {
            sbx_err_set(err, EPERM, "uid/gid: rootless mode maps only root inside");
            goto failed;
        }
        /* Limits that need cgroups must not silently vanish: without root
         * there is no job cgroup, so refuse rather than run unbounded. */
        const char *needs_cg = spec->limits.memory ? "limits.memory"
                               : spec->limits.pids ? "limits.pids"
                               : spec->limits.cpus > 0 ? "limits.cpus"
                               : spec->limits.cpu_weight ? "limits.cpu_weight"
                               : spec->limits.cpuset ? "limits.cpuset"
                               : spec->limits.cpu_time_ns ? "limits.cpu_time"
                                                          : NULL;
        if (needs_cg) {
            sbx_err_set(err, EPERM, "%s: needs a job cgroup, which rootless mode cannot create "
                                    "(run as root)", needs_cg);
            goto failed;
        }
    } else if (plan.detached && opts->idmap) {
        /* The caller's own range (checked by sbx_userns_write_maps: never
         * host uid 0 nor the launcher's). */
        plan.idmap = *opts->idmap;
        plan.idmap.rootless = false;
        job->engine_idmap = true;
    } else {
        struct sbx_uidpool pool;
        if (opts && opts->pool)
            pool = *opts->pool;
        else if (sbx_uidpool_from_env(&pool, err) < 0)
            goto failed;
        if (sbx_uid_slot_acquire(&pool, &job->slot, err) < 0)
            goto failed;
        plan.idmap = (struct sbx_idmap){.host_uid = job->slot.host_id, .host_gid = job->slot.host_id,
                                        .count = job->slot.range};
    }
    plan.lock_fd = job->slot.lock_fd;
    job->host_uid = plan.idmap.host_uid;
    job->host_gid = plan.idmap.host_gid;
    plan.n_sources = job->rootless ? 0 : sbx_mount_sources_count(spec);

    if (open_stdio(spec, opts, job, plan.stdio, err) < 0)
        goto failed;
    if (check_stdio(spec, plan.stdio, err) < 0)
        goto failed;
    if (!job->rootless && make_cgroup(job, spec, opts, err) < 0)
        goto failed;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        sbx_err_sys(err, errno, "socketpair");
        goto failed;
    }
    job->sock = sv[0];
    /* Where clone3 cannot place the child (v1), it is moved after the clone:
     * by this launcher when it waits anyway, else by the child itself. */
    bool migrate = job->cg && sbx_cgroup_clone_fd(placement(job)) < 0;
    plan.cgroup_later = migrate && waiting;
    if (migrate && !waiting) {
        plan.n_cg_procs = sbx_cgroup_open_procs(placement(job), plan.cg_procs, err);
        if (plan.n_cg_procs < 0) {
            close(sv[1]);
            goto failed;
        }
    }
    /* Joined namespaces are the launcher's for the clone only: the child
     * inherits them instead of getting new ones. */
    struct joined joins[] = {
        {CLONE_NEWNET, plan.joined_netns ? opts->netns_fd : -1, -1, "net", "network"},
        {CLONE_NEWIPC, plan.joined_ipc ? opts->ipcns_fd : -1, -1, "ipc", "IPC"},
        {CLONE_NEWUTS, plan.joined_uts ? opts->utsns_fd : -1, -1, "uts", "UTS"},
    };
    int r = join_for_clone(joins, 3, err);
    if (r == 0)
        r = clone_child(job, &plan, sv[1], err);
    if (leave_after_clone(joins, 3, r == 0 ? err : NULL) < 0)
        r = -EIO;
    close(sv[1]);
    for (int i = 0; i < plan.n_cg_procs; i++)
        close(plan.cg_procs[i]);
    if (r < 0)
        goto failed;

    if (sbx_userns_write_maps(job->pid, &plan.idmap, err) < 0)
        goto failed;
    if (send_sources(job, spec, plan.n_sources, err) < 0)
        goto failed;
    /* The child builds its root meanwhile (on the other core). */
    if (plan.cgroup_later) {
        if (sbx_cgroup_enter(placement(job), job->pid, err) < 0)
            goto failed;
        struct sbx_msg m = {.type = SBX_MSG_CGROUP_READY};
        /* A child that failed meanwhile has sent why: setup_step reads it. */
        (void)sbx_msg_send(job->sock, &m, NULL, 0);
    }
    if (job->cg)
        sbx_cgroup_cleanup_stale_once();

    job->t_start = sbx_job_now_ns_();
    job->setup_deadline = job->t_start + (int64_t)SETUP_TIMEOUT_MS * 1000000;
    *out = take_ptr(job);
    return 0;

failed:
    if (job && job->sock >= 0 && job->pidfd >= 0)
        prefer_child_reason(job, exec_status, err);
    if (res)
        sbx_result_setup_failed(res, err);
    if (res && *exec_status != 125) {
        res->msg.has_exit_code = true;
        res->msg.exit_code = *exec_status;
    }
    if (job && job->pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, job->pidfd, SIGKILL, NULL, 0);
        waitpid(job->pid, NULL, __WALL);
    }
    return -(err->code ? err->code : EIO);
}

int sbx_job_spawn(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                  struct sbx_job **out, struct sbx_result *res, int *exec_status,
                  struct sbx_err *err)
{
    return spawn(spec, opts, false, out, res, exec_status, err);
}

int sbx_job_start(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                  struct sbx_job **out, struct sbx_result *res, int *exec_status,
                  struct sbx_err *err)
{
    struct sbx_job *job;
    int r = spawn(spec, opts, true, &job, res, exec_status, err);
    if (r < 0)
        return r;
    while (!job->started) {
        struct pollfd p[SBX_JOB_MAX_POLLFDS];
        int n = sbx_job_pollfds(job, p);
        if (poll(p, (nfds_t)n, sbx_job_timeout_ms(job)) < 0 && errno != EINTR) {
            struct sbx_err e = {0};
            sbx_err_sys(&e, errno, "setup: poll");
            if (!job->setup_over)
                sbx_job_end_setup_(job, true, &e);
            reap_now(job);
            break;
        }
        if (sbx_job_step(job, p))
            break;
    }
    if (job->started) {
        *out = job;
        return 0;
    }
    *err = job->setup_err;
    *exec_status = job->exec_status;
    sbx_job_finish(job, res);
    return -(err->code ? err->code : EIO);
}

bool sbx_job_started(const struct sbx_job *job)
{
    return job->started;
}

int sbx_job_pollfds(struct sbx_job *job, struct pollfd *fds)
{
    if (job->sandbox)
        return job->ops->pollfds(job, fds);
    int n = 0;
    /* A setup that is over waits for the pidfd only (the socket may hang up). */
    fds[n++] = (struct pollfd){.fd = job->setup_over ? -1 : job->sock, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = job->pidfd, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = job->listener, .events = POLLIN};
    return n;
}

static int64_t cpu_used_ns(struct sbx_job *job)
{
    uint64_t ns = 0;
    if (job->cg && sbx_cgroup_cpu_ns(job->cg, &ns) == 0)
        return (int64_t)ns;
    return -1;
}

int sbx_job_timeout_ms(struct sbx_job *job)
{
    if (job->reaped)
        return 0;
    int64_t now = sbx_job_now_ns_(), next = -1;
    if (!job->started)
        next = job->setup_deadline && !job->setup_over ? job->setup_deadline
               : job->frozen && !job->setup_over && job->wall_limit_ns > 0
                   ? job->t_start + job->wall_limit_ns
                   : -1;
    else if (job->wall_limit_ns > 0 && !job->killed)
        next = job->t_start + job->wall_limit_ns;
    if (job->started && job->cpu_limit_ns > 0 && job->cg && !job->killed)
        if (next < 0 || job->next_cpu_check < next)
            next = job->next_cpu_check;
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

void sbx_job_kill_(struct sbx_job *job, enum kill_reason why)
{
    if (!job->killed)
        job->killed = why;
    if (!job->reaped)
        syscall(SYS_pidfd_send_signal, job->pidfd, SIGKILL, NULL, 0);
    /* A frozen task dies only once thawed on cgroup v1: a paused job that
     * reaches its wall-time limit must still end, and free its run slot. */
    if (job->frozen && job->cg) {
        struct sbx_err e = {0};
        if (sbx_cgroup_freeze(job->cg, false, &e) == 0)
            job->frozen = false;
    }
}

void sbx_job_check_limits_(struct sbx_job *job)
{
    if (job->killed || job->reaped)
        return;
    int64_t now = sbx_job_now_ns_();
    if (job->wall_limit_ns > 0 && now - job->t_start >= job->wall_limit_ns) {
        sbx_job_kill_(job, KILL_WALL);
        return;
    }
    if (job->cpu_limit_ns > 0 && job->cg && now >= job->next_cpu_check) {
        int64_t used = cpu_used_ns(job);
        if (used >= job->cpu_limit_ns) {
            sbx_job_kill_(job, KILL_CPU);
            return;
        }
        /* The job cannot cross its limit sooner than (left / CPUs) from now;
         * check then, but at least every 100 ms and at most every 5 ms, so
         * a crossing is caught within a few ms without busy polling. */
        /* sysconf reads /sys each time: once per process is enough. */
        static long cpus;
        if (!cpus)
            cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int64_t left = used < 0 ? 0 : job->cpu_limit_ns - used;
        int64_t wait = left / (cpus > 0 ? cpus : 1);
        if (wait > 100000000)
            wait = 100000000;
        if (wait < 5000000)
            wait = 5000000;
        job->next_cpu_check = now + wait;
    }
}

void sbx_job_listener_step_(struct sbx_job *job, short revents)
{
    if (job->listener < 0 || !(revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    /* A call the filter sends to the supervisor is a violation: the job
     * ends for it, with the call's name. */
    if (revents & POLLIN) {
        char name[64];
        if (sbx_seccomp_notif_read(job->listener, name, sizeof name) == 0) {
            snprintf(job->syscall, sizeof job->syscall, "%s", name);
            sbx_job_kill_(job, KILL_SECCOMP);
        }
    }
    if (revents & (POLLHUP | POLLERR)) {
        close(job->listener);
        job->listener = -1;
    }
}

int sbx_job_step(struct sbx_job *job, const struct pollfd *fds)
{
    if (job->reaped)
        return 1;
    if (job->sandbox)
        return job->ops->step(job, fds);
    if (!job->started)
        return setup_step(job, fds);
    /* PID 1 may have sent two messages (a file at the output limit, then
     * the end) before it went: read all there are before it is reaped. */
    for (int i = 0; i < 4 && job->sock >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)); i++) {
        struct pollfd more = {.fd = job->sock, .events = POLLIN};
        if (i > 0 && poll(&more, 1, 0) != 1)
            break;
        struct sbx_msg m;
        size_t nfds = 0;
        int r = sbx_msg_recv(job->sock, &m, NULL, &nfds);
        if (r == 0 && m.type == SBX_MSG_EXITED) {
            job->have_status = true;
            job->status = m.code;
        } else if (r == 0 && m.type == SBX_MSG_OUTPUT_FILE) {
            job->output_file = true;
        } else if (r < 0) {
            /* EOF: PID 1 is gone; stop polling the socket. */
            close(job->sock);
            job->sock = -1;
        }
    }
    sbx_job_listener_step_(job, fds[2].revents);
    if (fds[1].revents & POLLIN) {
        int st;
        if (wait4(job->pid, &st, __WALL, &job->ru) == job->pid) {
            job->reaped = true;
            job->t_end = sbx_job_now_ns_();
            if (!job->have_status) {
                /* PID 1 itself was killed (a limit, or from outside). */
                job->status = st;
            }
        }
    }
    sbx_job_check_limits_(job);
    return job->reaped;
}

int sbx_job_signal(struct sbx_job *job, int sig)
{
    if (job->reaped)
        return -ESRCH;
    if (!job->started && sig != SIGKILL) {
        /* PID 1 forwards signals only once the command runs: keep it. */
        if (sig == 0)
            return 0;
        if (sig < 0 || sig > 64)
            return -EINVAL;
        job->pending_sigs |= UINT64_C(1) << (sig - 1);
        return 0;
    }
    if (syscall(SYS_pidfd_send_signal, job->pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

void sbx_job_kill(struct sbx_job *job)
{
    sbx_job_kill_(job, KILL_REQUESTED);
}

void sbx_job_kill_for_output(struct sbx_job *job)
{
    sbx_job_kill_(job, KILL_OUTPUT);
}

int sbx_job_freeze(struct sbx_job *job, bool frozen, struct sbx_err *err)
{
    if (!job->cg)
        return sbx_err_set(err, ENOTSUP, "pause: the job has no cgroup (rootless mode)");
    if (frozen && (job->killed || job->reaped))
        return sbx_err_set(err, ESRCH, "pause: the job is being killed");
    int r = sbx_cgroup_freeze(job->cg, frozen, err);
    if (r == 0)
        job->frozen = frozen;
    /* A job frozen while it sets up cannot finish in time: its setup
     * clock stops meanwhile and starts afresh when it is thawed. */
    if (r == 0 && !job->started)
        job->setup_deadline = frozen ? 0 : sbx_job_now_ns_() + (int64_t)SETUP_TIMEOUT_MS * 1000000;
    return r;
}

void sbx_job_usage(struct sbx_job *job, struct sbx_job_usage *u)
{
    memset(u, 0, sizeof *u);
    int64_t end = job->reaped ? job->t_end : sbx_job_now_ns_();
    u->wall_time_ms = (uint64_t)((end - job->t_start) / 1000000);
    struct sbx_cg_stats st = {0};
    if (job->cg && sbx_cgroup_stats(job->cg, &st) == 0) {
        u->cpu_time_ms = st.cpu_ns / 1000000;
        u->memory_peak_bytes = st.memory_peak;
    }
}

static uint64_t tv_ms(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void fill_result(struct sbx_job *job, struct sbx_result *res)
{
    JobResult *r = &res->msg;
    if (job->setup_failed) {
        sbx_result_setup_failed(res, &job->setup_err);
        if (job->exec_status != 125) {
            r->has_exit_code = true;
            r->exit_code = job->exec_status;
        }
        return;
    }
    struct sbx_cg_stats st = {0};
    bool have_cg = job->cg && sbx_cgroup_stats(job->cg, &st) == 0;

    r->has_wall_time_ms = true;
    r->wall_time_ms = (uint64_t)((job->t_end - job->t_start) / 1000000);
    r->has_cpu_time_ms = r->has_user_time_ms = r->has_sys_time_ms = true;
    if (have_cg && st.cpu_ns) {
        /* The total is exact (scheduler clock); the user/system split is
         * sampled at ticks and need not add up to it. Keep the total and
         * split it in the sampled proportion, so user + sys == cpu. */
        r->cpu_time_ms = st.cpu_ns / 1000000;
        uint64_t parts = st.user_ns + st.sys_ns;
        r->user_time_ms = parts ? (uint64_t)((double)r->cpu_time_ms * ((double)st.user_ns / (double)parts))
                                : r->cpu_time_ms;
        r->sys_time_ms = r->cpu_time_ms - r->user_time_ms;
    } else {
        r->user_time_ms = tv_ms(job->ru.ru_utime);
        r->sys_time_ms = tv_ms(job->ru.ru_stime);
        r->cpu_time_ms = r->user_time_ms + r->sys_time_ms;
    }
    r->has_memory_peak_bytes = true;
    r->memory_peak_bytes = have_cg && st.memory_peak ? st.memory_peak
                                                     : (uint64_t)job->ru.ru_maxrss * 1024;
    r->has_oom_kills = true;
    r->oom_kills = have_cg ? st.oom_kills : 0;
    r->has_host_uid = r->has_host_gid = true;
    r->host_uid = job->host_uid;
    r->host_gid = job->host_gid;
    r->has_rootless = true;
    r->rootless = job->rootless;
    r->has_landlock = true;
    r->landlock = job->landlock;

    int s = job->status;
    r->has_exit_code = r->has_signal = r->has_status = true;
    if (WIFEXITED(s)) {
        r->exit_code = WEXITSTATUS(s);
        r->signal = 0;
        r->status = SBX__V1__JOB_RESULT__STATUS__EXITED;
    } else {
        r->exit_code = 0;
        r->signal = WIFSIGNALED(s) ? WTERMSIG(s) : SIGKILL;
        r->status = SBX__V1__JOB_RESULT__STATUS__SIGNALED;
    }

    /* The status comes only from what the supervisor itself saw (the
     * contract's decision table), never from the name of the signal: a job
     * can raise SIGXCPU, SIGXFSZ or SIGSYS itself. First the reason the
     * supervisor killed the job for, then the memory cgroup's OOM-kill
     * counter, then the cgroup's CPU total against the limit. */
    switch (job->killed) {
    case KILL_WALL:
        r->status = SBX__V1__JOB_RESULT__STATUS__WALL_TIME_LIMIT_EXCEEDED;
        break;
    case KILL_CPU:
        r->status = SBX__V1__JOB_RESULT__STATUS__TIME_LIMIT_EXCEEDED;
        break;
    case KILL_OUTPUT:
        r->status = SBX__V1__JOB_RESULT__STATUS__OUTPUT_LIMIT_EXCEEDED;
        break;
    case KILL_SECCOMP:
        r->status = SBX__V1__JOB_RESULT__STATUS__SECCOMP_VIOLATION;
        /* Report what the kernel's own seccomp kill would have: SIGSYS. */
        r->signal = SIGSYS;
        r->exit_code = 0;
        snprintf(res->syscall, sizeof res->syscall, "%s", job->syscall);
        break;
    case KILL_REQUESTED:
    case KILL_NONE:
        if (r->oom_kills > 0)
            r->status = SBX__V1__JOB_RESULT__STATUS__OOM_KILLED;
        else if (job->output_file)
            r->status = SBX__V1__JOB_RESULT__STATUS__OUTPUT_LIMIT_EXCEEDED;
        else if (job->cpu_limit_ns > 0 && have_cg && st.cpu_ns >= (uint64_t)job->cpu_limit_ns)
            /* Past the limit between two of the supervisor's checks. */
            r->status = SBX__V1__JOB_RESULT__STATUS__TIME_LIMIT_EXCEEDED;
        break;
    }
    if (have_cg && st.have_pressure) {
        Sbx__V1__Pressure *p = &res->pressure;
        sbx__v1__pressure__init(p);
        p->has_cpu_some_us = p->has_memory_some_us = p->has_memory_full_us = true;
        p->has_io_some_us = p->has_io_full_us = true;
        p->cpu_some_us = st.cpu_some_us;
        p->memory_some_us = st.memory_some_us;
        p->memory_full_us = st.memory_full_us;
        p->io_some_us = st.io_some_us;
        p->io_full_us = st.io_full_us;
        r->pressure = p;
    }
}

void sbx_job_detach(struct sbx_job *job, struct sbx_job_detached *out)
{
    memset(out, 0, sizeof *out);
    out->pid = job->pid;
    out->host_uid = job->host_uid;
    out->host_gid = job->host_gid;
    if (job->cg) {
        const char *dirs[SBX_CG_MAX_DIRS];
        int n = sbx_cgroup_dirs(job->cg, dirs, SBX_CG_MAX_DIRS);
        for (int i = 0; i < n; i++)
            snprintf(out->cgroups[out->n_cgroups++], sizeof out->cgroups[0], "%s", dirs[i]);
        sbx_cgroup_forget(job->cg);
        job->cg = NULL;
    }
    /* PID 1 keeps its own copy of the slot's lock, and the job runs on:
     * closing ours and the socket frees nothing of the job's. */
    sbx_job_free_(job);
}

void sbx_job_collect(struct sbx_job *job, struct sbx_result *res)
{
    if (!job->reaped) {
        if (!job->killed)
            job->killed = KILL_REQUESTED;
        reap_now(job);
    }
    if (res)
        fill_result(job, res);
    /* PID 1 is reaped, and it went only after every other process of its
     * PID namespace: the job is gone, its uid slot may go to the next one
     * now, before the cgroups are removed. (PID 1's own copy of the lock
     * closes before it waits for the others, so it cannot be the one that
     * says the job is gone.) */
    sbx_uid_slot_release(&job->slot);
}

bool sbx_job_release_ready(struct sbx_job *job, int *fd)
{
    *fd = -1;
    if (job->resident)
        return job->live_runs == 0;
    if (!job->sandbox || job->sock < 0)
        return true;
    struct pollfd p = {.fd = job->sock, .events = POLLIN};
    if (poll(&p, 1, 0) == 1)
        return true;
    *fd = job->sock;
    return false;
}

void sbx_job_release(struct sbx_job *job)
{
    sbx_job_free_(job);
}

void sbx_job_finish(struct sbx_job *job, struct sbx_result *res)
{
    sbx_job_collect(job, res);
    sbx_job_release(job);
}

int sbx_job_run(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                struct sbx_jobio *io, struct sbx_result *res)
{
    struct sbx_err err = {0};
    struct sbx_job *job = NULL;
    int exec_status = 125;
    if (sbx_jobio_open(io, spec->policy, spec, opts ? opts->stdio : NULL, &err) < 0) {
        sbx_result_setup_failed(res, &err);
        return 125;
    }
    struct sbx_exec_opts eo = opts ? *opts : (struct sbx_exec_opts){.stdio = {-1, -1, -1}};
    for (int i = 0; i < 3; i++)
        if (io->job_fd[i] >= 0)
            eo.stdio[i] = io->job_fd[i];
    /* A reader of a passed-on stream that goes away must not kill us: the
     * write fails with EPIPE instead. Blocked, not ignored: an ignored
     * disposition would be inherited by the job (which unblocks all). */
    sigset_t fwd, old;
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGPIPE);
    _cleanup_close_ int sigfd = -1;
    if (opts && opts->forward_signals) {
        sigaddset(&fwd, SIGINT);
        sigaddset(&fwd, SIGTERM);
        sigaddset(&fwd, SIGHUP);
    }
    sigprocmask(SIG_BLOCK, &fwd, &old);
    if (opts && opts->forward_signals) {
        sigdelset(&fwd, SIGPIPE);
        sigfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    int r = sbx_job_start(spec, &eo, &job, res, &exec_status, &err);
    sbx_jobio_started(io);
    if (r == 0) {
        /* Until the job is gone and its passed-on streams are drained (its
         * last bytes must reach their reader before the result does). */
        bool ended = false, interrupted = false;
        while (!ended || sbx_jobio_forwarding(io)) {
            struct pollfd p[SBX_JOB_MAX_POLLFDS + SBX_JOBIO_MAX_POLLFDS + 1];
            int n = ended ? 0 : sbx_job_pollfds(job, p);
            int nio = sbx_jobio_pollfds(io, p + n);
            p[n + nio] = (struct pollfd){.fd = sigfd, .events = POLLIN};
            if (poll(p, (nfds_t)n + (nfds_t)nio + 1, ended ? -1 : sbx_job_timeout_ms(job)) < 0 &&
                errno != EINTR)
                break;
            if (sigfd >= 0 && (p[n + nio].revents & POLLIN)) {
                struct signalfd_siginfo si;
                while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    interrupted = true;
                    if (!ended)
                        sbx_job_signal(job, (int)si.ssi_signo);
                }
            }
            /* Output past its limit ends the job (OUTPUT_LIMIT_EXCEEDED). */
            if (sbx_jobio_step(io, p + n, false))
                sbx_job_kill_for_output(job);
            if (!ended && sbx_job_step(job, p))
                ended = true;
            /* Asked to stop, the job is gone: a reader that does not take
             * its last bytes does not hold us. */
            if (ended && interrupted)
                sbx_jobio_stop_forwarding(io);
        }
        /* Every process of the job is gone: the pipes hold all there is. */
        if (sbx_jobio_step(io, NULL, true))
            sbx_job_kill_for_output(job);
        sbx_job_finish(job, res);
        sbx_jobio_result(io, spec->capture, &res->msg);
        exec_status = sbx_result_exit_status(&res->msg);
    }
    /* A SIGPIPE of ours that is pending would strike when unblocked. */
    struct timespec zero = {0};
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    while (sigtimedwait(&pipe_only, NULL, &zero) == SIGPIPE)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return exec_status;
}
