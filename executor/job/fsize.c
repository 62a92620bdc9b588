#include "fsize.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "common/cleanup.h"

/* A job can make the walk long (many files, deep trees); PID 1 does it
 * while the job's wall clock still runs, so the wall-time limit bounds it
 * too, but it stops well before. */
#define MAX_ENTRIES 100000
#define MAX_DEPTH 64

struct walk {
    uint64_t limit;
    struct sbx_fsize_snap *collect;   /* snapshot: record files at the limit */
    const struct sbx_fsize_snap *old; /* check: files recorded here unchanged are not the job's */
    unsigned entries;
    dev_t dev;
    char *out;
    size_t n;
};

static void record(struct sbx_fsize_snap *s, const struct stat *st)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct sbx_fsize_old *v = cap <= SBX_FSIZE_SNAP_MAX ? realloc(s->v, cap * sizeof *v) : NULL;
        if (!v) {
            s->overflow = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct sbx_fsize_old){st->st_dev, st->st_ino, st->st_ctim};
}

/* A file the snapshot saw, not changed since (same inode, same ctime). */
static bool is_old(const struct sbx_fsize_snap *s, const struct stat *st)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].ino == st->st_ino && s->v[i].dev == st->st_dev &&
            s->v[i].ctime.tv_sec == st->st_ctim.tv_sec &&
            s->v[i].ctime.tv_nsec == st->st_ctim.tv_nsec)
            return true;
    return false;
}

/* dfd: an open directory; path: its path for the report. */
static bool walk_dir(struct walk *w, int dfd, const char *path, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return false;
    }
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) && w->entries++ < MAX_ENTRIES) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != w->dev)
            continue;
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= w->limit && w->collect) {
            record(w->collect, &st);
        } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= w->limit && !is_old(w->old, &st)) {
            snprintf(w->out, w->n, "%s/%s", strcmp(path, "/") ? path : "", e->d_name);
            found = true;
        } else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                continue; /* not ours to search */
            char subpath[4096];
            snprintf(subpath, sizeof subpath, "%s/%s", strcmp(path, "/") ? path : "", e->d_name);
            found = walk_dir(w, sub, subpath, depth + 1);
        }
    }
    closedir(d);
    return found;
}

/* A filesystem of the job's own: a tmpfs, reached without following a
 * link (the job could otherwise point the walk at the image's big files). */
static bool walk_fs(struct walk *w, int at, const char *rel, const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    int dfd = (int)syscall(SYS_openat2, at, rel, &how, sizeof how);
    if (dfd < 0)
        return false;
    struct stat st;
    struct statfs sf;
    if (fstat(dfd, &st) < 0 || fstatfs(dfd, &sf) < 0 || sf.f_type != TMPFS_MAGIC) {
        close(dfd);
        return false;
    }
    w->dev = st.st_dev;
    return walk_dir(w, dfd, path, 0);
}

static bool walk_all(struct walk *w, const struct sbx_spec *spec, int upper_fd)
{
    /* The writable layer holds what the job wrote anywhere in its root,
     * under the same paths. */
    if (upper_fd >= 0 && walk_fs(w, upper_fd, ".", "/"))
        return true;
    if (walk_fs(w, AT_FDCWD, "/tmp", "/tmp") || walk_fs(w, AT_FDCWD, "/dev/shm", "/dev/shm"))
        return true;
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (spec->mounts[i].type == SBX_MOUNT_TMPFS &&
            walk_fs(w, AT_FDCWD, spec->mounts[i].dst, spec->mounts[i].dst))
            return true;
    return false;
}

void sbx_fsize_snapshot(const struct sbx_spec *spec, int upper_fd, struct sbx_fsize_snap *snap)
{
    memset(snap, 0, sizeof *snap);
    if (!spec->limits.output)
        return;
    struct walk w = {.limit = spec->limits.output, .collect = snap};
    walk_all(&w, spec, upper_fd);
}

bool sbx_fsize_reached(const struct sbx_spec *spec, int upper_fd, const struct sbx_fsize_snap *old,
                       char *out, size_t n)
{
    if (!spec->limits.output)
        return false;
    struct walk w = {.limit = spec->limits.output, .out = out, .n = n, .old = old};
    return walk_all(&w, spec, upper_fd);
}
