/* Job cgroups: one interface, two backends (v1 per-controller hierarchies,
 * v2 unified), chosen per controller at start-up so that hybrid hosts work.
 *
 * Job cgroups live below the launcher's own cgroup (read from
 * /proc/self/cgroup), in a directory of the project's own naming, or below a
 * parent that the operator configures. The project never moves, changes or
 * removes a cgroup it did not create.
 *
 * Where (per hierarchy: each v1 controller's mount, and the v2 tree):
 *   default                 <launcher's own cgroup>/sbx/<job>
 *   SBX_CGROUP_PARENT=/a/b  <mount point of the hierarchy>/a/b/<job>; the same
 *                           path is used below every v1 controller's mount and
 *                           below the cgroup2 mount. The operator creates it
 *                           (and, on v2, enables the controllers in its
 *                           cgroup.subtree_control); sbx only makes children.
 *   SBX_CGROUP_PARENT=name  <launcher's own cgroup>/name/<job> in every
 *                           hierarchy (one directory name; on v1 "own" differs
 *                           per controller): made and configured by sbx like
 *                           the default "sbx".
 * v2 and the no-internal-process rule: when controllers must be enabled in
 * the launcher's own (non-root) cgroup, the launcher moves itself (only
 * itself, and only if it is alone there) into <own>/sbx/launcher-<tag>, the
 * way a systemd service with Delegate=yes keeps its main process in a leaf.
 * Hybrid hosts: controllers on v1 are used there; the job also gets a
 * controller-less cgroup in the v2 tree (for cgroup.kill and pressure
 * figures) when the v2 tree is mounted and writable.
 *
 * Naming: job-<pidns inode>-<owner pid>-<owner starttime>-<seq>-<job name>.
 * The owner is the process that called sbx_cgroup_create; it must outlive
 * the job. A job cgroup whose owner (same pid namespace, same pid, same start
 * time in /proc/<pid>/stat) no longer exists is stale: see
 * sbx_cgroup_cleanup_stale. The parent directories (sbx/) stay: removing
 * them would race with other launchers creating jobs in them.
 *
 * Swap: v1 without memory.memsw.* (swapaccount=0) falls back to
 * memory.swappiness=0 when swap is on; v2 without memory.swap.max fails
 * when swap is on. Thread-safe; detection is cached per process. */
#ifndef SBX_EXECUTOR_CGROUP_H
#define SBX_EXECUTOR_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct sbx_cgroup;

struct sbx_cg_limits {
    uint64_t memory;     /* bytes, 0 = none; swap is always disabled */
    uint32_t pids;       /* 0 = none */
    double cpus;         /* cores, 0 = none */
    uint32_t cpu_weight; /* 1..10000, 0 = leave default */
    const char *cpuset;  /* NULL = leave default */
    /* Make a pids and cpu cgroup even without their limits, so that child
     * cgroups (sbx_cgroup_create_child) may set them. */
    bool children;
};

struct sbx_cg_stats {
    uint64_t cpu_ns, user_ns, sys_ns;
    uint64_t memory_peak; /* bytes */
    uint32_t oom_kills;   /* processes killed by the OOM killer */
    bool have_pressure;
    uint64_t cpu_some_us, memory_some_us, memory_full_us, io_some_us, io_full_us;
};

/* Creates the job's cgroup(s), named after job_name, with the limits set.
 * Returns 0 or a negative errno; err names the controller, file and reason.
 * Fails closed: a limit that cannot be applied is an error. */
int sbx_cgroup_create(const char *job_name, const struct sbx_cg_limits *limits,
                      struct sbx_cgroup **out, struct sbx_err *err);

/* The same for a job that outlives its creator (sbx-oci): named
 * "kept-<job_name>" exactly, which sbx_cgroup_cleanup_stale never takes for
 * a stale job's; an existing one of that name is an error (EEXIST). Whoever
 * keeps it removes it (sbx_cgroup_remove_dirs). */
int sbx_cgroup_create_kept(const char *job_name, const struct sbx_cg_limits *limits,
                           struct sbx_cgroup **out, struct sbx_err *err);
/* A child cgroup of a job's (a resident sandbox's PID 1, one run of a
 * session): parent/name in each of the parent's hierarchies, with the
 * limits in l (which can only narrow the parent's: the kernel applies both).
 * Destroy it (sbx_cgroup_destroy) before its parent, which must outlive it. */
int sbx_cgroup_create_child(const struct sbx_cgroup *parent, const char *name,
                            const struct sbx_cg_limits *limits, struct sbx_cgroup **out,
                            struct sbx_err *err);
/* Sets the limits set in l (the others stay) on cg, e.g. a child's. */
int sbx_cgroup_limit(struct sbx_cgroup *cg, const struct sbx_cg_limits *l, struct sbx_err *err);
/* Changes the limits set in l (the others stay) of a kept job, given its
 * directories as sbx_cgroup_dirs listed them. Only directories named
 * "kept-*" right below sbx's own parent in a hierarchy are touched (EPERM
 * otherwise). A limit whose controller the job has no directory for (a
 * cpuset the job was created without) is ENOTSUP. */
int sbx_cgroup_update_kept(const char *const *paths, int n, const struct sbx_cg_limits *l,
                           struct sbx_err *err);
/* The job's directories (absolute paths, valid while cg is): up to max. */
int sbx_cgroup_dirs(const struct sbx_cgroup *cg, const char **paths, int max);
/* Frees cg, leaving its directories as they are. */
void sbx_cgroup_forget(struct sbx_cgroup *cg);
/* Kills whatever is left in the given job directories (as returned by
 * sbx_cgroup_dirs) and removes them; a missing one is not an error. */
int sbx_cgroup_remove_dirs(const char *const *paths, int n, struct sbx_err *err);

/* A directory fd usable with clone3(CLONE_INTO_CGROUP) when every used
 * controller is on v2, else -1 (then use sbx_cgroup_enter). */
int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg);

/* For the child to move itself in (sbx_cgroup_enter_self): opens the
 * cgroup.procs file of each job cgroup directory for writing, into fds (room
 * for SBX_CG_MAX_DIRS). The kernel checks a migration against the
 * credentials the file was opened with, so the child, which has no rights on
 * the host, can use these. Returns how many, or a negative errno (none left
 * open). The caller closes them. */
#define SBX_CG_MAX_DIRS 8
int sbx_cgroup_open_procs(const struct sbx_cgroup *cg, int *fds, struct sbx_err *err);
/* In the child: moves the process pid (as the writer's PID namespace numbers
 * it; "0" is the writer itself) into each cgroup.procs given, then closes
 * the fds. */
int sbx_cgroup_enter_fds(int *fds, int n, const char *pid, struct sbx_err *err);

/* Moves pid into the job cgroup(s) (what clone3 did not already do; writing
 * a pid already there is harmless, so call it after clone3 too on hybrid
 * hosts). The caller keeps the child blocked (e.g. on a pipe) until this
 * returns, so that the job runs no instruction outside its limits. The fd
 * from sbx_cgroup_clone_fd belongs to cg: do not close it. */
int sbx_cgroup_enter(struct sbx_cgroup *cg, pid_t pid, struct sbx_err *err);

/* Memory charged to the cgroup (and its children) now, in bytes. */
int sbx_cgroup_memory_current(struct sbx_cgroup *cg, uint64_t *bytes);

/* Processes and threads in the cgroup (and its children) now. */
int sbx_cgroup_pids_current(struct sbx_cgroup *cg, uint64_t *n);

/* Opens ahead the files sbx_cgroup_stats and the two above read, kept open
 * until the cgroup goes: read later, they cost no open (~20 us each). For a
 * cgroup whose statistics are read on a critical path (a session's run).
 * The readers then change cg: one thread at a time per cgroup, as the
 * daemon and the launchers use them. */
void sbx_cgroup_stats_prepare(struct sbx_cgroup *cg);

/* CPU time used so far (user+system, ns): cheap, polled for --time-limit. */
int sbx_cgroup_cpu_ns(struct sbx_cgroup *cg, uint64_t *ns);

/* memory_peak: v2 memory.peak (5.19+), else memory.current at the time of
 * the call; v1 memory.max_usage_in_bytes. oom_kills: v2 memory.events,
 * v1 memory.oom_control (4.13+). Pressure: from the job's v2 cgroup (also
 * the hybrid side-car) when PSI is on. Missing figures stay 0. */
int sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_cg_stats *st);

int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err *err);

/* Kills every process in the cgroup, waits until it is empty and removes it
 * (retrying what the kernel refuses for a moment), then frees cg. */
int sbx_cgroup_destroy(struct sbx_cgroup *cg, struct sbx_err *err);

/* Kills what is left in job cgroups whose owner is gone and removes them
 * (also empty launcher leaves of dead launchers). A daemon may call it at any
 * time. */
int sbx_cgroup_cleanup_stale(struct sbx_err *err);

/* sbx_cgroup_cleanup_stale, the first time it is called in a process only.
 * The executor calls it right after the clone: the scan of every parent is
 * then done while the child sets up, not before it exists. */
void sbx_cgroup_cleanup_stale_once(void);

/* The job's cgroup directory serving controller ("memory", "pids", "cpu",
 * "cpuacct", "cpuset", "freezer"), or NULL when the job does not use it;
 * *v2 (if non-NULL) says which version. For tests and diagnostics. */
const char *sbx_cgroup_path(const struct sbx_cgroup *cg, const char *controller, bool *v2);

/* The host's layout as detected (for `sbx doctor`). */
#define SBX_CG_NCTRL 6
struct sbx_cg_layout {
    struct {
        const char *controller;
        int version;       /* 0 = unusable, 1 or 2 */
        char own[4096];    /* the launcher's cgroup directory */
        char parent[4096]; /* where job cgroups go */
    } c[SBX_CG_NCTRL];
    bool v2_mounted;
    char v2_own[4096];
    char v2_parent[4096];
};
int sbx_cgroup_layout(struct sbx_cg_layout *out, struct sbx_err *err);

#endif
