/* The launcher and the job's PID 1 talk over a SOCK_SEQPACKET socketpair:
 * fixed-size messages, optionally carrying file descriptors. Setup errors in
 * the child travel back this way as one line naming the step, so a failure
 * is never a silent exit. */
#ifndef SBX_EXECUTOR_SYNC_H
#define SBX_EXECUTOR_SYNC_H

#include <stddef.h>
#include <stdint.h>

enum sbx_msg_type {
    SBX_MSG_GO = 1,        /* launcher -> child: maps written, fds attached */
    SBX_MSG_FDS,           /* launcher -> child: more mount source fds */
    SBX_MSG_SETUP_FAILED,  /* child -> launcher: code + "step: reason" */
    SBX_MSG_EXEC_FAILED,   /* child -> launcher: errno of execve + text */
    SBX_MSG_STARTED,       /* child -> launcher: the job's command runs (fd: seccomp listener) */
    SBX_MSG_EXITED,        /* child -> launcher: the first process's wait status */
    SBX_MSG_CGROUP_READY,  /* launcher -> child: it is in the job's cgroups (plan.cgroup_later) */
    SBX_MSG_OUTPUT_FILE,   /* child -> launcher: a file reached the output limit (text: its path) */
    SBX_MSG_READY,         /* child -> launcher: a detached job is set up and waits for its start;
                              a resident sandbox waits for runs; a run waits for its command
                              (fd: the run's pidfd) */
    /* A resident sandbox's runs (job/init.c, launcher/run.c): */
    SBX_MSG_PREPARE,       /* launcher -> PID 1: make the next run (fds: its socket, then its
                              cgroup.procs files; code: SBX_PREPARE_* flags) */
    SBX_MSG_RUN,           /* launcher -> run: its command (fds: the run spec's memfd, then
                              the stdio fds given, code: which of them, bit i for fd i) */
    SBX_MSG_RUN_ENDED,     /* PID 1 -> launcher, on the run's socket: the run and every
                              process it started are gone (code: the run's wait status) */
};

#define SBX_PREPARE_NEWNET 1u  /* the run gets a network namespace of its own */
#define SBX_READY_NET_AHEAD 1u /* READY of a run: it joined a network namespace made ahead */

#define SBX_MSG_TEXT 480
#define SBX_MSG_MAX_FDS 64

struct sbx_msg {
    uint32_t type;
    int32_t code;      /* errno, or wait status for SBX_MSG_EXITED */
    uint32_t nfds;     /* fds attached to this message */
    char text[SBX_MSG_TEXT];
};

/* Both return 0 or a negative errno; recv returns -EPIPE on EOF. fds may be
 * NULL when nfds is 0. On receive, *nfds is in/out: capacity, then count. */
int sbx_msg_send(int sock, const struct sbx_msg *m, const int *fds, size_t nfds);
int sbx_msg_recv(int sock, struct sbx_msg *m, int *fds, size_t *nfds);

/* Child side: report a failed step and exit. Never returns. */
__attribute__((noreturn)) void sbx_child_fail(int sock, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
