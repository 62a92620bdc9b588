/* `sbx doctor`: tells an operator whether this host can run jobs and how
 * well. Checks are grouped in small functions, each adding result lines;
 * probes that need new namespaces run in forked children. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/landlock.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "executor/cgroup/cgroup.h"
#include "executor/uidpool.h"
#include "image/image.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const char sbx_doctor_usage[] =
    "usage: sbx doctor [--json]\n"
    "\n"
    "Checks whether this host can run sbx jobs for the user running it (as root,\n"
    "or rootless for anyone else) and how well: cgroups (version\n"
    "per controller, delegation), namespaces, overlayfs in user namespaces,\n"
    "idmapped mounts, Landlock, seccomp, and what makes time measurements\n"
    "noisy. Each line is a verdict (ok / warn / FAIL) and, where something is\n"
    "wrong, the fix. Exit status: 0 if jobs can run, 1 if not.\n"
    "\n"
    "  --json   one JSON object: {\"can_run\": bool, \"checks\": [{\"name\",\n"
    "           \"verdict\", \"detail\", \"fix\"}...]}\n"
    "  --help   this text\n";

enum verdict { V_OK, V_WARN, V_FAIL };
static const char *const verdict_name[] = {"ok", "warn", "FAIL"};

struct check {
    enum verdict v;
    char name[40];
    char detail[640];
    char fix[320];
};

struct report {
    int n;
    struct check c[48];
};

__attribute__((format(printf, 5, 6))) static void add(struct report *r, enum verdict v,
                                                      const char *name, const char *fix,
                                                      const char *fmt, ...)
{
    if (r->n >= (int)(sizeof r->c / sizeof r->c[0]))
        return;
    struct check *c = &r->c[r->n++];
    c->v = v;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->fix, sizeof c->fix, "%s", v == V_OK || !fix ? "" : fix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

static int read_line(const char *path, char *buf, size_t size)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f || !fgets(buf, (int)size, f))
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* Runs fn in a child and returns its exit status (-1 if it died). */
static int in_child(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(fn(arg));
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- cgroups ---- */

struct cg_probe {
    int fd;
    unsigned long long us;
};

static int probe_job_cgroup(void *arg)
{
    struct cg_probe *p = arg;
    struct sbx_cg_limits l = {.memory = 64 << 20, .pids = 16, .cpus = 0.5};
    struct sbx_cgroup *cg;
    struct sbx_err err = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int r = sbx_cgroup_create("doctor", &l, &cg, &err);
    if (r == 0)
        r = sbx_cgroup_destroy(cg, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (r < 0) {
        if (write(p->fd, err.msg, strlen(err.msg)) < 0)
            return 2;
        return 1;
    }
    unsigned long long us = (unsigned long long)((b.tv_sec - a.tv_sec) * 1000000LL +
                                                 (b.tv_nsec - a.tv_nsec) / 1000);
    return dprintf(p->fd, "%llu", us) > 0 ? 0 : 2;
}

/* On v2, a launcher whose own (non-root) cgroup holds processes and has not
 * handed the controllers down yet moves itself into a leaf at its first job,
 * which a probe child cannot do while doctor sits in the same cgroup, and
 * which doctor itself must not do (nothing left behind). So judge it from
 * the files instead; true when a verdict was added. */
static bool v2_would_move(struct report *r, const struct sbx_cg_layout *lay)
{
    const char *env = getenv("SBX_CGROUP_PARENT");
    if (!lay->v2_mounted || (env && env[0] == '/'))
        return false;
    static const char *const real[] = {"memory", "pids", "cpu"};
    char path[4200], ctl[256] = "", sub[256] = "";
    snprintf(path, sizeof path, "%s/cgroup.type", lay->v2_own);
    if (access(path, F_OK) != 0) /* the root cgroup may hold processes */
        return false;
    snprintf(path, sizeof path, "%s/cgroup.controllers", lay->v2_own);
    read_line(path, ctl, sizeof ctl);
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", lay->v2_own);
    read_line(path, sub, sizeof sub);
    bool missing = false;
    for (int i = 0; i < SBX_CG_NCTRL; i++)
        for (size_t k = 0; k < sizeof real / sizeof real[0]; k++)
            if (lay->c[i].version == 2 && strcmp(lay->c[i].controller, real[k]) == 0 &&
                strstr(ctl, real[k]) && !strstr(sub, real[k]))
                missing = true;
    if (!missing)
        return false;
    snprintf(path, sizeof path, "%s/cgroup.procs", lay->v2_own);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    int pid, others = 0;
    while (f && fscanf(f, "%d", &pid) == 1)
        others += pid != getpid();
    if (others)
        add(r, V_FAIL, "cgroup delegation",
            "start sbx in a cgroup of its own (systemd-run --scope -p Delegate=yes sbx ..., or "
            "Delegate=yes in the service), or set SBX_CGROUP_PARENT to a delegated cgroup",
            "%d other process(es) live in %s: a launcher started there cannot hand the "
            "controllers down (no-internal-process rule)",
            others, lay->v2_own);
    else
        add(r, V_OK, "cgroup delegation", NULL,
            "%s is delegated and holds only this process: a launcher started here moves itself "
            "into %s/sbx/launcher-<pid> at its first job (not probed, to change nothing)",
            lay->v2_own, lay->v2_own);
    return true;
}

static void check_cgroups(struct report *r)
{
    struct sbx_cg_layout *lay = calloc(1, sizeof *lay);
    struct sbx_err err = {0};
    if (!lay || sbx_cgroup_layout(lay, &err) < 0) {
        add(r, V_FAIL, "cgroups", "mount the cgroup file systems (v2: mount -t cgroup2 none /sys/fs/cgroup)",
            "cannot detect the cgroup layout: %s", lay ? err.msg : "out of memory");
        free(lay);
        return;
    }
    static const struct {
        const char *what;
        enum verdict missing;
    } need[SBX_CG_NCTRL] = {
        {"--memory limits, memory peak and OOM reporting", V_FAIL},
        {"--pids limits (fork bombs)", V_FAIL},
        {"--cpus and --cpu-weight", V_WARN},
        {"--time-limit (CPU time of the whole job)", V_FAIL},
        {"--cpuset", V_WARN},
        {"pausing jobs and race-free kills on v1", V_WARN},
    };
    int versions = 0;
    for (int i = 0; i < SBX_CG_NCTRL; i++) {
        char name[40];
        snprintf(name, sizeof name, "cgroup %s", lay->c[i].controller);
        if (lay->c[i].version == 0) {
            add(r, need[i].missing, name,
                "mount its v1 hierarchy, or on v2 enable it in the parent's cgroup.subtree_control "
                "(systemd: Delegate=yes)",
                "not available: no %s", need[i].what);
            continue;
        }
        versions |= 1 << lay->c[i].version;
        add(r, V_OK, name, NULL, "v%d, jobs below %s", lay->c[i].version, lay->c[i].parent);
    }
    if (lay->v2_mounted)
        add(r, V_OK, "cgroup v2 tree", NULL, "mounted; launcher in %s%s", lay->v2_own,
            versions == (1 << 1) ? " (hybrid host: jobs also get a v2 cgroup for cgroup.kill and pressure)"
                                 : "");
    else
        add(r, V_WARN, "cgroup v2 tree", "mount cgroup2 (unified or hybrid layout)",
            "not mounted: no pressure (PSI) figures, no clone3 into a cgroup");
    bool judged = v2_would_move(r, lay);
    free(lay);
    if (judged)
        return;

    /* The real thing, in a child: a job cgroup with limits, made and
     * removed. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return;
    struct cg_probe pr = {.fd = p[1]};
    int rc = in_child(probe_job_cgroup, &pr);
    close(p[1]);
    char msg[600] = {0};
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    msg[n > 0 ? n : 0] = '\0';
    (void)sbx_cgroup_cleanup_stale(NULL); /* the probe's launcher leaf, if any */
    if (rc == 0)
        add(r, V_OK, "cgroup delegation", NULL,
            "a job cgroup with memory, pids and cpu limits was created and removed in %s us", msg);
    else
        add(r, V_FAIL, "cgroup delegation",
            "run sbx as root in a cgroup of its own (systemd-run --scope -p Delegate=yes, or "
            "Delegate=yes in the service), or set SBX_CGROUP_PARENT to a delegated cgroup",
            "cannot create a job cgroup: %s", msg[0] ? msg : "probe died");
}

/* ---- namespaces ---- */

static int probe_unshare(void *arg)
{
    return unshare((int)(long)arg) == 0 ? 0 : errno;
}

static void check_namespaces(struct report *r)
{
    static const struct {
        int flag;
        const char *name;
    } ns[] = {
        {CLONE_NEWUSER, "user"}, {CLONE_NEWPID, "pid"}, {CLONE_NEWNET, "network"},
        {CLONE_NEWNS, "mount"},  {CLONE_NEWUTS, "uts"}, {CLONE_NEWIPC, "ipc"},
        {CLONE_NEWCGROUP, "cgroup"},
    };
    char bad[200] = "";
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        /* With a user namespace, as a job gets them (and as non-root can). */
        int e = in_child(probe_unshare, (void *)(long)(CLONE_NEWUSER | ns[i].flag));
        if (e != 0) {
            size_t len = strlen(bad);
            snprintf(bad + len, sizeof bad - len, "%s%s (%s)", len ? ", " : "", ns[i].name,
                     e > 0 ? strerror(e) : "probe died");
        }
    }
    if (bad[0])
        add(r, V_FAIL, "namespaces",
            "use a kernel with CONFIG_USER_NS, PID_NS, NET_NS, UTS_NS, IPC_NS, CGROUPS; check "
            "user.max_*_namespaces sysctls",
            "cannot create: %s", bad);
    else
        add(r, V_OK, "namespaces", NULL, "user, pid, network, mount, uts, ipc, cgroup");

    int e = in_child(probe_unshare, (void *)(long)(CLONE_NEWUSER | CLONE_NEWTIME));
    if (e == 0)
        add(r, V_OK, "time namespace", NULL, "available (--time-offset)");
    else
        add(r, V_FAIL, "time namespace", "use Linux >= 5.6 with CONFIG_TIME_NS=y",
            "unshare(CLONE_NEWTIME): %s", e > 0 ? strerror(e) : "probe died");
}

static int probe_unpriv_userns(void *arg)
{
    (void)arg;
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
        return 200;
    return unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
}

static void check_unprivileged_userns(struct report *r)
{
    char buf[64];
    char notes[256] = "";
    if (read_line("/proc/sys/kernel/unprivileged_userns_clone", buf, sizeof buf) == 0 &&
        strcmp(buf, "0") == 0)
        snprintf(notes, sizeof notes, "kernel.unprivileged_userns_clone=0");
    if (read_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", buf, sizeof buf) == 0 &&
        strcmp(buf, "1") == 0)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%sAppArmor restricts them",
                 notes[0] ? ", " : "");
    long max = -1;
    if (read_line("/proc/sys/user/max_user_namespaces", buf, sizeof buf) == 0)
        max = atol(buf);
    int e = geteuid() == 0 ? in_child(probe_unpriv_userns, NULL) : in_child(probe_unshare, (void *)(long)CLONE_NEWUSER);
    if (e == 0 && max != 0)
        add(r, V_OK, "unprivileged userns", NULL, "allowed (user.max_user_namespaces=%ld)", max);
    else
        add(r, geteuid() == 0 ? V_WARN : V_FAIL, "unprivileged userns",
            "sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000 (only "
            "needed to run sbx without root)",
            "not available to unprivileged users%s%s (user.max_user_namespaces=%ld)",
            notes[0] ? ": " : "", notes, max);
}

/* A child in a new user (+mount) namespace whose maps the parent writes:
 * root inside is the unprivileged host uid/gid 65534, as in a job. */
struct userns_child {
    pid_t pid;
    int go;  /* write end: maps are written */
};

static int start_userns_child(struct userns_child *c, int flags, int (*fn)(void *), void *arg)
{
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(go, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return -errno;
    }
    c->pid = fork();
    if (c->pid == 0) {
        char x;
        close(ready[0]);
        close(go[1]);
        int e = unshare(CLONE_NEWUSER | flags) == 0 ? 0 : errno;
        if (write(ready[1], &e, sizeof e) != sizeof e || e || read(go[0], &x, 1) != 1)
            _exit(e ? e : 201);
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            _exit(202);
        _exit(fn(arg));
    }
    close(ready[1]);
    close(go[0]);
    int e = 0;
    if (c->pid < 0 || read(ready[0], &e, sizeof e) != sizeof e || e) {
        close(ready[0]);
        close(go[1]);
        if (c->pid > 0)
            waitpid(c->pid, NULL, 0);
        return -(e ? e : ECHILD);
    }
    close(ready[0]);
    /* As a job's would be: root's jobs map an unprivileged id, rootless
     * ones the caller's own (which needs setgroups denied first). */
    bool root = geteuid() == 0;
    char ids[2][32];
    snprintf(ids[0], sizeof ids[0], "0 %u 1", root ? 65534U : (unsigned)geteuid());
    snprintf(ids[1], sizeof ids[1], "0 %u 1", root ? 65534U : (unsigned)getegid());
    static const char *const files[] = {"setgroups", "uid_map", "gid_map"};
    const char *text[] = {"deny", ids[0], ids[1]};
    for (int i = root ? 1 : 0; i < 3 && !e; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/%s", (int)c->pid, files[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t len = strlen(text[i]);
        errno = 0;
        if (fd < 0 || write(fd, text[i], len) != (ssize_t)len)
            e = errno ? errno : EIO;
        if (fd >= 0)
            close(fd);
    }
    c->go = go[1];
    return -e;
}

static int finish_userns_child(struct userns_child *c, bool kill_it)
{
    if (kill_it)
        kill(c->pid, SIGKILL);
    else if (write(c->go, "g", 1) != 1)
        kill(c->pid, SIGKILL);
    close(c->go);
    int st;
    if (waitpid(c->pid, &st, 0) != c->pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int probe_overlay(void *arg)
{
    const char *dir = arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0)
        return 100 + errno;
    char p[4][300];
    static const char *const sub[] = {"l", "u", "w", "m"};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "%s/%s", dir, sub[i]);
        if (mkdir(p[i], 0755) < 0)
            return 150;
    }
    char opts[1400];
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", p[0], p[1], p[2]);
    if (mount("overlay", p[3], "overlay", 0, opts) == 0)
        return 0;
    return errno;
}

static void check_overlay(struct report *r, const char *tmp)
{
    struct userns_child c;
    int e = start_userns_child(&c, CLONE_NEWNS, probe_overlay, (void *)tmp);
    int rc = e < 0 ? -e : finish_userns_child(&c, false);
    if (rc == 0)
        add(r, V_OK, "overlayfs in userns", NULL, "mounts (rootfs layers work)");
    else
        add(r, V_FAIL, "overlayfs in userns",
            "use Linux >= 5.11 with CONFIG_OVERLAY_FS (modprobe overlay)",
            "overlay mount in a user namespace failed: %s",
            rc > 0 && rc < 100 ? strerror(rc) : rc >= 100 && rc < 150 ? "cannot mount tmpfs" : "probe died");
}

__attribute__((noreturn)) static int wait_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
}

static void check_idmap(struct report *r, const char *tmp, const char *what)
{
    if (geteuid() != 0) {
        add(r, V_OK, "idmapped mounts", NULL, "not used rootless (the layers keep their owners)");
        return;
    }
    struct userns_child c;
    int e = start_userns_child(&c, 0, wait_forever, NULL);
    if (e < 0) {
        add(r, V_WARN, what, "enable user namespaces", "cannot probe: %s", strerror(-e));
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c.pid);
    _cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
    /* A detached clone of the tmp dir's mount: idmapping it changes nothing
     * visible, and it goes away with the fd. */
    _cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, tmp,
                                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    e = tree < 0 ? errno : 0;
    if (!e && ns >= 0) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)ns};
        e = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0 ? 0 : errno;
    }
    finish_userns_child(&c, true);
    if (e == 0)
        add(r, V_OK, what, NULL, "supported (checked on the file system of %s)", tmp);
    else
        add(r, V_WARN, what,
            "use Linux >= 5.12 (tmpfs needs >= 6.3) and a file system that supports them",
            "not available on the file system of %s: %s", tmp, strerror(e));
}

/* ---- LSM, seccomp ---- */

/* The ids jobs get: no host user's, and a slot directory only root writes. */
static void check_uid_pool(struct report *r)
{
    struct sbx_uidpool pool;
    struct sbx_err err = {0};
    if (geteuid() != 0)
        return; /* rootless jobs use the caller's own id */
    if (sbx_uidpool_from_env(&pool, &err) < 0 || sbx_uidpool_check(&pool, &err) < 0) {
        add(r, V_FAIL, "uid pool", "fix SBX_UID_POOL / SBX_SLOT_DIR", "%s", err.msg);
        return;
    }
    char what[384];
    if (sbx_uidpool_host_overlap(&pool, what, sizeof what)) {
        add(r, V_WARN, "uid pool", "move SBX_UID_POOL (and sandboxd's uid_pool) to unused ids",
            "overlaps %s: jobs would share that user's ids", what);
        return;
    }
    add(r, V_OK, "uid pool", NULL, "%u slots of %u ids from %u, no host user among them",
        pool.slots, pool.range, pool.first);
}

static void check_landlock(struct report *r)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi >= 1)
        add(r, V_OK, "landlock", NULL, "ABI version %ld", abi);
    else
        add(r, V_WARN, "landlock",
            errno == EOPNOTSUPP ? "add landlock to the lsm= kernel parameter (e.g. lsm=landlock,lockdown,yama,apparmor)"
                                : "use Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK=y",
            "unavailable (%s): no extra file-access restriction layer", strerror(errno));
}

static void check_seccomp(struct report *r)
{
    char buf[256];
    if (read_line("/proc/sys/kernel/seccomp/actions_avail", buf, sizeof buf) < 0) {
        add(r, V_FAIL, "seccomp", "use a kernel with CONFIG_SECCOMP_FILTER=y",
            "/proc/sys/kernel/seccomp/actions_avail is missing");
        return;
    }
    char pad[260];
    snprintf(pad, sizeof pad, " %s ", buf);
    bool notif = strstr(pad, " user_notif ") != NULL, killp = strstr(pad, " kill_process ") != NULL;
    if (notif && killp)
        add(r, V_OK, "seccomp", NULL, "actions: %s", buf);
    else
        add(r, V_FAIL, "seccomp", "use Linux >= 5.0 with CONFIG_SECCOMP_FILTER=y",
            "actions %s lack%s%s", buf, killp ? "" : " kill_process", notif ? "" : " user_notif");
}

/* ---- timing noise ---- */

static void check_noise(struct report *r)
{
    char buf[256];
    if (read_line("/proc/swaps", buf, sizeof buf) == 0) {
        _cleanup_fclose_ FILE *f = fopen("/proc/swaps", "re");
        int lines = 0;
        while (f && fgets(buf, sizeof buf, f))
            lines++;
        if (lines > 1)
            add(r, V_WARN, "swap", "swapoff -a (and remove swap from /etc/fstab)",
                "on: a job's memory may be swapped by host pressure, making time and memory noisy");
        else
            add(r, V_OK, "swap", NULL, "off");
    }
    if (read_line("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) == 0) {
        if (strstr(buf, "[always]"))
            add(r, V_WARN, "transparent hugepages",
                "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
                "%s: khugepaged compaction adds jitter to memory-heavy jobs", buf);
        else
            add(r, V_OK, "transparent hugepages", NULL, "%s", buf);
    }
    glob_t g;
    if (glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor", 0, NULL, &g) == 0) {
        int slow = 0;
        char gov[256] = "";
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (read_line(g.gl_pathv[i], buf, sizeof buf) == 0 && strcmp(buf, "performance") != 0) {
                slow++;
                snprintf(gov, sizeof gov, "%s", buf);
            }
        if (slow)
            add(r, V_WARN, "cpu frequency governor",
                "cpupower frequency-set -g performance (or echo performance > "
                "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)",
                "%d of %zu CPUs use \"%s\": CPU time varies with the clock", slow, g.gl_pathc, gov);
        else
            add(r, V_OK, "cpu frequency governor", NULL, "performance on all %zu CPUs", g.gl_pathc);
        globfree(&g);
    } else {
        add(r, V_OK, "cpu frequency governor", NULL, "no cpufreq (fixed frequency or a VM)");
    }
    if (read_line("/sys/devices/system/cpu/smt/active", buf, sizeof buf) == 0) {
        if (strcmp(buf, "1") == 0)
            add(r, V_WARN, "SMT", "echo off > /sys/devices/system/cpu/smt/control (or nosmt on the kernel command line)",
                "on: sibling hyperthreads share a core, so a job's CPU time depends on its neighbours");
        else
            add(r, V_OK, "SMT", NULL, "off");
    }
}

/* ---- output ---- */

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void print_report(const struct report *r, bool json, bool can_run)
{
    if (json) {
        printf("{\"can_run\":%s,\"checks\":[", can_run ? "true" : "false");
        for (int i = 0; i < r->n; i++) {
            const struct check *c = &r->c[i];
            printf("%s{\"name\":", i ? "," : "");
            json_str(stdout, c->name);
            printf(",\"verdict\":\"%s\",\"detail\":", verdict_name[c->v]);
            json_str(stdout, c->detail);
            printf(",\"fix\":");
            json_str(stdout, c->fix);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    for (int i = 0; i < r->n; i++) {
        const struct check *c = &r->c[i];
        printf("%-4s  %-24s %s\n", verdict_name[c->v], c->name, c->detail);
        if (c->fix[0])
            printf("      %-24s fix: %s\n", "", c->fix);
    }
    if (geteuid() != 0)
        printf("%s (uid %d, rootless).\n", can_run ? "This host can run sbx jobs for this user" : "This host cannot run sbx jobs for this user: see FAIL above", (int)geteuid());
    else
        printf("%s\n", can_run ? "This host can run sbx jobs." : "This host cannot run sbx jobs: see FAIL above.");
}

int sbx_doctor_main(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(sbx_doctor_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "sbx doctor: unknown argument \"%s\"\n%s", argv[i], sbx_doctor_usage);
            return 125;
        }
    }
    struct report *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "sbx doctor: out of memory\n");
        return 1;
    }
    /* The verdicts are for the user running doctor: as root, root jobs; as
     * anyone else, the rootless jobs sbx run gives that user. */
    bool rootless = geteuid() != 0;
    if (!rootless)
        add(r, V_OK, "privileges", NULL, "running as root");
    else
        add(r, V_WARN, "privileges", "run sbx as root for a host uid range per job and cgroup limits",
            "running as uid %d: jobs run rootless, as this uid, without cgroup limits or accounting, "
            "idmapped layers or dropped supplementary groups", (int)geteuid());
    if (rootless)
        add(r, V_WARN, "cgroups", "run sbx as root",
            "not used rootless: --memory, --pids, --cpus, --cpu-weight, --cpuset and --time-limit "
            "are refused (no job cgroup)");
    else
        check_cgroups(r);
    check_namespaces(r);
    check_unprivileged_userns(r);
    const char *tmpdir = getenv("TMPDIR");
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s/sbx-doctor-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (mkdtemp(tmp)) {
        check_overlay(r, tmp);
        check_idmap(r, tmp, "idmapped mounts");
        rmdir(tmp);
    } else {
        add(r, V_WARN, "overlayfs in userns", "set TMPDIR to a writable directory",
            "cannot probe: mkdtemp %s: %s", tmp, strerror(errno));
    }
    check_uid_pool(r);
    /* The image store's layers are lowers too: without idmapping, an
     * image's files appear owned by nobody in the job. */
    char store[4096];
    snprintf(store, sizeof store, "%s", sbx_image_store_default());
    while (access(store, F_OK) < 0 && strrchr(store, '/') > store)
        *strrchr(store, '/') = '\0';
    check_idmap(r, store, "image store idmapped mounts");
    check_landlock(r);
    check_seccomp(r);
    check_noise(r);

    bool can_run = true;
    for (int i = 0; i < r->n; i++)
        can_run = can_run && r->c[i].v != V_FAIL;
    fflush(stdout);
    print_report(r, json, can_run);
    free(r);
    return can_run ? 0 : 1;
}
