/* Capabilities and no_new_privs: the job's process ends with every set
 * empty (effective, permitted, inheritable, ambient and bounding) and
 * no_new_privs on, so no exec can ever give privileges back. */
#ifndef SBX_EXECUTOR_CAPS_H
#define SBX_EXECUTOR_CAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* The capabilities a process keeps, one bit per CAP_* in each set. */
struct sbx_capsets {
    uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* Drops the bounding and ambient sets, switches to uid/gid (dropping the
 * supplementary groups), empties the remaining sets, sets no_new_privs and
 * checks the outcome: fails closed if any capability is left. */
int sbx_caps_drop_all(uid_t uid, gid_t gid, struct sbx_err *err);

/* The same, for a detached (OCI) job's process: keeps what `keep` lists in
 * each set (the caller has cut it down to what the operator allows; an
 * effective or inheritable capability must be permitted, an inheritable one
 * in the bounding set, or this fails), raises the ambient ones that are
 * permitted and inheritable, and sets the supplementary groups to groups
 * (n > 0) instead of just gid. no_new_privs is on all the same, and the
 * outcome is read back: every set exactly as asked, or it fails closed. */
int sbx_caps_keep(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
                  const struct sbx_capsets *keep, struct sbx_err *err);

/* For the job's PID 1: keeps only CAP_KILL (to forward signals to a job that
 * runs as another user) and sets no_new_privs. */
int sbx_caps_init_only_kill(struct sbx_err *err);

/* Empties the bounding set only (which matters at execve alone): a run's
 * PID 1 does it ahead, so that its command's process has nothing to drop. */
int sbx_caps_drop_bounding(struct sbx_err *err);

#endif
