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
#include <sys/types.h>
#include <time.h>

#include "policy/policy.h"

/* Files at the output limit a session's earlier runs left: a later run's
 * own only count (a file counts when it is not one of these, or its ctime
 * changed). At most SBX_FSIZE_SNAP_MAX are kept; past that (overflow) the
 * others count as the run's. */
#define SBX_FSIZE_SNAP_MAX 16384
struct sbx_fsize_old {
    dev_t dev;
    ino_t ino;
    struct timespec ctime;
};
struct sbx_fsize_snap {
    struct sbx_fsize_old *v;
    size_t n, cap;
    bool overflow;
};
void sbx_fsize_snapshot(const struct sbx_spec *spec, int upper_fd, struct sbx_fsize_snap *snap);

/* upper_fd: the overlay's upper directory (kept from before pivot_root;
 * -1: none). old (or NULL): files that do not count (a snapshot). True
 * with the file's path (as the job sees it, when known) in out when one is
 * found. Bounded: at most a fixed number of entries and depth; it never
 * follows a symlink or leaves a filesystem. */
bool sbx_fsize_reached(const struct sbx_spec *spec, int upper_fd, const struct sbx_fsize_snap *old,
                       char *out, size_t n);

#endif
