/* A job's stdout or stderr passed on by the supervisor: the job writes into
 * a pipe, the supervisor moves the bytes (splice, so they are not copied
 * through user space where the destination allows it) to wherever the
 * stream would have gone (a file, a pipe, a socket, a terminal), counting
 * them. This is how the output limit holds on streams that are not
 * captured, whatever they are and whichever process of the job writes.
 *
 * Non-blocking on our side: a destination that is full is polled for
 * POLLOUT, so one event loop can serve many jobs and a reader that stalls
 * never stops the supervisor's timers. */
#ifndef SBX_EXECUTOR_FORWARD_H
#define SBX_EXECUTOR_FORWARD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct sbx_forward {
    int src;          /* our read end of the job's pipe; -1: done */
    int dst;          /* our own fd of the destination; -1: none */
    bool dst_socket;  /* sent with MSG_DONTWAIT (splice cannot be non-blocking there) */
    bool copy;        /* the destination refuses splice: through buf */
    bool blocked;     /* the destination is full: wait for POLLOUT */
    uint64_t count;   /* bytes taken from the job */
    uint64_t limit;   /* at most this many are passed on */
    uint8_t *buf;     /* copy mode: bytes read, not yet written */
    size_t buf_len, buf_off;
};

/* Makes the job's pipe; *job_end gets its write end (the caller closes it
 * once the job has it). dst is where the stream goes (not taken over: the
 * forward keeps its own descriptor of it). */
int sbx_forward_open(struct sbx_forward *f, int dst, uint64_t limit, int *job_end,
                     const char *what, struct sbx_err *err);
/* Whether the stream is still being passed on. */
static inline bool sbx_forward_active(const struct sbx_forward *f)
{
    return f->src >= 0;
}
/* The one fd to poll for it (fd -1 when done). */
struct pollfd sbx_forward_pollfd(const struct sbx_forward *f);
/* Moves what can be moved now (all: until the job's end of the pipe is
 * closed, blocking). Returns true when the stream passed its limit: the
 * forward then stops (and drops what is left); the caller kills the job. */
bool sbx_forward_step(struct sbx_forward *f, bool all);
/* Stops passing the stream on; what is left in the pipe is dropped. */
void sbx_forward_stop(struct sbx_forward *f);
void sbx_forward_close(struct sbx_forward *f);

#endif
