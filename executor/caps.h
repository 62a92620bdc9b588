/* Capabilities and no_new_privs: the job's process ends with every set
 * empty (effective, permitted, inheritable, ambient and bounding) and
 * no_new_privs on, so no exec can ever give privileges back. */
#ifndef SBX_EXECUTOR_CAPS_H
#define SBX_EXECUTOR_CAPS_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Drops the bounding and ambient sets, switches to uid/gid (dropping the
 * supplementary groups), empties the remaining sets, sets no_new_privs and
 * checks the outcome: fails closed if any capability is left. */
int sbx_caps_drop_all(uid_t uid, gid_t gid, struct sbx_err *err);

/* For the job's PID 1: keeps only CAP_KILL (to forward signals to a job that
 * runs as another user) and sets no_new_privs. */
int sbx_caps_init_only_kill(struct sbx_err *err);

#endif
