/* Host uid/gid ranges for jobs (like isolate's box ids): root inside a job is
 * mapped to the first id of a range that no other running job holds. A slot
 * is held by an flock on a lock file; the lock lives as long as any copy of
 * its fd, and the job's PID 1 keeps one, so a slot is free again only once
 * the job is gone, even if the launcher was killed. Safe across concurrent
 * `sbx run` processes and the daemon. */
#ifndef SBX_EXECUTOR_UIDPOOL_H
#define SBX_EXECUTOR_UIDPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct sbx_uidpool {
    uint32_t first;      /* first host id of slot 0 */
    uint32_t range;      /* ids per slot (mapped into the job) */
    uint32_t slots;      /* number of slots */
    const char *lockdir; /* where the slot lock files live */
};

/* 256 slots of 65,536 ids from 1879048192 (0x70000000): above the ranges
 * that /etc/subuid, systemd's dynamic users and systemd-nspawn hand out. */
#define SBX_UIDPOOL_DEFAULT_FIRST 0x70000000U
#define SBX_UIDPOOL_DEFAULT_RANGE 65536U
#define SBX_UIDPOOL_DEFAULT_SLOTS 256U
#define SBX_UIDPOOL_DEFAULT_LOCKDIR "/run/sbx/slots"

/* The pool from SBX_UID_POOL="FIRST:RANGE:SLOTS" and SBX_STATE_DIR, else the
 * defaults. Returns 0 or -EINVAL with err naming the variable. */
int sbx_uidpool_from_env(struct sbx_uidpool *pool, struct sbx_err *err);

struct sbx_uid_slot {
    int lock_fd;         /* holds the slot while open */
    uint32_t index;
    uint32_t host_id;    /* first host uid (and gid) of the range */
    uint32_t range;
};

/* The slot directory must be the launcher's own (owner its euid, writable by
 * nobody else: whoever can write it can recreate a held lock and share a
 * running job's ids), and every launcher using it must cut the ids into the
 * same slots: a pool record in the directory ("pool": FIRST:RANGE:SLOTS,
 * written by the first launcher) is compared with this pool, and a pool
 * whose ids overlap it but whose slots do not line up with its slots is
 * refused (its locks would not cover the same ranges). sandboxd calls it
 * at start; sbx_uid_slot_acquire makes the same checks (the record's once
 * per process). Returns 0 or a negative errno with err naming the setting
 * (SBX_UID_POOL, uid_pool). */
int sbx_uidpool_check(const struct sbx_uidpool *pool, struct sbx_err *err);

/* Whether the pool's ids overlap a user of /etc/passwd or a range of
 * /etc/subuid or /etc/subgid: 1 with what saying which (for a warning), 0
 * if not (or the files cannot be read). */
int sbx_uidpool_host_overlap(const struct sbx_uidpool *pool, char *what, size_t n);

/* Takes a free slot (non-blocking; -EBUSY with a clear message when every
 * slot is taken). */
int sbx_uid_slot_acquire(const struct sbx_uidpool *pool, struct sbx_uid_slot *slot,
                         struct sbx_err *err);
void sbx_uid_slot_release(struct sbx_uid_slot *slot);

#endif
