/* User namespace id maps. Root inside a job is always an unprivileged host
 * id: a range from the uid pool when the launcher is root, or the caller's
 * own id in rootless mode. Host uid 0 and the launcher's uid are never
 * mapped. */
#ifndef SBX_EXECUTOR_USERNS_H
#define SBX_EXECUTOR_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct sbx_idmap {
    uint32_t host_uid, host_gid;  /* what id 0 inside maps to */
    uint32_t count;               /* ids mapped, from 0 inside */
    bool rootless;                /* single id, setgroups denied */
};

/* Writes pid's uid_map, setgroups and gid_map. Refuses a map that would
 * cover host uid 0 or the launcher's own uid. */
int sbx_userns_write_maps(pid_t pid, const struct sbx_idmap *map, struct sbx_err *err);

/* What sbx_userns_owner_enter changed, for sbx_userns_owner_leave. */
struct sbx_userns_owner {
    bool changed;
    int securebits;
    uid_t euid;
    gid_t egid;
};

/* Around the clone that creates a job's user namespace (launcher as root):
 * the kernel makes the creator's euid the namespace's owner and charges the
 * job's per-user counts to it (inotify instances and watches, queued
 * signals, POSIX message-queue bytes, user namespaces), so the calling
 * thread's euid and egid become the job's slot ids for the clone alone.
 * The launcher keeps its capabilities meanwhile (SECBIT_NO_SETUID_FIXUP)
 * and its real and saved ids stay 0. Nothing to do in rootless mode. */
int sbx_userns_owner_enter(const struct sbx_idmap *map, struct sbx_userns_owner *saved,
                           struct sbx_err *err);
void sbx_userns_owner_leave(struct sbx_userns_owner *saved);

/* In the child once its maps exist: become root of the new namespace and
 * drop the supplementary groups inherited from the launcher (host root's
 * groups must never reach a job). */
int sbx_userns_become_root(const struct sbx_idmap *map, struct sbx_err *err);

#endif
