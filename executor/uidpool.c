#include "uidpool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int sbx_uidpool_from_env(struct sbx_uidpool *pool, struct sbx_err *err)
{
    pool->first = SBX_UIDPOOL_DEFAULT_FIRST;
    pool->range = SBX_UIDPOOL_DEFAULT_RANGE;
    pool->slots = SBX_UIDPOOL_DEFAULT_SLOTS;
    pool->lockdir = SBX_UIDPOOL_DEFAULT_LOCKDIR;

    const char *dir = getenv("SBX_SLOT_DIR");
    if (dir && *dir) {
        if (dir[0] != '/')
            return sbx_err_set(err, EINVAL, "SBX_SLOT_DIR: must be an absolute path");
        pool->lockdir = dir;
    }
    const char *env = getenv("SBX_UID_POOL");
    if (!env || !*env)
        return 0;

    char buf[96];
    if (strlen(env) >= sizeof buf)
        return sbx_err_set(err, EINVAL, "SBX_UID_POOL: too long");
    strcpy(buf, env);
    char *save = NULL;
    char *a = strtok_r(buf, ":", &save), *b = strtok_r(NULL, ":", &save),
         *c = strtok_r(NULL, ":", &save);
    struct sbx_uidpool p = *pool;
    if (!a || !b || !c || strtok_r(NULL, ":", &save) || parse_u32(a, &p.first) ||
        parse_u32(b, &p.range) || parse_u32(c, &p.slots))
        return sbx_err_set(err, EINVAL, "SBX_UID_POOL: \"%s\" is not FIRST:RANGE:SLOTS", env);
    if (p.range == 0 || p.slots == 0 || p.first == 0)
        return sbx_err_set(err, EINVAL, "SBX_UID_POOL: first, range and slots must be non-zero");
    if ((uint64_t)p.first + (uint64_t)p.range * p.slots > UINT32_MAX - 1)
        return sbx_err_set(err, ERANGE, "SBX_UID_POOL: the pool goes past the largest uid");
    *pool = p;
    return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return -ENAMETOOLONG;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int sbx_uid_slot_acquire(const struct sbx_uidpool *pool, struct sbx_uid_slot *slot,
                         struct sbx_err *err)
{
    slot->lock_fd = -1;
    int r = mkdir_p(pool->lockdir, 0700);
    if (r < 0)
        return sbx_err_sys(err, -r, "uid pool: creating %s", pool->lockdir);
    _cleanup_close_ int dirfd = open(pool->lockdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return sbx_err_sys(err, errno, "uid pool: opening %s", pool->lockdir);

    /* Start at a slot that depends on the pid, so concurrent launchers do not
     * all contend for slot 0; a long-lived launcher (sandboxd) goes on after
     * the slot it took last, so with N jobs running it does not probe N held
     * slots first (bench/scaling.sh: 1,000 held jobs). */
    static uint32_t next_hint = UINT32_MAX;
    uint32_t hint = __atomic_load_n(&next_hint, __ATOMIC_RELAXED);
    uint32_t start = (hint == UINT32_MAX ? (uint32_t)getpid() : hint) % pool->slots;
    for (uint32_t i = 0; i < pool->slots; i++) {
        uint32_t idx = (start + i) % pool->slots;
        uint32_t host = pool->first + idx * pool->range;
        char name[64];
        snprintf(name, sizeof name, "uid-%" PRIu32 ".lock", host);
        /* O_NOFOLLOW: the lock directory is root's, but never follow a link. */
        int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return sbx_err_sys(err, errno, "uid pool: opening %s/%s", pool->lockdir, name);
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            slot->lock_fd = fd;
            __atomic_store_n(&next_hint, idx + 1, __ATOMIC_RELAXED);
            slot->index = idx;
            slot->host_id = host;
            slot->range = pool->range;
            return 0;
        }
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK)
            return sbx_err_sys(err, e, "uid pool: locking %s/%s", pool->lockdir, name);
    }
    /* EAGAIN: a slot frees when a job ends; sandboxd waits a little. */
    return sbx_err_set(err, EAGAIN, "uid pool: all %" PRIu32 " slots are in use by running jobs",
                       pool->slots);
}

void sbx_uid_slot_release(struct sbx_uid_slot *slot)
{
    if (slot->lock_fd >= 0) {
        close(slot->lock_fd);
        slot->lock_fd = -1;
    }
}
