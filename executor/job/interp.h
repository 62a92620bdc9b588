/* Why execve said ENOENT about a file that is there: the program it names
 * to load it (an ELF's PT_INTERP, a script's #! line) is missing. */
#ifndef SBX_EXECUTOR_INTERP_H
#define SBX_EXECUTOR_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* For the job's command as spec resolves it (its cwd, its PATH), seen from
 * the job's root: true with the missing interpreter's path in out when the
 * command exists but its interpreter does not. */
bool sbx_missing_interpreter(const struct sbx_spec *spec, char *out, size_t n);

#endif
