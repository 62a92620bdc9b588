/* What changes from one run of a resident sandbox to the next (command,
 * arguments, environment, cwd, ids, limits), carried from the launcher to
 * the run's PID 1 in a sealed memfd: the rest of the spec is the sandbox's,
 * already in the child's memory since the clone. */
#ifndef SBX_EXECUTOR_RUNSPEC_H
#define SBX_EXECUTOR_RUNSPEC_H

#include "common/err.h"
#include "policy/policy.h"

/* Returns a sealed memfd holding spec's per-run fields, or a negative errno. */
int sbx_runspec_encode(const struct sbx_spec *spec, struct sbx_err *err);

/* Reads fd into *out: a copy of base with the per-run fields replaced; the
 * strings live in *storage (free it, and out->argv, after the run).
 * Everything read is bounds-checked. Returns 0 or a negative errno. */
int sbx_runspec_decode(int fd, const struct sbx_spec *base, struct sbx_spec *out, char **storage,
                       struct sbx_err *err);

#endif
