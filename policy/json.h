/* JSON output of any protobuf-c message, driven by its descriptor. Field
 * names are the .proto names exactly; enums print as their names; bytes as
 * base64 (as the protobuf JSON mapping does). Singular scalar fields always
 * print (their default when unset), so a reader never has to guess whether a
 * field exists; unset sub-messages and empty repeated fields are left out. */
#ifndef SBX_POLICY_JSON_H
#define SBX_POLICY_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

#include "common/err.h"
#include "common/hostfile.h"

/* Returns a malloc'd NUL-terminated JSON object (one line, no trailing
 * newline), or NULL on allocation failure. */
char *sbx_json_format(const ProtobufCMessage *msg);

/* Writes sbx_json_format(msg) and a newline as the whole content of out (a
 * new 0644 file renamed over its path: see common/hostfile.h). Returns 0 or
 * a negative errno with err filled. */
int sbx_json_write_out(const ProtobufCMessage *msg, struct sbx_outfile *out, struct sbx_err *err);
/* The same for a path not pinned beforehand (errors name --result-json). */
int sbx_json_write_file(const ProtobufCMessage *msg, const char *path, struct sbx_err *err);

#endif
