/* cgroup v1 backend: one directory per mounted hierarchy (memory, pids, cpu,
 * cpuacct, cpuset, freezer; some hosts co-mount cpu,cpuacct). */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

/* A new v1 cpuset cgroup starts with empty cpus and mems and takes no task
 * until both are set; copy them from `from` when `to` has none. */
static int fill_cpuset(int to_fd, const char *to_path, int from_fd, const char *file,
                       struct sbx_err *err)
{
    char cur[1024], val[1024];
    ssize_t n = cg_read(to_fd, file, cur, sizeof cur);
    if (n < 0)
        return sbx_err_sys(err, (int)-n, "cgroup cpuset: cannot read %s/%s", to_path, file);
    if (cur[0] != '\n' && cur[0] != '\0')
        return 0;
    n = cg_read(from_fd, file, val, sizeof val);
    if (n < 0)
        return sbx_err_sys(err, (int)-n, "cgroup cpuset: cannot read the parent's %s", file);
    return cg_write(to_fd, to_path, file, val, "cpuset", err);
}

static int prepare_cpuset(struct cg_host *host, struct cg_hier *h, struct sbx_err *err)
{
    char buf[16];
    if (host->env_parent) {
        /* The operator's parent: read how it behaves, change nothing. */
        h->clone_children =
            cg_read(h->parent_fd, "cgroup.clone_children", buf, sizeof buf) > 0 && buf[0] == '1';
        return 0;
    }
    _cleanup_close_ int own = open(h->own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (own < 0)
        return sbx_err_sys(err, errno, "cgroup cpuset: cannot open %s", h->own);
    int r = fill_cpuset(h->parent_fd, h->parent, own, "cpuset.cpus", err);
    if (r == 0)
        r = fill_cpuset(h->parent_fd, h->parent, own, "cpuset.mems", err);
    if (r < 0)
        return r;
    /* Our own `sbx` directory: let mkdir copy cpus and mems into each job,
     * which saves two writes per job. */
    if (cg_read(h->parent_fd, "cgroup.clone_children", buf, sizeof buf) <= 0 || buf[0] != '1') {
        r = cg_write(h->parent_fd, h->parent, "cgroup.clone_children", "1", "cpuset", err);
        if (r < 0)
            return r;
    }
    h->clone_children = true;
    return 0;
}

static int v1_prepare_parent(struct cg_host *host, struct cg_hier *h, unsigned need,
                             struct sbx_err *err)
{
    if (h->prepared)
        return 0;
    const char *what = cg_ctrl_name[__builtin_ctz(h->ctrls)];
    if (!host->env_parent) {
        if (mkdir(h->parent, 0755) < 0 && errno != EEXIST)
            return sbx_err_sys(err, errno, "cgroup %s: cannot create %s", what, h->parent);
        h->parent_ours = true;
    }
    if (h->parent_fd < 0)
        h->parent_fd = open(h->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h->parent_fd < 0)
        return sbx_err_sys(err, errno, "cgroup %s: %s%s", what, h->parent,
                           host->env_parent ? " (SBX_CGROUP_PARENT)" : "");
    if (h->ctrls & CG_BIT(CG_CPUSET)) {
        int r = prepare_cpuset(host, h, err);
        if (r < 0)
            return r;
    }
    h->prepared = true;
    return 0;
}

/* systemd's conversion: weight 100 (the default) is 1024 shares. */
static unsigned long weight_to_shares(uint32_t w)
{
    unsigned long s = (unsigned long)w * 1024 / 100;
    return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

static int apply_memory(const struct cg_dir *d, uint64_t bytes, struct sbx_err *err)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRIu64, bytes);
    /* memsw may never be below the memory limit: raising a limit already
     * set (sbx-oci update) writes memsw first. */
    uint64_t cur = 0;
    bool memsw = cg_file_exists(d->fd, "memory.memsw.limit_in_bytes");
    if (memsw && cg_read_u64(d->fd, "memory.limit_in_bytes", &cur) == 0 && bytes > cur) {
        int r = cg_write(d->fd, d->path, "memory.memsw.limit_in_bytes", v, "memory", err);
        if (r < 0)
            return r;
    }
    int r = cg_write(d->fd, d->path, "memory.limit_in_bytes", v, "memory", err);
    if (r < 0)
        return r;
    /* v1 charges a socket's buffers to its memcg only once a TCP limit is
     * set there (v2 always does): without it a job held the host's TCP
     * memory, shared by every socket, far past its memory limit. Kernels
     * built without the v1 kmem files have no such counter to set. */
    if (cg_file_exists(d->fd, "memory.kmem.tcp.limit_in_bytes")) {
        r = cg_write(d->fd, d->path, "memory.kmem.tcp.limit_in_bytes", v, "memory", err);
        if (r < 0)
            return r;
    }
    /* memsw is memory+swap: equal to the memory limit means no swap. It must
     * be written after memory.limit_in_bytes (it may never be below it). */
    if (memsw)
        return cg_write(d->fd, d->path, "memory.memsw.limit_in_bytes", v, "memory", err);
    /* Swap accounting is off (swapaccount=0): no hard swap limit exists.
     * swappiness 0 keeps the memcg from swapping anonymous memory. */
    if (!cg_swap_on())
        return 0;
    r = cg_write(d->fd, d->path, "memory.swappiness", "0", "memory", err);
    if (r < 0)
        return sbx_err_wrap(err, "swap is on and memory.memsw.* is absent (swapaccount=0)");
    return 0;
}

static int v1_apply(const struct cg_hier *h, const struct cg_dir *d, unsigned ctrls,
                    const struct sbx_cg_limits *l, struct sbx_err *err)
{
    char v[64];
    int r = 0;
    if ((ctrls & CG_BIT(CG_MEMORY)) && l->memory)
        r = apply_memory(d, l->memory, err);
    if (r == 0 && (ctrls & CG_BIT(CG_PIDS)) && l->pids) {
        snprintf(v, sizeof v, "%" PRIu32, l->pids);
        r = cg_write(d->fd, d->path, "pids.max", v, "pids", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPU)) && l->cpus > 0) {
        long long quota = (long long)(l->cpus * 100000 + 0.5);
        snprintf(v, sizeof v, "%lld", quota < 1000 ? 1000 : quota);
        r = cg_write(d->fd, d->path, "cpu.cfs_period_us", "100000", "cpu", err);
        if (r == 0)
            r = cg_write(d->fd, d->path, "cpu.cfs_quota_us", v, "cpu", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPU)) && l->cpu_weight) {
        snprintf(v, sizeof v, "%lu", weight_to_shares(l->cpu_weight));
        r = cg_write(d->fd, d->path, "cpu.shares", v, "cpu", err);
    }
    if (r == 0 && (ctrls & CG_BIT(CG_CPUSET)) && l->cpuset) {
        if (!h->clone_children)
            r = fill_cpuset(d->fd, d->path, h->parent_fd, "cpuset.mems", err);
        if (r == 0)
            r = cg_write(d->fd, d->path, "cpuset.cpus", l->cpuset, "cpuset", err);
    }
    return r;
}

static int v1_freeze(const struct cg_dir *d, bool frozen, int timeout_ms, struct sbx_err *err)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    int r = cg_write(d->fd, d->path, "freezer.state", want, "freezer", err);
    if (r < 0 || !frozen)
        return r;
    /* FREEZING until every task has stopped. A freeze can stay incomplete
     * (a task busy in the kernel when it was asked, as during a job's
     * setup): the kernel's documentation says to write FROZEN again, which
     * asks every task not yet frozen once more; done every 100 ms. */
    uint64_t now = cg_now_ns(), deadline = now + (uint64_t)timeout_ms * 1000000u;
    uint64_t again = now + 100000000u;
    for (;;) {
        char buf[32];
        if (cg_read(d->fd, "freezer.state", buf, sizeof buf) > 0 && strncmp(buf, want, 6) == 0)
            return 0;
        now = cg_now_ns();
        if (now >= deadline)
            return sbx_err_set(err, ETIMEDOUT,
                               "cgroup freezer: %s/freezer.state not FROZEN after %d ms", d->path,
                               timeout_ms);
        if (now >= again) {
            r = cg_write(d->fd, d->path, "freezer.state", want, "freezer", err);
            if (r < 0)
                return r;
            again = now + 100000000u;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void cpu_stats(struct sbx_cgroup *cg, int i, struct sbx_cg_stats *st)
{
    uint64_t v;
    if (cg_read_kept_u64(cg, i, "cpuacct.usage", &v) == 0)
        st->cpu_ns = v;
    uint64_t u, s;
    if (cg_read_kept_u64(cg, i, "cpuacct.usage_user", &u) == 0 &&
        cg_read_kept_u64(cg, i, "cpuacct.usage_sys", &s) == 0) {
        st->user_ns = u;
        st->sys_ns = s;
        return;
    }
    /* Older kernels: only cpuacct.stat, in USER_HZ ticks. */
    char buf[256];
    long hz = sysconf(_SC_CLK_TCK);
    if (hz > 0 && cg_read_kept(cg, i, "cpuacct.stat", buf, sizeof buf) > 0 &&
        cg_keyed_u64(buf, "user", &u) == 0 && cg_keyed_u64(buf, "system", &s) == 0) {
        st->user_ns = u * (1000000000u / (uint64_t)hz);
        st->sys_ns = s * (1000000000u / (uint64_t)hz);
    }
}

static void v1_stats(struct sbx_cgroup *cg, const struct cg_host *host, struct sbx_cg_stats *st)
{
    int i = cg->by_ctrl[CG_CPUACCT];
    if (i >= 0 && !host->hier[cg->dirs[i].hier].v2)
        cpu_stats(cg, i, st);
    i = cg->by_ctrl[CG_MEMORY];
    if (i >= 0 && !host->hier[cg->dirs[i].hier].v2) {
        uint64_t v;
        char buf[512];
        if (cg_read_kept_u64(cg, i, "memory.max_usage_in_bytes", &v) == 0)
            st->memory_peak = v;
        /* The oom_kill field appeared in kernel 4.13. */
        if (cg_read_kept(cg, i, "memory.oom_control", buf, sizeof buf) > 0 &&
            cg_keyed_u64(buf, "oom_kill", &v) == 0)
            st->oom_kills = (uint32_t)v;
    }
}

const struct cg_backend cg_v1_backend = {
    .prepare_parent = v1_prepare_parent,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .stats = v1_stats,
    .kill = NULL,
};
