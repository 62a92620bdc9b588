#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

/* The child stages the overlay's parts on a tmpfs mounted here, in its own
 * mount namespace only; after pivot_root the staging area is detached and
 * unreachable from the job. */
#define STAGE "/tmp"

static const unsigned RESOLVE_STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

static int openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_STRICT};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : fd;
}

size_t sbx_mount_sources_count(const struct sbx_spec *spec)
{
    size_t n = spec->n_layers;
    for (size_t i = 0; i < spec->n_mounts; i++)
        n += spec->mounts[i].type == SBX_MOUNT_BIND;
    return n;
}

static int clone_source(const char *path, bool recursive, uint64_t attr, int userns_fd)
{
    _cleanup_close_ int fd = open_tree(AT_FDCWD, path,
                                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                           (recursive ? AT_RECURSIVE : 0));
    if (fd < 0)
        return -errno;
    struct mount_attr ma = {.attr_set = attr};
    if (userns_fd >= 0) {
        ma.attr_set |= MOUNT_ATTR_IDMAP;
        ma.userns_fd = (uint64_t)userns_fd;
    }
    if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma, sizeof ma) < 0) {
        /* Not every filesystem can be idmapped: then the layer's files keep
         * their host owners (appearing as nobody inside), which costs root
         * inside its write access to them but no isolation. */
        if (userns_fd >= 0 && (errno == EINVAL || errno == EPERM)) {
            ma.attr_set &= ~(uint64_t)MOUNT_ATTR_IDMAP;
            ma.userns_fd = 0;
            if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma,
                              sizeof ma) == 0)
                return take_fd(fd);
        }
        return -errno;
    }
    return take_fd(fd);
}

int sbx_mount_sources_open(const struct sbx_spec *spec, int userns_fd, int *fds,
                           struct sbx_err *err)
{
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; i < spec->n_layers; i++) {
        r = clone_source(spec->layers[i], false,
                         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, userns_fd);
        if (r < 0) {
            sbx_err_sys(err, -r, "rootfs.layers[%zu]: cannot use %s", i, spec->layers[i]);
            goto fail;
        }
        fds[n++] = r;
    }
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct sbx_mount *m = &spec->mounts[i];
        if (m->type != SBX_MOUNT_BIND)
            continue;
        uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->rw ? 0 : MOUNT_ATTR_RDONLY);
        r = clone_source(m->src, true, attr, -1);
        if (r < 0) {
            sbx_err_sys(err, -r, "mounts[%zu].src: cannot bind %s", i, m->src);
            goto fail;
        }
        fds[n++] = r;
    }
    return 0;
fail:
    while (n > 0)
        close(fds[--n]);
    return r;
}

/* Opens (creating as needed) path below rootfd, refusing any symlink on the
 * way: the result is an O_PATH fd of a directory, or of a regular file when
 * !dir. */
static int make_mountpoint(int rootfd, const char *path, bool dir)
{
    while (*path == '/')
        path++;
    _cleanup_close_ int cur = openat_beneath(rootfd, ".", O_PATH | O_DIRECTORY, 0);
    if (cur < 0)
        return cur;
    char comp[256];
    while (*path) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (len == 0 || len >= sizeof comp)
            return -ENAMETOOLONG;
        memcpy(comp, path, len);
        comp[len] = '\0';
        path += len;
        while (*path == '/')
            path++;
        bool last = *path == '\0';
        if (!last || dir) {
            if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
                return -errno;
            int next = openat_beneath(cur, comp, O_PATH | O_DIRECTORY, 0);
            if (next < 0)
                return next;
            close(cur);
            cur = next;
        } else {
            if (mknodat(cur, comp, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
                return -errno;
            int f = openat_beneath(cur, comp, O_PATH, 0);
            if (f < 0)
                return f;
            struct stat st;
            if (fstat(f, &st) < 0 || S_ISDIR(st.st_mode)) {
                close(f);
                return -EISDIR;
            }
            return f;
        }
    }
    return take_fd(cur);
}

static int attach(int mnt_fd, int target_fd)
{
    if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

/* Creates a new filesystem instance with the new mount API and returns a
 * detached mount fd. opts is a NULL-terminated list of key, value pairs
 * (value NULL for a flag). */
static int new_fs(const char *type, const char *const *opts, unsigned attr)
{
    _cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0)
        return -errno;
    /* The source shown in mountinfo, as mount(8) and runc name these
     * filesystems ("proc", "tmpfs"): tools that match mounts by source (the
     * OCI runtime-tools' runtimetest) find nothing under "none". Only a
     * label, so a kernel that refuses it changes nothing. */
    (void)fsconfig(fs, FSCONFIG_SET_STRING, "source", type, 0);
    for (size_t i = 0; opts && opts[i]; i += 2) {
        int r = opts[i + 1] ? fsconfig(fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0)
                            : fsconfig(fs, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
        if (r < 0)
            return -errno;
    }
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return -errno;
    int m = fsmount(fs, FSMOUNT_CLOEXEC, attr);
    return m < 0 ? -errno : m;
}

static int mount_fs_at(int rootfd, const char *path, const char *type, const char *const *opts,
                       unsigned attr)
{
    _cleanup_close_ int target = make_mountpoint(rootfd, path, true);
    if (target < 0)
        return target;
    _cleanup_close_ int m = new_fs(type, opts, attr);
    if (m < 0)
        return m;
    return attach(m, target);
}

static int tmpfs_at(int rootfd, const char *path, uint64_t size, const char *mode, unsigned attr)
{
    char sz[32];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    const char *opts[] = {"size", sz, "mode", mode, NULL};
    return mount_fs_at(rootfd, path, "tmpfs", opts, attr);
}

/* /tmp and /dev/shm are directories of the root's upper tmpfs, bound in:
 * one budget of --rootfs-size for all three, not one each (a job without
 * --memory could hold three times the size in RAM). */
static int bind_stage_dir(int rootfd, const char *sub, const char *path, unsigned attr)
{
    char dir[64];
    snprintf(dir, sizeof dir, STAGE "/%s", sub);
    if (mkdir(dir, 0700) < 0 || chmod(dir, 01777) < 0)
        return -errno;
    _cleanup_close_ int src = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (src < 0)
        return -errno;
    struct mount_attr ma = {.attr_set = attr};
    if (mount_setattr(src, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0)
        return -errno;
    _cleanup_close_ int target = make_mountpoint(rootfd, path, true);
    if (target < 0)
        return target;
    return attach(src, target);
}

/* Binds a host file (seen from the child's mount namespace) onto path. */
static int bind_host_file(int rootfd, const char *host, const char *path, unsigned attr)
{
    _cleanup_close_ int src = open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (src < 0)
        return -errno;
    if (attr) {
        struct mount_attr ma = {.attr_set = attr};
        if (mount_setattr(src, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0)
            return -errno;
    }
    _cleanup_close_ int target = make_mountpoint(rootfd, path, false);
    if (target < 0)
        return target;
    return attach(src, target);
}

static int setup_dev(int rootfd, struct sbx_err *err)
{
    int r = tmpfs_at(rootfd, "dev", 1 << 16, "0755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    if (r < 0)
        return sbx_err_sys(err, -r, "mounting /dev");
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        char host[32], in[32];
        snprintf(host, sizeof host, "/dev/%s", nodes[i]);
        snprintf(in, sizeof in, "dev/%s", nodes[i]);
        r = bind_host_file(rootfd, host, in, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (r < 0)
            return sbx_err_sys(err, -r, "binding %s", host);
    }
    const char *pts[] = {"newinstance", NULL, "ptmxmode", "0666", "mode", "0620", NULL};
    r = mount_fs_at(rootfd, "dev/pts", "devpts", pts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
    if (r < 0)
        return sbx_err_sys(err, -r, "mounting /dev/pts");
    r = bind_stage_dir(rootfd, "shm", "dev/shm",
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (r < 0)
        return sbx_err_sys(err, -r, "mounting /dev/shm");

    _cleanup_close_ int dev = openat_beneath(rootfd, "dev", O_PATH | O_DIRECTORY, 0);
    if (dev < 0)
        return sbx_err_sys(err, -dev, "opening /dev");
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"},           {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"},   {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlinkat(links[i][0], dev, links[i][1]) < 0)
            return sbx_err_sys(err, errno, "creating /dev/%s", links[i][1]);

    /* Nothing may be created in /dev once it is populated. */
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    if (mount_setattr(dev, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
        return sbx_err_sys(err, errno, "making /dev read-only");
    return 0;
}

/* /proc entries that give a job kernel information or levers it has no use
 * for (as runc and crun mask them); and host-wide facts a job could read or
 * move: the count of open files of the whole host (a channel between
 * concurrent jobs: one opens files, the other watches the count), the boot
 * id, the kernel's command line and configuration. SECURITY.md lists what
 * stays readable. */
static const char *const proc_masked_files[] = {
    "proc/kcore",      "proc/keys",       "proc/latency_stats", "proc/timer_list",
    "proc/timer_stats", "proc/sched_debug", "proc/sysrq-trigger", "proc/kallsyms",
    "proc/kmsg",       "proc/kpagecount", "proc/kpageflags",    "proc/kpagecgroup",
    "proc/sys/fs/file-nr", "proc/sys/kernel/random/boot_id", "proc/cmdline", "proc/config.gz",
};
static const char *const proc_masked_dirs[] = {"proc/acpi", "proc/scsi", "proc/asound",
                                               "proc/driver"};
static const char *const proc_readonly[] = {"proc/sys", "proc/bus", "proc/fs", "proc/irq"};

static int new_proc(void)
{
    const char *opts[] = {NULL};
    return new_fs("proc", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/* Attaches proc (a detached proc mount) at /proc and masks it. */
static int setup_proc_with(int rootfd, int proc, struct sbx_err *err)
{
    _cleanup_close_ int target = make_mountpoint(rootfd, "proc", true);
    int r = target < 0 ? target : attach(proc, target);
    if (r < 0)
        return sbx_err_sys(err, -r, "mounting /proc");

    for (size_t i = 0; i < sizeof proc_masked_files / sizeof *proc_masked_files; i++) {
        _cleanup_close_ int t = openat_beneath(rootfd, proc_masked_files[i], O_PATH, 0);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return sbx_err_sys(err, -t, "masking /%s", proc_masked_files[i]);
        _cleanup_close_ int src = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (src < 0 || attach(src, t) < 0)
            return sbx_err_sys(err, errno, "masking /%s", proc_masked_files[i]);
    }
    for (size_t i = 0; i < sizeof proc_masked_dirs / sizeof *proc_masked_dirs; i++) {
        _cleanup_close_ int t = openat_beneath(rootfd, proc_masked_dirs[i], O_PATH | O_DIRECTORY, 0);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return sbx_err_sys(err, -t, "masking /%s", proc_masked_dirs[i]);
        const char *o[] = {"size", "0", "mode", "0555", NULL};
        _cleanup_close_ int m = new_fs("tmpfs", o, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (m < 0 || attach(m, t) < 0)
            return sbx_err_sys(err, m < 0 ? -m : errno, "masking /%s", proc_masked_dirs[i]);
    }
    for (size_t i = 0; i < sizeof proc_readonly / sizeof *proc_readonly; i++) {
        _cleanup_close_ int t = openat_beneath(rootfd, proc_readonly[i], O_PATH | O_DIRECTORY, 0);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return sbx_err_sys(err, -t, "opening /%s", proc_readonly[i]);
        _cleanup_close_ int src = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                       AT_EMPTY_PATH | AT_RECURSIVE);
        if (src < 0)
            return sbx_err_sys(err, errno, "making /%s read-only", proc_readonly[i]);
        struct mount_attr ma = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                            MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
        if (mount_setattr(src, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof ma) < 0 ||
            attach(src, t) < 0)
            return sbx_err_sys(err, errno, "making /%s read-only", proc_readonly[i]);
    }
    return 0;
}

static int setup_proc(int rootfd, struct sbx_err *err)
{
    _cleanup_close_ int proc = new_proc();
    if (proc < 0)
        return sbx_err_sys(err, -proc, "mounting /proc");
    return setup_proc_with(rootfd, proc, err);
}

/* A read-only directory bind reaches the job through a read-only overlay of
 * its own: the files the job opens are then this overlay's inodes, not the
 * host's, so advisory locks (flock, POSIX, OFD) and inotify on a file that
 * several jobs see cannot carry bits from one job to another, as they would
 * on the shared inode. (overlayfs without an upper layer needs two lower
 * layers: the second is an empty directory.) */
static int private_ro_view(int src, size_t i, struct sbx_err *err)
{
    char low[48], opts[112];
    snprintf(low, sizeof low, STAGE "/bind%zu", i);
    if ((mkdir(STAGE "/empty", 0555) < 0 && errno != EEXIST) || mkdir(low, 0755) < 0)
        return sbx_err_sys(err, errno, "mounts[%zu]: staging", i);
    if (move_mount(src, "", AT_FDCWD, low, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return sbx_err_sys(err, errno, "mounts[%zu]: staging the bind", i);
    snprintf(opts, sizeof opts, "%s:" STAGE "/empty", low);
    const char *ovl[] = {"lowerdir", opts, NULL};
    int ov = new_fs("overlay", ovl, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (ov < 0)
        return sbx_err_sys(err, -ov, "mounts[%zu]: a private read-only view", i);
    return ov;
}

static int setup_policy_mounts(const struct sbx_spec *spec, int rootfd, int *bind_fds,
                               struct sbx_err *err)
{
    size_t b = 0;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct sbx_mount *m = &spec->mounts[i];
        int r;
        if (m->type == SBX_MOUNT_TMPFS) {
            r = tmpfs_at(rootfd, m->dst, m->size, "1777", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        } else {
            struct stat st;
            _cleanup_close_ int src = bind_fds[b];
            bind_fds[b++] = -1;
            if (fstat(src, &st) < 0)
                return sbx_err_sys(err, errno, "mounts[%zu].src", i);
            _cleanup_close_ int t = make_mountpoint(rootfd, m->dst, S_ISDIR(st.st_mode));
            if (t == -ELOOP || t == -EXDEV)
                return sbx_err_set(err, ELOOP, "mounts[%zu].dst: %s goes through a symlink", i, m->dst);
            if (t >= 0 && !m->rw && S_ISDIR(st.st_mode)) {
                _cleanup_close_ int view = private_ro_view(src, i, err);
                if (view < 0)
                    return view;
                r = attach(view, t);
            } else {
                r = t < 0 ? t : attach(src, t);
            }
        }
        if (r < 0)
            return sbx_err_sys(err, -r, "mounts[%zu]: mounting %s", i, m->dst);
    }
    return 0;
}

/* The lowers, top first as overlayfs lists them (the policy lists the bottom
 * first). "lowerdir+" takes one layer per call (Linux 6.8), so the stack is
 * not bound by the one page a "lowerdir" string may fill; legacy is that
 * string, for older kernels. */
static int add_lowers(int fs, size_t n, bool legacy)
{
    if (legacy) {
        char lower[SBX_MAX_LAYERS * 16 + 16];
        size_t off = 0;
        for (size_t k = n; k-- > 0;)
            off += (size_t)snprintf(lower + off, sizeof lower - off, "%s" STAGE "/l%zu",
                                    off ? ":" : "", k);
        return fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ? -errno : 0;
    }
    for (size_t i = n; i-- > 0;) {
        char dir[32];
        snprintf(dir, sizeof dir, STAGE "/l%zu", i);
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) < 0)
            return -errno;
    }
    return 0;
}

/* The job's overlay as a detached mount, or -errno. */
static int new_overlay(size_t n_layers, bool legacy)
{
    _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return -errno;
    int r = add_lowers(fs, n_layers, legacy);
    if (r < 0)
        return r;
    /* userxattr: an overlay mounted in a user namespace keeps its metadata
     * in user.* xattrs, since trusted.* needs privilege over the host. */
    if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", STAGE "/upper", 0) < 0 ||
        fsconfig(fs, FSCONFIG_SET_STRING, "workdir", STAGE "/work", 0) < 0 ||
        fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
        fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return -errno;
    int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    return m < 0 ? -errno : m;
}

static int mount_overlay(const struct sbx_spec *spec, int *layer_fds, struct sbx_err *err)
{
    char sz[32];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)spec->rootfs_size);
    const char *stage_opts[] = {"size", sz, "mode", "0755", NULL};
    _cleanup_close_ int stage_target = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (stage_target < 0)
        return sbx_err_sys(err, errno, "rootfs: staging directory " STAGE);
    _cleanup_close_ int stage = new_fs("tmpfs", stage_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (stage < 0 || attach(stage, stage_target) < 0)
        return sbx_err_sys(err, stage < 0 ? -stage : errno, "rootfs: mounting the upper tmpfs");

    for (size_t i = 0; i < spec->n_layers; i++) {
        char dir[32];
        snprintf(dir, sizeof dir, STAGE "/l%zu", i);
        if (mkdir(dir, 0755) < 0)
            return sbx_err_sys(err, errno, "rootfs: creating %s", dir);
        if (move_mount(layer_fds[i], "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return sbx_err_sys(err, errno, "rootfs.layers[%zu]: attaching %s", i, spec->layers[i]);
        close(layer_fds[i]);
        layer_fds[i] = -1;
    }
    if (mkdir(STAGE "/upper", 0755) < 0 || mkdir(STAGE "/work", 0755) < 0 ||
        mkdir(STAGE "/root", 0755) < 0)
        return sbx_err_sys(err, errno, "rootfs: creating overlay directories");

    /* A kernel without "lowerdir+" refuses it when it is given (6.5-6.7)
     * or when the overlay is created (before 6.5, which passes options on
     * as a string): either way EINVAL, and the one-string form follows. */
    _cleanup_close_ int ov = new_overlay(spec->n_layers, false);
    if (ov == -EINVAL)
        ov = new_overlay(spec->n_layers, true);
    if (ov < 0)
        return sbx_err_sys(err, -ov, "rootfs: mounting the overlay");
    _cleanup_close_ int root_target = open(STAGE "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_target < 0 || attach(ov, root_target) < 0)
        return sbx_err_sys(err, errno, "rootfs: mounting the overlay");
    return 0;
}

int sbx_mounts_setup(const struct sbx_spec *spec, int *src_fds, bool keep_upper, int *upper_fd,
                     struct sbx_err *err)
{
    *upper_fd = -1;
    /* Nothing done below may propagate back to the host's mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return sbx_err_sys(err, errno, "making mounts private");

    int r = mount_overlay(spec, src_fds, err);
    if (r < 0)
        return r;
    _cleanup_close_ int rootfd = open(STAGE "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sbx_err_sys(err, errno, "rootfs: opening the new root");
    /* PID 1 looks there for a file at the output limit (job/fsize.c); the
     * fd outlives the staging area's detach below. */
    if (spec->limits.output || keep_upper)
        *upper_fd = open(STAGE "/upper", O_PATH | O_DIRECTORY | O_CLOEXEC);

    if ((r = setup_dev(rootfd, err)) < 0)
        return r;
    r = bind_stage_dir(rootfd, "tmp", "tmp", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (r < 0)
        return sbx_err_sys(err, -r, "mounting /tmp");
    if ((r = setup_policy_mounts(spec, rootfd, src_fds + spec->n_layers, err)) < 0)
        return r;
    /* /proc last: its masks must cover whatever a policy mount put there. */
    if ((r = setup_proc(rootfd, err)) < 0)
        return r;

    if (fchdir(rootfd) < 0)
        return sbx_err_sys(err, errno, "entering the new root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return sbx_err_sys(err, errno, "pivot_root");
    /* The old root now sits on top of the new one: detach it, and with it
     * every host mount and the staging area. */
    if (umount2(".", MNT_DETACH) < 0)
        return sbx_err_sys(err, errno, "detaching the old root");
    if (chdir("/") < 0)
        return sbx_err_sys(err, errno, "chdir /");
    return 0;
}

/* The engine's paths resolve inside the root, the way runc's securejoin
 * does (an image's /var/run -> /run is followed), never out of it. */
static int open_in_root(int rootfd, const char *path, int flags)
{
    while (*path == '/')
        path++;
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
    return fd < 0 ? -errno : fd;
}

int sbx_mounts_mask(const char *const *masked, const char *const *readonly, struct sbx_err *err)
{
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sbx_err_sys(err, errno, "maskedPaths: opening the root");
    for (size_t i = 0; masked && masked[i]; i++) {
        _cleanup_close_ int t = open_in_root(rootfd, masked[i], O_PATH);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return sbx_err_sys(err, -t, "linux.maskedPaths[%zu]: %s", i, masked[i]);
        struct stat st;
        if (fstat(t, &st) < 0)
            return sbx_err_sys(err, errno, "linux.maskedPaths[%zu]: %s", i, masked[i]);
        _cleanup_close_ int m = -1;
        if (S_ISDIR(st.st_mode)) {
            const char *o[] = {"size", "0", "mode", "0555", NULL};
            m = new_fs("tmpfs", o, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                       MOUNT_ATTR_NOEXEC);
        } else {
            m = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
            if (m < 0)
                m = -errno;
        }
        if (m < 0 || attach(m, t) < 0)
            return sbx_err_sys(err, m < 0 ? -m : errno, "linux.maskedPaths[%zu]: masking %s", i,
                               masked[i]);
    }
    for (size_t i = 0; readonly && readonly[i]; i++) {
        _cleanup_close_ int t = open_in_root(rootfd, readonly[i], O_PATH);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return sbx_err_sys(err, -t, "linux.readonlyPaths[%zu]: %s", i, readonly[i]);
        _cleanup_close_ int src = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                       AT_EMPTY_PATH | AT_RECURSIVE);
        /* Read-only only: nodev would reach the /dev/null binds of masked
         * paths below it (and sbx's /dev), which must stay usable. */
        struct mount_attr ma = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
        if (src < 0 || mount_setattr(src, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof ma) < 0 ||
            attach(src, t) < 0)
            return sbx_err_sys(err, errno, "linux.readonlyPaths[%zu]: making %s read-only", i,
                               readonly[i]);
    }
    return 0;
}

int sbx_mounts_proc_renew(struct sbx_err *err)
{
    /* On top of the sandbox's /proc, not in its place: unmounting that one
     * would wait for an RCU grace period (the kernel frees the detached
     * mounts only after one), on the run's critical path. Covered, it is
     * out of reach: nothing in a run may unmount (no capabilities), and a
     * path resolves to the topmost mount. */
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sbx_err_sys(err, errno, "opening /");
    return setup_proc(rootfd, err);
}
