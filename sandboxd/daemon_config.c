/* Loading and validating sandboxd's configuration. Every rule and default of
 * DaemonConfig lives here, so the daemon never sees a half-checked value. */
#include "daemon_config.h"

#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/readfile.h"
#include "executor/launcher/exec.h"
#include "policy/textformat.h"
#include "policy/units.h"

#define CONFIG_MAX_BYTES (1u << 20)

static int parse_size(const char *field, const char *s, uint64_t *out, struct sbx_err *err)
{
    if (sbx_parse_size(s, out) < 0)
        return sbx_err_set(err, EINVAL, "%s: \"%s\" is not a size", field, s);
    return 0;
}

static int parse_duration(const char *field, const char *s, int64_t *out, struct sbx_err *err)
{
    if (sbx_parse_duration_ns(s, false, out) < 0)
        return sbx_err_set(err, EINVAL, "%s: \"%s\" is not a duration", field, s);
    if (*out <= 0)
        return sbx_err_set(err, EINVAL, "%s: must be more than zero", field);
    return 0;
}

static int check_caps(const Sbx__V1__ClientCaps *c, struct sbx_caps *caps, struct sbx_err *err)
{
    memset(caps, 0, sizeof *caps);
    if (!c)
        return 0;
    if (c->memory) {
        if (parse_size("client_caps.memory", c->memory, &caps->memory, err) < 0)
            return -EINVAL;
        caps->memory_str = c->memory;
    }
    if (c->has_pids) {
        if (c->pids == 0)
            return sbx_err_set(err, EINVAL, "client_caps.pids: must be more than zero");
        caps->pids = c->pids;
    }
    if (c->has_cpus) {
        if (!isfinite(c->cpus) || c->cpus <= 0 || c->cpus > 4096)
            return sbx_err_set(err, EINVAL,
                               "client_caps.cpus: must be more than 0 and at most 4096");
        caps->cpus = c->cpus;
    }
    if (c->cpu_time) {
        if (parse_duration("client_caps.cpu_time", c->cpu_time, &caps->cpu_time_ns, err) < 0)
            return -EINVAL;
        caps->cpu_time_str = c->cpu_time;
    }
    if (c->wall_time) {
        if (parse_duration("client_caps.wall_time", c->wall_time, &caps->wall_time_ns, err) < 0)
            return -EINVAL;
        caps->wall_time_str = c->wall_time;
    }
    if (c->output) {
        if (parse_size("client_caps.output", c->output, &caps->output, err) < 0)
            return -EINVAL;
        if (caps->output == 0)
            return sbx_err_set(err, EINVAL, "client_caps.output: must be more than zero");
        caps->output_str = c->output;
    }
    if (c->rootfs_size) {
        if (parse_size("client_caps.rootfs_size", c->rootfs_size, &caps->rootfs_size, err) < 0)
            return -EINVAL;
        if (caps->rootfs_size == 0)
            return sbx_err_set(err, EINVAL, "client_caps.rootfs_size: must be more than zero");
        caps->rootfs_size_str = c->rootfs_size;
    }
    if (c->tmpfs_size) {
        if (parse_size("client_caps.tmpfs_size", c->tmpfs_size, &caps->tmpfs_size, err) < 0)
            return -EINVAL;
        if (caps->tmpfs_size == 0)
            return sbx_err_set(err, EINVAL, "client_caps.tmpfs_size: must be more than zero");
        caps->tmpfs_size_str = c->tmpfs_size;
    }
    if (c->has_open_files) {
        if (c->open_files == 0)
            return sbx_err_set(err, EINVAL, "client_caps.open_files: must be more than zero");
        caps->open_files = c->open_files;
    }
    if (c->has_max_jobs) {
        if (c->max_jobs == 0)
            return sbx_err_set(err, EINVAL, "client_caps.max_jobs: must be more than zero");
        caps->max_jobs = c->max_jobs;
    }
    if (c->has_cpu_weight) {
        if (c->cpu_weight == 0 || c->cpu_weight > SBX_MAX_CPU_WEIGHT)
            return sbx_err_set(err, EINVAL, "client_caps.cpu_weight: must be within 1..%d",
                               SBX_MAX_CPU_WEIGHT);
        caps->cpu_weight = c->cpu_weight;
    }
    if (c->cpuset) {
        if (sbx_cpuset_parse(c->cpuset, caps->cpuset) < 0)
            return sbx_err_set(err, EINVAL, "client_caps.cpuset: \"%s\" is not a CPU list like "
                               "\"0-3,5\"", c->cpuset);
        caps->cpuset_str = c->cpuset;
    }
    if (c->has_pending_signals) {
        if (c->pending_signals > SBX_MAX_PENDING_SIGNALS)
            return sbx_err_set(err, EINVAL, "client_caps.pending_signals: at most %u",
                               SBX_MAX_PENDING_SIGNALS);
        /* 0 is a cap like any other here: no queued signals at all. */
        caps->pending_signals = c->pending_signals;
        caps->has_pending_signals = true;
    }
    if (c->msgqueue) {
        if (parse_size("client_caps.msgqueue", c->msgqueue, &caps->msgqueue, err) < 0)
            return -EINVAL;
        caps->msgqueue_str = c->msgqueue;
    }
    return 0;
}

static int check_pool(const DaemonConfig *m, struct sbx_uidpool *pool, struct sbx_err *err)
{
    pool->first = SBX_UIDPOOL_DEFAULT_FIRST;
    pool->range = SBX_UIDPOOL_DEFAULT_RANGE;
    pool->slots = SBX_UIDPOOL_DEFAULT_SLOTS;
    pool->lockdir = SBX_UIDPOOL_DEFAULT_LOCKDIR;
    if (m->slot_dir) {
        if (sbx_check_config_path("slot_dir", m->slot_dir, err) < 0)
            return -EINVAL;
        pool->lockdir = m->slot_dir;
    }
    const Sbx__V1__UidPool *u = m->uid_pool;
    if (!u)
        return 0;
    if (u->has_first)
        pool->first = u->first;
    if (u->has_range)
        pool->range = u->range;
    if (u->has_slots)
        pool->slots = u->slots;
    if (pool->first == 0)
        return sbx_err_set(err, EINVAL, "uid_pool.first: must not be 0 (root is never mapped)");
    if (pool->range == 0)
        return sbx_err_set(err, EINVAL, "uid_pool.range: must be more than zero");
    if (pool->slots == 0)
        return sbx_err_set(err, EINVAL, "uid_pool.slots: must be more than zero");
    if ((uint64_t)pool->first + (uint64_t)pool->range * pool->slots > UINT32_MAX - 1)
        return sbx_err_set(err, ERANGE,
                           "uid_pool: first + range * slots goes past the largest uid");
    return 0;
}

static int check_sessions(const DaemonConfig *m, struct sbx_dconfig *cfg, struct sbx_err *err)
{
    const Sbx__V1__SessionConfig *sc = m->sessions;
    cfg->session_idle_ns = SBX_DAEMON_DEFAULT_SESSION_IDLE_NS;
    cfg->session_lifetime_ns = SBX_DAEMON_DEFAULT_SESSION_LIFETIME_NS;
    cfg->max_sessions = SBX_DAEMON_DEFAULT_MAX_SESSIONS;
    cfg->max_sessions_per_uid = SBX_DAEMON_DEFAULT_MAX_SESSIONS_PER_UID;
    if (!sc)
        return 0;
    if (sc->idle_timeout &&
        parse_duration("sessions.idle_timeout", sc->idle_timeout, &cfg->session_idle_ns, err) < 0)
        return -EINVAL;
    if (sc->max_lifetime && parse_duration("sessions.max_lifetime", sc->max_lifetime,
                                           &cfg->session_lifetime_ns, err) < 0)
        return -EINVAL;
    if (sc->has_max_sessions)
        cfg->max_sessions = sc->max_sessions;
    if (sc->has_max_sessions_per_uid)
        cfg->max_sessions_per_uid = sc->max_sessions_per_uid;
    if (cfg->max_sessions > 65536 || cfg->max_sessions_per_uid > 65536)
        return sbx_err_set(err, EINVAL, "sessions.max_sessions%s: at most 65536",
                           cfg->max_sessions > 65536 ? "" : "_per_uid");
    return 0;
}

/* A pool's policy is the operator's, checked as a job's would be, without
 * the command each job brings. */
static int check_pools(const DaemonConfig *m, struct sbx_dconfig *cfg, struct sbx_err *err)
{
    /* Each ready sandbox holds a uid slot, as a running job does: the pools
     * and max_concurrent jobs must fit in the pool of slots together. */
    uint64_t held = cfg->max_concurrent;
    for (size_t i = 0; i < m->n_warm_pool; i++)
        held += m->warm_pool[i]->has_size ? m->warm_pool[i]->size : 0;
    if (m->n_warm_pool && held > cfg->pool.slots)
        return sbx_err_set(err, EINVAL, "warm_pool: the pools' sizes and max_concurrent (%llu "
                           "in all) are more than uid_pool.slots (%u): each ready sandbox holds "
                           "a slot", (unsigned long long)held, cfg->pool.slots);
    for (size_t i = 0; i < m->n_warm_pool; i++) {
        const Sbx__V1__WarmPool *p = m->warm_pool[i];
        if (!p->name || !*p->name || strlen(p->name) > SBX_MAX_POOL_NAME ||
            strspn(p->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                strlen(p->name))
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].name: must be 1 to %d characters of "
                               "[A-Za-z0-9_.-]", i, SBX_MAX_POOL_NAME);
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->warm_pool[k]->name, p->name) == 0)
                return sbx_err_set(err, EINVAL, "warm_pool[%zu].name: %s is already pool %zu's",
                                   i, p->name, k);
        if (!p->has_size || p->size < 1 || p->size > SBX_MAX_POOL_SIZE)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].size: must be 1 to %d", i,
                               SBX_MAX_POOL_SIZE);
        if (!p->policy)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].policy: missing", i);
        if (p->policy->command || p->policy->n_args)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].policy.%s: a pool's policy has no "
                               "command (each job brings its own)", i,
                               p->policy->command ? "command" : "args");
        if (p->policy->image)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].policy.image: not supported in a "
                               "pool (name its layers in rootfs.layers)", i);
        JobPolicy probe = *p->policy;
        probe.command = (char *)SBX_SANDBOX_PLACEHOLDER_COMMAND;
        struct sbx_spec spec;
        struct sbx_err e = {0};
        const char *rootfs = cfg->default_rootfs ? cfg->default_rootfs : sbx_default_rootfs();
        if (sbx_policy_validate(&probe, rootfs, &spec, &e) < 0)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].policy.%s", i, e.msg);
        sbx_spec_free(&spec);
    }
    return 0;
}

static int validate(DaemonConfig *m, struct sbx_dconfig *cfg, struct sbx_err *err)
{
    cfg->socket = m->socket ? m->socket : SBX_DAEMON_DEFAULT_SOCKET;
    if (sbx_check_config_path("socket", cfg->socket, err) < 0)
        return -EINVAL;
    if (strlen(cfg->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return sbx_err_set(err, ENAMETOOLONG, "socket: longer than %zu bytes",
                           sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (check_pool(m, &cfg->pool, err) < 0)
        return -EINVAL;
    cfg->cgroup_parent = m->cgroup_parent;
    if (m->cgroup_parent && sbx_check_config_path("cgroup_parent", m->cgroup_parent, err) < 0)
        return -EINVAL;

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->max_concurrent =
        m->has_max_concurrent ? m->max_concurrent : (uint32_t)(cpus > 0 ? cpus : 1);
    if (cfg->max_concurrent == 0 || cfg->max_concurrent > cfg->pool.slots)
        return sbx_err_set(err, EINVAL, "max_concurrent: must be between 1 and uid_pool.slots (%u)",
                           cfg->pool.slots);
    cfg->queue_length = m->has_queue_length ? m->queue_length : SBX_DAEMON_DEFAULT_QUEUE;
    if (cfg->queue_length > 1000000)
        return sbx_err_set(err, EINVAL, "queue_length: at most 1000000");
    cfg->max_connections =
        m->has_max_connections ? m->max_connections : SBX_DAEMON_DEFAULT_MAX_CONNECTIONS;
    if (cfg->max_connections == 0 || cfg->max_connections > 65536)
        return sbx_err_set(err, EINVAL, "max_connections: must be between 1 and 65536");
    cfg->max_connections_per_uid = m->has_max_connections_per_uid
                                       ? m->max_connections_per_uid
                                       : SBX_DAEMON_DEFAULT_MAX_CONNECTIONS_PER_UID;
    if (cfg->max_connections_per_uid == 0)
        return sbx_err_set(err, EINVAL, "max_connections_per_uid: must be more than zero");
    cfg->keep_stopped = m->has_keep_stopped ? m->keep_stopped : SBX_DAEMON_DEFAULT_KEEP_STOPPED;
    if (cfg->keep_stopped > 1000000)
        return sbx_err_set(err, EINVAL, "keep_stopped: at most 1000000");

    cfg->max_request = SBX_DAEMON_DEFAULT_MAX_REQUEST;
    if (m->max_request_bytes) {
        uint64_t v;
        if (parse_size("max_request_bytes", m->max_request_bytes, &v, err) < 0)
            return -EINVAL;
        if (v < 1024 || v > (1u << 30))
            return sbx_err_set(err, EINVAL, "max_request_bytes: must be between 1K and 1G");
        cfg->max_request = (size_t)v;
    }
    cfg->grace_ns = SBX_DAEMON_DEFAULT_GRACE_NS;
    if (m->grace_period && parse_duration("grace_period", m->grace_period, &cfg->grace_ns, err) < 0)
        return -EINVAL;
    cfg->stall_ns = SBX_DAEMON_DEFAULT_STALL_NS;
    if (m->stall_timeout &&
        parse_duration("stall_timeout", m->stall_timeout, &cfg->stall_ns, err) < 0)
        return -EINVAL;
    cfg->idle_ns = SBX_DAEMON_DEFAULT_IDLE_NS;
    if (m->idle_timeout && parse_duration("idle_timeout", m->idle_timeout, &cfg->idle_ns, err) < 0)
        return -EINVAL;
    if (check_caps(m->client_caps, &cfg->caps, err) < 0)
        return -EINVAL;

    char field[64];
    for (size_t i = 0; i < m->n_shared_paths; i++) {
        snprintf(field, sizeof field, "shared_paths[%zu]", i);
        if (sbx_check_config_path(field, m->shared_paths[i], err) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < m->n_shared_paths_rw; i++) {
        snprintf(field, sizeof field, "shared_paths_rw[%zu]", i);
        if (sbx_check_config_path(field, m->shared_paths_rw[i], err) < 0)
            return -EINVAL;
    }
    cfg->image_store = m->image_store ? m->image_store : SBX_IMAGE_DEFAULT_STORE;
    if (m->image_store && sbx_check_config_path("image_store", m->image_store, err) < 0)
        return -EINVAL;
    cfg->share_images = m->has_share_images && m->share_images;
    cfg->default_rootfs = m->default_rootfs;
    if (m->default_rootfs && sbx_check_config_path("default_rootfs", m->default_rootfs, err) < 0)
        return -EINVAL;
    return check_sessions(m, cfg, err) < 0 ? -EINVAL : check_pools(m, cfg, err);
}

int sbx_dconfig_parse(const char *text, size_t len, struct sbx_dconfig *cfg, struct sbx_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    ProtobufCMessage *m = NULL;
    int r = sbx_text_parse(&sbx__v1__daemon_config__descriptor, text, len, &m, err);
    if (r < 0)
        return r;
    cfg->msg = (DaemonConfig *)m;
    r = validate(cfg->msg, cfg, err);
    if (r < 0) {
        sbx_dconfig_free(cfg);
        return r;
    }
    return 0;
}

int sbx_dconfig_load(const char *path, struct sbx_dconfig *cfg, struct sbx_err *err)
{
    if (!path)
        return sbx_dconfig_parse("", 0, cfg, err);
    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = sbx_read_file(path, CONFIG_MAX_BYTES, &buf, &len, err);
    if (r < 0)
        return r;
    r = sbx_dconfig_parse(buf, len, cfg, err);
    if (r < 0)
        return sbx_err_wrap(err, "%s", path);
    return 0;
}

void sbx_dconfig_free(struct sbx_dconfig *cfg)
{
    if (cfg->msg)
        protobuf_c_message_free_unpacked(&cfg->msg->base, NULL);
    memset(cfg, 0, sizeof *cfg);
}

bool sbx_dconfig_is_admin(const struct sbx_dconfig *cfg, uid_t uid)
{
    if (uid == 0 || uid == geteuid())
        return true;
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_admin_uids; i++)
        if (cfg->msg->admin_uids[i] == uid)
            return true;
    return false;
}

bool sbx_dconfig_allows(const struct sbx_dconfig *cfg, uid_t uid, gid_t gid)
{
    if (sbx_dconfig_is_admin(cfg, uid))
        return true;
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_allowed_uids; i++)
        if (cfg->msg->allowed_uids[i] == uid)
            return true;
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_allowed_gids; i++)
        if (cfg->msg->allowed_gids[i] == gid)
            return true;
    return false;
}

bool sbx_dconfig_path_shared(const struct sbx_dconfig *cfg, const char *path, bool rw)
{
    /* Exact matches only: a prefix rule would let a client walk through a
     * symlink it planted below a shared directory. */
    for (size_t i = 0; !rw && cfg->msg && i < cfg->msg->n_shared_paths; i++)
        if (strcmp(cfg->msg->shared_paths[i], path) == 0)
            return true;
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_shared_paths_rw; i++)
        if (strcmp(cfg->msg->shared_paths_rw[i], path) == 0)
            return true;
    return false;
}

/* d holds the entry e: only the operator can replace e. A sticky directory
 * (/tmp) lets nobody but e's owner (or d's) rename or remove e. */
static bool holder_safe(const struct stat *d, const struct stat *e, uid_t me)
{
    if (d->st_uid != 0 && d->st_uid != me)
        return false;
    if (!(d->st_mode & 0022))
        return true;
    return (d->st_mode & S_ISVTX) && (e->st_uid == 0 || e->st_uid == me);
}

int sbx_dconfig_path_owned(const char *path, struct sbx_err *err)
{
    char rest[2 * PATH_MAX], walked[PATH_MAX] = "";
    if (strlen(path) >= PATH_MAX)
        return sbx_err_set(err, ENAMETOOLONG, "\"%s\": too long", path);
    snprintf(rest, sizeof rest, "%s", path);
    _cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return sbx_err_sys(err, errno, "opening /");
    uid_t me = geteuid();
    int links = 0;
    char *p = rest;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            return 0;
        size_t n = strcspn(p, "/");
        char comp[NAME_MAX + 1];
        if (n > NAME_MAX)
            return sbx_err_set(err, ENAMETOOLONG, "\"%s\": a component is too long", path);
        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n;
        struct stat dst, st;
        int fd = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        /* Missing, in a directory nobody else may write: nobody else can
         * make it (and opening it for the job fails later, saying so). */
        if (fd < 0 && errno == ENOENT && fstat(dir, &dst) == 0 &&
            (dst.st_uid == 0 || dst.st_uid == me) && !(dst.st_mode & 0022))
            return 0;
        if (fd < 0)
            return sbx_err_sys(err, errno, "\"%s\": %s/%s", path, walked, comp);
        if (fstat(dir, &dst) < 0 || fstat(fd, &st) < 0) {
            int e = errno;
            close(fd);
            return sbx_err_sys(err, e, "\"%s\": %s/%s", path, walked, comp);
        }
        if (!holder_safe(&dst, &st, me)) {
            close(fd);
            return sbx_err_set(err, EPERM,
                               "\"%s\": the directory %s is writable by uid %u or others: a "
                               "shared path must lie in directories only the operator can "
                               "change",
                               path, *walked ? walked : "/", (unsigned)dst.st_uid);
        }
        if (S_ISLNK(st.st_mode)) {
            /* The operator's symlink (its directory is the operator's):
             * walk on through its target, checked the same way. */
            char target[PATH_MAX];
            ssize_t len = readlinkat(fd, "", target, sizeof target - 1);
            close(fd);
            if (len < 0)
                return sbx_err_sys(err, errno, "\"%s\": reading the link %s/%s", path, walked,
                                   comp);
            target[len] = '\0';
            if (++links > 40 || (size_t)len + strlen(p) + 2 > sizeof rest)
                return sbx_err_set(err, ELOOP, "\"%s\": too many symlinks", path);
            /* rest becomes target "/" what was left (p points into rest). */
            memmove(rest + len + 1, p, strlen(p) + 1);
            memcpy(rest, target, (size_t)len);
            rest[len] = '/';
            p = rest;
            if (target[0] == '/') {
                int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                    return sbx_err_sys(err, errno, "opening /");
                close(dir);
                dir = root;
                walked[0] = '\0';
            }
            continue;
        }
        close(dir);
        dir = fd;
        if (strcmp(comp, "..") == 0) {
            char *slash = strrchr(walked, '/');
            if (slash)
                *slash = '\0';
        } else if (strcmp(comp, ".") != 0) {
            size_t w = strlen(walked);
            snprintf(walked + w, sizeof walked - w, "/%s", comp);
        }
    }
}
