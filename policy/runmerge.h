/* The policy of one run of a prepared sandbox (a warm pool's, a session's):
 * the sandbox's policy with the request's per-run fields (command, args,
 * env by name, cwd, stdio, limits) on top. */
#ifndef SBX_POLICY_RUNMERGE_H
#define SBX_POLICY_RUNMERGE_H

#include "common/err.h"
#include "policy.h"

/* Checks that req sets no other field than the per-run ones, except to the
 * value base has (limits.cpu_weight and limits.cpuset included), and
 * returns the merged policy in *out (free with sbx_policy_free). what names
 * the sandbox in errors ("pool judge", "session 12"), which name the
 * field: `hostname: differs from pool judge's (...)`. */
int sbx_policy_run_merge(const JobPolicy *base, const JobPolicy *req, const char *what,
                         JobPolicy **out, struct sbx_err *err);

/* Whether run's limits (validated from the merged policy) stay within
 * base's (the sandbox's): every limit base sets may only be narrowed. */
int sbx_spec_run_narrows(const struct sbx_spec *base, const struct sbx_spec *run, const char *what,
                         struct sbx_err *err);

#endif
