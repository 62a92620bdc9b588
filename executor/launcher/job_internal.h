/* What exec.c and resident.c share of a job: a job of its own, a resident
 * sandbox, or one run of a resident sandbox. Not part of the interface. */
#ifndef SBX_EXECUTOR_JOB_INTERNAL_H
#define SBX_EXECUTOR_JOB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "exec.h"

/* How long the child may take to set up before it is considered stuck. */
#define SETUP_TIMEOUT_MS 30000

enum kill_reason { KILL_NONE, KILL_WALL, KILL_CPU, KILL_OUTPUT, KILL_SECCOMP, KILL_REQUESTED };

struct sbx_job {
    /* Set up until the child reports that the command runs (started). A
     * setup that fails or is killed is over (setup_over): the child is sent
     * SIGKILL and the job ends once the pidfd says it is gone, so that no
     * caller's loop waits on a child stuck in the kernel. */
    bool started, setup_failed, setup_over;
    struct sbx_err setup_err;       /* why, when setup_failed */
    int exec_status;                /* 125, or 126/127: the command could not run */
    int64_t setup_deadline;         /* 0 while frozen */
    uint64_t pending_sigs;          /* signals asked for during setup */
    pid_t pid;
    int pidfd;
    int sock;
    int listener;
    bool rootless;
    bool engine_idmap;              /* the caller's range: its files are already shifted */
    bool landlock;
    struct sbx_uid_slot slot;
    struct sbx_cgroup *cg;
    struct sbx_seccomp *seccomp;
    uint32_t host_uid, host_gid;
    int64_t t_start, t_end;         /* CLOCK_MONOTONIC ns */
    int64_t wall_limit_ns, cpu_limit_ns;
    int64_t next_cpu_check;
    bool have_status;
    int status;                     /* the first process's wait status */
    bool reaped;
    struct rusage ru;
    enum kill_reason killed;
    bool frozen;                    /* paused (sbx_job_freeze) */
    char syscall[64];
    bool output_file;               /* PID 1 found a file at the output limit */
    int output_fds[3];              /* stdio files opened for the job */
    /* A resident sandbox (opts.resident): its PID 1 lives in a child cgroup
     * of the job's, so that runs can have theirs (v2 allows no process in
     * a cgroup whose children have controllers). */
    struct sbx_cgroup *cg_init;
    bool resident;
    uint64_t memory_limit;          /* a resident sandbox's: what its runs share */
    uint32_t pids_limit;            /* ... and its pids limit */
    double cpus_limit;              /* ... and its CPUs */
    unsigned live_runs;             /* ... and its runs not released yet */
    unsigned runs;                  /* runs made so far */
    struct sbx_cgroup *spare_cg;    /* ... the next run's cgroup, made ahead */
    /* A run of a resident sandbox (sandbox set): its PID 1 is not our child
     * (pidfd from the run itself, for signals only); it has ended when the
     * sandbox's PID 1 says so (SBX_MSG_RUN_ENDED) or is gone. */
    struct sbx_job *sandbox;
    const struct sbx_job_ops *ops;
    bool prepared;                  /* ready for its command (READY came) */
    bool net_ahead;                 /* ... in a network namespace made ahead */
    /* A prepared run's cgroup limits, set when READY came (off the critical
     * path): what the sandbox had left then, and what is applied; its start
     * writes only what differs (resident.c, preset_limits). */
    uint64_t memory_left, memory_set;
    uint32_t pids_left, pids_set;
    bool limits_set;
    bool limits_shared;             /* ... while another run of it was live */
};



int64_t sbx_job_now_ns_(void);
void sbx_job_free_(struct sbx_job *job);
int sbx_job_read_setup_msg_(struct sbx_job *job, int *exec_status, bool *said, struct sbx_err *err);
void sbx_job_end_setup_(struct sbx_job *job, bool failed, const struct sbx_err *err);
void sbx_job_deliver_pending_(struct sbx_job *job);
void sbx_job_check_limits_(struct sbx_job *job);
void sbx_job_kill_(struct sbx_job *job, enum kill_reason why);
/* The seccomp listener's events (poll's revents for it). */
void sbx_job_listener_step_(struct sbx_job *job, short revents);

/* What differs for a run of a resident sandbox (resident.c sets them), so
 * that exec.c calls resident.c only through this table, never by name. */
struct sbx_job_ops {
    int (*pollfds)(struct sbx_job *job, struct pollfd *fds);
    int (*step)(struct sbx_job *job, const struct pollfd *fds);
    void (*reap)(struct sbx_job *job);      /* kill and wait for the end */
    void (*wait_gone)(struct sbx_job *job); /* before its cgroup goes */
};

#endif
