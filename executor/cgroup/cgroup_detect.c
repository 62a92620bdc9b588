/* Which hierarchy serves each controller, where the launcher's cgroups are,
 * and where job cgroups go. Read once per process from /proc/self/cgroup
 * and /proc/self/mountinfo, then cached: job start-up must not pay for it. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

/* Recursive: preparing a v2 parent (under the lock) may need the owner tag
 * (which takes it too) to name the launcher's leaf. */
static pthread_mutex_t g_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct cg_host g_host;
static bool g_detected;
static int g_detect_rc;
static struct sbx_err g_detect_err;

struct v1line {
    unsigned mask;
    char path[PATH_MAX];
};

static unsigned ctrl_mask(const char *list)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    unsigned m = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        for (int c = 0; c < CG_NCTRL; c++)
            if (strcmp(t, cg_ctrl_name[c]) == 0)
                m |= CG_BIT(c);
    return m;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The directory of cgroup `path` (as in /proc/self/cgroup) below a mount of
 * its hierarchy whose root is `root`; false when that mount does not show it. */
static bool join_own(char *out, const char *mnt, const char *root, const char *path)
{
    size_t rl = strlen(root);
    const char *rel;
    if (strcmp(root, "/") == 0)
        rel = path;
    else if (strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
        rel = path + rl;
    else
        return false;
    if (strcmp(rel, "/") == 0)
        rel = "";
    return snprintf(out, PATH_MAX, "%s%s", mnt, rel) < PATH_MAX;
}

static int parse_self_cgroup(FILE *f, struct v1line *v1, int *nv1, char *v2path, bool *have_v2)
{
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    *nv1 = 0;
    *have_v2 = false;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        if (strcmp(line, "0") == 0 && c1[1] == '\0') {
            snprintf(v2path, PATH_MAX, "%s", c2 + 1);
            *have_v2 = true;
            continue;
        }
        unsigned m = ctrl_mask(c1 + 1);
        if (m && *nv1 < CG_MAX_HIER) {
            v1[*nv1].mask = m;
            snprintf(v1[*nv1].path, PATH_MAX, "%s", c2 + 1);
            (*nv1)++;
        }
    }
    return 0;
}

static void add_hier(struct cg_host *h, bool v2, unsigned mask, const char *own)
{
    if (h->nhier >= CG_MAX_HIER)
        return;
    struct cg_hier *x = &h->hier[h->nhier++];
    memset(x, 0, sizeof *x);
    x->v2 = v2;
    x->ctrls = mask;
    x->parent_fd = -1;
    snprintf(x->own, sizeof x->own, "%s", own);
}

static int parse_mountinfo(FILE *f, struct cg_host *h, const struct v1line *v1, int nv1,
                           const char *v2path, bool have_v2, char v2mnt[PATH_MAX],
                           char v1mnt[][PATH_MAX])
{
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    bool v1_done[CG_MAX_HIER] = {false};
    bool v2_done = !have_v2;
    while (getline(&line, &cap, f) > 0) {
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        *sep = '\0';
        char fstype[32], superopts[512];
        if (sscanf(sep + 3, "%31s %*s %511s", fstype, superopts) != 2)
            continue;
        char root[PATH_MAX], mnt[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
            continue;
        unescape(root);
        unescape(mnt);
        char own[PATH_MAX];
        if (strcmp(fstype, "cgroup2") == 0 && !v2_done) {
            if (join_own(own, mnt, root, v2path)) {
                add_hier(h, true, 0, own);
                h->v2 = h->nhier - 1;
                snprintf(v2mnt, PATH_MAX, "%s", mnt);
                v2_done = true;
            }
        } else if (strcmp(fstype, "cgroup") == 0) {
            unsigned m = ctrl_mask(superopts);
            for (int i = 0; i < nv1; i++) {
                if (v1_done[i] || v1[i].mask != m || !join_own(own, mnt, root, v1[i].path))
                    continue;
                add_hier(h, false, m, own);
                snprintf(v1mnt[h->nhier - 1], PATH_MAX, "%s", mnt);
                v1_done[i] = true;
            }
        }
    }
    return 0;
}

/* Controllers of the v2 tree that the launcher's cgroup can hand on; the
 * core files (cpu.stat, cgroup.freeze) stand in for cpuacct and freezer. */
static unsigned v2_available(const char *own, const char *given, unsigned on_v1)
{
    _cleanup_close_ int fd = given ? -1 : open(own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char buf[256];
    unsigned m = CG_BIT(CG_CPUACCT) | CG_BIT(CG_FREEZER);
    if (given)
        snprintf(buf, sizeof buf, "%s", given);
    if (given || (fd >= 0 && cg_read(fd, "cgroup.controllers", buf, sizeof buf) >= 0)) {
        buf[strcspn(buf, "\n")] = '\0';
        for (char *p = buf; *p; p++)
            if (*p == ' ')
                *p = ',';
        m |= ctrl_mask(buf);
    }
    return m & ~on_v1;
}

/* A launcher already living in one of our leaves (a child of a launcher
 * that moved itself) uses the same parent: <own>/<sub>/launcher-x -> <own>. */
static void strip_launcher_leaf(char *own, const char *sub)
{
    char *leaf = strrchr(own, '/');
    if (!leaf || strncmp(leaf + 1, "launcher-", 9) != 0)
        return;
    *leaf = '\0';
    char *dir = strrchr(own, '/');
    if (dir && strcmp(dir + 1, sub) == 0) {
        *dir = '\0';
        return;
    }
    *leaf = '/';
}

int cg_detect(struct cg_host *h, FILE *cgroup, FILE *mountinfo, const char *env,
              const char *v2_controllers, struct sbx_err *err)
{
    memset(h, 0, sizeof *h);
    h->v2 = -1;
    for (int c = 0; c < CG_NCTRL; c++)
        h->by_ctrl[c] = -1;

    struct v1line v1[CG_MAX_HIER];
    int nv1;
    static char v2path[PATH_MAX], v2mnt[PATH_MAX], v1mnt[CG_MAX_HIER][PATH_MAX];
    bool have_v2 = false;
    int r = parse_self_cgroup(cgroup, v1, &nv1, v2path, &have_v2);
    if (r < 0)
        return sbx_err_sys(err, -r, "cgroup: /proc/self/cgroup");
    v2mnt[0] = '\0';
    r = parse_mountinfo(mountinfo, h, v1, nv1, v2path, have_v2, v2mnt, v1mnt);
    if (r < 0)
        return sbx_err_sys(err, -r, "cgroup: /proc/self/mountinfo");

    unsigned on_v1 = 0;
    for (int i = 0; i < h->nhier; i++)
        if (!h->hier[i].v2)
            on_v1 |= h->hier[i].ctrls;
    /* A controller bound to a v1 hierarchy that is not mounted here is
     * unusable, and not on v2 either. */
    for (int i = 0; i < nv1; i++)
        on_v1 |= v1[i].mask;
    if (h->v2 >= 0)
        h->hier[h->v2].ctrls = v2_available(h->hier[h->v2].own, v2_controllers, on_v1);
    for (int i = 0; i < h->nhier; i++)
        for (int c = 0; c < CG_NCTRL; c++)
            if ((h->hier[i].ctrls & CG_BIT(c)) && h->by_ctrl[c] < 0)
                h->by_ctrl[c] = i;

    /* Absolute: the operator's cgroup, the same path below every mount.
     * Relative: a directory name below the launcher's own cgroup in every
     * hierarchy, made and configured by us like the default "sbx". */
    const char *sub = "sbx";
    if (env && *env && env[0] != '/') {
        if (strchr(env, '/') || strcmp(env, ".") == 0 || strcmp(env, "..") == 0 ||
            strncmp(env, "job-", 4) == 0 || strncmp(env, "launcher-", 9) == 0 || strlen(env) > 64)
            return sbx_err_set(err, EINVAL,
                               "SBX_CGROUP_PARENT: \"%s\" must be an absolute path inside the "
                               "cgroup file system or one directory name",
                               env);
        sub = env;
        env = NULL;
    }
    h->env_parent = env && *env;
    for (int i = 0; i < h->nhier; i++) {
        struct cg_hier *x = &h->hier[i];
        strip_launcher_leaf(x->own, sub);
        /* Built apart and copied in: the sources live in h too, and
         * snprintf must not read from the object it writes. */
        const char *mnt = x->v2 ? v2mnt : v1mnt[i];
        char buf[sizeof x->parent];
        int n = h->env_parent
                    ? snprintf(buf, sizeof buf, "%s%s", mnt, strcmp(env, "/") == 0 ? "" : env)
                    : snprintf(buf, sizeof buf, "%s/%s", x->own, sub);
        if (n < 0 || (size_t)n >= sizeof x->parent)
            return sbx_err_set(err, ENAMETOOLONG, "cgroup: parent path of %s too long", x->own);
        memcpy(x->parent, buf, (size_t)n + 1);
    }
    return 0;
}

static int detect(struct cg_host *h, struct sbx_err *err)
{
    _cleanup_fclose_ FILE *cg = fopen("/proc/self/cgroup", "re");
    if (!cg)
        return sbx_err_sys(err, errno, "cgroup: /proc/self/cgroup");
    _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
    if (!mi)
        return sbx_err_sys(err, errno, "cgroup: /proc/self/mountinfo");
    int r = cg_detect(h, cg, mi, getenv("SBX_CGROUP_PARENT"), NULL, err);
    if (r < 0)
        return r;
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) < 0)
        return sbx_err_sys(err, errno, "cgroup: /proc/self/ns/pid");
    h->pidns = (unsigned long long)st.st_ino;
    return 0;
}

void cg_lock(void)
{
    pthread_mutex_lock(&g_lock);
}

void cg_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

int cg_host_get(struct cg_host **out, struct sbx_err *err)
{
    cg_lock();
    if (!g_detected) {
        g_detect_rc = detect(&g_host, &g_detect_err);
        g_detected = true;
    }
    int rc = g_detect_rc;
    if (rc < 0 && err)
        *err = g_detect_err;
    cg_unlock();
    *out = rc < 0 ? NULL : &g_host;
    return rc;
}

static int read_starttime(pid_t pid, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    ssize_t n = cg_read(AT_FDCWD, path, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    /* comm may hold blanks and parentheses: fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    /* Field 22 is starttime; after ')' come field 3 (state) onwards. */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
               "%*d %llu",
               start) != 1)
        return -EINVAL;
    return 0;
}

int cg_owner_tag(char *buf, size_t size)
{
    static pid_t cached_pid;
    static unsigned long long cached_start;
    struct cg_host *h;
    int r = cg_host_get(&h, NULL);
    if (r < 0)
        return r;
    pid_t self = getpid();
    cg_lock();
    if (cached_pid != self) {
        unsigned long long st;
        r = read_starttime(self, &st);
        if (r == 0) {
            cached_pid = self;
            cached_start = st;
        }
    }
    unsigned long long st = cached_start;
    cg_unlock();
    if (r < 0)
        return r;
    snprintf(buf, size, "%llu-%d-%llu", h->pidns, (int)self, st);
    return 0;
}

/* Owner gone: same pid namespace, and no process with that pid and start
 * time. Anything undecidable counts as alive. */
bool cg_owner_gone(const struct cg_host *h, const char *tag)
{
    unsigned long long ns, start, cur;
    int pid;
    if (sscanf(tag, "%llu-%d-%llu", &ns, &pid, &start) != 3 || ns != h->pidns || pid <= 0)
        return false;
    int r = read_starttime(pid, &cur);
    if (r == -ENOENT || r == -ESRCH)
        return true;
    return r == 0 && cur != start;
}
