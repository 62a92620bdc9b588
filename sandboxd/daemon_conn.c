/* Connections: accept with peer credentials, read frames into a
 * per-connection buffer without ever blocking, collect the fds that ride
 * with them, and queue responses. A client that misbehaves (oversize or
 * truncated frame, half a frame then silence, too many fds) loses its
 * connection; nobody else notices. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

int64_t sbx_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t sbx_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sbx_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sandboxd: %s\n", line);
}

/* A refused client learns why before the hang-up (one small frame into an
 * empty socket buffer: the send does not block, and a client that never
 * reads it costs nothing). */
static void refuse(int fd, Sbx__V1__Error__Code code, const char *why)
{
    Response resp = SBX__V1__RESPONSE__INIT;
    Sbx__V1__Error e = SBX__V1__ERROR__INIT;
    e.has_code = true;
    e.code = code;
    e.message = (char *)why;
    resp.error = &e;
    uint8_t buf[512];
    size_t len = sbx__v1__response__get_packed_size(&resp);
    if (len + SBX_FRAME_HEADER <= sizeof buf) {
        sbx_frame_header(buf, (uint32_t)len);
        sbx__v1__response__pack(&resp, buf + SBX_FRAME_HEADER);
        ssize_t n = send(fd, buf, SBX_FRAME_HEADER + len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
    close(fd);
}

bool sbx_conn_accept(struct sbx_daemon *d)
{
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            sbx_log("accept: %s", strerror(errno));
        return false;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        sbx_log("SO_PEERCRED: %s", strerror(errno));
        close(fd);
        return true;
    }
    d->counters.connections_total++;
    if (!sbx_dconfig_allows(&d->cfg, cred.uid, cred.gid)) {
        sbx_log("refused a connection from uid %u gid %u (pid %d): not in allowed_uids, "
                "allowed_gids or admin_uids",
                cred.uid, cred.gid, cred.pid);
        char why[160];
        snprintf(why, sizeof why,
                 "sandboxd: uid %u is not allowed (not in allowed_uids, allowed_gids or "
                 "admin_uids)",
                 cred.uid);
        refuse(fd, SBX__V1__ERROR__CODE__PERMISSION_DENIED, why);
        return true;
    }
    bool admin = sbx_dconfig_is_admin(&d->cfg, cred.uid);
    uint32_t room = d->cfg.max_connections -
                    (admin ? 0 : SBX_ADMIN_RESERVED_CONNS(d->cfg.max_connections));
    if (d->n_conns >= room) {
        sbx_log("refused a connection from uid %u: max_connections (%u) reached", cred.uid,
                d->cfg.max_connections);
        char why[160];
        snprintf(why, sizeof why, "sandboxd: too many connections (max_connections %u)",
                 d->cfg.max_connections);
        refuse(fd, SBX__V1__ERROR__CODE__RESOURCE_EXHAUSTED, why);
        return true;
    }
    if (!admin) {
        uint32_t mine = 0;
        for (struct sbx_conn *o = d->conns; o; o = o->next)
            mine += o->uid == cred.uid;
        if (mine >= d->cfg.max_connections_per_uid) {
            char why[160];
            snprintf(why, sizeof why,
                     "sandboxd: uid %u has %u connections open (max_connections_per_uid)",
                     cred.uid, mine);
            refuse(fd, SBX__V1__ERROR__CODE__RESOURCE_EXHAUSTED, why);
            return true;
        }
    }
    struct sbx_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return true;
    }
    c->id = ++d->next_conn_id;
    c->fd = fd;
    c->uid = cred.uid;
    c->gid = cred.gid;
    c->pid = cred.pid;
    c->admin = admin;
    c->pfd = -1;
    c->last_active = sbx_now_ns();
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    d->n_conns++;
    return true;
}

void sbx_conn_drop_fds(struct sbx_conn *c)
{
    for (size_t i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    c->nfds = 0;
}

int sbx_conn_take_fds(struct sbx_conn *c, unsigned n, int *out)
{
    if (n > c->nfds)
        return -1;
    memcpy(out, c->fds, n * sizeof(int));
    memmove(c->fds, c->fds + n, (c->nfds - n) * sizeof(int));
    c->nfds -= n;
    return 0;
}

void sbx_conn_close(struct sbx_daemon *d, struct sbx_conn *c)
{
    sbx_ops_conn_gone(d, c);
    sbx_jobs_orphan(d, c);
    sbx_conn_drop_fds(c);
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->n_conns--;
    free(c);
}

void sbx_conn_shutdown(struct sbx_daemon *d, struct sbx_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_deadline = sbx_now_ns() + d->cfg.stall_ns;
    sbx_conn_drop_fds(c);
}

void sbx_conn_sweep(struct sbx_daemon *d)
{
    struct sbx_conn *next;
    for (struct sbx_conn *c = d->conns; c; c = next) {
        next = c->next;
        if (c->closing && c->woff == c->wlen)
            sbx_conn_close(d, c);
    }
}

/* A protocol violation: tell the client why (best effort), then hang up. */
static void conn_fail(struct sbx_daemon *d, struct sbx_conn *c, const char *why)
{
    d->counters.protocol_errors++;
    sbx_log("connection %llu (uid %u, pid %d): %s", (unsigned long long)c->id, c->uid, c->pid, why);
    sbx_conn_send_error(d, c, 0, SBX__V1__ERROR__CODE__PROTOCOL, why);
    sbx_conn_shutdown(d, c);
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

/* Hands every complete frame in the buffer to the operations. */
static void handle_frames(struct sbx_daemon *d, struct sbx_conn *c)
{
    size_t off = 0;
    while (!c->closing && c->rlen - off >= SBX_FRAME_HEADER) {
        uint32_t len = sbx_frame_length(c->rbuf + off);
        if (len > d->cfg.max_request) {
            char why[160];
            snprintf(why, sizeof why,
                     "frame: %u bytes is over the daemon's limit of %zu "
                     "(max_request_bytes)",
                     len, d->cfg.max_request);
            conn_fail(d, c, why);
            return;
        }
        if (c->rlen - off - SBX_FRAME_HEADER < len)
            break;
        /* The handler never closes c (it may shut it down). */
        sbx_ops_handle(d, c, c->rbuf + off + SBX_FRAME_HEADER, len);
        off += SBX_FRAME_HEADER + len;
    }
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    /* Give back a big request's buffer: idle connections stay small. */
    if (c->rlen == 0 && c->rcap > 4 * (size_t)SBX_CONN_READ_CHUNK) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    c->partial_since = c->rlen ? (c->partial_since ? c->partial_since : sbx_now_ns()) : 0;
}

static void collect_fds(struct sbx_daemon *d, struct sbx_conn *c, struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            if (c->nfds < SBX_CONN_MAX_FDS)
                c->fds[c->nfds++] = fds[i];
            else
                close(fds[i]);
        }
    }
}

bool sbx_conn_readable(struct sbx_daemon *d, struct sbx_conn *c)
{
    if (c->closing)
        return false;
    if (reserve(&c->rbuf, &c->rcap, c->rlen + SBX_CONN_READ_CHUNK) < 0) {
        conn_fail(d, c, "out of memory");
        return false;
    }
    union {
        char buf[CMSG_SPACE(sizeof(int) * SBX_CONN_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = c->rbuf + c->rlen, .iov_len = SBX_CONN_READ_CHUNK};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return false;
        sbx_conn_close(d, c);
        return true;
    }
    collect_fds(d, c, &mh);
    if (mh.msg_flags & MSG_CTRUNC) {
        conn_fail(d, c, "fds: more than 3 file descriptors sent with one frame");
        return false;
    }
    if (n == 0) {
        if (c->rlen) {
            d->counters.protocol_errors++;
            sbx_log("connection %llu (uid %u): closed mid-frame (%zu bytes of a truncated frame)",
                    (unsigned long long)c->id, c->uid, c->rlen);
        }
        sbx_conn_close(d, c);
        return true;
    }
    c->rlen += (size_t)n;
    c->last_active = sbx_now_ns();
    handle_frames(d, c);
    return false;
}

bool sbx_conn_writable(struct sbx_daemon *d, struct sbx_conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return false;
            sbx_conn_close(d, c);
            return true;
        }
        c->woff += (size_t)n;
    }
    c->woff = c->wlen = 0;
    if (c->wcap > 4 * (size_t)SBX_CONN_READ_CHUNK) {
        free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    if (c->closing) {
        sbx_conn_close(d, c);
        return true;
    }
    return false;
}

void sbx_conn_send(struct sbx_daemon *d, struct sbx_conn *c, const Response *resp)
{
    size_t len = sbx__v1__response__get_packed_size(resp);
    if (len > SBX_MAX_RESPONSE_BYTES || c->wlen - c->woff + len > SBX_CONN_MAX_PENDING_OUT) {
        /* The client does not read what it asked for; stop feeding it. */
        sbx_log("connection %llu (uid %u): response of %zu bytes would exceed the output "
                "buffer; closing",
                (unsigned long long)c->id, c->uid, len);
        c->closing = true;
        c->close_deadline = sbx_now_ns();
        return;
    }
    if (c->woff && c->woff == c->wlen)
        c->woff = c->wlen = 0;
    if (reserve(&c->wbuf, &c->wcap, c->wlen + SBX_FRAME_HEADER + len) < 0) {
        c->closing = true;
        c->close_deadline = sbx_now_ns();
        return;
    }
    sbx_frame_header(c->wbuf + c->wlen, (uint32_t)len);
    sbx__v1__response__pack(resp, c->wbuf + c->wlen + SBX_FRAME_HEADER);
    c->wlen += SBX_FRAME_HEADER + len;
    /* No write here: the loop writes when poll says the socket has room,
     * so a send never closes c under a caller's feet. */
}

void sbx_conn_send_error(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                         Sbx__V1__Error__Code code, const char *msg)
{
    Response resp = SBX__V1__RESPONSE__INIT;
    Sbx__V1__Error e = SBX__V1__ERROR__INIT;
    resp.has_id = true;
    resp.id = req_id;
    e.has_code = true;
    e.code = code;
    e.message = (char *)msg;
    resp.error = &e;
    sbx_conn_send(d, c, &resp);
}

void sbx_conn_check_timeouts(struct sbx_daemon *d, int64_t now)
{
    struct sbx_conn *next;
    for (struct sbx_conn *c = d->conns; c; c = next) {
        next = c->next;
        if (c->closing && now >= c->close_deadline) {
            sbx_conn_close(d, c);
        } else if (c->wlen - c->woff >= SBX_CONN_BACKPRESSURE) {
            /* We are not reading it: the stall is ours, not the client's. */
            if (c->partial_since)
                c->partial_since = now;
        } else if (!c->closing && c->partial_since && now - c->partial_since >= d->cfg.stall_ns) {
            conn_fail(d, c, "frame: incomplete for longer than the daemon's stall_timeout");
        } else if (!c->closing && !c->partial_since && now - c->last_active >= d->cfg.idle_ns) {
            /* Busy (a wait pending, a job of its own): not idle; look again
             * a whole idle_timeout later, not at every turn. */
            if (c->n_waiters || sbx_jobs_owned_active(d, c) || c->wlen > c->woff) {
                c->last_active = now;
                continue;
            }
            sbx_log("connection %llu (uid %u): idle for idle_timeout; closing",
                    (unsigned long long)c->id, c->uid);
            sbx_conn_send_error(d, c, 0, SBX__V1__ERROR__CODE__UNAVAILABLE,
                                "sandboxd: connection idle for longer than idle_timeout");
            sbx_conn_shutdown(d, c);
        }
    }
}

int sbx_conn_timeout_ms(struct sbx_daemon *d, int64_t now)
{
    int64_t next = -1;
    for (struct sbx_conn *c = d->conns; c; c = c->next) {
        int64_t t = c->closing         ? c->close_deadline
                    : c->partial_since ? c->partial_since + d->cfg.stall_ns
                                       : c->last_active + d->cfg.idle_ns;
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}
