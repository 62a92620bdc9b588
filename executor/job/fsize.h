/* How the supervisor learns that the file-size limit (RLIMIT_FSIZE, from
 * limits.output) was reached inside the job. The kernel's SIGXFSZ carries
 * nothing that tells it from a kill() the job did itself, so it is no
 * evidence; the file is. PID 1 looks, once the first process has ended, at
 * the filesystems that are the job's alone (the root's writable layer,
 * /tmp, /dev/shm, every policy tmpfs) for a regular file at the limit. */
#ifndef SBX_EXECUTOR_FSIZE_H
#define SBX_EXECUTOR_FSIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/policy.h"

/* upper_fd: the overlay's upper directory (kept from before pivot_root;
 * -1: none). since (or NULL): only files changed since count (a session's
 * run, whose root holds the files of earlier runs). True with the file's path (as the job sees it, when known) in
 * out when one is found. Bounded: at most a fixed number of entries and
 * depth; it never follows a symlink or leaves a filesystem. */
bool sbx_fsize_reached(const struct sbx_spec *spec, int upper_fd, const struct timespec *since,
                       char *out, size_t n);

#endif
