/* The client side of the sandboxd protocol (policy/sandboxd.proto): connect,
 * send a framed Request (with stdio fds over SCM_RIGHTS), read framed
 * Responses. Blocking: a command-line client does one thing at a time. */
#ifndef SBX_CLIENT_PROTO_CLIENT_H
#define SBX_CLIENT_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/protocol.h"

struct sbx_client {
    int fd;
    uint64_t next_id;
};

/* The socket path: the flag's, else $SBX_SOCKET, else the default. */
const char *sbx_client_socket_path(const char *flag);

int sbx_client_connect(const char *path, struct sbx_client *cl, struct sbx_err *err);
void sbx_client_close(struct sbx_client *cl);

/* Sets req's id and version and sends it; the nfds fds ride on the first
 * byte. Returns 0 or a negative errno. */
int sbx_client_send(struct sbx_client *cl, Request *req, const int *fds, size_t nfds,
                    struct sbx_err *err);

/* Reads one response. When sigfd >= 0 and becomes readable first, returns
 * -EINTR so the caller can act on the signal and call again. */
int sbx_client_recv(struct sbx_client *cl, int sigfd, Response **out, struct sbx_err *err);

/* Sends req and returns the response with its id (others are dropped). A
 * response carrying an Error is returned as -EREMOTEIO with err set to its
 * message; *out is still set (free it) so the code can be read. */
int sbx_client_call(struct sbx_client *cl, Request *req, const int *fds, size_t nfds,
                    Response **out, struct sbx_err *err);

void sbx_response_free(Response *resp);

#endif
