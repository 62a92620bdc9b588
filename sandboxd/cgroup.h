/* Job cgroups: one interface, two backends (v1 per-controller hierarchies,
 * v2 unified), chosen per controller at start-up so that hybrid hosts work.
 *
 * Job cgroups live below the launcher's own cgroup (read from
 * /proc/self/cgroup), in a directory of the project's own naming, or below a
 * parent that the operator configures. The project never moves, changes or
 * removes a cgroup it did not create. */
#ifndef SBX_SANDBOXD_CGROUP_H
#define SBX_SANDBOXD_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

struct sbx_cgroup;

struct sbx_cg_limits {
    uint64_t memory;          /* bytes, 0 = none; swap is always disabled */
    uint32_t pids;            /* 0 = none */
    double cpus;              /* cores, 0 = none */
    uint32_t cpu_weight;      /* 1..10000, 0 = leave default */
    const char *cpuset;       /* NULL = leave default */
};

struct sbx_cg_stats {
    uint64_t cpu_ns, user_ns, sys_ns;
    uint64_t memory_peak;     /* bytes */
    uint32_t oom_kills;       /* processes killed by the OOM killer */
    bool have_pressure;
    uint64_t cpu_some_us, memory_some_us, memory_full_us, io_some_us, io_full_us;
};

/* Creates the job's cgroup(s), named after job_name, with the limits set.
 * Returns 0 or a negative errno; err names the controller, file and reason.
 * Fails closed: a limit that cannot be applied is an error. */
int sbx_cgroup_create(const char *job_name, const struct sbx_cg_limits *limits,
                      struct sbx_cgroup **out, struct sbx_err *err);

/* A directory fd usable with clone3(CLONE_INTO_CGROUP) when every used
 * controller is on v2, else -1 (then use sbx_cgroup_enter). */
int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg);

/* Moves pid into the job cgroup(s) (what clone3 did not already do). */
int sbx_cgroup_enter(struct sbx_cgroup *cg, pid_t pid, struct sbx_err *err);

/* CPU time used so far (user+system, ns): cheap, polled for --time-limit. */
int sbx_cgroup_cpu_ns(struct sbx_cgroup *cg, uint64_t *ns);

int sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_cg_stats *st);

int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err *err);

/* Kills every process in the cgroup, waits until it is empty and removes it
 * (retrying what the kernel refuses for a moment), then frees cg. */
int sbx_cgroup_destroy(struct sbx_cgroup *cg, struct sbx_err *err);

#endif
