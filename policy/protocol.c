/* The sandboxd wire protocol: framing, decoding and naming, shared by the
 * daemon and every client. What a request may ask for is the daemon's
 * decision (sandboxd/daemon_proto.c), not the protocol's. */
#include "protocol.h"

#include <errno.h>

void sbx_frame_header(uint8_t hdr[SBX_FRAME_HEADER], uint32_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

uint32_t sbx_frame_length(const uint8_t hdr[SBX_FRAME_HEADER])
{
    return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

int sbx_request_decode(const uint8_t *buf, size_t len, Request **out, struct sbx_err *err)
{
    *out = sbx__v1__request__unpack(NULL, len, buf);
    if (!*out)
        return sbx_err_set(err, EPROTO, "request: not a valid sbx.v1.Request message");
    return 0;
}

void sbx_request_free(Request *req)
{
    if (req)
        sbx__v1__request__free_unpacked(req, NULL);
}

const char *sbx_request_op_name(const Request *req)
{
    switch (req->op_case) {
    case SBX__V1__REQUEST__OP_RUN:
        return "run";
    case SBX__V1__REQUEST__OP_SUBMIT:
        return "submit";
    case SBX__V1__REQUEST__OP_WAIT:
        return "wait";
    case SBX__V1__REQUEST__OP_LIST:
        return "list";
    case SBX__V1__REQUEST__OP_INSPECT:
        return "inspect";
    case SBX__V1__REQUEST__OP_KILL:
        return "kill";
    case SBX__V1__REQUEST__OP_PAUSE:
        return "pause";
    case SBX__V1__REQUEST__OP_RESUME:
        return "resume";
    case SBX__V1__REQUEST__OP_REMOVE:
        return "remove";
    case SBX__V1__REQUEST__OP_HEALTH:
        return "health";
    case SBX__V1__REQUEST__OP_SESSION_CREATE:
        return "session_create";
    case SBX__V1__REQUEST__OP_SESSION_REMOVE:
        return "session_remove";
    default:
        return "unknown";
    }
}
