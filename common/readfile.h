/* Reading a small file (a policy, a configuration) whole. */
#ifndef SBX_COMMON_READFILE_H
#define SBX_COMMON_READFILE_H

#include <stddef.h>

#include "err.h"

/* Reads path to EOF (not trusting st_size, so pipes and /dev/fd work) into
 * a new NUL-terminated buffer (*out, freed by the caller; *len without the
 * NUL). A directory, or more than max bytes, is an error; every error names
 * the path. Returns 0 or a negative errno. */
int sbx_read_file(const char *path, size_t max, char **out, size_t *len, struct sbx_err *err);

#endif
