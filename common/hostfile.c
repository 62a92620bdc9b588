#include "hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static const char *kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISLNK(m) ? "a symlink"
         : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int sbx_hostfile_open(const char *what, const char *path, int flags, mode_t mode,
                      struct sbx_err *err)
{
    int trunc = flags & O_TRUNC;
    _cleanup_close_ int fd = open(path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                            O_CLOEXEC, mode);
    struct stat st;
    if (fd < 0) {
        /* Say what is there (ELOOP for a symlink, ENXIO for a FIFO without
         * a reader, EACCES for either in a sticky directory). */
        int e = errno;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            return sbx_err_set(err, ELOOP, "%s: %s is a symlink (never followed)", what, path);
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return sbx_err_set(err, EINVAL, "%s: %s is %s, not a regular file", what, path,
                               kind(st.st_mode));
        return sbx_err_sys(err, e, "%s: %s", what, path);
    }
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "%s: %s", what, path);
    if (!S_ISREG(st.st_mode))
        return sbx_err_set(err, EINVAL, "%s: %s is %s, not a regular file", what, path,
                           kind(st.st_mode));
    if (trunc && ftruncate(fd, 0) < 0)
        return sbx_err_sys(err, errno, "%s: %s: truncating", what, path);
    if (fcntl(fd, F_SETFL, flags & O_APPEND) < 0)
        return sbx_err_sys(err, errno, "%s: %s", what, path);
    return take_fd(fd);
}

int sbx_outfile_prepare(struct sbx_outfile *out, const char *what, const char *path,
                        struct sbx_err *err)
{
    *out = (struct sbx_outfile){.dirfd = -1, .what = what, .path = path};
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return sbx_err_set(err, EISDIR, "%s: %s names a directory, not a file", what, path);
    _cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                                     : strdup(".");
    out->base = strdup(base);
    if (!dir || !out->base)
        return sbx_err_set(err, ENOMEM, "out of memory");
    out->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (out->dirfd < 0)
        return sbx_err_sys(err, errno, "%s: %s: its directory", what, path);
    struct stat st;
    if (fstatat(out->dirfd, out->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return sbx_err_set(err, EINVAL, "%s: %s is %s, not a regular file", what, path,
                           kind(st.st_mode));
    return 0;
}

int sbx_outfile_write(struct sbx_outfile *out, const void *buf, size_t len, struct sbx_err *err)
{
    if (out->dirfd < 0)
        return sbx_err_set(err, EBADF, "%s: %s: not prepared", out->what, out->path);
    char tmp[64];
    _cleanup_close_ int fd = -1;
    /* A fresh name the job cannot have planted: O_EXCL refuses anything
     * that already exists, a symlink included. */
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        unsigned long long rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            rnd = (unsigned long long)getpid() * 2654435761u + (unsigned)tries;
        snprintf(tmp, sizeof tmp, ".sbx-result.%016llx", rnd);
        fd = openat(out->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return sbx_err_sys(err, errno, "%s: %s: creating", out->what, out->path);
    }
    if (fd < 0)
        return sbx_err_set(err, EEXIST, "%s: %s: no fresh temporary name", out->what, out->path);
    const char *p = buf;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            unlinkat(out->dirfd, tmp, 0);
            return sbx_err_sys(err, e, "%s: %s: cannot write", out->what, out->path);
        }
        off += (size_t)w;
    }
    if (close(take_fd(fd)) < 0 || renameat(out->dirfd, tmp, out->dirfd, out->base) < 0) {
        int e = errno;
        unlinkat(out->dirfd, tmp, 0);
        return sbx_err_sys(err, e, "%s: %s: cannot write", out->what, out->path);
    }
    return 0;
}

void sbx_outfile_close(struct sbx_outfile *out)
{
    if (out->dirfd >= 0)
        close(out->dirfd);
    free(out->base);
    out->dirfd = -1;
    out->base = NULL;
}

int sbx_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return -ENAMETOOLONG;
    snprintf(buf, sizeof buf, "%s", path);
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
