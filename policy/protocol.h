/* The sandboxd wire protocol (policy/sandboxd.proto): frames of a 4-byte
 * big-endian length and a protobuf message. Shared by the daemon, the sbx
 * client and the fuzz targets. */
#ifndef SBX_POLICY_PROTOCOL_H
#define SBX_POLICY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sandboxd.pb-c.h"

typedef Sbx__V1__Request Request;
typedef Sbx__V1__Response Response;
typedef Sbx__V1__JobInfo JobInfo;

#define SBX_PROTOCOL_VERSION 1
/* Where clients look for the daemon unless told otherwise ($SBX_SOCKET). */
#define SBX_DAEMON_DEFAULT_SOCKET "/run/sbx/sandboxd.sock"
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

/* The request's operation name ("run", "wait"...), or "unknown". */
const char *sbx_request_op_name(const Request *req);

#endif
