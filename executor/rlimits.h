/* The resource limits of a job's processes: which, from its spec, and
 * whether the launcher can grant them. */
#pragma once

#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"

#define SBX_MAX_RLIMITS 7

struct sbx_rlimit {
    int resource;       /* RLIMIT_* */
    const char *field;  /* the policy field it comes from, for messages */
    uint64_t value;     /* soft = hard = value in the job */
};

/* The limits the job's first process sets on itself (soft = hard), into
 * out[SBX_MAX_RLIMITS]; returns how many. */
int sbx_job_rlimits(const struct sbx_spec *spec, struct sbx_rlimit *out);

/* In the launcher, before any setup. A job cannot raise a hard limit from
 * inside its user namespace, so each limit above the launcher's own hard
 * limit is raised here, where the launcher may (CAP_SYS_RESOURCE in the
 * host's namespace), and inherited by the job's processes; where it may
 * not, the job is refused with one line naming the field, the value and
 * the host's hard limit. 0 or -errno. */
int sbx_rlimits_fit(const struct sbx_spec *spec, struct sbx_err *err);
