/* `sbx run` flags. Each flag only checks its own spelling (through the same
 * units parser the policy uses) and writes the JobPolicy field it overrides;
 * the rules about values live in policy/validate.c, so a flag and a policy
 * file can never disagree about what is allowed. */
#include "flags.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "executor/datadir.h"
#include "policy/units.h"

const char sbx_run_usage[] =
    "usage: sbx run [OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Runs COMMAND in a fresh sandbox and waits for it. Each option overrides the\n"
    "same field of --policy. Sizes take K, M, G, T suffixes (powers of 1024);\n"
    "seconds may be fractional or carry a unit (ns, us, ms, s, m, h).\n"
    "Both --flag VALUE and --flag=VALUE work; flags end at \"--\" or at the first\n"
    "argument that is not a flag. COMMAND [ARG...], when given, replaces the\n"
    "policy's command and args; --arg appends to whichever args are left.\n"
    "Relative host paths are relative to the current directory.\n"
    "\n"
    "Options:\n"
    "  --policy FILE             job policy in protobuf text format (sandbox.proto);\n"
    "                            loaded first wherever it appears\n"
    "  --rootfs DIR              a read-only lower layer of the root filesystem;\n"
    "                            repeatable, later ones on top; replaces the policy's\n"
    "                            layers (default: the bundled minimal rootfs)\n"
    "  --image NAME[:TAG]        run on an image of the image store (sbx image ls): its\n"
    "                            layers below any --rootfs; its Env, WorkingDir,\n"
    "                            Entrypoint+Cmd and User are defaults that the policy\n"
    "                            and flags override (a COMMAND replaces Entrypoint\n"
    "                            and Cmd both); also NAME@sha256:HEX (its id or\n"
    "                            manifest digest) or an id's first 12+ hex digits\n"
    "  --rootfs-size SIZE        size of the tmpfs taking the job's writes to its root,\n"
    "                            /tmp and /dev/shm together (default 64M)\n"
    "  --bind SRC[:DST]          read-only bind mount of host path SRC at DST (default SRC)\n"
    "  --bind-rw SRC[:DST]       read-write bind mount\n"
    "  --tmpfs DST[:SIZE]        an extra tmpfs (default size 16M)\n"
    "  --cwd DIR                 working directory inside (default /)\n"
    "  --arg ARG                 append ARG to the arguments; repeatable\n"
    "  --env KEY=VALUE           repeatable; the environment holds only these plus\n"
    "                            PATH=" SBX_DEFAULT_PATH "\n"
    "                            unless PATH is given\n"
    "  --hostname NAME           UTS hostname inside (default sandbox)\n"
    "  --memory SIZE             memory limit of the whole job, swap disabled\n"
    "  --pids N                  most processes and threads of the whole job\n"
    "  --cpus X                  CPU bandwidth in cores, e.g. 0.5\n"
    "  --cpu-weight N            relative CPU share under contention, 1..10000\n"
    "  --cpuset LIST             CPUs the job may run on, e.g. 0-3,5\n"
    "  --time-limit SECONDS      CPU time limit, user + system of all processes\n"
    "  --wall-time-limit SECONDS wall-clock limit\n"
    "  --output-limit SIZE       most bytes each of stdout and stderr may carry\n"
    "                            (they then pass through sbx, whatever they are)\n"
    "                            and largest file the job may write\n"
    "  --time-offset CLOCK=SECONDS  time namespace offset; CLOCK is monotonic or\n"
    "                            boottime; repeatable; SECONDS may be negative, but\n"
    "                            not past the host's uptime (no clock before boot)\n"
    "  --network loopback|none   empty network namespace with lo up (default) or down\n"
    "  --seccomp PROFILE         default (the default), strict, none, a shipped profile\n"
    "                            by name (python, judge-c), or a profile file\n"
    "  --uid N, --gid N          ids the job runs as inside (default 0:0), 0..65535\n"
    "  --result-json FILE        write the job result as one JSON object to FILE (a new\n"
    "                            file renamed over it; if it exists it must be regular)\n"
    "  --pool NAME               take a ready sandbox of sandboxd's warm pool NAME\n"
    "                            (always through sandboxd: --socket, else $SBX_SOCKET,\n"
    "                            else /run/sbx/sandboxd.sock); only COMMAND, --arg,\n"
    "                            --env, --cwd and limits that narrow the pool's may\n"
    "                            differ from its policy; an empty pool means a cold start\n"
    "  -q, --quiet               no notes on stderr (such as the rootless one), only errors\n"
    "  -h, --help                print this help\n"
    "\n"
    "Status (in the result): decided only from what sbx itself saw, in this order:\n"
    "its kill for --wall-time-limit, --time-limit or --output-limit or a call the\n"
    "seccomp filter stopped (the first it acted on); the cgroup's OOM kills; a\n"
    "file at the output limit; the CPU total at --time-limit; else SIGNALED or\n"
    "EXITED. A signal the job raises itself is SIGNALED (docs/cli-contract.md).\n"
    "\n"
    "Exit status:\n"
    "  the job's exit code  the job's first process exited by itself\n"
    "  128+N                it was killed by signal N (137 for a memory, CPU-time,\n"
    "                       wall-time or output limit)\n"
    "  125                  the sandbox could not be set up, or a policy field or flag\n"
    "                       is invalid (one line on stderr says which and why)\n"
    "  126                  COMMAND exists in the sandbox but cannot be executed\n"
    "  127                  COMMAND was not found in the sandbox\n"
    "\n"
    "Examples (as root; rootfs/build-images.sh makes the judge layer):\n"
    "  sbx run -- /bin/sh -c 'echo hello'\n"
    "  sbx run --rootfs /var/lib/sbx/debian/judge --memory 256M --pids 64 \\\n"
    "      --time-limit 2 --wall-time-limit 5 --seccomp strict \\\n"
    "      --bind /srv/judge/42:/work --cwd /work -- /work/solution\n"
    "  sbx run --policy policy/examples/ci-job.pb.txt --bind-rw /srv/ci/checkout:/src \\\n"
    "      --env CI=1 -- make test\n"
    "  sbx run --policy policy/examples/fuzzing.pb.txt --arg -runs=100000\n"
    "  sbx run --result-json result.json --time-offset boottime=86400 -- uptime\n";

struct state {
    struct sbx_run_opts *opts;
    enum sbx_flag_mode mode;
    bool layers_replaced;
    const char **extra_args; /* --arg values, pointing into argv */
    size_t n_extra_args;
    struct sbx_err *err;
};

typedef int (*apply_fn)(struct state *st, const char *flag, const char *v);

/* Which commands take a flag (struct flag's modes): sbx run and submit,
 * sbx session create, sbx session run. */
#define M_RUN (1u << SBX_FLAGS_RUN)
#define M_CREATE (1u << SBX_FLAGS_SESSION_CREATE)
#define M_SRUN (1u << SBX_FLAGS_SESSION_RUN)
#define M_SANDBOX (M_RUN | M_CREATE)          /* shapes the sandbox */
#define M_PER_RUN (M_RUN | M_CREATE | M_SRUN) /* may also differ per session run */

struct flag {
    const char *name;
    bool takes_value;
    apply_fn apply;
    unsigned modes;
};

/* ---- writing into the policy (every string malloc'd for sbx_policy_free) ---- */

static int oom(struct state *st)
{
    return sbx_err_set(st->err, ENOMEM, "out of memory");
}

static int set_str(struct state *st, char **slot, const char *v)
{
    char *d = strdup(v);
    if (!d)
        return oom(st);
    free(*slot); /* no field of sandbox.proto has a static default string */
    *slot = d;
    return 0;
}

static int append_str(struct state *st, char ***arr, size_t *n, const char *v)
{
    char *d = strdup(v);
    char **na = d ? realloc(*arr, (*n + 1) * sizeof *na) : NULL;
    if (!na) {
        free(d);
        return oom(st);
    }
    *arr = na;
    na[(*n)++] = d;
    return 0;
}

static Sbx__V1__Limits *limits(struct state *st)
{
    JobPolicy *p = st->opts->policy;
    if (!p->limits) {
        p->limits = malloc(sizeof *p->limits);
        if (p->limits)
            sbx__v1__limits__init(p->limits);
    }
    return p->limits;
}

static Sbx__V1__RootFs *rootfs(struct state *st)
{
    JobPolicy *p = st->opts->policy;
    if (!p->rootfs) {
        p->rootfs = malloc(sizeof *p->rootfs);
        if (p->rootfs)
            sbx__v1__root_fs__init(p->rootfs);
    }
    return p->rootfs;
}

/* Relative host paths are relative to where sbx runs, as users expect;
 * the policy itself only ever holds absolute paths. The joined path is
 * normalized as the shell's cd does (".", "..", "//" resolved by name), so
 * that "./dir" does not become a path with a "." component the policy's
 * rules refuse. getcwd's part has no symlinks to make ".." mean otherwise. */
static char *host_path(const char *v)
{
    if (v[0] == '/' || v[0] == '\0')
        return strdup(v);
    _cleanup_free_ char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    size_t cap = strlen(cwd) + strlen(v) + 3;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (int part = 0; part < 2; part++) {
        const char *p = part == 0 ? cwd : v;
        while (*p) {
            while (*p == '/')
                p++;
            size_t n = strcspn(p, "/");
            if (n == 0 || (n == 1 && p[0] == '.')) {
                /* nothing to add */
            } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                while (len > 0 && out[len - 1] != '/')
                    len--;
                if (len > 0)
                    len--; /* the '/' before the component */
            } else {
                out[len++] = '/';
                memcpy(out + len, p, n);
                len += n;
            }
            p += n;
        }
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* ---- checking spellings ---- */

static int parse_u32(struct state *st, const char *flag, const char *v, uint32_t *out)
{
    uint64_t acc = 0;
    if (!*v)
        return sbx_err_set(st->err, EINVAL, "%s: \"\" is not a number", flag);
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not a number", flag, v);
        acc = acc * 10 + (uint64_t)(*p - '0');
        if (acc > UINT32_MAX)
            return sbx_err_set(st->err, ERANGE, "%s: \"%s\" is too large", flag, v);
    }
    *out = (uint32_t)acc;
    return 0;
}

static int check_size_flag(struct state *st, const char *flag, const char *v)
{
    uint64_t n;
    int r = sbx_parse_size(v, &n);
    if (r == -ERANGE)
        return sbx_err_set(st->err, ERANGE, "%s: \"%s\" is too large", flag, v);
    if (r < 0)
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not a size", flag, v);
    return 0;
}

static int check_duration_flag(struct state *st, const char *flag, const char *v, bool allow_negative)
{
    int64_t ns;
    int r = sbx_parse_duration_ns(v, allow_negative, &ns);
    if (r == -ERANGE)
        return sbx_err_set(st->err, ERANGE, "%s: \"%s\" is out of range", flag, v);
    if (r < 0)
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not a duration in seconds", flag, v);
    return 0;
}

/* ---- the flags ---- */

static int f_rootfs(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__RootFs *rf = rootfs(st);
    if (!rf)
        return oom(st);
    /* The layers are one field: the first --rootfs replaces the policy's. */
    if (!st->layers_replaced) {
        for (size_t i = 0; i < rf->n_layers; i++)
            free(rf->layers[i]);
        rf->n_layers = 0;
        st->layers_replaced = true;
    }
    _cleanup_free_ char *path = host_path(v);
    if (!path)
        return oom(st);
    return append_str(st, &rf->layers, &rf->n_layers, path);
}


/* Adds a mount, replacing one with the same destination: a flag overrides
 * the policy's mount at that path. */
static int put_mount(struct state *st, Sbx__V1__Mount__Type type, const char *src, const char *dst, bool rw,
                     const char *size)
{
    JobPolicy *p = st->opts->policy;
    Sbx__V1__Mount *m = malloc(sizeof *m);
    if (!m)
        return oom(st);
    sbx__v1__mount__init(m);
    m->has_type = true;
    m->type = type;
    m->dst = strdup(dst);
    m->src = src ? strdup(src) : NULL;
    m->size = size ? strdup(size) : NULL;
    if (!m->dst || (src && !m->src) || (size && !m->size)) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return oom(st);
    }
    if (type == SBX__V1__MOUNT__TYPE__BIND) {
        m->has_rw = true;
        m->rw = rw;
    }
    for (size_t i = 0; i < p->n_mounts; i++) {
        if (p->mounts[i]->dst && strcmp(p->mounts[i]->dst, dst) == 0) {
            protobuf_c_message_free_unpacked(&p->mounts[i]->base, NULL);
            p->mounts[i] = m;
            return 0;
        }
    }
    Sbx__V1__Mount **na = realloc(p->mounts, (p->n_mounts + 1) * sizeof *na);
    if (!na) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return oom(st);
    }
    p->mounts = na;
    na[p->n_mounts++] = m;
    return 0;
}

static int bind(struct state *st, const char *flag, const char *v, bool rw)
{
    const char *colon = strchr(v, ':');
    _cleanup_free_ char *src = colon ? strndup(v, (size_t)(colon - v)) : strdup(v);
    if (!src)
        return oom(st);
    if (!*src || (colon && !colon[1]))
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not SRC[:DST]", flag, v);
    _cleanup_free_ char *abs = host_path(src);
    if (!abs)
        return oom(st);
    return put_mount(st, SBX__V1__MOUNT__TYPE__BIND, abs, colon ? colon + 1 : abs, rw, NULL);
}

static int f_bind(struct state *st, const char *flag, const char *v)
{
    return bind(st, flag, v, false);
}

static int f_bind_rw(struct state *st, const char *flag, const char *v)
{
    return bind(st, flag, v, true);
}

static int f_tmpfs(struct state *st, const char *flag, const char *v)
{
    const char *colon = strrchr(v, ':');
    _cleanup_free_ char *dst = colon ? strndup(v, (size_t)(colon - v)) : strdup(v);
    if (!dst)
        return oom(st);
    if (!*dst)
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not DST[:SIZE]", flag, v);
    if (colon) {
        int r = check_size_flag(st, flag, colon + 1);
        if (r < 0)
            return r;
    }
    return put_mount(st, SBX__V1__MOUNT__TYPE__TMPFS, NULL, dst, true, colon ? colon + 1 : NULL);
}

/* --arg appends to the arguments, after the command line's (which replaces
 * the policy's command and arguments) or else the policy's: noted here,
 * added once the command is known. */
static int f_arg(struct state *st, const char *flag, const char *v)
{
    const char **na = realloc(st->extra_args, (st->n_extra_args + 1) * sizeof *na);
    if (!na)
        return oom(st);
    st->extra_args = na;
    na[st->n_extra_args++] = v;
    return 0;
}

static int f_image(struct state *st, const char *flag, const char *v)
{
    return set_str(st, &st->opts->policy->image, v);
}

static int f_cwd(struct state *st, const char *flag, const char *v)
{
    return set_str(st, &st->opts->policy->cwd, v);
}

static int f_hostname(struct state *st, const char *flag, const char *v)
{
    return set_str(st, &st->opts->policy->hostname, v);
}

static int f_env(struct state *st, const char *flag, const char *v)
{
    JobPolicy *p = st->opts->policy;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not KEY=VALUE", flag, v);
    size_t klen = (size_t)(eq - v) + 1;
    for (size_t i = 0; i < p->n_env; i++)
        if (strncmp(p->env[i], v, klen) == 0)
            return set_str(st, &p->env[i], v);
    return append_str(st, &p->env, &p->n_env, v);
}

/* A limit flag's value, checked as the policy would check it, into *field. */
static int set_size(struct state *st, const char *flag, const char *v, char **field)
{
    int r = check_size_flag(st, flag, v);
    return r < 0 ? r : set_str(st, field, v);
}

static int f_rootfs_size(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__RootFs *rf = rootfs(st);
    return rf ? set_size(st, flag, v, &rf->size) : oom(st);
}

static int set_duration(struct state *st, const char *flag, const char *v, char **field)
{
    int r = check_duration_flag(st, flag, v, false);
    return r < 0 ? r : set_str(st, field, v);
}

static int set_u32(struct state *st, const char *flag, const char *v, protobuf_c_boolean *has,
                   uint32_t *field)
{
    uint32_t n;
    int r = parse_u32(st, flag, v, &n);
    if (r < 0)
        return r;
    *has = true;
    *field = n;
    return 0;
}

static int f_memory(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_size(st, flag, v, &l->memory) : oom(st);
}

static int f_output(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_size(st, flag, v, &l->output) : oom(st);
}

static int f_time_limit(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_duration(st, flag, v, &l->cpu_time) : oom(st);
}

static int f_wall_time_limit(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_duration(st, flag, v, &l->wall_time) : oom(st);
}

static int f_pids(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_u32(st, flag, v, &l->has_pids, &l->pids) : oom(st);
}

static int f_cpu_weight(struct state *st, const char *flag, const char *v)
{
    Sbx__V1__Limits *l = limits(st);
    return l ? set_u32(st, flag, v, &l->has_cpu_weight, &l->cpu_weight) : oom(st);
}

static int f_cpuset(struct state *st, const char *flag, const char *v)
{
    return limits(st) ? set_str(st, &limits(st)->cpuset, v) : oom(st);
}

static locale_t c_loc;

static void c_locale_init(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int f_cpus(struct state *st, const char *flag, const char *v)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, c_locale_init);
    char *end;
    /* strtod alone would also take " 1", "0x1p1" and "inf". */
    bool plain = *v && strspn(v, "0123456789.") == strlen(v);
    double x = !plain ? 0 : c_loc ? strtod_l(v, &end, c_loc) : strtod(v, &end);
    if (!plain || *end)
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not a number of cores", flag, v);
    if (!limits(st))
        return oom(st);
    limits(st)->has_cpus = true;
    limits(st)->cpus = x;
    return 0;
}

/* --uid and --gid: the same number, into a different field. */
static int set_id(struct state *st, const char *flag, const char *v, protobuf_c_boolean *has,
                  uint32_t *field)
{
    uint32_t n;
    int r = parse_u32(st, flag, v, &n);
    if (r < 0)
        return r;
    *has = true;
    *field = n;
    return 0;
}

static int f_uid(struct state *st, const char *flag, const char *v)
{
    return set_id(st, flag, v, &st->opts->policy->has_uid, &st->opts->policy->uid);
}

static int f_gid(struct state *st, const char *flag, const char *v)
{
    return set_id(st, flag, v, &st->opts->policy->has_gid, &st->opts->policy->gid);
}

static int f_time_offset(struct state *st, const char *flag, const char *v)
{
    JobPolicy *p = st->opts->policy;
    const char *eq = strchr(v, '=');
    Sbx__V1__TimeOffset__Clock clock;
    if (eq && (size_t)(eq - v) == 9 && strncmp(v, "monotonic", 9) == 0)
        clock = SBX__V1__TIME_OFFSET__CLOCK__MONOTONIC;
    else if (eq && (size_t)(eq - v) == 8 && strncmp(v, "boottime", 8) == 0)
        clock = SBX__V1__TIME_OFFSET__CLOCK__BOOTTIME;
    else
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not CLOCK=SECONDS (CLOCK is monotonic or boottime)", flag,
                           v);
    int r = check_duration_flag(st, flag, eq + 1, true);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->n_time_offsets; i++) {
        Sbx__V1__TimeOffset *t = p->time_offsets[i];
        if (t->has_clock && t->clock == clock)
            return set_str(st, &t->offset, eq + 1);
    }
    Sbx__V1__TimeOffset *t = malloc(sizeof *t);
    if (!t)
        return oom(st);
    sbx__v1__time_offset__init(t);
    t->has_clock = true;
    t->clock = clock;
    t->offset = strdup(eq + 1);
    Sbx__V1__TimeOffset **na = t->offset ? realloc(p->time_offsets, (p->n_time_offsets + 1) * sizeof *na) : NULL;
    if (!na) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return oom(st);
    }
    p->time_offsets = na;
    na[p->n_time_offsets++] = t;
    return 0;
}

static int f_network(struct state *st, const char *flag, const char *v)
{
    JobPolicy *p = st->opts->policy;
    if (strcmp(v, "loopback") == 0)
        p->network = SBX__V1__JOB_POLICY__NETWORK__LOOPBACK;
    else if (strcmp(v, "none") == 0)
        p->network = SBX__V1__JOB_POLICY__NETWORK__NONE;
    else
        return sbx_err_set(st->err, EINVAL, "%s: \"%s\" is not loopback or none", flag, v);
    p->has_network = true;
    return 0;
}

static int f_seccomp(struct state *st, const char *flag, const char *v)
{
    if (strcmp(v, "default") == 0 || strcmp(v, "strict") == 0 || strcmp(v, "none") == 0)
        return set_str(st, &st->opts->policy->seccomp, v);
    /* A bare name of a shipped profile (python, judge-c): its file. */
    if (!strchr(v, '/')) {
        _cleanup_free_ char *shipped = NULL;
        if (asprintf(&shipped, "%s/%s.profile", sbx_profile_dir(), v) < 0)
            return oom(st);
        if (access(shipped, F_OK) == 0)
            return set_str(st, &st->opts->policy->seccomp, shipped);
    }
    _cleanup_free_ char *path = host_path(v);
    if (!path)
        return oom(st);
    return set_str(st, &st->opts->policy->seccomp, path);
}

/* --policy, --result-json, --quiet and --help were taken by the first pass. */
static int f_noop(struct state *st, const char *flag, const char *v)
{
    return 0;
}

static const struct flag flags[] = {
    {"--policy", true, f_noop, M_PER_RUN},
    {"--result-json", true, f_noop, M_RUN | M_SRUN},
    {"--help", false, f_noop, M_PER_RUN},
    {"-h", false, f_noop, M_PER_RUN},
    {"--quiet", false, f_noop, M_PER_RUN},
    {"-q", false, f_noop, M_PER_RUN},
    {"--pool", true, f_noop, M_RUN},
    {"--name", true, f_noop, M_CREATE},
    {"--idle-timeout", true, f_noop, M_CREATE},
    {"--max-lifetime", true, f_noop, M_CREATE},
    {"--rootfs", true, f_rootfs, M_SANDBOX},
    {"--rootfs-size", true, f_rootfs_size, M_SANDBOX},
    {"--image", true, f_image, M_SANDBOX},
    {"--bind", true, f_bind, M_SANDBOX},
    {"--bind-rw", true, f_bind_rw, M_SANDBOX},
    {"--tmpfs", true, f_tmpfs, M_SANDBOX},
    {"--cwd", true, f_cwd, M_PER_RUN},
    {"--arg", true, f_arg, M_RUN | M_SRUN},
    {"--env", true, f_env, M_PER_RUN},
    {"--hostname", true, f_hostname, M_SANDBOX},
    {"--memory", true, f_memory, M_PER_RUN},
    {"--pids", true, f_pids, M_PER_RUN},
    {"--cpus", true, f_cpus, M_SANDBOX},
    {"--cpu-weight", true, f_cpu_weight, M_SANDBOX},
    {"--cpuset", true, f_cpuset, M_SANDBOX},
    {"--time-limit", true, f_time_limit, M_PER_RUN},
    {"--wall-time-limit", true, f_wall_time_limit, M_PER_RUN},
    {"--output-limit", true, f_output, M_PER_RUN},
    {"--time-offset", true, f_time_offset, M_SANDBOX},
    {"--network", true, f_network, M_SANDBOX},
    {"--seccomp", true, f_seccomp, M_SANDBOX},
    {"--uid", true, f_uid, M_SANDBOX},
    {"--gid", true, f_gid, M_SANDBOX},
};

/* One flag occurrence at argv[*i]: its table entry and value, advancing *i
 * past both. Returns 1 at the end of the flags, 0 for a flag, or an error. */
static const char *const mode_help[] = {
    [SBX_FLAGS_RUN] = "sbx run --help",
    [SBX_FLAGS_SESSION_CREATE] = "sbx session create --help",
    [SBX_FLAGS_SESSION_RUN] = "sbx session run --help",
};

static int next_flag(int argc, char **argv, int *i, enum sbx_flag_mode mode, const struct flag **fl,
                     const char **value, char *name, size_t name_size, struct sbx_err *err)
{
    const char *a = argv[*i];
    if (strcmp(a, "--") == 0) {
        (*i)++;
        return 1;
    }
    if (a[0] != '-' || a[1] == '\0')
        return 1;
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    snprintf(name, name_size, "%.*s", (int)(n > name_size - 1 ? name_size - 1 : n), a);
    *fl = NULL;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (strlen(flags[k].name) == n && strncmp(flags[k].name, a, n) == 0)
            *fl = &flags[k];
    /* sbx run's own messages stay as they were: a flag only a session
     * takes is unknown to it. */
    if (!*fl || (mode == SBX_FLAGS_RUN && !((*fl)->modes & M_RUN)))
        return sbx_err_set(err, EINVAL, "%s: unknown flag (see %s)", name, mode_help[mode]);
    if (!((*fl)->modes & (1u << mode))) {
        if (mode == SBX_FLAGS_SESSION_RUN)
            return sbx_err_set(err, EINVAL,
                               "%s: not a per-run flag; it is the session's (sbx session create), and a "
                               "session run takes only --time-limit, --wall-time-limit, --memory, --pids, "
                               "--output-limit, --env, --cwd, --arg, --policy and --result-json",
                               name);
        return sbx_err_set(err, EINVAL, "%s: not a flag of sbx session create (see %s)", name,
                           mode_help[mode]);
    }
    (*i)++;
    if (!(*fl)->takes_value) {
        if (eq)
            return sbx_err_set(err, EINVAL, "%s: takes no value", name);
        *value = NULL;
        return 0;
    }
    if (eq) {
        *value = eq + 1;
    } else {
        if (*i >= argc)
            return sbx_err_set(err, EINVAL, "%s: needs a value", name);
        *value = argv[(*i)++];
    }
    return 0;
}

/* The second pass: every flag over the policy, then the command line (it
 * replaces the policy's command and arguments when it names a command),
 * then the --arg values appended. */
static int apply_flags_and_command(int argc, char **argv, struct state *st)
{
    const struct flag *fl;
    const char *v;
    char name[64];
    int i = 0, r = 0;
    JobPolicy *p = st->opts->policy;
    while (i < argc && (r = next_flag(argc, argv, &i, st->mode, &fl, &v, name, sizeof name, st->err)) == 0)
        if ((r = fl->apply(st, name, v)) < 0)
            return r;
    if (r < 0)
        return r;
    if (i < argc && st->mode == SBX_FLAGS_SESSION_CREATE)
        return sbx_err_set(st->err, EINVAL,
                           "\"%s\": sbx session create takes no COMMAND (each run names its own: sbx "
                           "session run ID -- COMMAND)",
                           argv[i]);
    if (i < argc) {
        if ((r = set_str(st, &p->command, argv[i])) < 0)
            return r;
        for (size_t k = 0; k < p->n_args; k++)
            free(p->args[k]);
        p->n_args = 0;
        for (i++; i < argc; i++)
            if ((r = append_str(st, &p->args, &p->n_args, argv[i])) < 0)
                return r;
    }
    for (size_t k = 0; k < st->n_extra_args; k++)
        if ((r = append_str(st, &p->args, &p->n_args, st->extra_args[k])) < 0)
            return r;
    return 0;
}

int sbx_run_parse_flags(int argc, char **argv, struct sbx_run_opts *opts, struct sbx_err *err)
{
    return sbx_run_parse_flags_mode(argc, argv, SBX_FLAGS_RUN, opts, err);
}

int sbx_run_parse_flags_mode(int argc, char **argv, enum sbx_flag_mode mode, struct sbx_run_opts *opts,
                             struct sbx_err *err)
{
    memset(opts, 0, sizeof *opts);
    const struct flag *fl;
    const char *v;
    char name[64];
    int i = 0, r = 0;

    /* First pass: the spelling of every flag, and the two that must be
     * known before the others apply (--policy is the base they override;
     * --result-json must be known even if anything later fails). */
    while (i < argc && (r = next_flag(argc, argv, &i, mode, &fl, &v, name, sizeof name, err)) == 0) {
        if (fl->apply != f_noop)
            continue;
        if (strcmp(fl->name, "--policy") == 0) {
            if (opts->policy_path)
                return sbx_err_set(err, EINVAL, "--policy: given more than once");
            opts->policy_path = v;
        } else if (strcmp(fl->name, "--result-json") == 0) {
            opts->result_json = v;
        } else if (strcmp(fl->name, "--pool") == 0) {
            if (!*v)
                return sbx_err_set(err, EINVAL, "--pool: the pool's name is empty");
            opts->pool = v;
        } else if (strcmp(fl->name, "--name") == 0) {
            opts->name = v;
        } else if (strcmp(fl->name, "--idle-timeout") == 0 || strcmp(fl->name, "--max-lifetime") == 0) {
            int64_t ns;
            int d = sbx_parse_duration_ns(v, false, &ns);
            if (d < 0)
                return sbx_err_set(err, -d, "%s: \"%s\" is not a duration", fl->name, v);
            *(fl->name[2] == 'i' ? &opts->idle_timeout : &opts->max_lifetime) = v;
        } else if (strcmp(fl->name, "--quiet") == 0 || strcmp(fl->name, "-q") == 0) {
            opts->quiet = true;
        } else {
            opts->help = true;
        }
    }
    if (r < 0)
        return r;
    if (opts->help)
        return 0;

    if (opts->policy_path) {
        if ((r = sbx_policy_load_file(opts->policy_path, &opts->policy, err)) < 0)
            return r;
    } else if (!(opts->policy = sbx_policy_new())) {
        return sbx_err_set(err, ENOMEM, "out of memory");
    }

    struct state st = {.opts = opts, .mode = mode, .err = err};
    r = apply_flags_and_command(argc, argv, &st);
    free(st.extra_args);
    return r;
}

void sbx_run_opts_free(struct sbx_run_opts *opts)
{
    if (!opts)
        return;
    sbx_policy_free(opts->policy);
    memset(opts, 0, sizeof *opts);
}
