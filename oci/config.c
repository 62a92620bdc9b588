/* config.json -> a job policy. What sbx always does (a new user, PID, IPC,
 * UTS, mount, cgroup and network namespace; capabilities only within the
 * operator's allow-list; no_new_privs; seccomp; its own /proc, /dev and
 * /tmp) is not asked of the spec; what the
 * spec asks beyond it is refused here, naming the field, before anything
 * exists. */
#include "oci.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>
#include <linux/nsfs.h>
#include <unistd.h>

#include "common/cleanup.h"

#define REFUSE(err, ...) sbx_err_set(err, EPERM, __VA_ARGS__)

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static char **strv_append(char **v, size_t *n, const char *s)
{
    v = realloc(v, (*n + 1) * sizeof *v);
    if (!v)
        abort();
    v[(*n)++] = xstrdup(s);
    return v;
}

/* v NULL-terminated (n counts the strings). */
static char **strv_end(char **v, size_t n)
{
    v = realloc(v, (n + 1) * sizeof *v);
    if (!v)
        abort();
    v[n] = NULL;
    return v;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Refuse a JSON member of the wrong type rather than ignore it. */
static int want(json_t *v, json_type t, const char *field, struct sbx_err *err)
{
    if (v && json_typeof(v) != t)
        return sbx_err_set(err, EINVAL, "%s: has the wrong JSON type", field);
    return 0;
}

/* A namespace the spec joins by path: a namespace of that type, and
 * neither the host's (PID 1's) nor the runtime's own. Returns it open. */
static int check_join(size_t i, const char *type, const char *path, struct sbx_err *err)
{
    const char *proc = strcmp(type, "network") == 0 ? "net" : type;
    int nstype = strcmp(type, "network") == 0 ? CLONE_NEWNET
                 : strcmp(type, "ipc") == 0   ? CLONE_NEWIPC
                                              : CLONE_NEWUTS;
    /* Looked at before it is opened: opening a FIFO would block, and a
     * device's open runs its driver, as root. */
    _cleanup_close_ int pfd = open(path, O_PATH | O_CLOEXEC);
    struct statfs sfs;
    if (pfd < 0 || fstatfs(pfd, &sfs) < 0)
        return sbx_err_sys(err, errno, "linux.namespaces[%zu].path: %s", i, path);
    if (sfs.f_type != NSFS_MAGIC)
        return sbx_err_set(err, EINVAL, "linux.namespaces[%zu].path: %s is not a namespace", i,
                           path);
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", pfd);
    _cleanup_close_ int fd = open(via, O_RDONLY | O_CLOEXEC);
    struct stat a, b;
    if (fd < 0 || fstat(fd, &a) < 0)
        return sbx_err_sys(err, errno, "linux.namespaces[%zu].path: %s", i, path);
    int t = ioctl(fd, NS_GET_NSTYPE);
    if (t != nstype)
        return sbx_err_set(err, EINVAL, "linux.namespaces[%zu].path: %s is not a%s %s namespace",
                           i, path, strcmp(type, "ipc") == 0 ? "n" : "", type);
    /* The initial IPC and UTS namespaces have fixed numbers (the kernel's
     * PROC_IPC_INIT_INO, PROC_UTS_INIT_INO): known even where /proc/1/ns
     * cannot be read (a runtime with fewer capabilities than PID 1). */
    bool init = (nstype == CLONE_NEWIPC && a.st_ino == 0xEFFFFFFFu) ||
                (nstype == CLONE_NEWUTS && a.st_ino == 0xEFFFFFFEu);
    char p[64];
    snprintf(p, sizeof p, "/proc/1/ns/%s", proc);
    if (init || (stat(p, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev))
        return REFUSE(err, "linux.namespaces[%zu].path: the host's %s namespace is refused", i,
                      type);
    snprintf(p, sizeof p, "/proc/self/ns/%s", proc);
    if (stat(p, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        return REFUSE(err, "linux.namespaces[%zu].path: the runtime's own %s namespace is "
                           "refused", i, type);
    return take_fd(fd);
}

/* The namespaces sbx always makes; the spec must ask for each one that
 * would otherwise be the host's, and may not join the host's by path. */
static int check_namespaces(json_t *linux_, const struct oci_opconfig *conf,
                            struct oci_config *cfg, struct sbx_err *err)
{
    json_t *ns = json_object_get(linux_, "namespaces");
    int r = want(ns, JSON_ARRAY, "linux.namespaces", err);
    if (r < 0)
        return r;
    bool have_pid = false, have_ipc = false, have_net = false, have_mnt = false;
    size_t i;
    json_t *e;
    json_array_foreach(ns, i, e) {
        const char *type = jstr(e, "type"), *path = jstr(e, "path");
        if (!type)
            return sbx_err_set(err, EINVAL, "linux.namespaces[%zu].type: missing", i);
        char *join = strcmp(type, "network") == 0 ? cfg->netns
                     : strcmp(type, "ipc") == 0   ? cfg->ipcns
                     : strcmp(type, "uts") == 0   ? cfg->utsns
                                                  : NULL;
        if (path && *path && join) {
            /* An engine's namespace (a bridge's, slirp's, a pod's pause
             * container's) is not the host's: join it, but never the
             * host's own nor the runtime's. */
            int *fd = join == cfg->netns ? &cfg->netns_fd
                      : join == cfg->ipcns ? &cfg->ipcns_fd
                                           : &cfg->utsns_fd;
            if (*fd >= 0)
                return sbx_err_set(err, EINVAL, "linux.namespaces[%zu]: a second %s entry", i, type);
            if ((r = check_join(i, type, path, err)) < 0)
                return r;
            *fd = r;
            snprintf(join, sizeof cfg->netns, "%s", path);
            have_net = have_net || join == cfg->netns;
            have_ipc = have_ipc || join == cfg->ipcns;
            continue;
        }
        if (path && *path)
            return REFUSE(err, "linux.namespaces[%zu].path: joining a %s namespace is not "
                               "supported by sbx-oci (only network, ipc and uts)", i, type);
        if (strcmp(type, "pid") == 0)
            have_pid = true;
        else if (strcmp(type, "ipc") == 0)
            have_ipc = true;
        else if (strcmp(type, "network") == 0)
            have_net = true;
        else if (strcmp(type, "mount") == 0)
            have_mnt = true;
        else if (strcmp(type, "user") != 0 && strcmp(type, "uts") != 0 &&
                 strcmp(type, "cgroup") != 0 && strcmp(type, "time") != 0)
            return sbx_err_set(err, EINVAL, "linux.namespaces[%zu].type: unknown namespace %s", i,
                               type);
    }
    if (!have_pid)
        return REFUSE(err, "linux.namespaces: no \"pid\" entry (the host's PID namespace) is refused");
    if (!have_ipc)
        return REFUSE(err, "linux.namespaces: no \"ipc\" entry (the host's IPC namespace) is refused");
    if (!have_net && conf && conf->allow_host_network) {
        /* The operator allows it (allow_host_network): the runtime's own
         * network namespace, joined like an engine's. The container's user
         * namespace does not own it, so it can use the network but not
         * reconfigure it, and its net.* sysctls are refused as for any
         * namespace joined by path. */
        cfg->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (cfg->netns_fd < 0)
            return sbx_err_sys(err, errno, "linux.namespaces: /proc/self/ns/net");
        snprintf(cfg->netns, sizeof cfg->netns, "/proc/self/ns/net");
        have_net = true;
    }
    if (!have_net)
        return REFUSE(err, "linux.namespaces: no \"network\" entry (the host's network) is refused "
                           "(the operator's allow_host_network is off)");
    if (!have_mnt)
        return REFUSE(err, "linux.namespaces: no \"mount\" entry (the host's mounts) is refused");
    return 0;
}

/* One contiguous map from 0 inside, uid and gid alike: what the executor
 * can write (podman --userns=auto brings exactly that). */
static int check_idmaps(json_t *linux_, struct oci_config *cfg, struct sbx_err *err)
{
    json_t *um = json_object_get(linux_, "uidMappings"), *gm = json_object_get(linux_, "gidMappings");
    size_t nu = json_array_size(um), ng = json_array_size(gm);
    if (!nu && !ng)
        return 0;
    if (nu != 1 || ng != 1)
        return REFUSE(err, "linux.uidMappings: sbx-oci honours one uid and one gid range "
                           "(got %zu and %zu)", nu, ng);
    json_t *u = json_array_get(um, 0), *gr = json_array_get(gm, 0);
    json_int_t uc = json_integer_value(json_object_get(u, "containerID"));
    json_int_t uh = json_integer_value(json_object_get(u, "hostID"));
    json_int_t us = json_integer_value(json_object_get(u, "size"));
    json_int_t gc = json_integer_value(json_object_get(gr, "containerID"));
    json_int_t gh = json_integer_value(json_object_get(gr, "hostID"));
    json_int_t gs = json_integer_value(json_object_get(gr, "size"));
    if (uc != 0 || gc != 0)
        return REFUSE(err, "linux.uidMappings[0].containerID: must be 0");
    if (us <= 0 || us != gs || us > 0x7fffffff)
        return REFUSE(err, "linux.uidMappings[0].size: must be the same positive size as "
                           "linux.gidMappings[0].size");
    if (uh <= 0 || gh <= 0 || uh + us > UINT32_MAX || gh + gs > UINT32_MAX)
        return REFUSE(err, "linux.uidMappings[0].hostID: a map that covers host id 0 is refused");
    cfg->has_idmap = true;
    cfg->map_uid = (uint32_t)uh;
    cfg->map_gid = (uint32_t)gh;
    cfg->map_count = (uint32_t)us;
    return 0;
}

/* The devices every container gets (sbx's /dev holds these); any other is
 * device access beyond the defaults. */
static bool default_device(const char *path)
{
    static const char *const ok[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                     "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/console"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(path, ok[i]) == 0)
            return true;
    return false;
}

static bool has_option(json_t *opts, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o)
        if (json_is_string(o) && strcmp(json_string_value(o), name) == 0)
            return true;
    return false;
}

/* Mount types sbx makes itself, at the places sbx makes them. */
static bool sbx_provides(const char *type, const char *dst)
{
    return (strcmp(type, "proc") == 0 && strcmp(dst, "/proc") == 0) ||
           (strcmp(dst, "/dev") == 0) || strcmp(dst, "/dev/pts") == 0 ||
           strcmp(dst, "/dev/mqueue") == 0 || strcmp(type, "sysfs") == 0 ||
           strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0 ||
           strcmp(dst, "/sys") == 0 || strncmp(dst, "/sys/", 5) == 0;
}

static int add_mounts(json_t *root, JobPolicy *p, struct oci_config *cfg, struct sbx_err *err)
{
    json_t *ms = json_object_get(root, "mounts");
    int r = want(ms, JSON_ARRAY, "mounts", err);
    if (r < 0)
        return r;
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        const char *dst = jstr(m, "destination"), *type = jstr(m, "type"), *src = jstr(m, "source");
        json_t *opts = json_object_get(m, "options");
        if (!dst || dst[0] != '/')
            return sbx_err_set(err, EINVAL, "mounts[%zu].destination: must be an absolute path", i);
        bool bind = (type && strcmp(type, "bind") == 0) || has_option(opts, "bind") ||
                    has_option(opts, "rbind");
        if (!type)
            type = bind ? "bind" : "";
        /* Of the container's own namespaces only: a joined (an engine's)
         * IPC or network namespace's would not be its to mount. */
        if (!bind && strcmp(type, "mqueue") == 0 && strcmp(dst, "/dev/mqueue") == 0)
            cfg->mqueue = !cfg->ipcns[0];
        if (!bind && strcmp(type, "sysfs") == 0 && strcmp(dst, "/sys") == 0)
            cfg->sysfs = !cfg->netns[0];
        if (!bind && sbx_provides(type, dst))
            continue;
        Sbx__V1__Mount *pm = calloc(1, sizeof *pm);
        if (!pm)
            abort();
        sbx__v1__mount__init(pm);
        pm->dst = xstrdup(dst);
        pm->has_type = true;
        if (bind) {
            if (!src || src[0] != '/')
                return sbx_err_set(err, EINVAL, "mounts[%zu].source: a bind mount needs an "
                                                "absolute path", i);
            pm->type = SBX__V1__MOUNT__TYPE__BIND;
            pm->src = xstrdup(src);
            pm->has_rw = true;
            pm->rw = !has_option(opts, "ro");
        } else if (strcmp(type, "tmpfs") == 0 || strcmp(type, "mqueue") == 0 ||
                   strcmp(type, "devpts") == 0) {
            pm->type = SBX__V1__MOUNT__TYPE__TMPFS;
            size_t k;
            json_t *o;
            json_array_foreach(opts, k, o) {
                const char *s = json_string_value(o);
                if (s && strncmp(s, "size=", 5) == 0) {
                    char buf[64];
                    snprintf(buf, sizeof buf, "%s", s + 5);
                    /* "65536k": the policy's units are upper case. */
                    for (char *c = buf; *c; c++)
                        if (*c >= 'a' && *c <= 'z')
                            *c = (char)(*c - 'a' + 'A');
                    pm->size = xstrdup(buf);
                }
            }
        } else {
            free(pm->dst);
            free(pm);
            return REFUSE(err, "mounts[%zu].type: %s mounts are not supported by sbx-oci", i, type);
        }
        p->mounts = realloc(p->mounts, (p->n_mounts + 1) * sizeof *p->mounts);
        if (!p->mounts)
            abort();
        p->mounts[p->n_mounts++] = pm;
    }
    return 0;
}

/* "CAP_CHOWN", as the spec spells it (libcap-ng's names are "chown"). */
struct cap_name_buf {
    char s[48];
};
static struct cap_name_buf cap_name(int cap)
{
    struct cap_name_buf b;
    const char *n = capng_capability_to_name((unsigned)cap);
    int len = snprintf(b.s, sizeof b.s, "CAP_%s", n ? n : "?");
    for (int i = 4; i < len && i < (int)sizeof b.s; i++)
        if (b.s[i] >= 'a' && b.s[i] <= 'z')
            b.s[i] = (char)(b.s[i] - 'a' + 'A');
    return b;
}

static const char *const cap_sets[] = {"bounding", "effective", "permitted", "inheritable",
                                       "ambient"};

/* process.capabilities: each set as the spec lists it, cut down to what
 * the operator allows. A privileged container (CAP_SYS_ADMIN) and a name
 * that is no capability are refused (the spec says an unknown value MUST
 * be an error; runc only warns). */
static int process_caps(json_t *caps, uint64_t allowed, struct sbx_capsets *out,
                        struct sbx_err *err)
{
    int r = want(caps, JSON_OBJECT, "process.capabilities", err);
    if (r < 0)
        return r;
    uint64_t *sets[] = {&out->bounding, &out->effective, &out->permitted, &out->inheritable,
                        &out->ambient};
    for (size_t s = 0; s < 5; s++) {
        json_t *list = json_object_get(caps, cap_sets[s]);
        char field[64];
        snprintf(field, sizeof field, "process.capabilities.%s", cap_sets[s]);
        if ((r = want(list, JSON_ARRAY, field, err)) < 0)
            return r;
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
            const char *name = json_string_value(c);
            int cap = name ? oci_cap_from_name(name) : -1;
            if (cap < 0)
                return sbx_err_set(err, EINVAL, "%s[%zu]: %s is not a capability", field, i,
                                   name ? name : "(not a string)");
            if (cap == CAP_SYS_ADMIN)
                return REFUSE(err, "%s: CAP_SYS_ADMIN (a privileged container) is refused",
                              field);
            if (oci_kernel_has_cap(cap))
                *sets[s] |= (1ULL << cap) & allowed;
        }
    }
    /* What the kernel would refuse anyway, named here. */
    uint64_t bad = out->effective & ~out->permitted;
    if (bad)
        return sbx_err_set(err, EINVAL, "process.capabilities.effective: %s is not permitted",
                           cap_name(__builtin_ctzll(bad)).s);
    bad = out->inheritable & ~out->bounding;
    if (bad)
        return sbx_err_set(err, EINVAL, "process.capabilities.inheritable: %s is not in the "
                                        "bounding set", cap_name(__builtin_ctzll(bad)).s);
    return 0;
}

static int process_groups(json_t *user, struct sbx_procattr *a, struct sbx_err *err)
{
    json_t *gids = json_object_get(user, "additionalGids");
    int r = want(gids, JSON_ARRAY, "process.user.additionalGids", err);
    if (r < 0)
        return r;
    if (json_array_size(gids) > SBX_PROC_MAX_GROUPS)
        return sbx_err_set(err, E2BIG, "process.user.additionalGids: at most %d",
                           SBX_PROC_MAX_GROUPS);
    size_t i;
    json_t *g;
    json_array_foreach(gids, i, g) {
        if (!json_is_integer(g) || json_integer_value(g) < 0 ||
            json_integer_value(g) > UINT32_MAX - 1)
            return sbx_err_set(err, EINVAL, "process.user.additionalGids[%zu]: not a gid", i);
        a->groups[a->n_groups++] = (gid_t)json_integer_value(g);
    }
    return 0;
}

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

/* process.rlimits: every one, soft and hard as given. The container cannot
 * raise a hard limit (that needs CAP_SYS_RESOURCE in the host's user
 * namespace), so one above this launcher's is raised here, where it may
 * be, and inherited; where it may not, the spec is refused. */
static int process_rlimits(json_t *rl, struct sbx_procattr *a, struct sbx_err *err)
{
    int r = want(rl, JSON_ARRAY, "process.rlimits", err);
    if (r < 0)
        return r;
    size_t i;
    json_t *e;
    json_array_foreach(rl, i, e) {
        const char *type = jstr(e, "type");
        json_t *soft = json_object_get(e, "soft"), *hard = json_object_get(e, "hard");
        int res = -1;
        for (size_t k = 0; type && k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
            if (strcmp(type, rlimit_names[k].name) == 0)
                res = rlimit_names[k].resource;
        if (res < 0)
            return sbx_err_set(err, EINVAL, "process.rlimits[%zu].type: %s is not an rlimit", i,
                               type ? type : "(missing)");
        if (sbx_procattr_has_rlimit(a, res))
            return sbx_err_set(err, EINVAL, "process.rlimits[%zu]: %s given twice", i, type);
        if (!json_is_integer(soft) || !json_is_integer(hard) || json_integer_value(soft) < 0 ||
            json_integer_value(hard) < 0)
            return sbx_err_set(err, EINVAL, "process.rlimits[%zu]: soft and hard must be "
                                            "non-negative integers", i);
        uint64_t s = (uint64_t)json_integer_value(soft), h = (uint64_t)json_integer_value(hard);
        if (s > h)
            return sbx_err_set(err, EINVAL, "process.rlimits[%zu]: %s soft limit %" PRIu64
                                            " is above its hard limit %" PRIu64, i, type, s, h);
        struct rlimit cur;
        if (getrlimit(res, &cur) < 0)
            return sbx_err_sys(err, errno, "process.rlimits[%zu]: getrlimit", i);
        if (cur.rlim_max != RLIM_INFINITY && h > cur.rlim_max) {
            struct rlimit raised = {.rlim_cur = cur.rlim_cur, .rlim_max = h};
            if (setrlimit(res, &raised) < 0) {
                int e2 = errno;
                return sbx_err_set(err, e2, "process.rlimits[%zu]: %s hard limit %" PRIu64
                                   " is above the launcher's hard limit of %" PRIu64 " on this "
                                   "host, which it may not raise (%s): ask for at most %" PRIu64,
                                   i, type, h, (uint64_t)cur.rlim_max,
                                   e2 == EPERM ? "needs CAP_SYS_RESOURCE" : strerror(e2),
                                   (uint64_t)cur.rlim_max);
            }
        }
        a->rlimits[a->n_rlimits++] = (struct sbx_proc_rlimit){res, s, h};
    }
    return 0;
}

int oci_process_policy(json_t *proc, JobPolicy *p, bool *terminal, uint64_t allowed,
                       struct oci_process *out, struct sbx_err *err)
{
    if (!json_is_object(proc))
        return sbx_err_set(err, EINVAL, "process: missing");
    json_t *args = json_object_get(proc, "args");
    if (!json_is_array(args) || !json_array_size(args) || !json_is_string(json_array_get(args, 0)))
        return sbx_err_set(err, EINVAL, "process.args: must be a non-empty array of strings");
    *terminal = json_is_true(json_object_get(proc, "terminal"));
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a) {
        if (!json_is_string(a))
            return sbx_err_set(err, EINVAL, "process.args[%zu]: must be a string", i);
        if (i == 0)
            p->command = xstrdup(json_string_value(a));
        else
            p->args = strv_append(p->args, &p->n_args, json_string_value(a));
    }
    json_t *env = json_object_get(proc, "env");
    int r = want(env, JSON_ARRAY, "process.env", err);
    if (r < 0)
        return r;
    json_array_foreach(env, i, a) {
        if (!json_is_string(a))
            return sbx_err_set(err, EINVAL, "process.env[%zu]: must be a string", i);
        p->env = strv_append(p->env, &p->n_env, json_string_value(a));
    }
    const char *cwd = jstr(proc, "cwd");
    if (cwd)
        p->cwd = xstrdup(cwd);
    json_t *user = json_object_get(proc, "user");
    if (user) {
        json_t *uid = json_object_get(user, "uid"), *gid = json_object_get(user, "gid");
        if (uid && (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
                    json_integer_value(uid) > UINT32_MAX))
            return sbx_err_set(err, EINVAL, "process.user.uid: not a uid");
        if (gid && (!json_is_integer(gid) || json_integer_value(gid) < 0 ||
                    json_integer_value(gid) > UINT32_MAX))
            return sbx_err_set(err, EINVAL, "process.user.gid: not a gid");
        p->has_uid = p->has_gid = true;
        p->uid = (uint32_t)json_integer_value(uid);
        p->gid = (uint32_t)json_integer_value(gid);
    }
    memset(out, 0, sizeof *out);
    int r2;
    if ((r2 = process_caps(json_object_get(proc, "capabilities"), allowed, &out->attr.caps,
                           err)) < 0 ||
        (r2 = process_groups(user, &out->attr, err)) < 0 ||
        (r2 = process_rlimits(json_object_get(proc, "rlimits"), &out->attr, err)) < 0)
        return r2;
    json_t *oom = json_object_get(proc, "oomScoreAdj");
    if (oom) {
        if (!json_is_integer(oom) || json_integer_value(oom) < -1000 ||
            json_integer_value(oom) > 1000)
            return sbx_err_set(err, EINVAL, "process.oomScoreAdj: not within -1000..1000");
        out->has_oom_score_adj = true;
        out->oom_score_adj = (int)json_integer_value(oom);
    }
    return 0;
}

uint32_t oci_shares_to_weight(long long shares)
{
    /* The inverse of the executor's weight-to-shares (systemd's: weight 100
     * is 1024 shares), so that v1 gets back the shares asked for (1024 stays
     * 1024; crun's linear map made it 399, a container at the default then
     * weighing 2.5x less than its neighbours) and v2 systemd's weight. */
    if (shares > 262144)
        shares = 262144;
    long long w = (shares * 100 + 512) / 1024;
    return (uint32_t)(w < 1 ? 1 : w > 10000 ? 10000 : w);
}

static Sbx__V1__Limits *limits_of(JobPolicy *p)
{
    if (!p->limits) {
        p->limits = calloc(1, sizeof *p->limits);
        if (!p->limits)
            abort();
        sbx__v1__limits__init(p->limits);
    }
    return p->limits;
}

static int add_resources(json_t *res, JobPolicy *p, struct sbx_err *err)
{
    char buf[64];
    json_t *mem = json_object_get(json_object_get(res, "memory"), "limit");
    if (json_is_integer(mem) && json_integer_value(mem) > 0) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(mem));
        limits_of(p)->memory = xstrdup(buf);
    }
    json_t *pids = json_object_get(json_object_get(res, "pids"), "limit");
    if (json_is_integer(pids) && json_integer_value(pids) > 0) {
        if (json_integer_value(pids) > SBX_MAX_PIDS)
            return sbx_err_set(err, EINVAL, "linux.resources.pids.limit: above %u", SBX_MAX_PIDS);
        limits_of(p)->has_pids = true;
        limits_of(p)->pids = (uint32_t)json_integer_value(pids);
    }
    json_t *cpu = json_object_get(res, "cpu");
    json_int_t quota = json_integer_value(json_object_get(cpu, "quota"));
    json_int_t period = json_integer_value(json_object_get(cpu, "period"));
    if (quota > 0) {
        limits_of(p)->has_cpus = true;
        limits_of(p)->cpus = (double)quota / (double)(period > 0 ? period : 100000);
    }
    json_int_t shares = json_integer_value(json_object_get(cpu, "shares"));
    if (shares > 0) {
        limits_of(p)->has_cpu_weight = true;
        limits_of(p)->cpu_weight = oci_shares_to_weight(shares);
    }
    const char *cpus = jstr(cpu, "cpus");
    if (cpus && *cpus)
        limits_of(p)->cpuset = xstrdup(cpus);
    return 0;
}

/* The sysctls a container may set because they belong to its own
 * namespaces (runc's list): anything else would change the host. */
static bool ipc_sysctl(const char *key)
{
    static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                      "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                      "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < sizeof ipc / sizeof ipc[0]; i++)
        if (strcmp(key, ipc[i]) == 0)
            return true;
    return strncmp(key, "fs.mqueue.", 10) == 0;
}

static int check_sysctls(json_t *linux_, const char *host, struct oci_config *cfg,
                         struct sbx_err *err)
{
    json_t *sysctl = json_object_get(linux_, "sysctl");
    int r = want(sysctl, JSON_OBJECT, "linux.sysctl", err);
    if (r < 0)
        return r;
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(sysctl, key, val) {
        const char *v = json_string_value(val);
        if (!v)
            return sbx_err_set(err, EINVAL, "linux.sysctl.%s: the value must be a string", key);
        if (!*key || strlen(key) > 200 || key[0] == '.' || strstr(key, "..") ||
            strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                strlen(key))
            return sbx_err_set(err, EINVAL, "linux.sysctl.%s: not a sysctl name", key);
        if (strlen(v) > 1024 || strchr(v, '\n'))
            return sbx_err_set(err, EINVAL, "linux.sysctl.%s: not a sysctl value", key);
        bool net = strncmp(key, "net.", 4) == 0;
        if ((ipc_sysctl(key) && cfg->ipcns[0]) ||
            (strcmp(key, "kernel.domainname") == 0 && cfg->utsns[0]))
            return REFUSE(err, "linux.sysctl.%s: the %s namespace joined by path is the engine's, "
                               "not the container's to change", key, cfg->ipcns[0] ? "IPC" : "UTS");
        if (net && cfg->netns[0]) {
            /* Engines add ping_group_range by default; in a namespace the
             * engine made (and owns) it is the engine's to set. */
            if (strcmp(key, "net.ipv4.ping_group_range") == 0)
                continue;
            return REFUSE(err, "linux.sysctl.%s: the network namespace joined by path is the "
                               "engine's, not the container's to change", key);
        }
        if (strcmp(key, "kernel.hostname") == 0) {
            if (host && *host && strcmp(host, v) != 0)
                return REFUSE(err, "linux.sysctl.kernel.hostname: differs from hostname");
            free(cfg->policy->hostname);
            cfg->policy->hostname = xstrdup(v);
            continue;
        }
        if (!net && !ipc_sysctl(key) && strcmp(key, "kernel.domainname") != 0)
            return REFUSE(err, "linux.sysctl.%s: not a sysctl of the container's own namespaces "
                               "(net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, "
                               "kernel.hostname, kernel.domainname)", key);
        char *kv;
        if (asprintf(&kv, "%s=%s", key, v) < 0)
            abort();
        cfg->sysctls = realloc(cfg->sysctls, (n + 2) * sizeof *cfg->sysctls);
        if (!cfg->sysctls)
            abort();
        cfg->sysctls[n++] = kv;
        cfg->sysctls[n] = NULL;
    }
    return 0;
}

/* linux.cgroupsPath: sbx makes cgroups only below its own parent (below the
 * caller's cgroup), never where the path points, so the path becomes the
 * name of the container's cgroup there: "/a/b/c" (cgroupfs) is a:b:c, and
 * "slice:prefix:name" (systemd's form) is slice:prefix-name.scope, the name
 * systemd would give the scope. */
static bool cg_component(const char *s, size_t n)
{
    if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-", s[i]))
            return false;
    return true;
}

static int map_cgroups_path(const char *path, char *out, size_t size, struct sbx_err *err)
{
    out[0] = '\0';
    if (!path || !*path)
        return 0;
    size_t len = 0;
    if (strchr(path, ':')) {
        const char *c1 = strchr(path, ':'), *c2 = strchr(c1 + 1, ':');
        if (!c2 || strchr(c2 + 1, ':') || !cg_component(c1 + 1, (size_t)(c2 - c1 - 1)) ||
            !cg_component(c2 + 1, strlen(c2 + 1)) ||
            (c1 != path && !cg_component(path, (size_t)(c1 - path))))
            return sbx_err_set(err, EINVAL, "linux.cgroupsPath: %s is neither a path nor "
                                            "systemd's slice:prefix:name", path);
        len = (size_t)snprintf(out, size, "%.*s:%.*s-%s.scope",
                               (int)(c1 == path ? 12 : c1 - path),
                               c1 == path ? "system.slice" : path, (int)(c2 - c1 - 1), c1 + 1,
                               c2 + 1);
    } else {
        const char *p = path;
        while (*p == '/')
            p++;
        while (*p) {
            size_t n = strcspn(p, "/");
            if (!cg_component(p, n))
                return sbx_err_set(err, EINVAL, "linux.cgroupsPath: %s: \"%.*s\" is not a "
                                                "usable cgroup name", path, (int)n, p);
            len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%.*s",
                                    len ? ":" : "", (int)n, p);
            p += n;
            while (*p == '/')
                p++;
        }
    }
    if (len > 200)
        return sbx_err_set(err, ENAMETOOLONG, "linux.cgroupsPath: %s is too long", path);
    return 0;
}

/* maskedPaths, readonlyPaths: absolute paths of the container's root. */
static int path_list(json_t *linux_, const char *field, char ***out, struct sbx_err *err)
{
    json_t *a = json_object_get(linux_, field);
    char name[64];
    snprintf(name, sizeof name, "linux.%s", field);
    int r = want(a, JSON_ARRAY, name, err);
    if (r < 0)
        return r;
    size_t i, n = 0;
    json_t *e;
    char **v = NULL;
    json_array_foreach(a, i, e) {
        const char *s = json_string_value(e);
        if (!s || s[0] != '/' || strlen(s) >= 4096) {
            strv_free(strv_end(v, n));
            return sbx_err_set(err, EINVAL, "%s[%zu]: must be an absolute path", name, i);
        }
        v = strv_append(v, &n, s);
    }
    if (n)
        *out = strv_end(v, n);
    return 0;
}

/* The operator's defaults, for the limits the spec leaves unset. */
static void add_defaults(const struct oci_opconfig *conf, JobPolicy *p)
{
    if (!conf)
        return;
    if (conf->memory && !(p->limits && p->limits->memory))
        limits_of(p)->memory = xstrdup(conf->memory);
    if (conf->pids && !(p->limits && p->limits->has_pids)) {
        limits_of(p)->has_pids = true;
        limits_of(p)->pids = conf->pids;
    }
    if (conf->cpus > 0 && !(p->limits && p->limits->has_cpus)) {
        limits_of(p)->has_cpus = true;
        limits_of(p)->cpus = conf->cpus;
    }
}

int oci_config_load(const char *bundle, const struct oci_opconfig *conf, struct oci_config *cfg,
                    struct sbx_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->netns_fd = cfg->ipcns_fd = cfg->utsns_fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
        return sbx_err_set(err, ENAMETOOLONG, "--bundle: path too long");
    json_error_t je;
    cfg->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!cfg->root)
        return sbx_err_set(err, EINVAL, "%s: line %d: %s", path, je.line, je.text);
    json_t *root = cfg->root;
    if (!json_is_object(root))
        return sbx_err_set(err, EINVAL, "%s: not a JSON object", path);
    /* runc's version check: a spec of another major version, or not a
     * version at all, is not one sbx-oci can read right. */
    json_t *ver = json_object_get(root, "ociVersion");
    if (ver) {
        const char *v = json_string_value(ver);
        unsigned maj, min, pat;
        char dot1, dot2;
        if (!v || sscanf(v, "%u%c%u%c%u", &maj, &dot1, &min, &dot2, &pat) != 5 || dot1 != '.' ||
            dot2 != '.' || maj != 1 || strspn(v, "0123456789.") < 5)
            return sbx_err_set(err, EINVAL, "ociVersion: %s is not a 1.x.y version of the "
                                            "runtime spec", v ? v : "(not a string)");
    }
    JobPolicy *p = cfg->policy = sbx_policy_new();
    if (!p)
        return sbx_err_set(err, ENOMEM, "out of memory");

    json_t *linux_ = json_object_get(root, "linux");
    if (!json_is_object(linux_))
        return sbx_err_set(err, EINVAL, "linux: missing (sbx-oci runs Linux containers only)");
    int r;
    if ((r = check_namespaces(linux_, conf, cfg, err)) < 0 || (r = check_idmaps(linux_, cfg, err)) < 0)
        return r;
    /* The process first: a privileged container is named as such. */
    uint64_t allowed = conf ? conf->allowed_caps : oci_default_allowed_caps();
    if ((r = oci_process_policy(json_object_get(root, "process"), p, &cfg->terminal, allowed,
                                &cfg->proc, err)) < 0)
        return r;
    /* Without the spec's mappings, sbx maps at least 65,536 ids. */
    uint32_t ids = cfg->has_idmap ? cfg->map_count : 65536;
    for (size_t g = 0; g < cfg->proc.attr.n_groups; g++)
        if (cfg->proc.attr.groups[g] >= ids)
            return REFUSE(err, "process.user.additionalGids[%zu]: %u is outside the container's "
                               "mapped ids (0..%u)", g, (unsigned)cfg->proc.attr.groups[g],
                          (unsigned)ids - 1);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(linux_, "devices"), i, e) {
        const char *dp = jstr(e, "path");
        if (!dp || !default_device(dp))
            return REFUSE(err, "linux.devices[%zu]: %s: device access beyond the defaults is "
                               "refused", i, dp ? dp : "(no path)");
    }
    if ((r = check_sysctls(linux_, jstr(root, "hostname"), cfg, err)) < 0 ||
        (r = path_list(linux_, "maskedPaths", &cfg->masked, err)) < 0 ||
        (r = path_list(linux_, "readonlyPaths", &cfg->readonly, err)) < 0)
        return r;
    if ((r = oci_hooks_check(json_object_get(root, "hooks"), conf, &cfg->hooks, err)) < 0)
        return r;
    json_t *intel = json_object_get(linux_, "intelRdt");
    if (intel)
        return REFUSE(err, "linux.intelRdt: not supported by sbx-oci");

    json_t *rootj = json_object_get(root, "root");
    const char *rp = jstr(rootj, "path");
    cfg->readonly_root = json_is_true(json_object_get(rootj, "readonly"));
    if (!rp || !*rp)
        return sbx_err_set(err, EINVAL, "root.path: missing");
    char joined[4096];
    if (rp[0] == '/')
        snprintf(joined, sizeof joined, "%s", rp);
    else if (snprintf(joined, sizeof joined, "%s/%s", bundle, rp) >= (int)sizeof joined)
        return sbx_err_set(err, ENAMETOOLONG, "root.path: too long");
    if (!realpath(joined, cfg->rootfs))
        return sbx_err_sys(err, errno, "root.path: %s", joined);
    p->rootfs = calloc(1, sizeof *p->rootfs);
    if (!p->rootfs)
        abort();
    sbx__v1__root_fs__init(p->rootfs);
    p->rootfs->layers = strv_append(NULL, &p->rootfs->n_layers, cfg->rootfs);
    /* The writes of a container land in a tmpfs: more room than a job's
     * unless the operator says otherwise. */
    p->rootfs->size = xstrdup(conf && conf->rootfs_size ? conf->rootfs_size : "1G");

    const char *host = jstr(root, "hostname");
    if (host && *host) {
        free(p->hostname);
        p->hostname = xstrdup(host);
    }
    if ((r = add_mounts(root, p, cfg, err)) < 0)
        return r;
    if ((r = add_resources(json_object_get(linux_, "resources"), p, err)) < 0)
        return r;
    add_defaults(conf, p);
    if ((r = oci_seccomp_compile(json_object_get(linux_, "seccomp"), &cfg->seccomp, err)) < 0)
        return r;
    json_t *cgp = json_object_get(linux_, "cgroupsPath");
    if ((r = want(cgp, JSON_STRING, "linux.cgroupsPath", err)) < 0 ||
        (r = map_cgroups_path(json_string_value(cgp), cfg->cgroup_name, sizeof cfg->cgroup_name,
                              err)) < 0)
        return r;
    if (cfg->netns[0]) {
        /* The engine's namespace is as the engine set it up: the job may
         * not (and cannot) bring its lo up or down. */
        p->has_network = true;
        p->network = SBX__V1__JOB_POLICY__NETWORK__NONE;
    }
    return 0;
}

void oci_config_free(struct oci_config *cfg)
{
    if (cfg->policy)
        sbx_policy_free(cfg->policy);
    if (cfg->root)
        json_decref(cfg->root);
    strv_free(cfg->masked);
    strv_free(cfg->readonly);
    strv_free(cfg->sysctls);
    free(cfg->seccomp.filter);
    if (cfg->hooks)
        json_decref(cfg->hooks);
    int *fds[] = {&cfg->netns_fd, &cfg->ipcns_fd, &cfg->utsns_fd};
    for (size_t i = 0; i < 3; i++)
        if (*fds[i] >= 0)
            close(*fds[i]);
    memset(cfg, 0, sizeof *cfg);
    cfg->netns_fd = cfg->ipcns_fd = cfg->utsns_fd = -1;
}
