#include "forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Big enough that a fast writer and the supervisor rarely wait on each
 * other; within what an unprivileged user may have (pipe-max-size). */
#define PIPE_SIZE (1 << 20)
/* One move at most: a few of them per turn of the event loop. */
#define MOVE_MAX ((size_t)1 << 20)
#define COPY_BUF 65536

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Our own descriptor of the destination. A terminal or other character
 * device is opened afresh, so that O_NONBLOCK on it changes nothing for the
 * caller (who shares the original file description); a regular file or a
 * pipe keeps the shared one (its offset matters; a pipe is made
 * non-blocking per call by SPLICE_F_NONBLOCK). */
static int own_dst(struct sbx_forward *f, int dst)
{
    struct stat st;
    if (fstat(dst, &st) < 0)
        return -errno;
    if (S_ISCHR(st.st_mode)) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", dst);
        f->dst = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (f->dst >= 0)
            return 0;
    }
    f->dst_socket = S_ISSOCK(st.st_mode);
    f->copy = f->dst_socket;
    f->dst = fcntl(dst, F_DUPFD_CLOEXEC, 3);
    return f->dst < 0 ? -errno : 0;
}

int sbx_forward_open(struct sbx_forward *f, int dst, uint64_t limit, int *job_end,
                     const char *what, struct sbx_err *err)
{
    *f = (struct sbx_forward){.src = -1, .dst = -1, .limit = limit};
    *job_end = -1;
    int r = own_dst(f, dst);
    if (r < 0)
        return sbx_err_sys(err, -r, "stdio: %s: passing it on", what);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        int e = errno;
        sbx_forward_close(f);
        return sbx_err_sys(err, e, "stdio: %s: pipe", what);
    }
    (void)fcntl(p[0], F_SETPIPE_SZ, PIPE_SIZE); /* a smaller pipe only costs speed */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    f->src = p[0];
    *job_end = p[1];
    return 0;
}

struct pollfd sbx_forward_pollfd(const struct sbx_forward *f)
{
    if (f->src < 0)
        return (struct pollfd){.fd = -1};
    if (f->blocked)
        return (struct pollfd){.fd = f->dst, .events = POLLOUT};
    return (struct pollfd){.fd = f->src, .events = POLLIN};
}

/* Nothing more goes to the destination: the job's next write to this
 * stream fails (EPIPE), as it would have on the destination itself. */
void sbx_forward_stop(struct sbx_forward *f)
{
    close_fd(&f->src);
    f->buf_len = f->buf_off = 0;
}

static size_t pending_in_pipe(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/* Copy mode: writes what buf holds. 1: all written, 0: the destination is
 * full, -1: it is gone. */
static int flush_buf(struct sbx_forward *f)
{
    while (f->buf_off < f->buf_len) {
        const uint8_t *p = f->buf + f->buf_off;
        size_t len = f->buf_len - f->buf_off;
        ssize_t n = f->dst_socket ? send(f->dst, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                                  : write(f->dst, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -1;
        f->buf_off += (size_t)n;
    }
    f->buf_len = f->buf_off = 0;
    return 1;
}

/* One move of at most want bytes. 1: moved some, 0: nothing to do now
 * (f->blocked says whether the destination is the reason), -1: stopped. */
static int move(struct sbx_forward *f, size_t want)
{
    if (!f->copy) {
        ssize_t n = splice(f->src, NULL, f->dst, NULL, want, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
            f->count += (uint64_t)n;
            return 1;
        }
        if (n == 0) { /* every writer is gone and the pipe is empty */
            sbx_forward_stop(f);
            return -1;
        }
        if (errno == EINTR)
            return 1;
        if (errno == EAGAIN) {
            /* Both ends are non-blocking: which one was it? */
            f->blocked = pending_in_pipe(f->src) > 0;
            return 0;
        }
        if (errno != EINVAL) { /* EPIPE: the reader went away */
            sbx_forward_stop(f);
            return -1;
        }
        /* The destination cannot take a splice (O_APPEND, some devices). */
        f->copy = true;
    }
    if (!f->buf) {
        f->buf = malloc(COPY_BUF);
        if (!f->buf) {
            sbx_forward_stop(f);
            return -1;
        }
    }
    ssize_t n = read(f->src, f->buf, want < COPY_BUF ? want : COPY_BUF);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return errno == EINTR ? 1 : 0;
    if (n <= 0) {
        sbx_forward_stop(f);
        return -1;
    }
    f->count += (uint64_t)n;
    f->buf_len = (size_t)n;
    f->buf_off = 0;
    int w = flush_buf(f);
    if (w < 0) {
        sbx_forward_stop(f);
        return -1;
    }
    f->blocked = w == 0;
    return 1;
}

/* The limit is reached: one byte more waiting in the pipe passes it. Returns
 * true when it did; else it stops at EOF or waits for more. */
static bool at_limit(struct sbx_forward *f)
{
    if (pending_in_pipe(f->src) > 0) {
        sbx_forward_stop(f);
        return true;
    }
    char c;
    ssize_t n = read(f->src, &c, 1);
    if (n == 1) {
        sbx_forward_stop(f);
        return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
        sbx_forward_stop(f);
    return false;
}

static bool step_once(struct sbx_forward *f, int turns)
{
    for (int t = 0; f->src >= 0 && t < turns; t++) {
        if (f->buf_len) {
            int w = flush_buf(f);
            if (w < 0) {
                sbx_forward_stop(f);
                return false;
            }
            f->blocked = w == 0;
            if (w == 0)
                return false;
        }
        uint64_t room = f->limit - f->count;
        if (room == 0)
            return at_limit(f);
        if (move(f, room < MOVE_MAX ? (size_t)room : MOVE_MAX) <= 0)
            return false;
    }
    return false;
}

bool sbx_forward_step(struct sbx_forward *f, bool all)
{
    if (!all) {
        f->blocked = false; /* poll said the destination (or the pipe) is ready */
        return step_once(f, 16);
    }
    while (f->src >= 0) {
        f->blocked = false;
        if (step_once(f, 16))
            return true;
        if (f->src < 0)
            break;
        struct pollfd p = sbx_forward_pollfd(f);
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            sbx_forward_stop(f);
    }
    return false;
}

void sbx_forward_close(struct sbx_forward *f)
{
    close_fd(&f->src);
    close_fd(&f->dst);
    free(f->buf);
    f->buf = NULL;
    f->buf_len = f->buf_off = 0;
}
