/* cgroup v2 backend: one directory in the unified tree. Controllers must be
 * enabled top-down through cgroup.subtree_control, and a non-root cgroup
 * that hands controllers on may hold no processes itself. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static unsigned parse_list(const char *buf)
{
    unsigned m = 0;
    static const int real[] = {CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUSET};
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        const char *n = cg_ctrl_name[real[i]];
        size_t len = strlen(n);
        for (const char *p = strstr(buf, n); p; p = strstr(p + 1, n))
            if ((p == buf || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
                m |= CG_BIT(real[i]);
    }
    return m;
}

static unsigned read_list(int dirfd, const char *file)
{
    char buf[256];
    return cg_read(dirfd, file, buf, sizeof buf) >= 0 ? parse_list(buf) : 0;
}

static void plus_list(unsigned m, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int c = 0; c < CG_NCTRL && n < size; c++)
        if (m & CG_BIT(c))
            n += (size_t)snprintf(buf + n, size - n, "%s+%s", n ? " " : "", cg_ctrl_name[c]);
}

/* Whether anything but us lives directly in `own`. */
static bool others_in(int own_fd)
{
    pid_t pids[64];
    int n = cg_read_pids(own_fd, pids, 64);
    for (int i = 0; i < n; i++)
        if (pids[i] != getpid())
            return true;
    return n < 0;
}

/* Like a delegated systemd service: the launcher's processes go to a leaf
 * so that its own cgroup may hand controllers down. Only this process, and
 * only into a cgroup that we make here. */
static int move_self(struct cg_hier *h, struct sbx_err *err)
{
    char tag[96], name[128];
    int r = cg_owner_tag(tag, sizeof tag);
    if (r < 0)
        return sbx_err_sys(err, -r, "cgroup v2: cannot read /proc/self/stat");
    snprintf(name, sizeof name, "launcher-%s", tag);
    if (mkdirat(h->parent_fd, name, 0755) < 0 && errno != EEXIST)
        return sbx_err_sys(err, errno, "cgroup v2: cannot create %s/%s", h->parent, name);
    _cleanup_close_ int fd = openat(h->parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_sys(err, errno, "cgroup v2: cannot open %s/%s", h->parent, name);
    char pid[24], path[PATH_MAX + 160];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(path, sizeof path, "%s/%s", h->parent, name);
    r = cg_write(fd, path, "cgroup.procs", pid, "v2 (moving the launcher into its leaf)", err);
    if (r == 0)
        h->launcher_moved = true;
    return r;
}

static int enable_in_own(struct cg_hier *h, unsigned missing, struct sbx_err *err)
{
    _cleanup_close_ int own = open(h->own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (own < 0)
        return sbx_err_sys(err, errno, "cgroup v2: cannot open %s", h->own);
    missing &= ~read_list(own, "cgroup.subtree_control");
    if (!missing)
        return 0;
    unsigned absent = missing & ~read_list(own, "cgroup.controllers");
    if (absent)
        return sbx_err_set(err, ENOTSUP,
                           "cgroup v2 %s: not delegated to the launcher's cgroup (absent from "
                           "%s/cgroup.controllers)",
                           cg_ctrl_name[__builtin_ctz(absent)], h->own);
    char plus[96];
    plus_list(missing, plus, sizeof plus);
    int r = cg_write(own, h->own, "cgroup.subtree_control", plus, "v2", err);
    if (r != -EBUSY || h->launcher_moved)
        return r;
    if (others_in(own))
        return sbx_err_set(err, EBUSY,
                           "cgroup v2: cannot enable %s in %s: other processes live there "
                           "(no-internal-process rule); give the launcher a cgroup of its own "
                           "(systemd: Delegate=yes) or set SBX_CGROUP_PARENT",
                           plus, h->own);
    r = move_self(h, err);
    if (r == 0)
        r = cg_write(own, h->own, "cgroup.subtree_control", plus, "v2", err);
    return r;
}

static int v2_prepare_parent(struct cg_host *host, struct cg_hier *h, unsigned need,
                             struct sbx_err *err)
{
    if (!h->prepared) {
        if (!host->env_parent) {
            if (mkdir(h->parent, 0755) < 0 && errno != EEXIST)
                return sbx_err_sys(err, errno, "cgroup v2: cannot create %s", h->parent);
            h->parent_ours = true;
        }
        if (h->parent_fd < 0)
            h->parent_fd = open(h->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->parent_fd < 0)
            return sbx_err_sys(err, errno, "cgroup v2: %s%s", h->parent,
                               host->env_parent ? " (SBX_CGROUP_PARENT)" : "");
        h->v2_enabled = read_list(h->parent_fd, "cgroup.subtree_control");
        h->prepared = true;
    }
    unsigned missing = need & ~h->v2_enabled;
    if (!missing)
        return 0;
    char plus[96];
    plus_list(missing, plus, sizeof plus);
    if (!h->parent_ours)
        return sbx_err_set(err, ENOTSUP,
                           "cgroup v2: %s/cgroup.subtree_control lacks %s (SBX_CGROUP_PARENT is "
                           "the operator's: enable them there)",
                           h->parent, plus);
    int r = enable_in_own(h, missing, err);
    if (r == 0)
        r = cg_write(h->parent_fd, h->parent, "cgroup.subtree_control", plus, "v2", err);
    if (r < 0)
        return r;
    h->v2_enabled |= missing;
    return 0;
}

static int v2_apply(const struct cg_hier *h, const struct cg_dir *d, unsigned ctrls,
                    const struct sbx_cg_limits *l, struct sbx_err *err)
{
    char v[64];
    int r = 0;
    if ((ctrls & CG_BIT(CG_MEMORY)) && l->memory) {
        snprintf(v, sizeof v, "%" PRIu64, l->memory);
        r = cg_write(d->fd, d->path, "memory.max", v, "memory", err);
        if (r == 0 && cg_file_exists(d->fd, "memory.swap.max"))
            r = cg_write(d->fd, d->path, "memory.swap.max", "0", "memory", err);
        else if (r == 0 && cg_swap_on())
            r = sbx_err_set(err, ENOTSUP,
                            "cgroup memory: %s/memory.swap.max is absent (no swap accounting) "
                            "while swap is on: cannot disable swap for the job",
                            d->path);
        /* One OOM kill takes the whole job: a half-killed job is useless. */
        if (r == 0)
            r = cg_write(d->fd, d->path, "memory.oom.group", "1", "memory", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_PIDS)) && l->pids) {
        snprintf(v, sizeof v, "%" PRIu32, l->pids);
        r = cg_write(d->fd, d->path, "pids.max", v, "pids", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPU)) && l->cpus > 0) {
        long long quota = (long long)(l->cpus * 100000 + 0.5);
        snprintf(v, sizeof v, "%lld 100000", quota < 1000 ? 1000 : quota);
        r = cg_write(d->fd, d->path, "cpu.max", v, "cpu", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPU)) && l->cpu_weight) {
        snprintf(v, sizeof v, "%" PRIu32, l->cpu_weight);
        r = cg_write(d->fd, d->path, "cpu.weight", v, "cpu", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPUSET)) && l->cpuset)
        r = cg_write(d->fd, d->path, "cpuset.cpus", l->cpuset, "cpuset", err);
    return r;
}

/* Waits until cgroup.events has "key want"; the kernel signals changes of
 * that file with POLLPRI. */
static int wait_event(const struct cg_dir *d, const char *key, uint64_t want, int timeout_ms)
{
    _cleanup_close_ int fd = openat(d->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint64_t deadline = cg_now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n < 0)
            return -errno;
        buf[n] = '\0';
        uint64_t v;
        if (cg_keyed_u64(buf, key, &v) == 0 && v == want)
            return 0;
        uint64_t now = cg_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLPRI};
        int left = (int)((deadline - now) / 1000000u) + 1;
        /* Short slices too: a change between pread and poll is not lost. */
        if (poll(&p, 1, left < 50 ? left : 50) < 0 && errno != EINTR)
            return -errno;
    }
}

static int v2_freeze(const struct cg_dir *d, bool frozen, int timeout_ms, struct sbx_err *err)
{
    int r = cg_write(d->fd, d->path, "cgroup.freeze", frozen ? "1" : "0", "v2 freezer", err);
    if (r < 0 || timeout_ms <= 0)
        return r;
    r = wait_event(d, "frozen", frozen ? 1 : 0, timeout_ms);
    if (r < 0)
        return sbx_err_sys(err, -r, "cgroup v2 freezer: %s/cgroup.events: not %s after %d ms",
                           d->path, frozen ? "frozen" : "thawed", timeout_ms);
    return 0;
}

static int v2_kill(const struct cg_dir *d, int timeout_ms)
{
    int r = cg_write(d->fd, d->path, "cgroup.kill", "1", "v2", NULL);
    if (r < 0)
        return r;
    return wait_event(d, "populated", 0, timeout_ms);
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=N" and a "full" line. */
static int pressure(struct sbx_cgroup *cg, int dir, const char *file, uint64_t *some,
                    uint64_t *full)
{
    char buf[256];
    if (cg_read_kept(cg, dir, file, buf, sizeof buf) <= 0)
        return -ENOENT;
    const char *s = strstr(buf, "some "), *f = strstr(buf, "full ");
    const char *st = s ? strstr(s, "total=") : NULL, *ft = f ? strstr(f, "total=") : NULL;
    if (!st)
        return -EINVAL;
    *some = strtoull(st + 6, NULL, 10);
    if (full && ft)
        *full = strtoull(ft + 6, NULL, 10);
    return 0;
}

static void v2_stats(struct sbx_cgroup *cg, const struct cg_host *host, struct sbx_cg_stats *st)
{
    char buf[1024];
    uint64_t v;
    int i = cg->by_ctrl[CG_CPUACCT];
    if (i >= 0 && host->hier[cg->dirs[i].hier].v2 &&
        cg_read_kept(cg, i, "cpu.stat", buf, sizeof buf) > 0) {
        if (cg_keyed_u64(buf, "usage_usec", &v) == 0)
            st->cpu_ns = v * 1000;
        if (cg_keyed_u64(buf, "user_usec", &v) == 0)
            st->user_ns = v * 1000;
        if (cg_keyed_u64(buf, "system_usec", &v) == 0)
            st->sys_ns = v * 1000;
    }
    i = cg->by_ctrl[CG_MEMORY];
    if (i >= 0 && host->hier[cg->dirs[i].hier].v2) {
        /* memory.peak is 5.19+; before that memory.current at the time of
         * asking is the best lower bound the kernel offers. */
        if (cg_read_kept_u64(cg, i, "memory.peak", &v) == 0 ||
            cg_read_kept_u64(cg, i, "memory.current", &v) == 0)
            st->memory_peak = v;
        if (cg_read_kept(cg, i, "memory.events", buf, sizeof buf) > 0 &&
            cg_keyed_u64(buf, "oom_kill", &v) == 0)
            st->oom_kills = (uint32_t)v;
    }
    if (cg->v2dir >= 0) {
        int d = cg->v2dir;
        st->have_pressure = pressure(cg, d, "cpu.pressure", &st->cpu_some_us, NULL) == 0;
        (void)pressure(cg, d, "memory.pressure", &st->memory_some_us, &st->memory_full_us);
        (void)pressure(cg, d, "io.pressure", &st->io_some_us, &st->io_full_us);
    }
}

/* A job's cgroup may enable controllers for its children while it holds no
 * process: a resident sandbox's PID 1 lives in a child of its own. */
static int v2_enable_children(const struct cg_dir *d, unsigned ctrls, struct sbx_err *err)
{
    char plus[96];
    plus_list(ctrls, plus, sizeof plus);
    return cg_write(d->fd, d->path, "cgroup.subtree_control", plus, "v2", err);
}

const struct cg_backend cg_v2_backend = {
    .prepare_parent = v2_prepare_parent,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .stats = v2_stats,
    .kill = v2_kill,
    .enable_children = v2_enable_children,
};
