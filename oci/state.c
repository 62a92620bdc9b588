/* The state of each container: --root/ID/state.json (ours, written once by
 * create, atomically) and --root/ID/exec.fifo while it waits for start. The
 * status is never stored: it is read from the kernel each time (the PID,
 * its start time, whether it is a zombie, the freezer). */
#include "oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

const char *oci_status_name(enum oci_status s)
{
    switch (s) {
    case OCI_CREATING:
        return "creating";
    case OCI_CREATED:
        return "created";
    case OCI_RUNNING:
        return "running";
    case OCI_PAUSED:
        return "paused";
    default:
        return "stopped";
    }
}

int oci_check_id(const char *id, struct sbx_err *err)
{
    size_t n = strlen(id);
    if (!n || n > 200 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return sbx_err_set(err, EINVAL, "invalid container id %s", *id ? id : "(empty)");
    for (const char *p = id; *p; p++)
        if (!(strchr("-_.+", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z')))
            return sbx_err_set(err, EINVAL, "invalid container id %s (only [A-Za-z0-9_.+-])", id);
    return 0;
}

int oci_path(const struct oci_globals *g, const char *id, const char *file, char *buf, size_t size,
             struct sbx_err *err)
{
    int n = file ? snprintf(buf, size, "%s/%s/%s", g->root, id, file)
                 : snprintf(buf, size, "%s/%s", g->root, id);
    if (n < 0 || (size_t)n >= size)
        return sbx_err_set(err, ENAMETOOLONG, "--root: path too long");
    return 0;
}

int oci_write_atomic(const char *path, const char *text, size_t len, mode_t mode,
                     struct sbx_err *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp)
        return sbx_err_set(err, ENAMETOOLONG, "%s: path too long", path);
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return sbx_err_sys(err, errno, "%s", tmp);
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        return sbx_err_sys(err, e, "writing %s", tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return sbx_err_sys(err, e, "renaming %s", tmp);
    }
    return 0;
}

/* /proc/PID/stat into buf; returns what follows the command's name (which
 * may hold spaces and parentheses: the fields restart after the last ')'),
 * starting at the state field, or NULL. */
static const char *read_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

int oci_pid_starttime(pid_t pid, unsigned long long *out)
{
    char buf[1024];
    const char *p = read_stat(pid, buf, sizeof buf);
    if (!p)
        return errno == ENOENT ? -ENOENT : -EIO;
    char state = p[0];
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    *out = strtoull(p, NULL, 10);
    /* A zombie has exited: for a container, that is stopped. */
    return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

pid_t oci_first_process(pid_t init)
{
    char path[96], buf[64] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)init, (int)init);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
        return -1;
    return (pid_t)atoi(buf);
}

json_t *oci_state_json(const struct oci_globals *g, const struct oci_state *st)
{
    enum oci_status s = oci_state_status(g, st);
    json_t *o = json_object();
    json_object_set_new(o, "ociVersion", json_string(OCI_VERSION));
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "pid", json_integer(s == OCI_STOPPED ? 0 : st->pid));
    json_object_set_new(o, "status", json_string(oci_status_name(s)));
    json_object_set_new(o, "bundle", json_string(st->bundle));
    json_object_set_new(o, "rootfs", json_string(st->rootfs));
    json_object_set_new(o, "created", json_string(st->created));
    json_object_set_new(o, "owner", json_string(""));
    json_object_set_new(o, "annotations",
                        st->annotations ? json_incref(st->annotations) : json_object());
    return o;
}

int oci_state_write(const struct oci_globals *g, const struct oci_state *st, struct sbx_err *err)
{
    char path[4096];
    int r = oci_path(g, st->id, "state.json", path, sizeof path, err);
    if (r < 0)
        return r;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "bundle", json_string(st->bundle));
    json_object_set_new(o, "rootfs", json_string(st->rootfs));
    json_object_set_new(o, "created", json_string(st->created));
    json_object_set_new(o, "pid", json_integer(st->pid));
    char start[32];
    snprintf(start, sizeof start, "%llu", st->pid_start);
    json_object_set_new(o, "pid_start", json_string(start));
    snprintf(start, sizeof start, "%llx", (unsigned long long)st->allowed_caps);
    json_object_set_new(o, "allowed_caps", json_string(start));
    json_object_set(o, "annotations", st->annotations ? st->annotations : json_null());
    json_t *cg = json_array();
    for (int i = 0; i < st->n_cgroups; i++)
        json_array_append_new(cg, json_string(st->cgroups[i]));
    json_object_set_new(o, "cgroups", cg);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return sbx_err_set(err, ENOMEM, "out of memory");
    r = oci_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return r;
}

static void copy_str(char *dst, size_t size, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int oci_state_read(const struct oci_globals *g, const char *id, struct oci_state *st,
                   struct sbx_err *err)
{
    memset(st, 0, sizeof *st);
    int r = oci_check_id(id, err);
    if (r < 0)
        return r;
    char path[4096];
    if ((r = oci_path(g, id, "state.json", path, sizeof path, err)) < 0)
        return r;
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        if (access(path, F_OK) < 0 && errno == ENOENT)
            return sbx_err_set(err, ENOENT, "container does not exist");
        return sbx_err_set(err, EIO, "%s: %s", path, je.text);
    }
    copy_str(st->id, sizeof st->id, o, "id");
    copy_str(st->bundle, sizeof st->bundle, o, "bundle");
    copy_str(st->rootfs, sizeof st->rootfs, o, "rootfs");
    copy_str(st->created, sizeof st->created, o, "created");
    st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    const char *start = json_string_value(json_object_get(o, "pid_start"));
    st->pid_start = start ? strtoull(start, NULL, 10) : 0;
    /* A state without it (an older sbx-oci's): exec grants none. */
    const char *caps = json_string_value(json_object_get(o, "allowed_caps"));
    st->allowed_caps = caps ? strtoull(caps, NULL, 16) : 0;
    json_t *ann = json_object_get(o, "annotations");
    if (json_is_object(ann))
        st->annotations = json_incref(ann);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "cgroups"), i, c) {
        if (st->n_cgroups < OCI_MAX_CGROUPS && json_is_string(c))
            snprintf(st->cgroups[st->n_cgroups++], sizeof st->cgroups[0], "%s",
                     json_string_value(c));
    }
    json_decref(o);
    if (strcmp(st->id, id) != 0 || st->pid <= 0)
        return sbx_err_set(err, EIO, "%s: not a container's state", path);
    return 0;
}

void oci_state_free(struct oci_state *st)
{
    if (st->annotations)
        json_decref(st->annotations);
    st->annotations = NULL;
}

/* The freezer state of the container's cgroup: v1 freezer.state, or v2
 * cgroup.freeze. */
static bool frozen(const struct oci_state *st)
{
    for (int i = 0; i < st->n_cgroups; i++) {
        char path[4200], buf[32] = "";
        snprintf(path, sizeof path, "%s/freezer.state", st->cgroups[i]);
        ssize_t n = -1;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            n = read(fd, buf, sizeof buf - 1);
            if (n > 0 && strncmp(buf, "FROZEN", 6) == 0)
                return true;
            continue;
        }
        snprintf(path, sizeof path, "%s/cgroup.freeze", st->cgroups[i]);
        _cleanup_close_ int fd2 = open(path, O_RDONLY | O_CLOEXEC);
        if (fd2 >= 0 && read(fd2, buf, sizeof buf - 1) > 0 && buf[0] == '1')
            return true;
    }
    return false;
}

enum oci_status oci_state_status(const struct oci_globals *g, const struct oci_state *st)
{
    unsigned long long start;
    if (oci_pid_starttime(st->pid, &start) < 0 || start != st->pid_start)
        return OCI_STOPPED;
    char fifo[4096];
    if (oci_path(g, st->id, "exec.fifo", fifo, sizeof fifo, NULL) == 0 && access(fifo, F_OK) == 0)
        return OCI_CREATED;
    return frozen(st) ? OCI_PAUSED : OCI_RUNNING;
}

static int remove_tree(int dirfd)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -errno;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, e->d_name, 0) == 0)
            continue;
        if (errno == EISDIR || errno == EPERM) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_tree(sub);
            if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0)
                continue;
        }
        rc = -errno;
    }
    closedir(d);
    return rc;
}

int oci_state_remove(const struct oci_globals *g, const char *id, struct sbx_err *err)
{
    char path[4096];
    int r = oci_path(g, id, NULL, path, sizeof path, err);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : sbx_err_sys(err, errno, "%s", path);
    remove_tree(fd);
    if (rmdir(path) < 0 && errno != ENOENT)
        return sbx_err_sys(err, errno, "removing %s", path);
    return 0;
}
