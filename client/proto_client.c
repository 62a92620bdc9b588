/* Blocking protocol client for sbx's daemon commands. */
#include "proto_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"
#include "common/safeprint.h"

const char *sbx_client_socket_path(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("SBX_SOCKET");
    return env && *env ? env : SBX_DAEMON_DEFAULT_SOCKET;
}

int sbx_client_connect(const char *path, struct sbx_client *cl, struct sbx_err *err)
{
    cl->fd = -1;
    cl->next_id = 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return sbx_err_set(err, ENAMETOOLONG, "--socket: %s: path too long", path);
    strcpy(sa.sun_path, path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sbx_err_sys(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return sbx_err_sys(err, errno, "--socket: cannot connect to sandboxd at %s", path);
    cl->fd = take_fd(fd);
    return 0;
}

void sbx_client_close(struct sbx_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
}

void sbx_response_free(Response *resp)
{
    if (resp)
        sbx__v1__response__free_unpacked(resp, NULL);
}

/* The daemon hung up before our request went out: a refused connection
 * gets one error frame first, saying why. */
static bool said_why(struct sbx_client *cl, struct sbx_err *err)
{
    Response *resp = NULL;
    struct sbx_err e = {0};
    if (sbx_client_recv(cl, -1, &resp, &e) < 0)
        return false;
    bool said = resp->error && resp->error->message;
    if (said)
        sbx_err_set(err, EREMOTEIO, "%s", SBX_SAFE(resp->error->message));
    sbx_response_free(resp);
    return said;
}

int sbx_client_send(struct sbx_client *cl, Request *req, const int *fds, size_t nfds,
                    struct sbx_err *err)
{
    req->has_id = true;
    req->id = cl->next_id++;
    req->has_version = true;
    req->version = SBX_PROTOCOL_VERSION;
    size_t len = sbx__v1__request__get_packed_size(req);
    if (len > UINT32_MAX)
        return sbx_err_set(err, EMSGSIZE, "request: %zu bytes is too large", len);
    _cleanup_free_ uint8_t *buf = malloc(SBX_FRAME_HEADER + len);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    sbx_frame_header(buf, (uint32_t)len);
    sbx__v1__request__pack(req, buf + SBX_FRAME_HEADER);

    size_t off = 0, total = SBX_FRAME_HEADER + len;
    while (off < total) {
        struct iovec iov = {.iov_base = buf + off, .iov_len = total - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        union {
            char buf[CMSG_SPACE(sizeof(int) * 3)];
            struct cmsghdr align;
        } ctl;
        if (off == 0)
            sbx_cmsg_put_fds(&mh, ctl.buf, fds, nfds);
        ssize_t n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET) && said_why(cl, err))
            return -EREMOTEIO;
        if (n < 0)
            return sbx_err_sys(err, errno, "sending the request to sandboxd");
        off += (size_t)n;
    }
    return 0;
}

static int read_full(struct sbx_client *cl, int sigfd, uint8_t *buf, size_t len, bool started,
                     struct sbx_err *err)
{
    size_t off = 0;
    while (off < len) {
        /* Signals interrupt only between frames, never mid-frame. */
        if (sigfd >= 0 && !started && off == 0) {
            struct pollfd p[2] = {{.fd = cl->fd, .events = POLLIN},
                                  {.fd = sigfd, .events = POLLIN}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                return sbx_err_sys(err, errno, "poll");
            }
            if ((p[1].revents & POLLIN) && !(p[0].revents & (POLLIN | POLLHUP)))
                return -EINTR;
        }
        ssize_t n = read(cl->fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sbx_err_sys(err, errno, "reading from sandboxd");
        if (n == 0)
            return sbx_err_set(err, ECONNRESET, "sandboxd closed the connection");
        off += (size_t)n;
    }
    return 0;
}

int sbx_client_recv(struct sbx_client *cl, int sigfd, Response **out, struct sbx_err *err)
{
    *out = NULL;
    uint8_t hdr[SBX_FRAME_HEADER];
    int r = read_full(cl, sigfd, hdr, sizeof hdr, false, err);
    if (r < 0)
        return r;
    uint32_t len = sbx_frame_length(hdr);
    if (len > SBX_MAX_RESPONSE_BYTES)
        return sbx_err_set(err, EPROTO, "sandboxd sent a frame of %u bytes", len);
    _cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    r = read_full(cl, -1, buf, len, true, err);
    if (r < 0)
        return r;
    *out = sbx__v1__response__unpack(NULL, len, buf);
    if (!*out)
        return sbx_err_set(err, EPROTO, "sandboxd sent a response that does not parse");
    return 0;
}

int sbx_client_call(struct sbx_client *cl, Request *req, const int *fds, size_t nfds,
                    Response **out, struct sbx_err *err)
{
    *out = NULL;
    int r = sbx_client_send(cl, req, fds, nfds, err);
    if (r < 0)
        return r;
    for (;;) {
        Response *resp;
        r = sbx_client_recv(cl, -1, &resp, err);
        if (r < 0)
            return r;
        if (resp->id != req->id && resp->id != 0) {
            sbx_response_free(resp);
            continue;
        }
        *out = resp;
        if (resp->error)
            return sbx_err_set(err, EREMOTEIO, "%s",
                               resp->error->message ? SBX_SAFE(resp->error->message)
                                                    : "sandboxd: error");
        return 0;
    }
}
