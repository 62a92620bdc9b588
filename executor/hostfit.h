/* A valid job spec checked against this host before anything of the job is
 * created: negative time offsets against the host's uptime, the cpuset
 * against the CPUs online. */
#ifndef SBX_EXECUTOR_HOSTFIT_H
#define SBX_EXECUTOR_HOSTFIT_H

#include "common/err.h"
#include "policy/policy.h"

/* Returns 0, or a negative errno with err naming the field, the flag and
 * the host's fact. */
int sbx_hostfit_check(const struct sbx_spec *spec, struct sbx_err *err);

#endif
