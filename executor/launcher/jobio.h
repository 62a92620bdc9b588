/* A job's piped stdio, for `sbx run` and sandboxd alike: stdin fed from the
 * policy's stdin_data, stdout and stderr captured into the result up to a
 * byte limit (limits.output, default SBX_DEFAULT_OUTPUT_LIMIT), or, when
 * they are not captured and limits.output is set, passed on to where they
 * would have gone and counted (forward.h). Passing the limit on a stream
 * marks it truncated and asks for the job to be killed: the result is then
 * OUTPUT_LIMIT_EXCEEDED. Non-blocking on our side, so one event loop can
 * serve many jobs. */
#ifndef SBX_EXECUTOR_JOBIO_H
#define SBX_EXECUTOR_JOBIO_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"
#include "forward.h"

struct sbx_capture {
    int fd; /* our read end; -1 when closed */
    uint8_t *buf;
    size_t len, cap;
    bool truncated;
    int pfd; /* index in the caller's poll array, -1: none */
};

struct sbx_jobio {
    int job_fd[3];      /* the job's ends (stdin read, stdout/stderr write), -1: none */
    int stdin_fd;       /* our write end for stdin_data, -1: none */
    const uint8_t *stdin_data;
    size_t stdin_len, stdin_off;
    int stdin_pfd;
    struct sbx_capture cap[2]; /* stdout, stderr */
    struct sbx_forward fwd[2]; /* stdout, stderr when passed on (src -1: not) */
    int fwd_pfd[2];
    uint64_t limit;
    bool over_limit;    /* a stream passed the limit: kill the job */
};

#define SBX_JOBIO_MAX_POLLFDS 3

/* Sets up the pipes the policy asks for (stdio.stdin_data, stdio.capture)
 * and those the output limit needs: stdout and stderr not captured go
 * through the supervisor when limits.output is set. dest[1], dest[2]: where
 * those streams go otherwise (-1: this process's own stdout/stderr, or the
 * policy's stdout_file/stderr_file, which are then opened here). Streams
 * it does not pipe keep job_fd -1. */
int sbx_jobio_open(struct sbx_jobio *io, const JobPolicy *policy, const struct sbx_spec *spec,
                   const int dest[3], struct sbx_err *err);
/* Whether a stream is still being passed on: the job's end is not over
 * until it is (its last bytes are still on their way). */
bool sbx_jobio_forwarding(const struct sbx_jobio *io);
/* Gives up on passing the streams on (a job killed on request whose reader
 * does not read): what is left is dropped. */
void sbx_jobio_stop_forwarding(struct sbx_jobio *io);
/* Once the job has started: our copies of the job's ends are closed, so a
 * reader sees EOF when the job's processes are gone. */
void sbx_jobio_started(struct sbx_jobio *io);
int sbx_jobio_pollfds(struct sbx_jobio *io, struct pollfd *fds);
/* Moves data for the ready fds (all = drain to EOF: the job has ended).
 * Returns true the first time a stream passes the limit. */
bool sbx_jobio_step(struct sbx_jobio *io, const struct pollfd *fds, bool all);
/* Puts the captured output into the result (it points into io: keep io
 * alive while r is used). The status is the executor's: the caller reports
 * a stream passing the limit with sbx_job_kill_for_output. */
void sbx_jobio_result(struct sbx_jobio *io, bool capture, JobResult *r);
/* Closes every pipe but keeps the captured bytes (a result may point at
 * them); sbx_jobio_close also frees those. */
void sbx_jobio_close_fds(struct sbx_jobio *io);
void sbx_jobio_close(struct sbx_jobio *io);

#endif
