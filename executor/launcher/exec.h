/* The executor: runs one validated job spec in full isolation and collects
 * its result. Used by `sbx run` (one job, blocking) and by sandboxd (many
 * jobs in one event loop: start, then feed poll events, then finish).
 *
 * The launcher must be single-threaded when it starts a job: the child is
 * created with a raw clone3() and uses the allocator before it execs. */
#ifndef SBX_EXECUTOR_EXEC_H
#define SBX_EXECUTOR_EXEC_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"
#include "jobio.h"
#include "executor/cgroup/cgroup.h"
#include "executor/uidpool.h"
#include "executor/userns.h"

struct sock_fprog;
struct sbx_procattr;

struct sbx_exec_opts {
    const struct sbx_uidpool *pool; /* NULL: sbx_uidpool_from_env() */
    int stdio[3];                   /* the job's stdin/out/err; -1: the launcher's own */
    const char *job_name;           /* names the job's cgroup; NULL: derived from the pid */
    bool forward_signals;           /* sbx_job_run: pass SIGINT/SIGTERM/SIGHUP on to the job */
    /* A job that outlives its launcher (sbx-oci): its PID 1 does not die
     * with the launcher, its cgroup is named "kept-<job_name>" (never taken
     * for a stale one) and, once set up, it waits before starting the
     * command until start_fd (an O_PATH fd of a FIFO) can be opened for
     * writing, i.e. until someone opens the FIFO for reading. sbx_job_start
     * then returns as soon as it waits; hand it over with sbx_job_detach. */
    bool detached;
    int start_fd;
    /* detached: a network namespace to join instead of a new empty one (an
     * engine's, e.g. a bridge's; the caller makes sure it is not the
     * host's), or -1. The job cannot reconfigure it: it belongs to the
     * host's user namespace. */
    int netns_fd;
    /* detached: an IPC and a UTS namespace to join the same way (a
     * Kubernetes pod's, made for its pause container), or -1. Not the
     * job's own: it cannot set the hostname or IPC sysctls there. */
    int ipcns_fd, utsns_fd;
    /* detached: root inside maps to this range instead of a slot of the
     * pool (an engine's --userns=auto range), or NULL. */
    const struct sbx_idmap *idmap;
    /* detached: a connected unix socket (an engine's --console-socket), or
     * -1. PID 1 makes a pty in the job's own devpts before it waits for the
     * start, sends the master over it (SCM_RIGHTS, the pty's name as data,
     * as runc does) and the command gets the slave as its stdio and
     * controlling terminal. */
    int console_fd;
    /* detached: an engine's own additions on top of sbx's, NULL-terminated
     * (or NULL): paths to mask (OCI maskedPaths) and to make read-only
     * (readonlyPaths) in the job's root, and sysctls ("key=value", keys
     * dotted) of the job's own namespaces, which the caller has checked
     * are namespaced. */
    const char *const *masked_paths;
    const char *const *readonly_paths;
    const char *const *sysctls;
    /* detached: a second seccomp program (an OCI spec's own profile),
     * installed just before sbx's own so that both filter every call (the
     * kernel runs every filter and the strictest answer wins), or NULL. */
    const struct sock_fprog *extra_seccomp;
    /* detached: the root itself (not /tmp, /dev/shm nor the mounts below
     * it) read-only, once everything is mounted (OCI root.readonly). */
    bool readonly_root;
    /* detached: what the command's process keeps and gets in place of
     * sbx's defaults (capabilities, supplementary groups, rlimits; see
     * executor/procattr.h), or NULL: none of either, sbx's rlimits. */
    const struct sbx_procattr *procattr;
    /* detached: the job's own mqueue at /dev/mqueue, a read-only sysfs at
     * /sys (OCI mounts of those types there); only for an IPC and a
     * network namespace the job owns (not joined). */
    bool mqueue, sysfs;
    /* A resident sandbox (sandboxd's warm pools and sessions): set up like
     * any job, but spec's command is not run; PID 1 stays and runs one
     * command at a time on request, each in namespaces and a cgroup of its
     * own (sbx_sandbox_prepare, sbx_run_start). */
    bool resident;
    /* Any job: netns_fd is a network namespace the caller made ahead
     * (sbx_net_prepare, lo up if the spec wants loopback), joined instead
     * of a new one being made on the job's critical path. */
    bool premade_netns;
};

/* A JobResult whose strings live in the struct, so no result needs freeing. */
struct sbx_result {
    JobResult msg;
    Sbx__V1__Pressure pressure;
    char error[SBX_ERR_MSG_MAX];
    char syscall[64];
};

void sbx_result_init(struct sbx_result *res);
/* Fills res as SETUP_FAILED with err's message (for failures before a job
 * exists, e.g. an invalid policy). */
void sbx_result_setup_failed(struct sbx_result *res, const struct sbx_err *err);

struct sbx_job;

/* Sets the job up and starts its command. Returns 0 with *out set, or a
 * negative errno with res filled as SETUP_FAILED (err says the step); then
 * exec_status tells what `sbx run` exits with: 125, or 126/127 when the
 * command cannot be executed or is missing. */
int sbx_job_start(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                  struct sbx_job **out, struct sbx_result *res, int *exec_status,
                  struct sbx_err *err);

/* The same without waiting for the child's setup (what sandboxd uses, so
 * that one job's setup overlaps the next one's start): returns once the
 * child is on its way. The job then reports through sbx_job_step like a
 * running one; a setup that fails later ends it, and sbx_job_finish gives
 * the SETUP_FAILED result (with exit_code 126/127 when the command could
 * not run). Signals other than SIGKILL asked for meanwhile are delivered
 * once the command runs. On cgroup v1 the child moves itself into the job's
 * cgroups, so the caller never waits for a migration. */
int sbx_job_spawn(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                  struct sbx_job **out, struct sbx_result *res, int *exec_status,
                  struct sbx_err *err);
/* Whether the job's command runs (its setup is over and succeeded). */
bool sbx_job_started(const struct sbx_job *job);

/* The fds to poll for this job (at most SBX_JOB_MAX_POLLFDS) and how long
 * until its next deadline (ms, -1: none). */
#define SBX_JOB_MAX_POLLFDS 3
int sbx_job_pollfds(struct sbx_job *job, struct pollfd *fds);
int sbx_job_timeout_ms(struct sbx_job *job);

/* Handles whatever is ready (fds as filled by sbx_job_pollfds, after poll)
 * and checks the limits. Returns 1 once the job has ended, else 0. */
int sbx_job_step(struct sbx_job *job, const struct pollfd *fds);

/* Forwards a signal to the job's first process (through its PID 1). */
int sbx_job_signal(struct sbx_job *job, int sig);
/* Kills the whole job now. */
void sbx_job_kill(struct sbx_job *job);
/* Kills the whole job because a stream the supervisor measures passed the
 * output limit: the result is OUTPUT_LIMIT_EXCEEDED unless the supervisor
 * had already killed it for another reason. Also right after the job ended
 * (the bytes still in a pipe passed the limit). */
void sbx_job_kill_for_output(struct sbx_job *job);
/* Freezes or thaws every process of the job. */
int sbx_job_freeze(struct sbx_job *job, bool frozen, struct sbx_err *err);

/* Resource use so far of a job (for sandboxd's inspect): wall time since
 * the command started (since the spawn while it sets up), CPU time and peak
 * memory from the cgroup (0 without one). */
struct sbx_job_usage {
    uint64_t wall_time_ms, cpu_time_ms, memory_peak_bytes;
};
void sbx_job_usage(struct sbx_job *job, struct sbx_job_usage *u);

/* A detached job (opts.detached) handed over by sbx_job_detach: its PID 1
 * (a child of the launcher until the launcher exits) and the directories of
 * its cgroup, which the new owner removes once the job is gone. */
struct sbx_job_detached {
    pid_t pid;
    uint32_t host_uid, host_gid;
    int n_cgroups;
    char cgroups[SBX_CG_MAX_DIRS][4096];
};
/* Lets go of a started detached job without killing it or removing its
 * cgroup (PID 1 holds its uid slot), and frees job. */
void sbx_job_detach(struct sbx_job *job, struct sbx_job_detached *out);

/* Collects the result of an ended job, tears everything down (cgroup, uid
 * slot, fds) and frees it. Safe on a job that has not ended: kills it first. */
void sbx_job_finish(struct sbx_job *job, struct sbx_result *res);
/* sbx_job_finish in two steps, so that a service answers before it tears
 * down: collect the result (reaping the job, killing it first if need be,
 * and freeing its uid slot), then, soon after, remove its cgroups, close
 * its fds and free it. */
void sbx_job_collect(struct sbx_job *job, struct sbx_result *res);
void sbx_job_release(struct sbx_job *job);
/* Whether sbx_job_release would return at once: a collected run whose PID
 * 1 still tears its namespaces down (then *fd, when >= 0, turns readable
 * once it is gone), or a resident sandbox some of whose runs are not
 * released yet, would make it wait. A service polls this instead. */
bool sbx_job_release_ready(struct sbx_job *job, int *fd);

/* Start, wait, finish, with the policy's stdin_data fed in and its output
 * captured through io (storage from the caller: the result's stdout and
 * stderr point into it, so release it with sbx_jobio_close after using the
 * result). Returns the status `sbx run` exits with. */
int sbx_job_run(const struct sbx_spec *spec, const struct sbx_exec_opts *opts,
                struct sbx_jobio *io, struct sbx_result *res);

/* Resident sandboxes (opts.resident, started once sbx_job_started says so).
 * A run: sbx_sandbox_prepare makes the next one ahead of its command (the
 * sandbox's PID 1 clones it into PID, mount, IPC and, but for the first
 * run, network namespaces of its own, with a cgroup of its own below the
 * sandbox's), returning a job to poll and step like any; once
 * sbx_run_prepared, sbx_run_start gives it its command: spec is the
 * sandbox's with the per-run fields (command, argv, envp, cwd, uid, gid,
 * limits: those of cgroups applied to the run's cgroup, within the
 * sandbox's) and stdio the run's streams (-1: /dev/null). From then on it is
 * a job: sbx_job_signal, sbx_job_kill, sbx_job_collect and sbx_job_release
 * work on it (releasing kills it if it has not ended, and removes its
 * cgroup). One run at a time: prepare the next once the last has ended.
 * Release every run before the sandbox. */
int sbx_sandbox_prepare(struct sbx_job *sandbox, struct sbx_job **run, struct sbx_err *err);
bool sbx_run_prepared(const struct sbx_job *run);
/* Whether a prepared run joined a network namespace its sandbox's PID 1
 * made ahead (from a session's third run on) rather than making one. */
bool sbx_run_net_ahead(const struct sbx_job *run);
int sbx_run_start(struct sbx_job *run, const struct sbx_spec *spec, const int stdio[3],
                  struct sbx_err *err);

/* The bundled rootfs: $SBX_DEFAULT_ROOTFS, else PREFIX/lib/sbx/rootfs of an
 * installed sbx, else the one built with sbx. */
const char *sbx_default_rootfs(void);

/* The exit status `sbx run` returns for a result (the contract's table). */
int sbx_result_exit_status(const JobResult *r);

#endif
