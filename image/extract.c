#include "extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define MAX_PATH 4095
#define MAX_DEPTH 256
/* The job's user namespace maps ids 0..65535; an id beyond it would name an
 * arbitrary host user on the store's files, so it becomes "nobody". */
#define ID_RANGE 65536
#define NOBODY 65534

static int openat_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_STRICT};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : fd;
}

/* An entry name made printable for an error line. */
static const char *shown(char *buf, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < size; s++)
        buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    if (*s)
        memcpy(buf + o, "...", 3), o += 3;
    buf[o] = '\0';
    return buf;
}
#define SHOWN(s) shown((char[128]){0}, 128, (s))

/* Normalises an archive path into norm: leading '/' and "." components are
 * dropped, ".." is refused. Returns the number of components, or -errno. */
static int normalise(const char *path, char *norm, size_t size)
{
    size_t o = 0;
    int n = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - c);
        if (len == 1 && c[0] == '.')
            continue;
        if (len == 2 && c[0] == '.' && c[1] == '.')
            return -EXDEV;
        if (len > 255)
            return -ENAMETOOLONG;
        if (o + len + 2 > size || ++n > MAX_DEPTH)
            return -ENAMETOOLONG;
        if (o)
            norm[o++] = '/';
        memcpy(norm + o, c, len);
        o += len;
    }
    norm[o] = '\0';
    return n;
}

struct ctx {
    int root;
    const struct sbx_extract_limits *lim;
    struct sbx_extract_stats *st;
    struct sbx_err *err;
    /* The last parent directory opened: tar lists a directory's entries
     * together, so most entries reuse it. */
    char parent_path[MAX_PATH + 1];
    int parent_fd;
};

/* Opens (creating missing directories, 0755 root) the directory dir below
 * the layer root; never through a symlink. */
static int open_parent(struct ctx *c, const char *dir)
{
    if (c->parent_fd >= 0 && strcmp(c->parent_path, dir) == 0)
        return c->parent_fd;
    if (c->parent_fd >= 0)
        close(c->parent_fd);
    c->parent_fd = -1;
    int fd = openat_beneath(c->root, *dir ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (fd == -ENOENT) {
        /* Walk down, creating what is missing. */
        _cleanup_close_ int cur = openat_beneath(c->root, ".", O_RDONLY | O_DIRECTORY);
        if (cur < 0)
            return cur;
        char comp[256];
        for (const char *p = dir; *p;) {
            const char *s = strchr(p, '/');
            size_t len = s ? (size_t)(s - p) : strlen(p);
            memcpy(comp, p, len);
            comp[len] = '\0';
            p += len + (s ? 1 : 0);
            if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
                return -errno;
            int next = openat_beneath(cur, comp, O_RDONLY | O_DIRECTORY);
            if (next < 0)
                return next;
            close(cur);
            cur = next;
        }
        fd = take_fd(cur);
    }
    if (fd < 0)
        return fd;
    snprintf(c->parent_path, sizeof c->parent_path, "%s", dir);
    c->parent_fd = fd;
    return fd;
}

static bool is_whiteout_dev(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Makes room for a new entry called name in parent: an earlier entry of the
 * same name is replaced (tar semantics: the last one wins), except that a
 * directory stays a directory. Returns 1 when name is a directory to keep. */
static int make_room(struct ctx *c, int parent, const char *name, bool new_is_dir, const char *path)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : sbx_err_sys(c->err, errno, "entry \"%s\"", SHOWN(path));
    if (S_ISDIR(st.st_mode)) {
        if (new_is_dir)
            return 1;
        return sbx_err_set(c->err, EEXIST, "entry \"%s\": replaces a directory of the same layer",
                           SHOWN(path));
    }
    if (unlinkat(parent, name, 0) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": replacing an earlier entry", SHOWN(path));
    return 0;
}

static int set_owner_times(struct ctx *c, int parent, const char *name, struct archive_entry *e,
                           uid_t uid, gid_t gid, const char *path)
{
    if (fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": setting its owner", SHOWN(path));
    struct timespec ts[2] = {{.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
                             {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)}};
    if (!archive_entry_mtime_is_set(e))
        ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
    (void)utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW);
    return 0;
}

/* Counts size bytes against the image's budget before they are written:
 * with layers unpacked in parallel, the budget is shared. */
static bool reserve(struct ctx *c, uint64_t size)
{
    uint64_t *used = c->lim->shared_bytes ? c->lim->shared_bytes : &c->st->bytes;
    uint64_t now = __atomic_add_fetch(used, size, __ATOMIC_RELAXED);
    if (now < size || now > c->lim->max_bytes)
        return false;
    if (used != &c->st->bytes)
        c->st->bytes += size;
    return true;
}

static int write_file(struct ctx *c, struct archive *a, int parent, const char *name,
                      const char *path, struct archive_entry *e, uid_t uid, gid_t gid,
                      mode_t perm)
{
    la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0 || !reserve(c, (uint64_t)size))
        return sbx_err_set(c->err, EFBIG, "entry \"%s\": the image's files exceed %llu bytes (--max-size)",
                           SHOWN(path), (unsigned long long)c->lim->max_bytes);
    _cleanup_close_ int fd =
        openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": creating it", SHOWN(path));
    const void *buf;
    size_t len;
    la_int64_t off;
    uint64_t end = 0;
    int r;
    while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        if (off < 0 || (uint64_t)off + len > (uint64_t)size)
            return sbx_err_set(c->err, EINVAL, "entry \"%s\": data beyond its size", SHOWN(path));
        for (size_t done = 0; done < len;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return sbx_err_sys(c->err, errno, "entry \"%s\": writing", SHOWN(path));
            done += (size_t)n;
        }
        end = (uint64_t)off + len;
    }
    if (r != ARCHIVE_EOF)
        return sbx_err_set(c->err, EIO, "entry \"%s\": %s", SHOWN(path), archive_error_string(a));
    /* Sparse files end in a hole that no block covers. */
    if (end < (uint64_t)size && ftruncate(fd, size) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": setting its size", SHOWN(path));
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, perm) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": setting its owner and mode", SHOWN(path));
    /* Kept: caches in images (Python's .pyc) compare sources' mtimes. */
    if (archive_entry_mtime_is_set(e)) {
        struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        (void)futimens(fd, ts);
    }
    return 0;
}

/* ".wh.NAME" hides NAME of the layers below; ".wh..wh..opq" hides all of its
 * directory's lower contents. Other ".wh..wh." names (aufs bookkeeping)
 * carry nothing for overlayfs and are skipped. */
static int whiteout(struct ctx *c, int parent, const char *base, const char *path)
{
    static const char opq[] = ".wh..wh..opq";
    if (strcmp(base, opq) == 0) {
        if (fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0 ||
            fsetxattr(parent, "user.overlay.opaque", "y", 1, 0) < 0)
            return sbx_err_sys(c->err, errno, "entry \"%s\": marking the directory opaque",
                               SHOWN(path));
        return 0;
    }
    if (strncmp(base, ".wh..wh.", 8) == 0)
        return 0;
    const char *name = base + 4;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sbx_err_set(c->err, EINVAL, "entry \"%s\": not a valid whiteout", SHOWN(path));
    struct stat st;
    /* The same layer may also hold NAME: then it already hides what is
     * below, and the whiteout adds nothing. */
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (mknodat(parent, name, S_IFCHR | 0, makedev(0, 0)) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": creating the whiteout", SHOWN(path));
    return 0;
}

static int hardlink(struct ctx *c, int parent, const char *name, const char *path, const char *target)
{
    char norm[MAX_PATH + 1];
    int n = normalise(target, norm, sizeof norm);
    if (n <= 0)
        return sbx_err_set(c->err, EXDEV, "entry \"%s\": hard link to \"%s\" leaves the layer",
                           SHOWN(path), SHOWN(target));
    struct stat st;
    _cleanup_close_ int t = openat_beneath(c->root, norm, O_PATH | O_NOFOLLOW);
    if (t < 0 || fstat(t, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) ||
        is_whiteout_dev(&st))
        return sbx_err_set(c->err, EXDEV,
                           "entry \"%s\": hard link to \"%s\", which is not a file of this layer",
                           SHOWN(path), SHOWN(target));
    if (linkat(t, "", parent, name, AT_EMPTY_PATH) < 0)
        return sbx_err_sys(c->err, errno, "entry \"%s\": linking", SHOWN(path));
    return 0;
}

static int one_entry(struct ctx *c, struct archive *a, struct archive_entry *e)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw)
        return sbx_err_set(c->err, EINVAL, "an entry without a readable name");
    if (++c->st->entries > c->lim->max_entries)
        return sbx_err_set(c->err, E2BIG, "more than %llu entries",
                           (unsigned long long)c->lim->max_entries);
    char path[MAX_PATH + 1];
    int n = normalise(raw, path, sizeof path);
    if (n == -EXDEV)
        return sbx_err_set(c->err, EXDEV, "entry \"%s\": a \"..\" component leaves the layer",
                           SHOWN(raw));
    if (n < 0)
        return sbx_err_set(c->err, ENAMETOOLONG, "entry \"%s\": name too long or too deep",
                           SHOWN(raw));
    if (n == 0)
        return 0; /* the layer's root: its directory is the store's */

    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[MAX_PATH + 1];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 0, path);
    int parent = open_parent(c, dir);
    if (parent == -ELOOP || parent == -EXDEV || parent == -ENOTDIR)
        return sbx_err_set(c->err, ELOOP, "entry \"%s\": its directory is a symlink or a file",
                           SHOWN(raw));
    if (parent < 0)
        return sbx_err_sys(c->err, -parent, "entry \"%s\": opening its directory", SHOWN(raw));

    if (strncmp(base, ".wh.", 4) == 0)
        return whiteout(c, parent, base, raw);

    int64_t euid = archive_entry_uid(e), egid = archive_entry_gid(e);
    if (euid < 0 || euid >= ID_RANGE || egid < 0 || egid >= ID_RANGE) {
        c->st->ids_clamped++;
        if (euid < 0 || euid >= ID_RANGE)
            euid = NOBODY;
        if (egid < 0 || egid >= ID_RANGE)
            egid = NOBODY;
    }
    uid_t uid = (uid_t)euid;
    gid_t gid = (gid_t)egid;
    mode_t perm = archive_entry_perm(e) & 07777;
    mode_t type = archive_entry_filetype(e);
    const char *link = archive_entry_hardlink(e);

    int keep = make_room(c, parent, base, !link && type == AE_IFDIR, raw);
    if (keep < 0)
        return keep;
    if (link)
        return hardlink(c, parent, base, raw, link);
    if (type != AE_IFDIR && (perm & (S_ISUID | S_ISGID)) && !c->lim->allow_setuid) {
        perm &= ~(mode_t)(S_ISUID | S_ISGID);
        c->st->setuid_stripped++;
    }
    switch (type) {
    case AE_IFREG:
        return write_file(c, a, parent, base, raw, e, uid, gid, perm);
    case AE_IFDIR: {
        if (!keep && mkdirat(parent, base, 0700) < 0)
            return sbx_err_sys(c->err, errno, "entry \"%s\": creating it", SHOWN(raw));
        _cleanup_close_ int d = openat_beneath(parent, base, O_RDONLY | O_DIRECTORY);
        if (d < 0 || fchown(d, uid, gid) < 0 || fchmod(d, perm) < 0)
            return sbx_err_sys(c->err, d < 0 ? -d : errno, "entry \"%s\": setting its owner and mode",
                               SHOWN(raw));
        return 0;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        /* The target is stored as is: nothing here ever follows it, and in
         * the job it resolves inside the job's own root. */
        if (!target || !*target || strlen(target) > MAX_PATH)
            return sbx_err_set(c->err, EINVAL, "entry \"%s\": a symlink without a valid target",
                               SHOWN(raw));
        if (symlinkat(target, parent, base) < 0)
            return sbx_err_sys(c->err, errno, "entry \"%s\": creating the symlink", SHOWN(raw));
        return set_owner_times(c, parent, base, e, uid, gid, raw);
    }
    case AE_IFIFO:
        if (mknodat(parent, base, S_IFIFO | (perm & 0777), 0) < 0)
            return sbx_err_sys(c->err, errno, "entry \"%s\": creating the fifo", SHOWN(raw));
        return set_owner_times(c, parent, base, e, uid, gid, raw);
    case AE_IFCHR:
    case AE_IFBLK:
        return sbx_err_set(c->err, EPERM, "entry \"%s\": device nodes are not allowed in a layer",
                           SHOWN(raw));
    default:
        return sbx_err_set(c->err, EPERM, "entry \"%s\": file type 0%o is not allowed in a layer",
                           SHOWN(raw), (unsigned)type);
    }
}

int sbx_layer_extract(struct archive *a, int dirfd, const struct sbx_extract_limits *lim,
                      struct sbx_extract_stats *st, struct sbx_err *err)
{
    struct ctx c = {.root = dirfd, .lim = lim, .st = st, .err = err, .parent_fd = -1};
    int r = 0;
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
            r = sbx_err_set(err, EINVAL, "not a valid tar stream: %s", archive_error_string(a));
            break;
        }
        if ((r = one_entry(&c, a, e)) < 0)
            break;
    }
    if (c.parent_fd >= 0)
        close(c.parent_fd);
    return r;
}

int sbx_remove_tree_at(int dirfd, struct sbx_err *err)
{
    int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0)
        return sbx_err_sys(err, errno, "removing a tree");
    _cleanup_closedir_ DIR *d = fdopendir(dup);
    if (!d) {
        close(dup);
        return sbx_err_sys(err, errno, "removing a tree");
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM)
            return sbx_err_sys(err, errno, "removing %s", de->d_name);
        int r = sbx_remove_tree(dirfd, de->d_name, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int sbx_remove_tree(int parent, const char *name, struct sbx_err *err)
{
    {
        _cleanup_close_ int fd =
            openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                return 0;
            if (errno == ENOTDIR || errno == ELOOP)
                return unlinkat(parent, name, 0) < 0 ? sbx_err_sys(err, errno, "removing %s", name)
                                                     : 0;
            return sbx_err_sys(err, errno, "removing %s", name);
        }
        int r = sbx_remove_tree_at(fd, err);
        if (r < 0)
            return r;
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return sbx_err_sys(err, errno, "removing %s", name);
    return 0;
}
