/* The plan the launcher hands to the job's first process (which becomes its
 * PID 1), and the steps that process applies in order. The plan is built in
 * the launcher, before clone, so that the child decides nothing itself. */
#ifndef SBX_EXECUTOR_CHILD_H
#define SBX_EXECUTOR_CHILD_H

#include <stdbool.h>

#include "policy/policy.h"
#include "executor/cgroup/cgroup.h"
#include "executor/seccomp/seccomp.h"
#include "executor/userns.h"
#include "fsize.h"

struct sbx_procattr;

struct sbx_plan {
    const struct sbx_spec *spec;
    struct sbx_idmap idmap;
    /* Where clone3 could not place us (v1): either we move ourselves in
     * through these cgroup.procs fds, or (cgroup_later) the launcher moves
     * us and says so with SBX_MSG_CGROUP_READY. */
    int cg_procs[SBX_CG_MAX_DIRS];
    int n_cg_procs;
    bool cgroup_later;
    const struct sbx_seccomp *seccomp;  /* NULL: no filter (policy said "none") */
    int sock;                           /* the child's end of the sync socket */
    int stdio[3];                       /* dup'ed onto 0, 1, 2 in the job; -1 keeps */
    size_t n_sources;                   /* mount source fds the launcher sends */
    int lock_fd;                        /* the uid slot's lock, held by PID 1; -1: none */
    int landlock_abi;                   /* 0: the kernel has no Landlock */
    bool detached;                      /* outlives the launcher (sbx_exec_opts.detached) */
    int start_fd;                       /* detached: the start FIFO (O_PATH); else -1 */
    bool joined_netns;                  /* cloned inside an engine's network namespace */
    bool premade_netns;                 /* ... or one made ahead, lo as the spec wants */
    bool joined_ipc, joined_uts;        /* ... and IPC, UTS namespaces (not cloned new) */
    int console_fd;                     /* detached: where the pty master goes; else -1 */
    const char *const *masked_paths;    /* sbx_exec_opts' (detached only), or NULL */
    const char *const *readonly_paths;
    const char *const *sysctls;
    const struct sock_fprog *extra_seccomp; /* sbx_exec_opts' (detached only), or NULL */
    bool readonly_root;                     /* sbx_exec_opts' (detached only) */
    const struct sbx_procattr *procattr;    /* sbx_exec_opts' (detached only), or NULL */
    bool mqueue, sysfs;                     /* sbx_exec_opts' (detached only) */
    bool resident;                          /* sbx_exec_opts' resident (init.c) */
    bool run;                               /* a resident sandbox's run (init.c) */
    const struct sbx_fsize_snap *fsize_old; /* a run's: earlier runs' files (fsize.c) */
    bool seccomp_held;                      /* a run's PID 1 installed the filter ahead */
    int held_listener;                      /* ... and holds its listener (or -1) */
};

/* Runs in the clone()d child. Never returns. */
__attribute__((noreturn)) void sbx_child_main(const struct sbx_plan *plan);

#endif
