/* The child side of a job, in the order the steps happen:
 *
 *   0. unshare the network namespace; on v1 under sandboxd, move into the
 *      job's cgroups (both while the launcher works on step 1)
 *   1. wait for the launcher to write the id maps (and pass mount sources)
 *   2. become root of the new user namespace
 *   3. an engine's sysctls (sbx-oci); build the root filesystem and pivot
 *      into it (mounts.c), then an engine's masked and read-only paths
 *   4. hostname, loopback; under sbx run on v1, wait until the launcher
 *      has moved us into the job's cgroups; new cgroup namespace, time
 *      namespace offsets
 *   5. fork the job's process with CLONE_VFORK: it drops everything
 *      (rlimits, ids, capabilities, no_new_privs, seccomp) and execs
 *   6. stay behind as PID 1 (init.c): reap, forward signals, report.
 *
 * Any failure is sent to the launcher as "step: reason" and ends the child
 * before the job's command ever runs: setup fails closed. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "common/cleanup.h"
#include "common/stdfds.h"
#include "executor/caps.h"
#include "init.h"
#include "proctitle.h"
#include "executor/mounts.h"
#include "executor/net.h"
#include "executor/launcher/sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void receive_sources(const struct sbx_plan *plan, int *fds)
{
    size_t got = 0;
    bool go = false;
    while (!go) {
        struct sbx_msg m;
        size_t n = SBX_MSG_MAX_FDS;
        size_t room = plan->n_sources - got;
        int tmp[SBX_MSG_MAX_FDS];
        int r = sbx_msg_recv(plan->sock, &m, tmp, &n);
        if (r < 0)
            _exit(125); /* the launcher is gone: nothing to report to */
        if ((m.type != SBX_MSG_GO && m.type != SBX_MSG_FDS) || n > room)
            sbx_child_fail(plan->sock, EPROTO, "setup: unexpected message from the launcher");
        memcpy(fds + got, tmp, n * sizeof(int));
        got += n;
        go = m.type == SBX_MSG_GO;
    }
    if (got != plan->n_sources)
        sbx_child_fail(plan->sock, EPROTO, "setup: expected %zu mount sources, got %zu",
                       plan->n_sources, got);
}

static void write_time_offsets(const struct sbx_plan *plan)
{
    const struct sbx_spec *s = plan->spec;
    /* The time namespace always exists; offsets must be written before any
     * process enters it, so it is unshared here and entered by the job. */
    if (unshare(CLONE_NEWTIME) < 0)
        sbx_child_fail(plan->sock, errno, "time namespace: unshare: %s", strerror(errno));
    if (!s->monotonic_offset_ns && !s->boottime_offset_ns)
        return;
    char buf[128];
    int64_t mo = s->monotonic_offset_ns, bo = s->boottime_offset_ns;
    /* Nanoseconds must be in [0, 1e9): floor the seconds for negatives. */
    int64_t ms = mo / 1000000000, mn = mo % 1000000000;
    if (mn < 0) {
        ms -= 1;
        mn += 1000000000;
    }
    int64_t bs = bo / 1000000000, bn = bo % 1000000000;
    if (bn < 0) {
        bs -= 1;
        bn += 1000000000;
    }
    int len = snprintf(buf, sizeof buf, "monotonic %lld %lld\nboottime %lld %lld\n", (long long)ms,
                       (long long)mn, (long long)bs, (long long)bn);
    _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, (size_t)len) != len)
        sbx_child_fail(plan->sock, errno, "time namespace: writing offsets: %s", strerror(errno));
}

/* An engine's sysctls, all of namespaces this job owns (the caller checked
 * the keys): written through the launcher's /proc, still mounted here, whose
 * sysctl files are those of the writer's namespaces; the job's own /proc
 * has /proc/sys read-only. The UTS ones are not sysctl files a namespace's
 * root may write: they have their own calls. */
static void apply_sysctls(const struct sbx_plan *plan)
{
    for (size_t i = 0; plan->sysctls && plan->sysctls[i]; i++) {
        const char *kv = plan->sysctls[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv || (size_t)(eq - kv) > 200)
            sbx_child_fail(plan->sock, EINVAL, "linux.sysctl: %s: not key=value", kv);
        const char *val = eq + 1;
        char key[256], path[300];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        if (strcmp(key, "kernel.domainname") == 0) {
            if (setdomainname(val, strlen(val)) < 0)
                sbx_child_fail(plan->sock, errno, "linux.sysctl.%s: %s", key, strerror(errno));
            continue;
        }
        if (strcmp(key, "kernel.hostname") == 0)
            continue; /* the caller made it the hostname */
        int n = snprintf(path, sizeof path, "/proc/sys/%s", key);
        for (char *c = path + 10; c < path + n; c++)
            if (*c == '.')
                *c = '/';
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t len = strlen(val);
        if (fd < 0 || write(fd, val, len) != (ssize_t)len)
            sbx_child_fail(plan->sock, errno, "linux.sysctl.%s: %s", key, strerror(errno));
    }
}

static void wait_cgroup(const struct sbx_plan *plan)
{
    struct sbx_msg m;
    size_t n = 0;
    if (sbx_msg_recv(plan->sock, &m, NULL, &n) < 0)
        _exit(125); /* the launcher is gone: nothing to report to */
    if (m.type != SBX_MSG_CGROUP_READY || n)
        sbx_child_fail(plan->sock, EPROTO, "setup: unexpected message from the launcher");
}

/* The child starts with a copy of the launcher's whole fd table. In a
 * long-lived launcher (sandboxd) that holds other clients' sockets and other
 * jobs' stdio: PID 1 keeping them would delay the EOF their readers wait
 * for, for as long as this job runs. Keep only what the job needs. */
static void close_launcher_fds(const struct sbx_plan *plan)
{
    int keep[10 + SBX_CG_MAX_DIRS] = {0, 1, 2, plan->sock, plan->stdio[0], plan->stdio[1],
                                      plan->stdio[2], plan->lock_fd, plan->start_fd,
                                      plan->console_fd};
    int n = 10;
    for (int i = 0; i < plan->n_cg_procs; i++)
        keep[n++] = plan->cg_procs[i];
    sbx_close_all_but(keep, n);
}

__attribute__((noreturn)) void sbx_child_main(const struct sbx_plan *plan)
{
    struct sbx_err err = {0};
    close_launcher_fds(plan);
    const struct sbx_spec *spec = plan->spec;
    /* Found now, while the launcher writes our id maps; used last. */
    int pr = sbx_proctitle_prepare();
    if (pr < 0)
        sbx_child_fail(plan->sock, -pr, "setup: finding the launcher's command line: %s",
                       strerror(-pr));

    /* The two costliest namespace steps are ours, not the launcher's, so
     * that they run while it writes our id maps and opens the mount sources
     * (and, in sandboxd, starts the next job). A network namespace made here
     * belongs to our user namespace, exactly as one made by clone3 would. */
    /* Before the cgroups: the namespace's kernel memory is charged where
     * clone3 charged it, the launcher's cgroup, the same in both ways of
     * entering them, so that a job's memory figures do not depend on which
     * way was taken. */
    if (!plan->joined_netns && unshare(CLONE_NEWNET) < 0)
        sbx_child_fail(plan->sock, errno, "network namespace: unshare: %s", strerror(errno));
    /* Into the job's cgroups where clone3 could not put us (v1), when the
     * launcher is a service that must not wait: through cgroup.procs files
     * it opened (the kernel checks a migration against the opener's rights,
     * not the writer's). A v1 migration may wait for an RCU grace period
     * (cgroup_threadgroup_rwsem); this way that wait is this job's alone. */
    int cg_fds[SBX_CG_MAX_DIRS];
    memcpy(cg_fds, plan->cg_procs, sizeof cg_fds);
    if (plan->n_cg_procs && sbx_cgroup_enter_fds(cg_fds, plan->n_cg_procs, "0", &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);


    /* Rootless, the launcher cannot open the sources (open_tree needs
     * privilege over its mount namespace): we do, once we are root here. */
    size_t n_sources = plan->idmap.rootless ? sbx_mount_sources_count(spec) : plan->n_sources;
    int *fds = n_sources ? calloc(n_sources, sizeof(int)) : NULL;
    if (n_sources && !fds)
        sbx_child_fail(plan->sock, ENOMEM, "setup: out of memory");
    receive_sources(plan, fds);

    if (sbx_userns_become_root(&plan->idmap, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    /* If the launcher dies, so does the job: PID 1 dying takes the whole PID
     * namespace with it. Armed only now because changing credentials clears
     * it; a launcher that died before shows as a hung-up socket. A detached
     * job is meant to outlive its launcher (sbx-oci create exits). */
    if (!plan->detached && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        sbx_child_fail(plan->sock, errno, "setup: PR_SET_PDEATHSIG: %s", strerror(errno));
    /* Dumpable until the time namespace offsets are written: writing
     * /proc/self/timens_offsets needs /proc/self to be ours, and both a
     * non-dumpable launcher (sbx as root) and the id change just made leave
     * us non-dumpable. */
    prctl(PR_SET_DUMPABLE, 1);
    struct pollfd hup = {.fd = plan->sock, .events = 0};
    if (poll(&hup, 1, 0) > 0 && (hup.revents & (POLLHUP | POLLERR)))
        _exit(125);
    if (plan->idmap.rootless && n_sources) {
        if (sbx_mount_sources_open(spec, -1, fds, &err) < 0)
            sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    }
    apply_sysctls(plan);
    int upper_fd = -1;
    if (sbx_mounts_setup(spec, fds, plan->resident, &upper_fd, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    free(fds);
    if ((plan->masked_paths || plan->readonly_paths) &&
        sbx_mounts_mask(plan->masked_paths, plan->readonly_paths, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    /* Last, and not recursive: the mounts below the root (/tmp, /dev/shm,
     * an engine's volumes) keep their own flags, as with runc. */
    if (plan->readonly_root) {
        struct mount_attr ma = {.attr_set = MOUNT_ATTR_RDONLY};
        if (mount_setattr(AT_FDCWD, "/", 0, &ma, sizeof ma) < 0)
            sbx_child_fail(plan->sock, errno, "root.readonly: %s", strerror(errno));
    }

    /* A joined UTS namespace (a pod's) has the hostname its owner gave it,
     * which the job cannot change: it must be the one asked for. */
    if (plan->joined_uts) {
        char cur[256] = "";
        gethostname(cur, sizeof cur - 1);
        if (spec->policy->hostname && strcmp(cur, spec->hostname) != 0)
            sbx_child_fail(plan->sock, EPERM, "hostname: %s differs from the joined UTS "
                           "namespace's (%s)", spec->hostname, cur);
    } else if (sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
        sbx_child_fail(plan->sock, errno, "hostname: %s", strerror(errno));
    }
    if (spec->loopback && !plan->premade_netns && sbx_net_loopback_up(&err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    /* Or a launcher with nothing else to do (sbx run) moves us while we
     * build the root; nothing of the job runs before it says so. */
    if (plan->cgroup_later)
        wait_cgroup(plan);
    /* The job sees its cgroup as the root. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        sbx_child_fail(plan->sock, errno, "cgroup namespace: unshare: %s", strerror(errno));
    write_time_offsets(plan);
    /* The launcher's argv and environment are still in our memory (the
     * default rootfs path may have come from there, so only now). */
    sbx_proctitle_neutral();
    /* From here on nothing in the job may ptrace PID 1 or read its memory. */
    if (prctl(PR_SET_DUMPABLE, 0) < 0)
        sbx_child_fail(plan->sock, errno, "setup: PID 1 non-dumpable: %s", strerror(errno));

    sbx_init_run(plan, upper_fd);
}
