/* Shared between cgroup.c (detection, naming, orchestration) and the two
 * backends cgroup_v1.c and cgroup_v2.c. Not part of the public interface. */
#ifndef SBX_EXECUTOR_CGROUP_INTERNAL_H
#define SBX_EXECUTOR_CGROUP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cgroup.h"

enum cg_ctrl { CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUACCT, CG_CPUSET, CG_FREEZER, CG_NCTRL };
#define CG_BIT(c) (1u << (c))

extern const char *const cg_ctrl_name[CG_NCTRL];

/* One mounted hierarchy we may use: a v1 hierarchy (one or more controllers)
 * or the v2 unified tree. */
struct cg_hier {
    bool v2;
    unsigned ctrls;        /* CG_BIT()s of the controllers served here */
    char own[PATH_MAX];    /* the launcher's cgroup directory (absolute path) */
    char parent[PATH_MAX]; /* where job cgroups are made: <own>/sbx or the operator's */
    int parent_fd;         /* O_DIRECTORY on parent, -1 until prepared */
    bool parent_ours;      /* we made `parent` (so we may configure it) */
    bool prepared;
    /* v1 cpuset: whether mkdir copies cpus/mems (cgroup.clone_children) */
    bool clone_children;
    /* v2: controllers enabled in parent's subtree_control */
    unsigned v2_enabled;
    bool launcher_moved;
};

#define CG_MAX_HIER 8

struct cg_host {
    int nhier;
    struct cg_hier hier[CG_MAX_HIER];
    int by_ctrl[CG_NCTRL];    /* index into hier, -1 when the controller is unusable */
    int v2;                   /* index of the unified hierarchy, -1 when not mounted */
    bool env_parent;          /* SBX_CGROUP_PARENT was given */
    unsigned long long pidns; /* inode of our pid namespace: part of job names */
};

/* A file of a job's directory kept open once read (cg_read_kept). */
struct cg_kept {
    int dir;          /* index into the job's dirs */
    const char *file; /* a string literal */
    int fd;           /* or -errno: the file could not be opened */
};
#define CG_MAX_KEPT 12

/* A job's cgroup directory in one hierarchy. */
struct cg_dir {
    int hier; /* index into host->hier */
    int fd;   /* O_DIRECTORY */
    char path[PATH_MAX];
};

struct sbx_cgroup {
    char name[NAME_MAX + 1];
    int ndirs;
    struct cg_dir dirs[CG_MAX_HIER];
    int by_ctrl[CG_NCTRL]; /* index into dirs, -1 when the job does not use it */
    int v2dir;             /* index into dirs of the unified one, -1 if none */
    unsigned used;         /* CG_BIT()s the job needs on the hierarchy it is on */
    int usage_fd;          /* kept open: cpu_ns is polled */
    bool keep_files; /* sbx_cgroup_stats_prepare was called */
    int n_kept;
    struct cg_kept kept[CG_MAX_KEPT];
    /* A child cgroup (sbx_cgroup_create_child): its parent, whose dirs are
     * in the same order as ours; NULL for a job's own. */
    const struct sbx_cgroup *parent;
};

/* cgroup_detect.c */
/* The layout from the text of /proc/self/cgroup and /proc/self/mountinfo;
 * env is SBX_CGROUP_PARENT (or NULL); v2_controllers stands in for the
 * launcher's v2 cgroup.controllers when non-NULL (for tests). */
int cg_detect(struct cg_host *h, FILE *cgroup, FILE *mountinfo, const char *env,
              const char *v2_controllers, struct sbx_err *err);

/* cgroup.c */
int cg_host_get(struct cg_host **out, struct sbx_err *err);
/* "<pidns>-<pid>-<starttime>" of the calling process: the owner part of the
 * names of the cgroups it creates. */
int cg_owner_tag(char *buf, size_t size);
/* Whether the owner named by a tag is gone (decidable only within our own
 * pid namespace; anything undecidable counts as alive). */
bool cg_owner_gone(const struct cg_host *h, const char *tag);
/* Guards the lazily prepared parts of the cached host state. */
void cg_lock(void);
void cg_unlock(void);
/* Writes s to dirfd/file; the error names "ctrl: path/file" and the reason. */
int cg_write(int dirfd, const char *dirpath, const char *file, const char *s, const char *what,
             struct sbx_err *err);
/* Reads dirfd/file into buf (NUL-terminated, trailing newline kept). Returns
 * the length or a negative errno. */
ssize_t cg_read(int dirfd, const char *file, char *buf, size_t size);
int cg_read_u64(int dirfd, const char *file, uint64_t *v);
/* The same for file of the job's directory dir; once sbx_cgroup_stats_prepare
 * was called on cg, through an fd kept open from the first read on and read
 * again from its start: opening a cgroup file costs ~20 us on this kind of
 * host, reading an open one ~3, and a run's statistics are read on its
 * critical path. Up to CG_MAX_KEPT files; others are opened each time. */
ssize_t cg_read_kept(struct sbx_cgroup *cg, int dir, const char *file, char *buf, size_t size);
int cg_read_kept_u64(struct sbx_cgroup *cg, int dir, const char *file, uint64_t *v);
void cg_kept_close(struct sbx_cgroup *cg);
/* Finds "key N" on its own line (flat-keyed files such as memory.events). */
int cg_keyed_u64(const char *buf, const char *key, uint64_t *v);
/* Lists the pids in dirfd/cgroup.procs; returns their count or -errno. */
int cg_read_pids(int dirfd, pid_t *pids, int max);
bool cg_file_exists(int dirfd, const char *file);
uint64_t cg_now_ns(void);
bool cg_swap_on(void);

/* A backend: what differs between a v1 hierarchy (cgroup_v1.c) and the v2
 * unified tree (cgroup_v2.c), behind one table as crun does with its cgroup
 * managers, so that cgroup.c depends on this interface and the backends on
 * the helpers above, never on each other. */
struct cg_backend {
    /* Makes (or opens) the parent of job cgroups in one hierarchy, once.
     * v2 also enables the `need` controllers for job cgroups below it,
     * moving the launcher into a leaf first when the no-internal-process
     * rule demands it. */
    int (*prepare_parent)(struct cg_host *host, struct cg_hier *h, unsigned need,
                          struct sbx_err *err);
    int (*apply)(const struct cg_hier *h, const struct cg_dir *d, unsigned ctrls,
                 const struct sbx_cg_limits *l, struct sbx_err *err);
    /* Freezing waits up to timeout_ms for the state to settle. */
    int (*freeze)(const struct cg_dir *d, bool frozen, int timeout_ms, struct sbx_err *err);
    /* Adds what the job's directories of this kind report. */
    void (*stats)(struct sbx_cgroup *cg, const struct cg_host *host, struct sbx_cg_stats *st);
    /* Kills every process at once (cgroup.kill), then waits until the
     * directory is empty, up to timeout_ms; NULL when the kind has no such
     * file. -ENOENT when the kernel has none (v2 before 5.14). */
    int (*kill)(const struct cg_dir *d, int timeout_ms);
    /* Lets the job's child cgroups (sbx_cgroup_create_child) use ctrls;
     * NULL where every child has its parent's controllers (v1). */
    int (*enable_children)(const struct cg_dir *d, unsigned ctrls, struct sbx_err *err);
};

extern const struct cg_backend cg_v1_backend;
extern const struct cg_backend cg_v2_backend;

static inline const struct cg_backend *cg_backend_of(const struct cg_hier *h)
{
    return h->v2 ? &cg_v2_backend : &cg_v1_backend;
}

#endif
