/* What a detached (OCI) job's process gets beyond sbx's defaults, as an OCI
 * spec's process asks: capabilities (already cut down to what the operator
 * allows), supplementary groups (ids inside the job, already checked to be
 * mapped) and resource limits (already checked to fit under the launcher's
 * hard limits). The job's process applies them in place of sbx's own
 * (executor/job/jobexec.c); sbx_job_run's jobs never have one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "executor/caps.h"

#define SBX_PROC_MAX_RLIMITS 16
#define SBX_PROC_MAX_GROUPS 64

struct sbx_proc_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

struct sbx_procattr {
    struct sbx_capsets caps;
    size_t n_groups;
    gid_t groups[SBX_PROC_MAX_GROUPS];
    size_t n_rlimits;
    struct sbx_proc_rlimit rlimits[SBX_PROC_MAX_RLIMITS];
};

/* Whether a sets a limit of its own on resource (sbx's default then steps
 * aside). */
bool sbx_procattr_has_rlimit(const struct sbx_procattr *a, int resource);
/* Sets a's limits on the calling process. 0 or -errno. */
int sbx_procattr_set_rlimits(const struct sbx_procattr *a, struct sbx_err *err);
