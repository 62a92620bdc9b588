/* Validation: the one place every rule and every default of a job policy
 * lives. The loaders and the flags only build a JobPolicy; whatever reaches
 * the executor has passed through here, so a rule added here holds for
 * policy files, flags and sandboxd requests alike. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "policy.h"
#include "units.h"

/* The job's user namespace maps 65536 ids, so ids beyond are unmappable. */
#define JOB_ID_RANGE 65536u
#define MAX_CPUS 4096.0
/* Offsets beyond this make clock arithmetic in the job overflow-prone. */
#define MAX_TIME_OFFSET_NS (INT64_C(1) << 62)
#define MAX_CPU_ID 8191u

static char default_path_env[] = "PATH=" SBX_DEFAULT_PATH;

/* Quotes a policy value for an error line: bounded, and no control
 * character can break the one-line message. */
static const char *q(char *buf, size_t size, const char *s, size_t len, bool quotes)
{
    size_t o = 0, max = size - 6;
    const char *end = s + strnlen(s, len);
    if (quotes)
        buf[o++] = '"';
    for (; s < end && o < max; s++)
        buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    if (s < end) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (quotes)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
#define Q(s) q((char[100]){0}, 100, (s), SIZE_MAX, true)
/* The first n bytes, unquoted (a name such as an env KEY), made printable. */
#define NAME(s, n) q((char[100]){0}, 100, (s), (n), false)

static int own(struct sbx_spec *spec, char *s, struct sbx_err *err)
{
    char **n = realloc(spec->owned_, (spec->n_owned_ + 1) * sizeof *n);
    if (!n) {
        free(s);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    spec->owned_ = n;
    spec->owned_[spec->n_owned_++] = s;
    return 0;
}

/* Checks an absolute path and yields its normal form: no "//", no trailing
 * '/'. "." and ".." are refused rather than resolved, since resolving them
 * lexically can disagree with the filesystem (symlinks). */
static int check_path(struct sbx_spec *spec, const char *field, const char *path, const char **out,
                      struct sbx_err *err)
{
    if (!path || !*path)
        return sbx_err_set(err, EINVAL, "%s: must not be empty", field);
    if (path[0] != '/')
        return sbx_err_set(err, EINVAL, "%s: %s must be absolute", field, Q(path));
    size_t len = strlen(path);
    if (len > SBX_MAX_PATH)
        return sbx_err_set(err, ENAMETOOLONG, "%s: longer than %d bytes", field, SBX_MAX_PATH);
    _cleanup_free_ char *norm = malloc(len + 2);
    if (!norm)
        return sbx_err_set(err, ENOMEM, "out of memory");
    size_t o = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *c = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - c);
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return sbx_err_set(err, EINVAL, "%s: %s has a '%.*s' component", field, Q(path), (int)n, c);
        norm[o++] = '/';
        memcpy(norm + o, c, n);
        o += n;
    }
    if (o == 0)
        norm[o++] = '/';
    norm[o] = '\0';
    if (strcmp(norm, path) == 0) {
        *out = path;
        return 0;
    }
    *out = norm;
    return own(spec, take_ptr(norm), err);
}

static int check_size(const char *field, const char *s, bool allow_zero, uint64_t *out, struct sbx_err *err)
{
    int r = sbx_parse_size(s, out);
    if (r == -ERANGE)
        return sbx_err_set(err, ERANGE, "%s: %s is too large", field, Q(s));
    if (r < 0)
        return sbx_err_set(err, EINVAL, "%s: %s is not a size", field, Q(s));
    if (!allow_zero && *out == 0)
        return sbx_err_set(err, EINVAL, "%s: must be greater than 0", field);
    return 0;
}

static int check_duration(const char *field, const char *s, int64_t *out, struct sbx_err *err)
{
    int r = sbx_parse_duration_ns(s, false, out);
    if (r == -ERANGE)
        return sbx_err_set(err, ERANGE, "%s: %s is out of range", field, Q(s));
    if (r < 0)
        return sbx_err_set(err, EINVAL, "%s: %s is not a duration", field, Q(s));
    if (*out <= 0)
        return sbx_err_set(err, EINVAL, "%s: must be greater than 0", field);
    return 0;
}

static int check_command(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    if (!p->command)
        return sbx_err_set(err, EINVAL, "command: required");
    if (!*p->command)
        return sbx_err_set(err, EINVAL, "command: must not be empty");
    /* The command is shown to others (sbx ps --all, inspect): a newline or
     * a terminal escape in it could forge a row or act on their terminal. */
    for (const char *c = p->command; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return sbx_err_set(err, EINVAL, "command: control characters are not allowed");
    if (strchr(p->command, '/')) {
        if (p->command[0] != '/')
            return sbx_err_set(err, EINVAL, "command: %s must be an absolute path or a bare name", Q(p->command));
        int r = check_path(s, "command", p->command, &s->command, err);
        if (r < 0)
            return r;
    } else {
        if (strcmp(p->command, ".") == 0 || strcmp(p->command, "..") == 0)
            return sbx_err_set(err, EINVAL, "command: %s is not a program name", Q(p->command));
        if (strlen(p->command) > 255)
            return sbx_err_set(err, ENAMETOOLONG, "command: a name longer than 255 bytes");
        s->command = p->command;
    }
    if (p->n_args > SBX_MAX_ARGS)
        return sbx_err_set(err, E2BIG, "args: %zu given, at most %d allowed", p->n_args, SBX_MAX_ARGS);
    s->argv = calloc(p->n_args + 2, sizeof *s->argv);
    if (!s->argv)
        return sbx_err_set(err, ENOMEM, "out of memory");
    s->argv[0] = (char *)s->command;
    for (size_t i = 0; i < p->n_args; i++)
        s->argv[i + 1] = p->args[i];
    return 0;
}

static int check_env(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    if (p->n_env > SBX_MAX_ENV)
        return sbx_err_set(err, E2BIG, "env: %zu given, at most %d allowed", p->n_env, SBX_MAX_ENV);
    bool has_path = false;
    for (size_t i = 0; i < p->n_env; i++) {
        const char *e = p->env[i];
        const char *eq = strchr(e, '=');
        if (!eq)
            return sbx_err_set(err, EINVAL, "env[%zu]: %s is not KEY=VALUE", i, Q(e));
        size_t klen = (size_t)(eq - e);
        if (klen == 0)
            return sbx_err_set(err, EINVAL, "env[%zu]: %s has an empty KEY", i, Q(e));
        for (size_t k = 0; k < i; k++)
            if (strncmp(p->env[k], e, klen + 1) == 0)
                return sbx_err_set(err, EINVAL, "env[%zu]: %s is already set by env[%zu]", i,
                                   NAME(e, klen), k);
        if (klen == 4 && strncmp(e, "PATH", 4) == 0)
            has_path = true;
    }
    s->envp = calloc(p->n_env + 2, sizeof *s->envp);
    if (!s->envp)
        return sbx_err_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_env; i++)
        s->envp[i] = p->env[i];
    if (!has_path)
        s->envp[p->n_env] = default_path_env;
    return 0;
}

static int check_hostname(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    const char *h = p->hostname ? p->hostname : SBX_DEFAULT_HOSTNAME;
    size_t n = strlen(h);
    if (n == 0 || n > SBX_MAX_HOSTNAME)
        return sbx_err_set(err, EINVAL, "hostname: must be 1 to %d characters", SBX_MAX_HOSTNAME);
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return sbx_err_set(err, EINVAL, "hostname: %s may hold only letters, digits, '-' and '.'", Q(h));
    }
    if (h[0] == '-' || h[0] == '.' || h[n - 1] == '-' || h[n - 1] == '.')
        return sbx_err_set(err, EINVAL, "hostname: %s must not start or end with '-' or '.'", Q(h));
    s->hostname = h;
    return 0;
}

static int check_rootfs(struct sbx_spec *s, const JobPolicy *p, const char *default_rootfs, struct sbx_err *err)
{
    const Sbx__V1__RootFs *rf = p->rootfs;
    size_t n = rf ? rf->n_layers : 0;
    if (n > SBX_MAX_LAYERS)
        return sbx_err_set(err, E2BIG, "rootfs.layers: %zu given, at most %d allowed", n, SBX_MAX_LAYERS);
    if (n == 0 && !default_rootfs)
        return sbx_err_set(err, EINVAL, "rootfs.layers: none given and no default rootfs");
    s->layers = calloc(n ? n : 1, sizeof *s->layers);
    if (!s->layers)
        return sbx_err_set(err, ENOMEM, "out of memory");
    char field[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof field, "rootfs.layers[%zu]", i);
        int r = check_path(s, field, rf->layers[i], &s->layers[i], err);
        if (r < 0)
            return r;
    }
    if (n == 0) {
        s->layers[0] = default_rootfs;
        n = 1;
    }
    s->n_layers = n;
    s->rootfs_size = SBX_DEFAULT_ROOTFS_SIZE;
    if (rf && rf->size)
        return check_size("rootfs.size", rf->size, false, &s->rootfs_size, err);
    return 0;
}

static int check_mounts(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    if (p->n_mounts > SBX_MAX_MOUNTS)
        return sbx_err_set(err, E2BIG, "mounts: %zu given, at most %d allowed", p->n_mounts, SBX_MAX_MOUNTS);
    s->mounts = calloc(p->n_mounts ? p->n_mounts : 1, sizeof *s->mounts);
    if (!s->mounts)
        return sbx_err_set(err, ENOMEM, "out of memory");
    char field[64];
    for (size_t i = 0; i < p->n_mounts; i++) {
        const Sbx__V1__Mount *m = p->mounts[i];
        struct sbx_mount *sm = &s->mounts[i];
        int r;
        if (m->has_type && m->type != SBX__V1__MOUNT__TYPE__BIND && m->type != SBX__V1__MOUNT__TYPE__TMPFS)
            return sbx_err_set(err, EINVAL, "mounts[%zu].type: %d is not BIND or TMPFS", i, m->type);
        bool tmpfs = m->has_type && m->type == SBX__V1__MOUNT__TYPE__TMPFS;
        sm->type = tmpfs ? SBX_MOUNT_TMPFS : SBX_MOUNT_BIND;

        snprintf(field, sizeof field, "mounts[%zu].dst", i);
        if (!m->dst)
            return sbx_err_set(err, EINVAL, "%s: required", field);
        if ((r = check_path(s, field, m->dst, &sm->dst, err)) < 0)
            return r;
        if (strcmp(sm->dst, "/") == 0)
            return sbx_err_set(err, EINVAL, "%s: must not be \"/\" (the root is the rootfs)", field);
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->mounts[k].dst, sm->dst) == 0)
                return sbx_err_set(err, EINVAL, "%s: %s is also mounts[%zu].dst", field, Q(sm->dst), k);

        snprintf(field, sizeof field, "mounts[%zu].src", i);
        if (tmpfs) {
            if (m->src)
                return sbx_err_set(err, EINVAL, "%s: not allowed for a TMPFS mount", field);
            if (m->has_rw && !m->rw)
                return sbx_err_set(err, EINVAL, "mounts[%zu].rw: a TMPFS mount is always read-write", i);
            sm->rw = true;
            sm->size = SBX_DEFAULT_TMPFS_SIZE;
            snprintf(field, sizeof field, "mounts[%zu].size", i);
            if (m->size && (r = check_size(field, m->size, false, &sm->size, err)) < 0)
                return r;
        } else {
            if (!m->src)
                return sbx_err_set(err, EINVAL, "%s: required for a BIND mount", field);
            if ((r = check_path(s, field, m->src, &sm->src, err)) < 0)
                return r;
            if (m->size)
                return sbx_err_set(err, EINVAL, "mounts[%zu].size: only for TMPFS mounts", i);
            sm->rw = m->has_rw && m->rw;
        }
        s->n_mounts = i + 1;
    }
    return 0;
}

/* "0-3,5": comma-separated CPU numbers and inclusive ranges, as cpuset.cpus
 * takes them; checked here so the kernel never sees a surprise. */
int sbx_cpuset_parse(const char *v, uint64_t mask[SBX_CPUSET_WORDS])
{
    const char *p = v;
    if (mask)
        memset(mask, 0, SBX_CPUSET_WORDS * sizeof mask[0]);
    if (!*p)
        return -EINVAL;
    for (;;) {
        unsigned long lo, hi;
        char *end;
        if (*p < '0' || *p > '9')
            goto bad;
        lo = strtoul(p, &end, 10);
        p = end;
        hi = lo;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9')
                goto bad;
            hi = strtoul(p, &end, 10);
            p = end;
        }
        if (hi < lo || hi > MAX_CPU_ID)
            goto bad;
        for (unsigned long c = lo; mask && c <= hi; c++)
            mask[c / 64] |= UINT64_C(1) << (c % 64);
        if (!*p)
            return 0;
        if (*p++ != ',')
            goto bad;
    }
bad:
    return -EINVAL;
}

static int check_cpuset(const char *v, struct sbx_err *err)
{
    if (!*v)
        return sbx_err_set(err, EINVAL, "limits.cpuset: must not be empty");
    if (sbx_cpuset_parse(v, NULL) < 0)
        return sbx_err_set(err, EINVAL, "limits.cpuset: %s is not a CPU list like \"0-3,5\" (CPUs 0..%u)", Q(v), MAX_CPU_ID);
    return 0;
}

static int check_limits(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    const Sbx__V1__Limits *l = p->limits;
    s->limits.open_files = SBX_DEFAULT_OPEN_FILES;
    s->limits.stack = SBX_DEFAULT_STACK;
    s->limits.pending_signals = SBX_DEFAULT_PENDING_SIGNALS;
    s->limits.msgqueue = SBX_DEFAULT_MSGQUEUE;
    if (!l)
        return 0;
    int r;
    if (l->memory && (r = check_size("limits.memory", l->memory, false, &s->limits.memory, err)) < 0)
        return r;
    /* Below this the job's own setup (its PID 1, page tables, the mounts'
     * kernel objects, charged to its cgroup) is OOM-killed before the
     * command runs; 512K sufficed on the reference host: 4x that. */
    if (l->memory && s->limits.memory < SBX_MIN_MEMORY)
        return sbx_err_set(err, EINVAL,
                           "limits.memory (--memory): %s is below %uM, the least a job needs for "
                           "its setup",
                           Q(l->memory), (unsigned)(SBX_MIN_MEMORY >> 20));
    if (l->has_pids) {
        if (l->pids == 0 || l->pids > SBX_MAX_PIDS)
            return sbx_err_set(err, EINVAL, "limits.pids: %" PRIu32 " is not within 1..%u", l->pids, SBX_MAX_PIDS);
        s->limits.pids = l->pids;
    }
    if (l->has_cpus) {
        if (!isfinite(l->cpus) || l->cpus <= 0 || l->cpus > MAX_CPUS)
            return sbx_err_set(err, EINVAL, "limits.cpus: %g is not within (0, %g]", l->cpus, MAX_CPUS);
        s->limits.cpus = l->cpus;
    }
    if (l->cpu_time && (r = check_duration("limits.cpu_time", l->cpu_time, &s->limits.cpu_time_ns, err)) < 0)
        return r;
    if (l->wall_time && (r = check_duration("limits.wall_time", l->wall_time, &s->limits.wall_time_ns, err)) < 0)
        return r;
    if (l->output && (r = check_size("limits.output", l->output, false, &s->limits.output, err)) < 0)
        return r;
    if (l->has_open_files) {
        if (l->open_files == 0 || l->open_files > SBX_MAX_OPEN_FILES)
            return sbx_err_set(err, EINVAL, "limits.open_files: %" PRIu32 " is not within 1..%u", l->open_files,
                               SBX_MAX_OPEN_FILES);
        s->limits.open_files = l->open_files;
    }
    if (l->stack && (r = check_size("limits.stack", l->stack, false, &s->limits.stack, err)) < 0)
        return r;
    if (l->core && (r = check_size("limits.core", l->core, true, &s->limits.core, err)) < 0)
        return r;
    if (l->has_cpu_weight) {
        if (l->cpu_weight == 0 || l->cpu_weight > SBX_MAX_CPU_WEIGHT)
            return sbx_err_set(err, EINVAL, "limits.cpu_weight: %" PRIu32 " is not within 1..%d", l->cpu_weight,
                               SBX_MAX_CPU_WEIGHT);
        s->limits.cpu_weight = l->cpu_weight;
    }
    if (l->cpuset) {
        if ((r = check_cpuset(l->cpuset, err)) < 0)
            return r;
        s->limits.cpuset = l->cpuset;
    }
    if (l->has_pending_signals) {
        if (l->pending_signals > SBX_MAX_PENDING_SIGNALS)
            return sbx_err_set(err, EINVAL, "limits.pending_signals: %" PRIu32 " is not within 0..%u",
                               l->pending_signals, SBX_MAX_PENDING_SIGNALS);
        s->limits.pending_signals = l->pending_signals;
    }
    if (l->msgqueue && (r = check_size("limits.msgqueue", l->msgqueue, true, &s->limits.msgqueue, err)) < 0)
        return r;
    return 0;
}

static int check_time_offsets(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    bool seen[3] = {false};
    for (size_t i = 0; i < p->n_time_offsets; i++) {
        const Sbx__V1__TimeOffset *t = p->time_offsets[i];
        if (!t->has_clock)
            return sbx_err_set(err, EINVAL, "time_offsets[%zu].clock: required", i);
        if (t->clock != SBX__V1__TIME_OFFSET__CLOCK__MONOTONIC && t->clock != SBX__V1__TIME_OFFSET__CLOCK__BOOTTIME)
            return sbx_err_set(err, EINVAL, "time_offsets[%zu].clock: %d is not MONOTONIC or BOOTTIME", i, t->clock);
        if (seen[t->clock])
            return sbx_err_set(err, EINVAL, "time_offsets[%zu].clock: %s given more than once", i,
                               t->clock == SBX__V1__TIME_OFFSET__CLOCK__MONOTONIC ? "MONOTONIC" : "BOOTTIME");
        seen[t->clock] = true;
        if (!t->offset)
            return sbx_err_set(err, EINVAL, "time_offsets[%zu].offset: required", i);
        int64_t ns;
        int r = sbx_parse_duration_ns(t->offset, true, &ns);
        if (r == -EINVAL)
            return sbx_err_set(err, EINVAL, "time_offsets[%zu].offset: %s is not a duration", i, Q(t->offset));
        if (r < 0 || ns > MAX_TIME_OFFSET_NS || ns < -MAX_TIME_OFFSET_NS)
            return sbx_err_set(err, ERANGE, "time_offsets[%zu].offset: %s is out of range (at most 2^62 ns either way)",
                               i, Q(t->offset));
        if (t->clock == SBX__V1__TIME_OFFSET__CLOCK__MONOTONIC)
            s->monotonic_offset_ns = ns;
        else
            s->boottime_offset_ns = ns;
    }
    return 0;
}

static int check_ids(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    if (p->has_uid && p->uid >= JOB_ID_RANGE)
        return sbx_err_set(err, EINVAL, "uid: %" PRIu32 " is outside the job's ids 0..%u", p->uid, JOB_ID_RANGE - 1);
    if (p->has_gid && p->gid >= JOB_ID_RANGE)
        return sbx_err_set(err, EINVAL, "gid: %" PRIu32 " is outside the job's ids 0..%u", p->gid, JOB_ID_RANGE - 1);
    s->uid = p->has_uid ? p->uid : 0;
    s->gid = p->has_gid ? p->gid : 0;
    return 0;
}

static int check_misc(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    int r = 0;
    /* The front-end resolves an image into layers and defaults
     * (image/apply.c) and clears the field; one still set here would run
     * the job on the wrong root. */
    if (p->image)
        return sbx_err_set(err, EINVAL, "image: %s was not resolved (this front-end has no image "
                           "store)", Q(p->image));
    s->cwd = SBX_DEFAULT_CWD;
    if (p->cwd && (r = check_path(s, "cwd", p->cwd, &s->cwd, err)) < 0)
        return r;

    if (p->has_network && p->network != SBX__V1__JOB_POLICY__NETWORK__LOOPBACK &&
        p->network != SBX__V1__JOB_POLICY__NETWORK__NONE)
        return sbx_err_set(err, EINVAL, "network: %d is not LOOPBACK or NONE", p->network);
    s->loopback = !(p->has_network && p->network == SBX__V1__JOB_POLICY__NETWORK__NONE);

    s->seccomp = SBX_DEFAULT_SECCOMP;
    if (p->seccomp) {
        if (strcmp(p->seccomp, "default") == 0 || strcmp(p->seccomp, "strict") == 0 ||
            strcmp(p->seccomp, "none") == 0)
            s->seccomp = p->seccomp;
        else if (p->seccomp[0] == '/')
            r = check_path(s, "seccomp", p->seccomp, &s->seccomp, err);
        else
            return sbx_err_set(err, EINVAL, "seccomp: %s is not default, strict, none or an absolute path",
                               Q(p->seccomp));
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_stdio(struct sbx_spec *s, const JobPolicy *p, struct sbx_err *err)
{
    const Sbx__V1__Stdio *io = p->stdio;
    if (!io)
        return 0;
    int r;
    if (io->stdin_file && (r = check_path(s, "stdio.stdin_file", io->stdin_file, &s->stdin_file, err)) < 0)
        return r;
    if (io->stdout_file && (r = check_path(s, "stdio.stdout_file", io->stdout_file, &s->stdout_file, err)) < 0)
        return r;
    if (io->stderr_file && (r = check_path(s, "stdio.stderr_file", io->stderr_file, &s->stderr_file, err)) < 0)
        return r;
    if (io->stdin_file && io->has_stdin_data)
        return sbx_err_set(err, EINVAL, "stdio.stdin_data: conflicts with stdio.stdin_file (give one of them)");
    s->capture = io->has_capture && io->capture;
    /* Captured output and a file cannot both be the same stream's target. */
    if (s->capture && io->stdout_file)
        return sbx_err_set(err, EINVAL, "stdio.capture: conflicts with stdio.stdout_file (give one of them)");
    if (s->capture && io->stderr_file)
        return sbx_err_set(err, EINVAL, "stdio.capture: conflicts with stdio.stderr_file (give one of them)");
    return 0;
}

/* Limits left at zero mean "no limit", with two documented exceptions:
 * limits.output of 0 leaves RLIMIT_FSIZE unlimited but capture still stops
 * at SBX_DEFAULT_OUTPUT_LIMIT per stream, and limits.core is RLIMIT_CORE as
 * is (default 0: no core files). */
int sbx_policy_validate(const JobPolicy *p, const char *default_rootfs, struct sbx_spec *spec,
                        struct sbx_err *err)
{
    _cleanup_(sbx_spec_free) struct sbx_spec s = {.policy = p};
    memset(spec, 0, sizeof *spec);
    int r;
    if ((r = check_command(&s, p, err)) < 0 || (r = check_env(&s, p, err)) < 0 ||
        (r = check_hostname(&s, p, err)) < 0 || (r = check_rootfs(&s, p, default_rootfs, err)) < 0 ||
        (r = check_mounts(&s, p, err)) < 0 || (r = check_limits(&s, p, err)) < 0 ||
        (r = check_time_offsets(&s, p, err)) < 0 || (r = check_ids(&s, p, err)) < 0 ||
        (r = check_misc(&s, p, err)) < 0 || (r = check_stdio(&s, p, err)) < 0)
        return r;
    *spec = s;
    memset(&s, 0, sizeof s);
    return 0;
}

void sbx_spec_free(struct sbx_spec *spec)
{
    if (!spec)
        return;
    free(spec->argv);
    free(spec->envp);
    free(spec->layers);
    free(spec->mounts);
    for (size_t i = 0; i < spec->n_owned_; i++)
        free(spec->owned_[i]);
    free(spec->owned_);
    memset(spec, 0, sizeof *spec);
}
