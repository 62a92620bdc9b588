#include "uidpool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/hostfile.h"

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

static bool pools_agree(const struct sbx_uidpool *a, const struct sbx_uidpool *b)
{
    uint64_t a_end = (uint64_t)a->first + (uint64_t)a->range * a->slots;
    uint64_t b_end = (uint64_t)b->first + (uint64_t)b->range * b->slots;
    if (a_end <= b->first || b_end <= a->first)
        return true; /* apart: their lock files never meet */
    uint32_t d = a->first > b->first ? a->first - b->first : b->first - a->first;
    return a->range == b->range && d % a->range == 0;
}

static int open_lockdir(const struct sbx_uidpool *pool, struct sbx_err *err)
{
    int r = sbx_mkdir_p(pool->lockdir, 0700);
    if (r < 0)
        return sbx_err_sys(err, -r, "uid pool: creating %s", pool->lockdir);
    int dirfd = open(pool->lockdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return sbx_err_sys(err, errno, "uid pool: opening %s", pool->lockdir);
    struct stat st;
    if (fstat(dirfd, &st) < 0) {
        int e = errno;
        close(dirfd);
        return sbx_err_sys(err, e, "uid pool: %s", pool->lockdir);
    }
    if (st.st_uid != geteuid() || (st.st_mode & 0022)) {
        close(dirfd);
        return sbx_err_set(err, EPERM,
                           "uid pool: the slot directory %s is owned by uid %u with mode %04o; "
                           "it must be the launcher's own (uid %u) and writable by nobody else "
                           "(SBX_SLOT_DIR, sandboxd's slot_dir)",
                           pool->lockdir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
                           (unsigned)geteuid());
    }
    return dirfd;
}

/* The directory's pool record: written once, atomically (a private file
 * linked into place), so a reader never sees half of it. */
static int check_record(int dirfd, const struct sbx_uidpool *pool, struct sbx_err *err)
{
    char mine[64];
    int len = snprintf(mine, sizeof mine, "%" PRIu32 ":%" PRIu32 ":%" PRIu32 "\n", pool->first,
                       pool->range, pool->slots);
    for (int attempt = 0; attempt < 2; attempt++) {
        _cleanup_close_ int fd = openat(dirfd, "pool", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            char buf[64];
            ssize_t n = read(fd, buf, sizeof buf - 1);
            if (n < 0)
                return sbx_err_sys(err, errno, "uid pool: reading %s/pool", pool->lockdir);
            buf[n] = '\0';
            struct sbx_uidpool rec = {0};
            if (sscanf(buf, "%" SCNu32 ":%" SCNu32 ":%" SCNu32, &rec.first, &rec.range,
                       &rec.slots) != 3 || !rec.range)
                return sbx_err_set(err, EINVAL, "uid pool: %s/pool is not FIRST:RANGE:SLOTS",
                                   pool->lockdir);
            if (!pools_agree(pool, &rec))
                return sbx_err_set(err, EEXIST,
                                   "uid pool: %" PRIu32 ":%" PRIu32 ":%" PRIu32 " overlaps the "
                                   "pool %" PRIu32 ":%" PRIu32 ":%" PRIu32 " already using %s "
                                   "with slots that do not line up (their locks would not "
                                   "cover the same ids): give sbx run's SBX_UID_POOL and "
                                   "sandboxd's uid_pool the same first and range, or apart "
                                   "ranges",
                                   pool->first, pool->range, pool->slots, rec.first, rec.range,
                                   rec.slots, pool->lockdir);
            return 0;
        }
        if (errno != ENOENT)
            return sbx_err_sys(err, errno, "uid pool: opening %s/pool", pool->lockdir);
        char tmp[64];
        snprintf(tmp, sizeof tmp, "pool.%d", (int)getpid());
        _cleanup_close_ int w =
            openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (w < 0)
            return sbx_err_sys(err, errno, "uid pool: writing %s/pool", pool->lockdir);
        int r = write(w, mine, (size_t)len) == len ? 0 : -EIO;
        if (r == 0 && linkat(dirfd, tmp, dirfd, "pool", 0) < 0 && errno != EEXIST)
            r = -errno;
        unlinkat(dirfd, tmp, 0);
        if (r < 0)
            return sbx_err_sys(err, -r, "uid pool: writing %s/pool", pool->lockdir);
        /* Ours, or another launcher's that came first: read it back. */
    }
    return 0;
}

int sbx_uidpool_check(const struct sbx_uidpool *pool, struct sbx_err *err)
{
    _cleanup_close_ int dirfd = open_lockdir(pool, err);
    if (dirfd < 0)
        return dirfd;
    return check_record(dirfd, pool, err);
}

static bool overlaps(const struct sbx_uidpool *pool, uint64_t lo, uint64_t count)
{
    uint64_t end = (uint64_t)pool->first + (uint64_t)pool->range * pool->slots;
    return lo < end && lo + count > pool->first;
}

int sbx_uidpool_host_overlap(const struct sbx_uidpool *pool, char *what, size_t n)
{
    _cleanup_fclose_ FILE *pw = fopen("/etc/passwd", "re");
    char line[1024];
    while (pw && fgets(line, sizeof line, pw)) {
        char name[256];
        unsigned long uid;
        if (sscanf(line, "%255[^:]:%*[^:]:%lu:", name, &uid) == 2 && overlaps(pool, uid, 1)) {
            snprintf(what, n, "uid %lu (%s) of /etc/passwd", uid, name);
            return 1;
        }
    }
    static const char *const subs[] = {"/etc/subuid", "/etc/subgid"};
    for (int i = 0; i < 2; i++) {
        _cleanup_fclose_ FILE *f = fopen(subs[i], "re");
        while (f && fgets(line, sizeof line, f)) {
            char name[256];
            unsigned long lo, count;
            if (sscanf(line, "%255[^:]:%lu:%lu", name, &lo, &count) == 3 &&
                overlaps(pool, lo, count)) {
                snprintf(what, n, "%s's ids %lu-%lu of %s", name, lo, lo + count - 1, subs[i]);
                return 1;
            }
        }
    }
    return 0;
}

int sbx_uid_slot_acquire(const struct sbx_uidpool *pool, struct sbx_uid_slot *slot,
                         struct sbx_err *err)
{
    slot->lock_fd = -1;
    _cleanup_close_ int dirfd = open_lockdir(pool, err);
    if (dirfd < 0)
        return dirfd;
    /* The record is compared once per process and pool (sandboxd: at its
     * first job; it checks at start too). */
    static struct sbx_uidpool checked;
    static char checked_dir[256];
    if (checked.range != pool->range || checked.first != pool->first ||
        checked.slots != pool->slots || strcmp(checked_dir, pool->lockdir) != 0) {
        int r = check_record(dirfd, pool, err);
        if (r < 0)
            return r;
        checked = *pool;
        snprintf(checked_dir, sizeof checked_dir, "%s", pool->lockdir);
    }

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
