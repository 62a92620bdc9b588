/* The common part of job cgroups: which hierarchies a job needs, creating
 * and entering them, and tearing them down. The version-specific files and
 * their quirks live in cgroup_v1.c and cgroup_v2.c. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

/* Wanted for accounting, freezing and killing even when no limit asks for
 * them; a host without them runs jobs with less reporting. */
#define CG_SOFT (CG_BIT(CG_MEMORY) | CG_BIT(CG_CPUACCT) | CG_BIT(CG_FREEZER))
/* The v2 controllers that must be enabled in subtree_control (cpuacct and
 * freezer stand for the core files cpu.stat and cgroup.freeze). */
#define CG_V2_REAL (CG_BIT(CG_MEMORY) | CG_BIT(CG_PIDS) | CG_BIT(CG_CPU) | CG_BIT(CG_CPUSET))

#define KILL_TIMEOUT_MS 5000
#define RMDIR_TIMEOUT_MS 1000

static unsigned g_seq;
static int g_stale_done;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *dir_label(const struct cg_host *h, const struct cg_dir *d, char *buf,
                             size_t size)
{
    const struct cg_hier *x = &h->hier[d->hier];
    if (x->v2)
        return "v2";
    size_t n = (size_t)snprintf(buf, size, "v1");
    for (int c = 0; c < CG_NCTRL && n < size; c++)
        if (x->ctrls & CG_BIT(c))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n == 2 ? " " : ",", cg_ctrl_name[c]);
    return buf;
}

static int check_limits(const struct sbx_cg_limits *l, struct sbx_err *err)
{
    if (!(l->cpus >= 0) || !isfinite(l->cpus) || l->cpus > 1e6)
        return sbx_err_set(err, EINVAL, "cgroup cpu: cpus %g is not a number of cores", l->cpus);
    if (l->cpu_weight > 10000)
        return sbx_err_set(err, EINVAL, "cgroup cpu: cpu_weight %u is not in 1..10000",
                           l->cpu_weight);
    if (l->cpuset) {
        size_t n = strlen(l->cpuset);
        if (n == 0 || n > 256 || strspn(l->cpuset, "0123456789,-") != n)
            return sbx_err_set(err, EINVAL, "cgroup cpuset: \"%s\" is not a CPU list like 0-3,6",
                               l->cpuset);
    }
    return 0;
}

static unsigned needed_ctrls(const struct sbx_cg_limits *l)
{
    unsigned m = 0;
    if (l->memory)
        m |= CG_BIT(CG_MEMORY);
    if (l->pids)
        m |= CG_BIT(CG_PIDS);
    if (l->cpus > 0 || l->cpu_weight)
        m |= CG_BIT(CG_CPU);
    if (l->cpuset)
        m |= CG_BIT(CG_CPUSET);
    return m;
}

static int make_name(char *out, size_t size, const char *job_name)
{
    char tag[96], clean[64];
    int r = cg_owner_tag(tag, sizeof tag);
    if (r < 0)
        return r;
    size_t n = 0;
    for (const char *p = job_name ? job_name : ""; *p && n + 1 < sizeof clean; p++)
        clean[n++] = (strchr("-_.", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z'))
                         ? *p
                         : '_';
    clean[n] = '\0';
    unsigned seq = __atomic_fetch_add(&g_seq, 1, __ATOMIC_RELAXED);
    snprintf(out, size, "job-%s-%u%s%s", tag, seq, n ? "-" : "", clean);
    return 0;
}

static struct sbx_cgroup *cg_alloc(const char *name)
{
    struct sbx_cgroup *cg = calloc(1, sizeof *cg);
    if (!cg)
        return NULL;
    snprintf(cg->name, sizeof cg->name, "%s", name);
    cg->v2dir = -1;
    cg->usage_fd = -1;
    for (int c = 0; c < CG_NCTRL; c++)
        cg->by_ctrl[c] = -1;
    return cg;
}

static void cg_destroyp(struct sbx_cgroup **cg)
{
    if (*cg)
        sbx_cgroup_destroy(*cg, NULL);
}

static int prepare(struct cg_host *host, struct cg_hier *h, unsigned ctrls, struct sbx_err *err)
{
    cg_lock();
    int r = cg_backend_of(h)->prepare_parent(host, h, ctrls & CG_V2_REAL, err);
    cg_unlock();
    return r;
}

/* One hierarchy of a new job: its directory, limits applied. Soft-only
 * hierarchies that fail are left out; anything a limit needs is an error. */
static int add_hier_dir(struct sbx_cgroup *cg, struct cg_host *host, int i, unsigned ctrls,
                        unsigned need, const struct sbx_cg_limits *l, struct sbx_err *err)
{
    struct cg_hier *h = &host->hier[i];
    unsigned hard = ctrls & need;
    int r = prepare(host, h, ctrls, err);
    if (r < 0 && !hard && h->v2) {
        /* Keep a controller-less v2 cgroup for cgroup.kill and pressure. */
        ctrls = 0;
        r = prepare(host, h, 0, err);
    }
    if (r < 0)
        return hard ? r : (sbx_err_clear(err), 0);

    struct cg_dir *d = &cg->dirs[cg->ndirs];
    d->hier = i;
    d->fd = -1;
    char name[NAME_MAX + 1];
    memcpy(name, cg->name, sizeof name);
    if (snprintf(d->path, sizeof d->path, "%s/%s", h->parent, name) >= (int)sizeof d->path)
        return sbx_err_set(err, ENAMETOOLONG, "cgroup: path of %s below %s is too long", name,
                           h->parent);
    if (mkdirat(h->parent_fd, name, 0755) < 0) {
        /* Even where no limit needs it: a kept job's name is its caller's
         * (sbx-oci's cgroupsPath), and another job's cgroup is never shared. */
        if (errno == EEXIST)
            return sbx_err_set(err, EEXIST, "cgroup: %s exists already", d->path);
        if (!hard)
            return 0;
        return sbx_err_sys(err, errno, "cgroup %s: cannot create %s",
                           cg_ctrl_name[__builtin_ctz(hard)], d->path);
    }
    d->fd = openat(h->parent_fd, cg->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cg->ndirs++;
    if (d->fd < 0)
        return sbx_err_sys(err, errno, "cgroup: cannot open %s", d->path);
    if (h->v2)
        cg->v2dir = cg->ndirs - 1;
    for (int c = 0; c < CG_NCTRL; c++)
        if (ctrls & CG_BIT(c))
            cg->by_ctrl[c] = cg->ndirs - 1;
    cg->used |= ctrls;
    if (!hard)
        return 0;
    return cg_backend_of(h)->apply(h, d, hard, l, err);
}

static int create(const char *job_name, bool kept, const struct sbx_cg_limits *limits,
                  struct sbx_cgroup **out, struct sbx_err *err)
{
    *out = NULL;
    static const struct sbx_cg_limits none;
    const struct sbx_cg_limits *l = limits ? limits : &none;
    int r = check_limits(l, err);
    if (r < 0)
        return r;
    struct cg_host *host;
    r = cg_host_get(&host, err);
    if (r < 0)
        return r;
    unsigned need = needed_ctrls(l);
    for (int c = 0; c < CG_NCTRL; c++)
        if ((need & CG_BIT(c)) && host->by_ctrl[c] < 0)
            return sbx_err_set(err, ENOTSUP,
                               "cgroup %s: controller not available (neither a mounted v1 "
                               "hierarchy nor in the launcher's v2 cgroup.controllers)",
                               cg_ctrl_name[c]);
    char name[NAME_MAX + 1];
    if (kept) {
        /* Not "job-": its creator exits, and the job must not be taken for
         * a stale one then. The caller's name is the whole identity. */
        size_t n = strlen(job_name);
        if (!n || n > 200 || strchr(job_name, '/') || strcmp(job_name, ".") == 0 ||
            strcmp(job_name, "..") == 0)
            return sbx_err_set(err, EINVAL, "cgroup: %s is not a usable job name", job_name);
        snprintf(name, sizeof name, "kept-%s", job_name);
    } else if ((r = make_name(name, sizeof name, job_name)) < 0) {
        return sbx_err_sys(err, -r, "cgroup: cannot read /proc/self/stat for the job name");
    }
    _cleanup_(cg_destroyp) struct sbx_cgroup *cg = cg_alloc(name);
    if (!cg)
        return sbx_err_sys(err, ENOMEM, "cgroup");

    /* A kept job may have its limits changed later (sbx-oci update): it
     * gets a pids and cpu cgroup even without a limit. Not cpuset: one
     * made without its CPUs and memory nodes filled cannot hold a task. */
    unsigned want = need | CG_SOFT |
                    (kept || l->children ? CG_BIT(CG_PIDS) | CG_BIT(CG_CPU) : 0);
    for (int i = 0; i < host->nhier; i++) {
        unsigned ctrls = 0;
        for (int c = 0; c < CG_NCTRL; c++)
            if ((want & CG_BIT(c)) && host->by_ctrl[c] == i)
                ctrls |= CG_BIT(c);
        if (!ctrls && i != host->v2)
            continue;
        r = add_hier_dir(cg, host, i, ctrls, need, l, err);
        if (r < 0)
            return r;
    }
    *out = take_ptr(cg);
    return 0;
}

int sbx_cgroup_create(const char *job_name, const struct sbx_cg_limits *limits,
                      struct sbx_cgroup **out, struct sbx_err *err)
{
    return create(job_name, false, limits, out, err);
}

int sbx_cgroup_create_kept(const char *job_name, const struct sbx_cg_limits *limits,
                           struct sbx_cgroup **out, struct sbx_err *err)
{
    return create(job_name, true, limits, out, err);
}

int sbx_cgroup_create_child(const struct sbx_cgroup *parent, const char *name,
                            const struct sbx_cg_limits *limits, struct sbx_cgroup **out,
                            struct sbx_err *err)
{
    *out = NULL;
    struct cg_host *host;
    int r = cg_host_get(&host, err);
    if (r < 0)
        return r;
    _cleanup_(cg_destroyp) struct sbx_cgroup *cg = cg_alloc(name);
    if (!cg)
        return sbx_err_sys(err, ENOMEM, "cgroup");
    cg->parent = parent;
    memcpy(cg->by_ctrl, parent->by_ctrl, sizeof cg->by_ctrl);
    cg->v2dir = parent->v2dir;
    cg->used = parent->used;
    for (int i = 0; i < parent->ndirs; i++) {
        const struct cg_dir *pd = &parent->dirs[i];
        const struct cg_backend *b = cg_backend_of(&host->hier[pd->hier]);
        unsigned ctrls = 0;
        for (int c = 0; c < CG_NCTRL; c++)
            if (parent->by_ctrl[c] == i)
                ctrls |= CG_BIT(c);
        if (b->enable_children && (ctrls & CG_V2_REAL) &&
            (r = b->enable_children(pd, ctrls & CG_V2_REAL, err)) < 0)
            return r;
        struct cg_dir *d = &cg->dirs[cg->ndirs];
        d->hier = pd->hier;
        d->fd = -1;
        if (snprintf(d->path, sizeof d->path, "%s/%s", pd->path, name) >= (int)sizeof d->path)
            return sbx_err_set(err, ENAMETOOLONG, "cgroup: path of %s below %s is too long",
                               name, pd->path);
        if (mkdirat(pd->fd, name, 0755) < 0)
            return sbx_err_sys(err, errno, "cgroup: cannot create %s", d->path);
        d->fd = openat(pd->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cg->ndirs++;
        if (d->fd < 0)
            return sbx_err_sys(err, errno, "cgroup: cannot open %s", d->path);
    }
    if (limits && (r = sbx_cgroup_limit(cg, limits, err)) < 0)
        return r;
    *out = take_ptr(cg);
    return 0;
}

int sbx_cgroup_limit(struct sbx_cgroup *cg, const struct sbx_cg_limits *l, struct sbx_err *err)
{
    int r = check_limits(l, err);
    if (r < 0)
        return r;
    struct cg_host *host;
    if ((r = cg_host_get(&host, err)) < 0)
        return r;
    unsigned need = needed_ctrls(l);
    if (need & ~cg->used)
        return sbx_err_set(err, ENOTSUP, "cgroup: %s was made without a controller a limit needs",
                           cg->name);
    for (int i = 0; i < cg->ndirs; i++) {
        unsigned ctrls = 0;
        for (int c = 0; c < CG_NCTRL; c++)
            if (cg->by_ctrl[c] == i && (need & CG_BIT(c)))
                ctrls |= CG_BIT(c);
        const struct cg_hier *h = &host->hier[cg->dirs[i].hier];
        if (ctrls && (r = cg_backend_of(h)->apply(h, &cg->dirs[i], ctrls, l, err)) < 0)
            return r;
    }
    return 0;
}

int sbx_cgroup_update_kept(const char *const *paths, int n, const struct sbx_cg_limits *l,
                           struct sbx_err *err)
{
    int r = check_limits(l, err);
    if (r < 0)
        return r;
    struct cg_host *host;
    if ((r = cg_host_get(&host, err)) < 0)
        return r;
    unsigned need = needed_ctrls(l), done = 0;
    for (int k = 0; k < n; k++) {
        /* Only a directory of sbx's making: .../<sbx's parent name>/kept-*,
         * no "." or ".." anywhere. The caller's own cgroup may differ from
         * the creator's (podman update vs conmon's create), so the parent
         * is recognized by name, and the hierarchy by its filesystem. */
        const char *p = paths[k], *last = strrchr(p, '/');
        bool clean = p[0] == '/' && last && !strstr(p, "/./") && !strstr(p, "/../") &&
                     strncmp(last + 1, "kept-", 5) == 0;
        struct cg_dir d = {.hier = -1, .fd = -1};
        snprintf(d.path, sizeof d.path, "%s", p);
        d.fd = clean ? open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) : -1;
        struct stat st, hs;
        if (d.fd >= 0 && fstat(d.fd, &st) == 0) {
            for (int j = 0; j < host->nhier && d.hier < 0; j++) {
                const char *parent = host->hier[j].parent, *pname = strrchr(parent, '/');
                size_t pl = strlen(pname ? pname : "");
                if (stat(host->hier[j].own, &hs) == 0 && hs.st_dev == st.st_dev && pname &&
                    last - p >= (ptrdiff_t)pl && strncmp(last - pl, pname, pl) == 0)
                    d.hier = j;
            }
        }
        if (d.hier < 0) {
            if (d.fd >= 0)
                close(d.fd);
            return sbx_err_set(err, EPERM, "cgroup: %s is not a kept job cgroup of sbx", p);
        }
        int i = d.hier;
        unsigned ctrls = 0;
        for (int c = 0; c < CG_NCTRL; c++)
            if ((need & CG_BIT(c)) && host->by_ctrl[c] == i)
                ctrls |= CG_BIT(c);
        if (!ctrls) {
            close(d.fd);
            continue;
        }
        /* A cpuset cgroup that holds the job has its memory nodes since it
         * was made: nothing to copy from the parent (never prepared here). */
        struct cg_hier h = host->hier[i];
        h.clone_children = true;
        r = cg_backend_of(&h)->apply(&h, &d, ctrls, l, err);
        close(d.fd);
        if (r < 0)
            return r;
        done |= ctrls;
    }
    for (int c = 0; c < CG_NCTRL; c++)
        if ((need & ~done) & CG_BIT(c))
            return sbx_err_set(err, ENOTSUP, "cgroup %s: the job has no cgroup of this controller "
                                             "(it was created without that limit)",
                               cg_ctrl_name[c]);
    return 0;
}

int sbx_cgroup_dirs(const struct sbx_cgroup *cg, const char **paths, int max)
{
    int n = 0;
    for (int i = 0; i < cg->ndirs && n < max; i++)
        paths[n++] = cg->dirs[i].path;
    return n;
}

void sbx_cgroup_forget(struct sbx_cgroup *cg)
{
    if (!cg)
        return;
    cg_kept_close(cg);
    for (int i = 0; i < cg->ndirs; i++)
        sbx_closep(&cg->dirs[i].fd);
    sbx_closep(&cg->usage_fd);
    free(cg);
}

int sbx_cgroup_remove_dirs(const char *const *paths, int n, struct sbx_err *err)
{
    int rc = 0;
    pid_t pids[1024];
    for (int i = 0; i < n; i++) {
        /* Only what sbx_cgroup_create_kept made: never another cgroup. */
        const char *base = strrchr(paths[i], '/');
        if (!base || strncmp(base, "/kept-", 6) != 0 || strstr(paths[i], "/../")) {
            rc = rc < 0 ? rc : sbx_err_set(err, EINVAL, "cgroup: %s is not a kept job cgroup",
                                           paths[i]);
            continue;
        }
        uint64_t deadline = cg_now_ns() + (uint64_t)KILL_TIMEOUT_MS * 1000000u;
        for (unsigned delay = 1;; delay = delay < 20 ? delay * 2 : 20) {
            if (rmdir(paths[i]) == 0 || errno == ENOENT)
                break;
            int e = errno;
            if (e != EBUSY || cg_now_ns() > deadline) {
                rc = rc < 0 ? rc : sbx_err_sys(err, e, "cgroup: cannot remove %s", paths[i]);
                break;
            }
            _cleanup_close_ int fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            int k = fd < 0 ? 0 : cg_read_pids(fd, pids, (int)(sizeof pids / sizeof pids[0]));
            for (int j = 0; j < k; j++)
                kill(pids[j], SIGKILL);
            sleep_ms(delay);
        }
    }
    return rc;
}

int sbx_cgroup_clone_fd(const struct sbx_cgroup *cg)
{
    if (!cg || cg->v2dir < 0 || cg->ndirs != 1)
        return -1;
    return cg->dirs[cg->v2dir].fd;
}

int sbx_cgroup_enter(struct sbx_cgroup *cg, pid_t pid, struct sbx_err *err)
{
    struct cg_host *host;
    int r = cg_host_get(&host, err);
    if (r < 0)
        return r;
    char buf[24], label[64];
    snprintf(buf, sizeof buf, "%d", (int)pid);
    /* Writing a pid into the cgroup it is already in (clone3 put it there)
     * is a no-op for the kernel, so no bookkeeping of what clone3 did. */
    for (int i = 0; i < cg->ndirs; i++) {
        const struct cg_dir *d = &cg->dirs[i];
        r = cg_write(d->fd, d->path, "cgroup.procs", buf, dir_label(host, d, label, sizeof label),
                     err);
        if (r < 0)
            return r;
    }
    return 0;
}

int sbx_cgroup_open_procs(const struct sbx_cgroup *cg, int *fds, struct sbx_err *err)
{
    _Static_assert(CG_MAX_HIER <= SBX_CG_MAX_DIRS, "room for every hierarchy");
    for (int i = 0; i < cg->ndirs; i++) {
        fds[i] = openat(cg->dirs[i].fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            int r =
                sbx_err_sys(err, errno, "cgroup: %s/cgroup.procs: cannot open", cg->dirs[i].path);
            while (i-- > 0)
                close(fds[i]);
            return r;
        }
    }
    return cg->ndirs;
}

int sbx_cgroup_enter_fds(int *fds, int n, const char *pid, struct sbx_err *err)
{
    int r = 0;
    size_t len = strlen(pid);
    for (int i = 0; i < n; i++) {
        if (r == 0 && write(fds[i], pid, len) != (ssize_t)len)
            r = sbx_err_sys(err, errno, "cgroup: entering the job's cgroup (hierarchy %d of %d)",
                            i + 1, n);
        close(fds[i]);
        fds[i] = -1;
    }
    return r;
}

static const struct cg_dir *ctrl_dir(const struct sbx_cgroup *cg, int c)
{
    return cg->by_ctrl[c] < 0 ? NULL : &cg->dirs[cg->by_ctrl[c]];
}

int sbx_cgroup_memory_current(struct sbx_cgroup *cg, uint64_t *bytes)
{
    struct cg_host *host;
    int r = cg_host_get(&host, NULL);
    if (r < 0)
        return r;
    int i = cg->by_ctrl[CG_MEMORY];
    if (i < 0)
        return -ENOTSUP;
    return cg_read_kept_u64(cg, i, host->hier[cg->dirs[i].hier].v2 ? "memory.current"
                                                                    : "memory.usage_in_bytes",
                            bytes);
}

int sbx_cgroup_pids_current(struct sbx_cgroup *cg, uint64_t *n)
{
    int i = cg->by_ctrl[CG_PIDS];
    return i >= 0 ? cg_read_kept_u64(cg, i, "pids.current", n) : -ENOTSUP;
}

void sbx_cgroup_stats_prepare(struct sbx_cgroup *cg)
{
    struct sbx_cg_stats st;
    uint64_t v;
    cg->keep_files = true;
    (void)sbx_cgroup_stats(cg, &st);
    (void)sbx_cgroup_memory_current(cg, &v);
    (void)sbx_cgroup_pids_current(cg, &v);
}

int sbx_cgroup_cpu_ns(struct sbx_cgroup *cg, uint64_t *ns)
{
    struct cg_host *host;
    int r = cg_host_get(&host, NULL);
    if (r < 0)
        return r;
    const struct cg_dir *d = ctrl_dir(cg, CG_CPUACCT);
    if (!d)
        return -ENOTSUP;
    bool v2 = host->hier[d->hier].v2;
    if (cg->usage_fd < 0) {
        cg->usage_fd = openat(d->fd, v2 ? "cpu.stat" : "cpuacct.usage", O_RDONLY | O_CLOEXEC);
        if (cg->usage_fd < 0)
            return -errno;
    }
    char buf[512];
    ssize_t n = pread(cg->usage_fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    if (!v2) {
        *ns = strtoull(buf, NULL, 10);
        return 0;
    }
    uint64_t us;
    r = cg_keyed_u64(buf, "usage_usec", &us);
    if (r == 0)
        *ns = us * 1000;
    return r;
}

int sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_cg_stats *st)
{
    struct cg_host *host;
    int r = cg_host_get(&host, NULL);
    if (r < 0)
        return r;
    memset(st, 0, sizeof *st);
    cg_v1_backend.stats(cg, host, st);
    cg_v2_backend.stats(cg, host, st);
    return 0;
}

static int freeze_dir(const struct cg_host *host, const struct cg_dir *d, bool frozen,
                      int timeout_ms, struct sbx_err *err)
{
    return cg_backend_of(&host->hier[d->hier])->freeze(d, frozen, timeout_ms, err);
}

int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err *err)
{
    struct cg_host *host;
    int r = cg_host_get(&host, err);
    if (r < 0)
        return r;
    const struct cg_dir *d = ctrl_dir(cg, CG_FREEZER);
    if (!d)
        return sbx_err_set(err, ENOTSUP, "cgroup freezer: not available for job %s", cg->name);
    return freeze_dir(host, d, frozen, 5000, err);
}

/* SIGKILLs what cgroup.procs lists, with the job frozen so that nothing
 * forks in between and no listed pid can exit and be reused; repeats until
 * every directory is empty. */
static int kill_all(struct sbx_cgroup *cg, const struct cg_host *host, struct sbx_err *err)
{
    if (cg->v2dir >= 0)
        (void)cg_v2_backend.kill(&cg->dirs[cg->v2dir], KILL_TIMEOUT_MS);
    const struct cg_dir *fz = ctrl_dir(cg, CG_FREEZER);
    uint64_t deadline = cg_now_ns() + (uint64_t)KILL_TIMEOUT_MS * 1000000u, last_kill = 0;
    pid_t pids[1024];
    for (unsigned delay = 1;; delay = delay < 10 ? delay + 1 : 10) {
        int total = 0;
        for (int i = 0; i < cg->ndirs; i++) {
            int n = cg_read_pids(cg->dirs[i].fd, pids, 1);
            total += n > 0 ? n : 0;
        }
        if (total == 0)
            return 0;
        uint64_t now = cg_now_ns();
        if (now > deadline)
            return sbx_err_set(err, EBUSY, "cgroup: processes of job %s survive SIGKILL for %d ms",
                               cg->name, KILL_TIMEOUT_MS);
        /* Dying processes stay listed for a moment: give them time before
         * freezing and killing again. */
        if (now - last_kill > 20000000u) {
            if (fz)
                (void)freeze_dir(host, fz, true, 100, NULL);
            for (int i = 0; i < cg->ndirs; i++) {
                int n = cg_read_pids(cg->dirs[i].fd, pids, (int)(sizeof pids / sizeof pids[0]));
                for (int k = 0; k < n; k++)
                    kill(pids[k], SIGKILL);
            }
            if (fz)
                (void)freeze_dir(host, fz, false, 0, NULL);
            last_kill = cg_now_ns();
        }
        sleep_ms(delay);
    }
}

/* Removes child cgroups the job may have made (only with delegation). */
static void remove_children(int fd)
{
    int dfd = dup(fd);
    if (dfd < 0)
        return;
    _cleanup_closedir_ DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        _cleanup_close_ int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sub >= 0)
            remove_children(sub);
        (void)unlinkat(fd, e->d_name, AT_REMOVEDIR);
    }
}

/* The directory a job's dir i lives in: the hierarchy's parent of job
 * cgroups, or the job's own for a child cgroup. */
static int dir_parent_fd(const struct cg_host *host, const struct sbx_cgroup *cg, int i)
{
    return cg->parent ? cg->parent->dirs[i].fd : host->hier[cg->dirs[i].hier].parent_fd;
}

static int remove_dir(const struct cg_host *host, const struct sbx_cgroup *cg, int i,
                      struct sbx_err *err)
{
    const struct cg_dir *d = &cg->dirs[i];
    int pfd = dir_parent_fd(host, cg, i);
    uint64_t deadline = cg_now_ns() + (uint64_t)RMDIR_TIMEOUT_MS * 1000000u;
    for (unsigned delay = 1;; delay = delay < 20 ? delay * 2 : 20) {
        if (unlinkat(pfd, cg->name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        int e = errno;
        if (e != EBUSY || cg_now_ns() > deadline)
            return sbx_err_sys(err, e, "cgroup: cannot remove %s", d->path);
        if (delay == 1)
            remove_children(d->fd);
        sleep_ms(delay);
    }
}

int sbx_cgroup_destroy(struct sbx_cgroup *cg, struct sbx_err *err)
{
    if (!cg)
        return 0;
    cg_kept_close(cg);
    struct cg_host *host;
    int rc = cg_host_get(&host, err);
    if (rc == 0) {
        /* The common case: the job's PID 1 is reaped, and with it (the PID
         * namespace ends with it) every process of the job, so every
         * directory is empty and goes at the first try. rmdir fails with
         * EBUSY while anything is left: then kill and retry. */
        bool busy = false;
        for (int i = 0; i < cg->ndirs; i++)
            if (unlinkat(dir_parent_fd(host, cg, i), cg->name, AT_REMOVEDIR) < 0 &&
                errno != ENOENT)
                busy = true;
        if (!busy)
            goto closed;
        struct sbx_err e2;
        rc = kill_all(cg, host, err);
        for (int i = 0; i < cg->ndirs; i++) {
            int r = remove_dir(host, cg, i, rc < 0 ? &e2 : err);
            rc = rc < 0 ? rc : r;
        }
    }
closed:
    for (int i = 0; i < cg->ndirs; i++)
        sbx_closep(&cg->dirs[i].fd);
    sbx_closep(&cg->usage_fd);
    free(cg);
    return rc;
}

const char *sbx_cgroup_path(const struct sbx_cgroup *cg, const char *controller, bool *v2)
{
    struct cg_host *host;
    if (!cg || cg_host_get(&host, NULL) < 0)
        return NULL;
    for (int c = 0; c < CG_NCTRL; c++) {
        if (strcmp(controller, cg_ctrl_name[c]) != 0)
            continue;
        const struct cg_dir *d = ctrl_dir(cg, c);
        if (!d)
            return NULL;
        if (v2)
            *v2 = host->hier[d->hier].v2;
        return d->path;
    }
    return NULL;
}

/* Opens an existing parent (never creates it) for stale cleanup. */
static int open_parent(struct cg_hier *h)
{
    cg_lock();
    if (h->parent_fd < 0)
        h->parent_fd = open(h->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = h->parent_fd;
    cg_unlock();
    return fd;
}

/* A handle on an existing job's directories in every hierarchy. */
static struct sbx_cgroup *open_existing(struct cg_host *host, const char *name)
{
    struct sbx_cgroup *cg = cg_alloc(name);
    if (!cg)
        return NULL;
    for (int i = 0; i < host->nhier; i++) {
        int pfd = open_parent(&host->hier[i]);
        if (pfd < 0)
            continue;
        struct cg_dir *d = &cg->dirs[cg->ndirs];
        d->hier = i;
        d->fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->fd < 0)
            continue;
        if (snprintf(d->path, sizeof d->path, "%s/%s", host->hier[i].parent, name) >=
            (int)sizeof d->path) {
            close(d->fd);
            continue;
        }
        if (host->hier[i].v2)
            cg->v2dir = cg->ndirs;
        for (int c = 0; c < CG_NCTRL; c++)
            if (host->by_ctrl[c] == i)
                cg->by_ctrl[c] = cg->ndirs;
        cg->ndirs++;
    }
    return cg;
}

static int cleanup_parent(struct cg_host *host, struct cg_hier *h, struct sbx_err *err)
{
    int pfd = open_parent(h);
    if (pfd < 0)
        return 0;
    int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_closedir_ DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
    if (!dir) {
        sbx_closep(&dfd);
        return 0;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, "launcher-", 9) == 0) {
            /* Only empty ones go: whatever a dead launcher left running
             * there is not a job of ours to kill. */
            if (cg_owner_gone(host, e->d_name + 9))
                (void)unlinkat(pfd, e->d_name, AT_REMOVEDIR);
            continue;
        }
        if (strncmp(e->d_name, "job-", 4) != 0 || !cg_owner_gone(host, e->d_name + 4))
            continue;
        struct sbx_cgroup *cg = open_existing(host, e->d_name);
        int r = cg ? sbx_cgroup_destroy(cg, rc < 0 ? NULL : err) : -ENOMEM;
        rc = rc < 0 ? rc : r;
    }
    return rc;
}

void sbx_cgroup_cleanup_stale_once(void)
{
    if (!__atomic_exchange_n(&g_stale_done, 1, __ATOMIC_ACQ_REL))
        (void)sbx_cgroup_cleanup_stale(NULL);
}

int sbx_cgroup_cleanup_stale(struct sbx_err *err)
{
    struct cg_host *host;
    int rc = cg_host_get(&host, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < host->nhier; i++) {
        int r = cleanup_parent(host, &host->hier[i], rc < 0 ? NULL : err);
        rc = rc < 0 ? rc : r;
    }
    return rc;
}

int sbx_cgroup_layout(struct sbx_cg_layout *out, struct sbx_err *err)
{
    memset(out, 0, sizeof *out);
    struct cg_host *host;
    int r = cg_host_get(&host, err);
    if (r < 0)
        return r;
    for (int c = 0; c < CG_NCTRL && c < SBX_CG_NCTRL; c++) {
        out->c[c].controller = cg_ctrl_name[c];
        int i = host->by_ctrl[c];
        if (i < 0)
            continue;
        out->c[c].version = host->hier[i].v2 ? 2 : 1;
        snprintf(out->c[c].own, sizeof out->c[c].own, "%s", host->hier[i].own);
        snprintf(out->c[c].parent, sizeof out->c[c].parent, "%s", host->hier[i].parent);
    }
    if (host->v2 >= 0) {
        out->v2_mounted = true;
        snprintf(out->v2_own, sizeof out->v2_own, "%s", host->hier[host->v2].own);
        snprintf(out->v2_parent, sizeof out->v2_parent, "%s", host->hier[host->v2].parent);
    }
    return 0;
}
