/* Request checks for the sandboxd protocol. Everything a client sends passes
 * sbx_request_check before the daemon acts on it, and the job policy inside
 * goes through sbx_policy_validate like a local run's. */
#include "daemon_proto.h"

#include "policy/runmerge.h"
#include "policy/units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/launcher/exec.h"
#include "image/image.h"
#include "image/store.h"

#define E(c) SBX__V1__ERROR__CODE__##c

void sbx_job_req_free(struct sbx_job_req *jr)
{
    if (jr->have_spec)
        sbx_spec_free(&jr->spec);
    jr->have_spec = false;
    sbx_image_hold_release(&jr->hold);
}

static int need_job_id(const char *op, bool has, uint64_t id, Sbx__V1__Error__Code *code,
                       struct sbx_err *err)
{
    if (!has || id == 0) {
        *code = E(INVALID_ARGUMENT);
        return sbx_err_set(err, EINVAL, "%s.job_id: missing", op);
    }
    return 0;
}

/* Host paths are opened by the daemon, as root: a non-admin may name only
 * those the operator shared, or it could read any file on the host. */
static int check_host_paths(const JobPolicy *p, size_t image_layers, const struct sbx_req_ctx *ctx,
                            Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    *code = E(PERMISSION_DENIED);
    const Sbx__V1__Stdio *s = p->stdio;
    if (s && (s->stdin_file || s->stdout_file || s->stderr_file))
        return sbx_err_set(err, EPERM,
                           "stdio.%s: sandboxd never opens host files for a job; "
                           "attach a stream or use stdio.capture",
                           s->stdin_file    ? "stdin_file"
                           : s->stdout_file ? "stdout_file"
                                            : "stderr_file");
    if (ctx->admin)
        return 0;
    struct sbx_err e = {0};
    /* The first image_layers come from the daemon's own image store (the
     * policy's image, resolved by the daemon), not from the client. */
    for (size_t i = image_layers; p->rootfs && i < p->rootfs->n_layers; i++) {
        if (!sbx_dconfig_path_shared(ctx->cfg, p->rootfs->layers[i], false))
            return sbx_err_set(err, EPERM,
                               "rootfs.layers[%zu]: \"%s\" is not in the daemon's "
                               "shared_paths",
                               i, p->rootfs->layers[i]);
        if (sbx_dconfig_path_owned(p->rootfs->layers[i], &e) < 0)
            return sbx_err_set(err, EPERM, "rootfs.layers[%zu]: %s", i, e.msg);
    }
    for (size_t i = 0; i < p->n_mounts; i++) {
        const Sbx__V1__Mount *m = p->mounts[i];
        if (!m->src)
            continue;
        if (!sbx_dconfig_path_shared(ctx->cfg, m->src, false))
            return sbx_err_set(err, EPERM,
                               "mounts[%zu].src: \"%s\" is not in the daemon's "
                               "shared_paths",
                               i, m->src);
        /* Read-only unless the operator said otherwise for this path: a
         * layer or directory shared with every tenant must not carry one
         * tenant's files to the next. */
        if (m->rw && !sbx_dconfig_path_shared(ctx->cfg, m->src, true))
            return sbx_err_set(err, EPERM,
                               "mounts[%zu].rw: \"%s\" is shared read-only; only the "
                               "daemon's shared_paths_rw may be bound read-write",
                               i, m->src);
        if (sbx_dconfig_path_owned(m->src, &e) < 0)
            return sbx_err_set(err, EPERM, "mounts[%zu].src: %s", i, e.msg);
    }
    /* Without the filter, a job reaches what only seccomp closes (nested
     * user namespaces with every capability, keyrings, io_uring): the
     * operator's decision, not the client's. */
    bool lowers = p->seccomp && strcmp(p->seccomp, "default") != 0 &&
                  strcmp(p->seccomp, "strict") != 0;
    if (lowers && !(ctx->cfg->msg && ctx->cfg->msg->clients_may_lower_seccomp))
        return sbx_err_set(err, EPERM,
                           "seccomp: \"%s\" lowers the filter, which only administrators may "
                           "do (the daemon's clients_may_lower_seccomp is off)",
                           p->seccomp);
    if (lowers && strcmp(p->seccomp, "none") != 0) {
        if (!sbx_dconfig_path_shared(ctx->cfg, p->seccomp, false))
            return sbx_err_set(err, EPERM,
                               "seccomp: profile file \"%s\" is not in the daemon's "
                               "shared_paths",
                               p->seccomp);
        if (sbx_dconfig_path_owned(p->seccomp, &e) < 0)
            return sbx_err_set(err, EPERM, "seccomp: %s", e.msg);
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A capped limit left unset gets the cap: asking for nothing is not asking
 * for more than allowed, and the job still has a bound. */
static int fill_caps(JobPolicy *p, const struct sbx_caps *c, struct sbx_err *err)
{
    if (!p->limits) {
        p->limits = malloc(sizeof *p->limits);
        if (!p->limits)
            return sbx_err_set(err, ENOMEM, "out of memory");
        sbx__v1__limits__init(p->limits);
    }
    Sbx__V1__Limits *l = p->limits;
    if (c->memory_str && !l->memory && !(l->memory = dup_or_null(c->memory_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (c->cpu_time_str && !l->cpu_time && !(l->cpu_time = dup_or_null(c->cpu_time_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (c->wall_time_str && !l->wall_time && !(l->wall_time = dup_or_null(c->wall_time_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (c->output_str && !l->output && !(l->output = dup_or_null(c->output_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (c->pids && !l->has_pids)
        l->has_pids = true, l->pids = c->pids;
    if (c->open_files && !l->has_open_files)
        l->has_open_files = true, l->open_files = c->open_files;
    if (c->rootfs_size_str) {
        if (!p->rootfs) {
            p->rootfs = malloc(sizeof *p->rootfs);
            if (!p->rootfs)
                return sbx_err_set(err, ENOMEM, "out of memory");
            sbx__v1__root_fs__init(p->rootfs);
        }
        if (!p->rootfs->size && !(p->rootfs->size = dup_or_null(c->rootfs_size_str)))
            return sbx_err_set(err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; c->tmpfs_size_str && i < p->n_mounts; i++) {
        Sbx__V1__Mount *m = p->mounts[i];
        if (m->has_type && m->type == SBX__V1__MOUNT__TYPE__TMPFS && !m->size &&
            !(m->size = dup_or_null(c->tmpfs_size_str)))
            return sbx_err_set(err, ENOMEM, "out of memory");
    }
    if (c->cpus > 0 && !l->has_cpus)
        l->has_cpus = true, l->cpus = c->cpus;
    if (c->cpu_weight && !l->has_cpu_weight && c->cpu_weight < SBX_KERNEL_CPU_WEIGHT)
        l->has_cpu_weight = true, l->cpu_weight = c->cpu_weight;
    if (c->cpuset_str && !l->cpuset && !(l->cpuset = dup_or_null(c->cpuset_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (c->has_pending_signals && !l->has_pending_signals &&
        c->pending_signals < SBX_DEFAULT_PENDING_SIGNALS)
        l->has_pending_signals = true, l->pending_signals = c->pending_signals;
    if (c->msgqueue_str && !l->msgqueue && c->msgqueue < SBX_DEFAULT_MSGQUEUE &&
        !(l->msgqueue = dup_or_null(c->msgqueue_str)))
        return sbx_err_set(err, ENOMEM, "out of memory");
    return 0;
}

/* Zero in a validated limit means "none", which is over any cap. */
static int over_u64(const char *field, uint64_t v, uint64_t cap, const char *unit,
                    struct sbx_err *err)
{
    if (cap && (v == 0 || v > cap)) {
        if (v == 0)
            return sbx_err_set(err, EPERM,
                               "limits.%s: no limit is over this client's cap "
                               "of %" PRIu64 "%s (client_caps.%s)",
                               field, cap, unit, field);
        return sbx_err_set(err, EPERM,
                           "limits.%s: %" PRIu64 "%s is over this client's cap "
                           "of %" PRIu64 "%s (client_caps.%s)",
                           field, v, unit, cap, unit, field);
    }
    return 0;
}

static int check_caps(const struct sbx_spec *s, const struct sbx_caps *c, struct sbx_err *err)
{
    if (over_u64("memory", s->limits.memory, c->memory, " bytes", err) < 0 ||
        over_u64("pids", s->limits.pids, c->pids, "", err) < 0 ||
        over_u64("cpu_time", (uint64_t)s->limits.cpu_time_ns / 1000000,
                 (uint64_t)c->cpu_time_ns / 1000000, " ms", err) < 0 ||
        over_u64("wall_time", (uint64_t)s->limits.wall_time_ns / 1000000,
                 (uint64_t)c->wall_time_ns / 1000000, " ms", err) < 0 ||
        over_u64("output", s->limits.output, c->output, " bytes", err) < 0 ||
        over_u64("open_files", s->limits.open_files, c->open_files, "", err) < 0)
        return -EPERM;
    if (c->rootfs_size && s->rootfs_size > c->rootfs_size)
        return sbx_err_set(err, EPERM,
                           "rootfs.size: %" PRIu64 " bytes is over this client's cap of %" PRIu64
                           " bytes (client_caps.rootfs_size)",
                           s->rootfs_size, c->rootfs_size);
    for (size_t i = 0; c->tmpfs_size && i < s->n_mounts; i++)
        if (s->mounts[i].type == SBX_MOUNT_TMPFS && s->mounts[i].size > c->tmpfs_size)
            return sbx_err_set(err, EPERM,
                               "mounts[%zu].size: %" PRIu64 " bytes is over this client's cap of "
                               "%" PRIu64 " bytes (client_caps.tmpfs_size)",
                               i, s->mounts[i].size, c->tmpfs_size);
    /* A sub-millisecond excess still counts. */
    if ((c->cpu_time_ns && s->limits.cpu_time_ns > c->cpu_time_ns) ||
        (c->wall_time_ns && s->limits.wall_time_ns > c->wall_time_ns))
        return sbx_err_set(err, EPERM, "limits.%s: over this client's cap (client_caps.%s)",
                           s->limits.cpu_time_ns > c->cpu_time_ns ? "cpu_time" : "wall_time",
                           s->limits.cpu_time_ns > c->cpu_time_ns ? "cpu_time" : "wall_time");
    if (c->cpus > 0 && (s->limits.cpus <= 0 || s->limits.cpus > c->cpus))
        return sbx_err_set(err, EPERM,
                           "limits.cpus: %g is over this client's cap of %g "
                           "(client_caps.cpus)",
                           s->limits.cpus, c->cpus);
    /* Unset, a job runs at the kernel's default weight. */
    uint32_t weight = s->limits.cpu_weight ? s->limits.cpu_weight : SBX_KERNEL_CPU_WEIGHT;
    if (c->cpu_weight && weight > c->cpu_weight)
        return sbx_err_set(err, EPERM,
                           "limits.cpu_weight: %" PRIu32 " is over this client's cap of %" PRIu32
                           " (client_caps.cpu_weight)",
                           weight, c->cpu_weight);
    if (c->cpuset_str) {
        uint64_t want[SBX_CPUSET_WORDS];
        if (!s->limits.cpuset || sbx_cpuset_parse(s->limits.cpuset, want) < 0)
            return sbx_err_set(err, EPERM,
                               "limits.cpuset: all CPUs are more than this client may use "
                               "(client_caps.cpuset \"%s\")",
                               c->cpuset_str);
        for (int i = 0; i < SBX_CPUSET_WORDS; i++)
            if (want[i] & ~c->cpuset[i])
                return sbx_err_set(err, EPERM,
                                   "limits.cpuset: \"%s\" is not within this client's CPUs "
                                   "\"%s\" (client_caps.cpuset)",
                                   s->limits.cpuset, c->cpuset_str);
    }
    if (c->has_pending_signals && s->limits.pending_signals > c->pending_signals)
        return sbx_err_set(err, EPERM,
                           "limits.pending_signals: %" PRIu32 " is over this client's cap of "
                           "%" PRIu32 " (client_caps.pending_signals)",
                           s->limits.pending_signals, c->pending_signals);
    if (c->msgqueue_str && s->limits.msgqueue > c->msgqueue)
        return sbx_err_set(err, EPERM,
                           "limits.msgqueue: %" PRIu64 " bytes is over this client's cap of "
                           "%" PRIu64 " bytes (client_caps.msgqueue)",
                           s->limits.msgqueue, c->msgqueue);
    return 0;
}

static int check_image_shared(const JobPolicy *p, const struct sbx_req_ctx *ctx,
                              Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    /* The store's layers are host paths the daemon opens as root: a
     * non-admin uses them only where the operator shared the store. */
    if (p->image && !ctx->admin && !ctx->cfg->share_images) {
        *code = E(PERMISSION_DENIED);
        return sbx_err_set(err, EPERM, "image: only administrators may run jobs on images "
                           "(the daemon's share_images is off)");
    }
    return 0;
}

int sbx_job_recheck(const JobPolicy *p, const struct sbx_spec *spec, size_t image_layers,
                    const struct sbx_req_ctx *ctx, Sbx__V1__Error__Code *code,
                    struct sbx_err *err)
{
    int r = ctx->caps_only ? 0 : check_host_paths(p, image_layers, ctx, code, err);
    if (r < 0 || (!ctx->caps_only && (r = check_image_shared(p, ctx, code, err)) < 0) ||
        ctx->admin)
        return r;
    *code = E(OVER_CAP);
    return check_caps(spec, &ctx->cfg->caps, err);
}

/* Validates p into jr->spec, with a non-admin's caps filled in and checked. */
static int validate_capped(JobPolicy *p, const struct sbx_req_ctx *ctx, struct sbx_job_req *jr,
                           Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    if (!ctx->admin && fill_caps(p, &ctx->cfg->caps, err) < 0) {
        *code = E(INTERNAL);
        return -ENOMEM;
    }
    *code = E(INVALID_ARGUMENT);
    const char *rootfs = ctx->cfg->default_rootfs ? ctx->cfg->default_rootfs : sbx_default_rootfs();
    int r = sbx_policy_validate(p, rootfs, &jr->spec, err);
    if (r < 0)
        return r;
    jr->have_spec = true;
    if (!ctx->admin && check_caps(&jr->spec, &ctx->cfg->caps, err) < 0) {
        *code = E(OVER_CAP);
        sbx_job_req_free(jr);
        return -EPERM;
    }
    return 0;
}

/* A run of a prepared sandbox: the request's fields on the sandbox's
 * policy, which must otherwise stay as it is, within its limits. */
static int check_run(Sbx__V1__JobRequest *j, const struct sbx_req_ctx *ctx,
                     struct sbx_job_req *jr, Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    if (!j->policy->command)
        return sbx_err_set(err, EINVAL, "command: required (a run of %s brings its own)",
                           ctx->base_what);
    JobPolicy *merged;
    int r = sbx_policy_run_merge(ctx->base, j->policy, ctx->base_what, &merged, err);
    if (r < 0)
        return r;
    sbx_policy_free(j->policy);
    j->policy = merged;
    if ((r = validate_capped(merged, ctx, jr, code, err)) < 0)
        return r;
    if (sbx_spec_run_narrows(ctx->base_spec, &jr->spec, ctx->base_what, err) < 0) {
        *code = E(OVER_CAP);
        sbx_job_req_free(jr);
        return -EPERM;
    }
    /* The sandbox's layers are its own, claimed for its life. */
    jr->image_layers = ctx->base_spec->n_layers;
    return 0;
}

static int check_job(Sbx__V1__JobRequest *j, const char *op, const struct sbx_req_ctx *ctx,
                     struct sbx_job_req *jr, Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    *code = E(INVALID_ARGUMENT);
    if (j->has_stdio_fds && j->stdio_fds > SBX_STDIO_ALL)
        return sbx_err_set(err, EINVAL, "%s.stdio_fds: %u has bits other than 1, 2 and 4", op,
                           j->stdio_fds);
    jr->stdio_fds = j->has_stdio_fds ? j->stdio_fds : 0;
    if (j->name) {
        size_t n = strlen(j->name);
        if (n > SBX_MAX_JOB_NAME)
            return sbx_err_set(err, EINVAL, "%s.name: longer than %d bytes", op, SBX_MAX_JOB_NAME);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)j->name[i] < 0x20 || j->name[i] == 0x7f)
                return sbx_err_set(err, EINVAL, "%s.name: control characters are not allowed", op);
    }
    if (!j->policy)
        return sbx_err_set(err, EINVAL, "%s.policy: missing", op);
    if (j->pool && j->has_session_id)
        return sbx_err_set(err, EINVAL, "%s.pool: a job runs in a pool's sandbox or in a "
                           "session, not both", op);
    if ((j->pool || j->has_session_id) && !ctx->base) {
        *code = E(NOT_FOUND);
        return j->pool ? sbx_err_set(err, ENOENT, "%s.pool: no warm pool %s", op, j->pool)
                       : sbx_err_set(err, ENOENT, "%s.session_id: no session %" PRIu64, op,
                                     j->session_id);
    }
    JobPolicy *p = j->policy;
    const Sbx__V1__Stdio *s = p->stdio;
    if (s && s->has_stdin_data && (jr->stdio_fds & 1))
        return sbx_err_set(err, EINVAL, "stdio.stdin_data: stdin is attached too; choose one");
    if (s && s->capture && (jr->stdio_fds & 6))
        return sbx_err_set(err, EINVAL, "stdio.capture: %s is attached too; choose one",
                           jr->stdio_fds & 2 ? "stdout" : "stderr");
    if (ctx->base) {
        /* Its own fields only: the sandbox's paths were checked when it
         * was configured or created, but host files for its streams never
         * are opened for anyone. */
        JobPolicy streams = SBX__V1__JOB_POLICY__INIT;
        streams.stdio = p->stdio;
        int r = check_host_paths(&streams, 0, ctx, code, err);
        return r < 0 ? r : check_run(j, ctx, jr, code, err);
    }
    int r = check_host_paths(p, 0, ctx, code, err);
    if (r < 0 || (r = check_image_shared(p, ctx, code, err)) < 0)
        return r;
    /* An image not in the store is a field naming nothing: as a bad path. */
    *code = E(INVALID_ARGUMENT);
    size_t given = p->rootfs ? p->rootfs->n_layers : 0;
    if (p->image && (r = sbx_image_apply(p, ctx->cfg->image_store, &jr->hold, err)) < 0)
        return r;
    jr->image_layers = (p->rootfs ? p->rootfs->n_layers : 0) - given;
    return validate_capped(p, ctx, jr, code, err);
}

static int check_session(Sbx__V1__SessionRequest *s, const struct sbx_req_ctx *ctx,
                         struct sbx_job_req *jr, Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    *code = E(INVALID_ARGUMENT);
    if (!s->policy)
        return sbx_err_set(err, EINVAL, "session_create.policy: missing");
    if (s->policy->command || s->policy->n_args)
        return sbx_err_set(err, EINVAL, "session_create.policy.%s: a session's policy has no "
                           "command (each run brings its own)",
                           s->policy->command ? "command" : "args");
    if (s->policy->stdio)
        return sbx_err_set(err, EINVAL, "session_create.policy.stdio: streams are each run's");
    const struct {
        const char *name, *value;
        int64_t max;
    } durs[] = {{"idle_timeout", s->idle_timeout, ctx->cfg->session_idle_ns},
                {"max_lifetime", s->max_lifetime, ctx->cfg->session_lifetime_ns}};
    for (size_t i = 0; i < 2; i++) {
        int64_t ns;
        if (!durs[i].value)
            continue;
        if (sbx_parse_duration_ns(durs[i].value, false, &ns) < 0 || ns <= 0)
            return sbx_err_set(err, EINVAL, "session_create.%s: \"%s\" is not a duration",
                               durs[i].name, durs[i].value);
        if (ns > durs[i].max)
            return sbx_err_set(err, EINVAL, "session_create.%s: %s is above the daemon's "
                               "sessions.%s", durs[i].name, durs[i].value, durs[i].name);
    }
    if (s->name && strlen(s->name) > SBX_MAX_JOB_NAME)
        return sbx_err_set(err, EINVAL, "session_create.name: longer than %d bytes",
                           SBX_MAX_JOB_NAME);
    for (const char *c = s->name; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return sbx_err_set(err, EINVAL, "session_create.name: control characters are not "
                               "allowed");
    /* Checked as a job's policy would be (host paths, images, caps), with
     * a command no run will use. */
    s->policy->command = strdup(SBX_SANDBOX_PLACEHOLDER_COMMAND);
    if (!s->policy->command) {
        *code = E(INTERNAL);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    Sbx__V1__JobRequest jreq = SBX__V1__JOB_REQUEST__INIT;
    jreq.policy = s->policy;
    return check_job(&jreq, "session_create", ctx, jr, code, err);
}

int sbx_request_check(Request *req, const struct sbx_req_ctx *ctx, struct sbx_job_req *jr,
                      Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    memset(jr, 0, sizeof *jr);
    *code = E(INVALID_ARGUMENT);
    if (req->has_version && req->version != SBX_PROTOCOL_VERSION) {
        *code = E(UNIMPLEMENTED);
        return sbx_err_set(err, ENOTSUP, "version: %u is not supported (this daemon speaks %d)",
                           req->version, SBX_PROTOCOL_VERSION);
    }
    switch (req->op_case) {
    case SBX__V1__REQUEST__OP_RUN:
        return check_job(req->run, "run", ctx, jr, code, err);
    case SBX__V1__REQUEST__OP_SUBMIT:
        return check_job(req->submit, "submit", ctx, jr, code, err);
    case SBX__V1__REQUEST__OP_WAIT:
        return need_job_id("wait", req->wait->has_job_id, req->wait->job_id, code, err);
    case SBX__V1__REQUEST__OP_INSPECT:
        return need_job_id("inspect", req->inspect->has_job_id, req->inspect->job_id, code, err);
    case SBX__V1__REQUEST__OP_PAUSE:
        return need_job_id("pause", req->pause->has_job_id, req->pause->job_id, code, err);
    case SBX__V1__REQUEST__OP_RESUME:
        return need_job_id("resume", req->resume->has_job_id, req->resume->job_id, code, err);
    case SBX__V1__REQUEST__OP_REMOVE:
        return need_job_id("remove", req->remove->has_job_id, req->remove->job_id, code, err);
    case SBX__V1__REQUEST__OP_KILL:
        if (need_job_id("kill", req->kill->has_job_id, req->kill->job_id, code, err) < 0)
            return -EINVAL;
        if (req->kill->has_signal && (req->kill->signal < 1 || req->kill->signal > 64))
            return sbx_err_set(err, EINVAL, "kill.signal: %u is not a signal (1..64)",
                               req->kill->signal);
        return 0;
    case SBX__V1__REQUEST__OP_LIST:
        if (req->list->all_users && !ctx->admin) {
            *code = E(PERMISSION_DENIED);
            return sbx_err_set(err, EPERM,
                               "list.all_users: only administrators see every "
                               "user's jobs");
        }
        return 0;
    case SBX__V1__REQUEST__OP_HEALTH:
        return 0;
    case SBX__V1__REQUEST__OP_SESSION_CREATE:
        return check_session(req->session_create, ctx, jr, code, err);
    case SBX__V1__REQUEST__OP_SESSION_REMOVE:
        return need_job_id("session_remove", req->session_remove->has_job_id,
                           req->session_remove->job_id, code, err);
    default:
        *code = E(UNIMPLEMENTED);
        return sbx_err_set(err, ENOTSUP, "request: unknown or missing operation");
    }
}
