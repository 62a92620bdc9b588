/* The sandboxd wire protocol (policy/sandboxd.proto): framing, and the one
 * place where every field of a request is checked before the daemon acts on
 * it. Shared by the daemon, the sbx client and the fuzz target. */
#ifndef SBX_SANDBOXD_DAEMON_PROTO_H
#define SBX_SANDBOXD_DAEMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../policy/policy.h"
#include "daemon_config.h"
#include "sandboxd.pb-c.h"

typedef Sbx__V1__Request Request;
typedef Sbx__V1__Response Response;
typedef Sbx__V1__JobInfo JobInfo;

#define SBX_PROTOCOL_VERSION 1
#define SBX_FRAME_HEADER 4
/* Responses carry captured output, so a client accepts more than the
 * daemon's request cap. */
#define SBX_MAX_RESPONSE_BYTES (1u << 30)
#define SBX_MAX_JOB_NAME 64
#define SBX_STDIO_ALL 7u

/* Writes the 4-byte big-endian header of a frame of len bytes. */
void sbx_frame_header(uint8_t hdr[SBX_FRAME_HEADER], uint32_t len);
/* Reads the length from a header. */
uint32_t sbx_frame_length(const uint8_t hdr[SBX_FRAME_HEADER]);

/* Unpacks one request body. -EPROTO with err set when the bytes are not a
 * Request. Free with sbx_request_free. */
int sbx_request_decode(const uint8_t *buf, size_t len, Request **out, struct sbx_err *err);
void sbx_request_free(Request *req);

/* Who is asking, for the checks that depend on it. */
struct sbx_req_ctx {
    const struct sbx_dconfig *cfg;
    bool admin;
};

/* A checked run or submit: the spec to start and the streams to attach. */
struct sbx_job_req {
    struct sbx_spec spec; /* borrows from the request's policy */
    bool have_spec;
    unsigned stdio_fds;     /* bits: stdin, stdout, stderr */
};

/* Checks every field of req (and, for run and submit, fills the policy's
 * unset capped limits with the caps, then validates it into jr->spec). On
 * error returns a negative errno, *code is the Error.Code to answer with,
 * and err names the field, as policy fields are named in local runs
 * (`limits.memory: 2147483648 bytes is over this client's cap of 1073741824
 * bytes (client_caps.memory)`) and request fields by operation
 * (`kill.job_id: missing`). */
int sbx_request_check(Request *req, const struct sbx_req_ctx *ctx, struct sbx_job_req *jr,
                      Sbx__V1__Error__Code *code, struct sbx_err *err);
void sbx_job_req_free(struct sbx_job_req *jr);

/* The request's operation name ("run", "wait"...), or "unknown". */
const char *sbx_request_op_name(const Request *req);

#endif
