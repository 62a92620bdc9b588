#include "fsize.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
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
    struct timespec since; /* only files changed since (ctime): a session's run */
    unsigned entries;
    dev_t dev;
    char *out;
    size_t n;
};

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
        bool recent = st.st_ctim.tv_sec > w->since.tv_sec ||
                      (st.st_ctim.tv_sec == w->since.tv_sec && st.st_ctim.tv_nsec >= w->since.tv_nsec);
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= w->limit && recent) {
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

bool sbx_fsize_reached(const struct sbx_spec *spec, int upper_fd, const struct timespec *since,
                       char *out, size_t n)
{
    if (!spec->limits.output)
        return false;
    struct walk w = {.limit = spec->limits.output, .out = out, .n = n};
    if (since)
        w.since = *since;
    /* The writable layer holds what the job wrote anywhere in its root,
     * under the same paths. */
    if (upper_fd >= 0 && walk_fs(&w, upper_fd, ".", "/"))
        return true;
    if (walk_fs(&w, AT_FDCWD, "/tmp", "/tmp") || walk_fs(&w, AT_FDCWD, "/dev/shm", "/dev/shm"))
        return true;
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (spec->mounts[i].type == SBX_MOUNT_TMPFS &&
            walk_fs(&w, AT_FDCWD, spec->mounts[i].dst, spec->mounts[i].dst))
            return true;
    return false;
}
