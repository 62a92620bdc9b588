#include "jobio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* stdout or stderr, not captured, through the supervisor to where it goes. */
static int open_forward(struct sbx_jobio *io, int i, const struct sbx_spec *spec, const int dest[3],
                        struct sbx_err *err)
{
    const char *file = i == 1 ? spec->stdout_file : spec->stderr_file;
    const char *what = i == 1 ? "stdout" : "stderr";
    int dst = dest && dest[i] >= 0 ? dest[i] : i;
    int opened = -1;
    if (file && !(dest && dest[i] >= 0)) {
        /* As the launcher opens it for a job that writes it directly. */
        opened = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
        if (opened < 0)
            return sbx_err_sys(err, errno, "stdio.%s_file: %s", what, file);
        dst = opened;
    }
    int r = sbx_forward_open(&io->fwd[i - 1], dst, spec->limits.output, &io->job_fd[i], what, err);
    if (opened >= 0)
        close(opened);
    return r;
}

bool sbx_jobio_forwarding(const struct sbx_jobio *io)
{
    return sbx_forward_active(&io->fwd[0]) || sbx_forward_active(&io->fwd[1]);
}

void sbx_jobio_stop_forwarding(struct sbx_jobio *io)
{
    sbx_forward_stop(&io->fwd[0]);
    sbx_forward_stop(&io->fwd[1]);
}

int sbx_jobio_open(struct sbx_jobio *io, const JobPolicy *policy, const struct sbx_spec *spec,
                   const int dest[3], struct sbx_err *err)
{
    memset(io, 0, sizeof *io);
    io->job_fd[0] = io->job_fd[1] = io->job_fd[2] = io->stdin_fd = -1;
    io->cap[0].fd = io->cap[1].fd = -1;
    io->stdin_pfd = io->cap[0].pfd = io->cap[1].pfd = -1;
    for (int i = 0; i < 2; i++) {
        io->fwd[i] = (struct sbx_forward){.src = -1, .dst = -1};
        io->fwd_pfd[i] = -1;
    }
    if (!spec->capture && spec->limits.output)
        for (int i = 1; i < 3; i++) {
            int r = open_forward(io, i, spec, dest, err);
            if (r < 0) {
                sbx_jobio_close(io);
                return r;
            }
        }
    io->limit = spec->limits.output ? spec->limits.output : SBX_DEFAULT_OUTPUT_LIMIT;
    const Sbx__V1__Stdio *st = policy ? policy->stdio : NULL;
    bool feed = st && st->has_stdin_data;
    for (int i = 0; i < 3; i++) {
        if (i == 0 ? !feed : !spec->capture)
            continue;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            int e = errno;
            sbx_jobio_close(io);
            return sbx_err_sys(err, e, "stdio: pipe");
        }
        int mine = i == 0 ? p[1] : p[0];
        fcntl(mine, F_SETFL, O_NONBLOCK);
        io->job_fd[i] = i == 0 ? p[0] : p[1];
        if (i == 0)
            io->stdin_fd = mine;
        else
            io->cap[i - 1].fd = mine;
    }
    if (feed) {
        io->stdin_data = st->stdin_data.data;
        io->stdin_len = st->stdin_data.len;
        if (io->stdin_len == 0)
            close_fd(&io->stdin_fd); /* EOF at once */
    }
    return 0;
}

void sbx_jobio_started(struct sbx_jobio *io)
{
    for (int i = 0; i < 3; i++)
        close_fd(&io->job_fd[i]);
}

int sbx_jobio_pollfds(struct sbx_jobio *io, struct pollfd *fds)
{
    int n = 0;
    io->stdin_pfd = io->cap[0].pfd = io->cap[1].pfd = io->fwd_pfd[0] = io->fwd_pfd[1] = -1;
    for (int i = 0; i < 2; i++)
        if (sbx_forward_active(&io->fwd[i])) {
            io->fwd_pfd[i] = n;
            fds[n++] = sbx_forward_pollfd(&io->fwd[i]);
        }
    for (int i = 0; i < 2; i++)
        if (io->cap[i].fd >= 0) {
            io->cap[i].pfd = n;
            fds[n++] = (struct pollfd){.fd = io->cap[i].fd, .events = POLLIN};
        }
    if (io->stdin_fd >= 0) {
        io->stdin_pfd = n;
        fds[n++] = (struct pollfd){.fd = io->stdin_fd, .events = POLLOUT};
    }
    return n;
}

/* Reads what the pipe has: at most a few chunks per turn of the loop, so a
 * fast writer cannot starve other jobs, or all of it once the job has ended.
 * Output past the limit is read and dropped, so the job never blocks on a
 * full pipe. */
static bool read_capture(struct sbx_jobio *io, struct sbx_capture *cap, bool all)
{
    bool crossed = false;
    uint8_t chunk[65536];
    for (int turns = 0; cap->fd >= 0 && (all || turns < 16); turns++) {
        ssize_t n = read(cap->fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            close_fd(&cap->fd);
            break;
        }
        size_t room = io->limit - cap->len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        if (take && cap->len + take > cap->cap) {
            /* Doubling, so a large capture is not copied over and over. */
            size_t want = cap->cap ? cap->cap : 65536;
            while (want < cap->len + take)
                want *= 2;
            if (want > io->limit)
                want = io->limit;
            uint8_t *p = realloc(cap->buf, want);
            if (p) {
                cap->buf = p;
                cap->cap = want;
            } else {
                take = 0;
            }
        }
        if (take) {
            memcpy(cap->buf + cap->len, chunk, take);
            cap->len += take;
        }
        if (take < (size_t)n) {
            cap->truncated = true;
            if (!io->over_limit)
                crossed = io->over_limit = true;
        }
    }
    return crossed;
}

static void write_stdin(struct sbx_jobio *io)
{
    while (io->stdin_fd >= 0 && io->stdin_off < io->stdin_len) {
        ssize_t n = write(io->stdin_fd, io->stdin_data + io->stdin_off,
                          io->stdin_len - io->stdin_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) { /* EPIPE: the job closed its stdin */
            close_fd(&io->stdin_fd);
            return;
        }
        io->stdin_off += (size_t)n;
    }
    close_fd(&io->stdin_fd);
}

bool sbx_jobio_step(struct sbx_jobio *io, const struct pollfd *fds, bool all)
{
    bool crossed = false;
    for (int i = 0; i < 2; i++)
        if (io->cap[i].fd >= 0 && (all || (io->cap[i].pfd >= 0 && fds[io->cap[i].pfd].revents)))
            crossed |= read_capture(io, &io->cap[i], all);
    for (int i = 0; i < 2; i++)
        if (sbx_forward_active(&io->fwd[i]) &&
            (all || (io->fwd_pfd[i] >= 0 && fds[io->fwd_pfd[i]].revents)) &&
            sbx_forward_step(&io->fwd[i], all) && !io->over_limit)
            crossed = io->over_limit = true;
    if (io->stdin_fd >= 0 && !all && io->stdin_pfd >= 0 && fds[io->stdin_pfd].revents)
        write_stdin(io);
    return crossed;
}

void sbx_jobio_result(struct sbx_jobio *io, bool capture, JobResult *r)
{
    if (capture) {
        r->has_stdout = r->has_stderr = true;
        r->stdout = (ProtobufCBinaryData){.data = io->cap[0].buf, .len = io->cap[0].len};
        r->stderr = (ProtobufCBinaryData){.data = io->cap[1].buf, .len = io->cap[1].len};
        r->has_stdout_truncated = r->has_stderr_truncated = true;
        r->stdout_truncated = io->cap[0].truncated;
        r->stderr_truncated = io->cap[1].truncated;
    }
}

void sbx_jobio_close_fds(struct sbx_jobio *io)
{
    for (int i = 0; i < 3; i++)
        close_fd(&io->job_fd[i]);
    close_fd(&io->stdin_fd);
    close_fd(&io->cap[0].fd);
    close_fd(&io->cap[1].fd);
    sbx_forward_close(&io->fwd[0]);
    sbx_forward_close(&io->fwd[1]);
}

void sbx_jobio_close(struct sbx_jobio *io)
{
    sbx_jobio_close_fds(io);
    for (int i = 0; i < 2; i++) {
        free(io->cap[i].buf);
        io->cap[i].buf = NULL;
    }
}
