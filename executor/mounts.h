/* The job's root filesystem: an overlay of the read-only layers with a
 * size-limited tmpfs taking the writes, a fresh /proc with sensitive entries
 * masked, a minimal /dev, a tmpfs /tmp and the policy's mounts, then
 * pivot_root into it. Every path inside the new root is resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a symlink planted in a layer
 * can never redirect a mount outside the root. */
#ifndef SBX_EXECUTOR_MOUNTS_H
#define SBX_EXECUTOR_MOUNTS_H

#include <stdbool.h>

#include "common/err.h"
#include "policy/policy.h"

/* Number of mount sources a spec needs: its layers, then its bind mounts. */
size_t sbx_mount_sources_count(const struct sbx_spec *spec);

/* Opens every source as a detached mount tree (open_tree OPEN_TREE_CLONE) with
 * its attributes set: layers read-only, nosuid, nodev and, when userns_fd >= 0,
 * idmapped to that user namespace (so files owned by host root appear owned
 * by root inside); binds recursive, nosuid, nodev, read-only unless rw.
 * Runs in the launcher when it is root (it can reach any host path), or in
 * the child in rootless mode. fds must hold sbx_mount_sources_count() slots;
 * on error every fd opened is closed. */
int sbx_mount_sources_open(const struct sbx_spec *spec, int userns_fd, int *fds,
                           struct sbx_err *err);

/* In the child, in its new mount namespace: builds the root and pivots into
 * it. Consumes (closes) the source fds. *upper_fd: with an output limit or
 * keep_upper (a resident sandbox, whose runs may set one), the root's
 * writable layer (O_PATH, for job/fsize.c), else -1. */
int sbx_mounts_setup(const struct sbx_spec *spec, int *src_fds, bool keep_upper, int *upper_fd,
                     struct sbx_err *err);

/* After the pivot, in the job's root: masks each path of masked (a
 * directory with an empty read-only tmpfs, anything else with /dev/null)
 * and makes each of readonly read-only (recursively), on top of sbx's own
 * masks (an engine's OCI maskedPaths and readonlyPaths). Both are
 * NULL-terminated or NULL; a path that does not exist is skipped, as runc
 * does; symlinks are followed but never out of the root. */
int sbx_mounts_mask(const char *const *masked, const char *const *readonly, struct sbx_err *err);

/* In a run's new mount and PID namespaces (a resident sandbox's, job/init.c):
 * mounts a /proc of the run's PID namespace, masks included, over the
 * sandbox's. */
int sbx_mounts_proc_renew(struct sbx_err *err);

#endif
