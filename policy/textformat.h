/* Protobuf text format, driven by protobuf-c's message descriptors: it knows
 * no field by name, so it follows the .proto with no per-field code. The
 * messages it builds are allocated exactly as protobuf-c's unpacker does, so
 * protobuf_c_message_free_unpacked(msg, NULL) frees them. */
#ifndef SBX_POLICY_TEXTFORMAT_H
#define SBX_POLICY_TEXTFORMAT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "common/err.h"

/* Parses text of len bytes (need not be NUL-terminated). On error, returns a
 * negative errno and err names the line, the field path and the reason:
 * "line 3: limits.pids: 99999999999 is out of range for uint32". */
int sbx_text_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                   ProtobufCMessage **out, struct sbx_err *err);

#endif
