/* The operations: one checked request in, one response out (a run or a
 * wait answers later, when its job stops). Who may see a job is decided
 * here: its owner's uid, or an administrator. */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/stdfds.h"

#define E(c) SBX__V1__ERROR__CODE__##c
#define ST(s) SBX__V1__JOB_STATE__##s

#ifndef SBX_VERSION
#define SBX_VERSION "0.1.0"
#endif

/* The JobInfo of j; full adds the policy and the resource use so far. The
 * info borrows from j: send it before j can change. */
static void job_info(struct sbx_djob *j, bool full, JobInfo *info, Sbx__V1__Usage *usage)
{
    sbx__v1__job_info__init(info);
    info->has_job_id = info->has_state = info->has_owner_uid = info->has_owner_gid = true;
    info->job_id = j->id;
    info->state = j->state;
    info->owner_uid = j->uid;
    info->owner_gid = j->gid;
    info->has_detached = true;
    info->detached = j->detached;
    info->name = j->name;
    info->command = (char *)(j->spec.command ? j->spec.command : "");
    info->has_created_unix_ms = info->has_started_unix_ms = info->has_ended_unix_ms = true;
    info->created_unix_ms = j->created_ms;
    info->started_unix_ms = j->started_ms;
    info->ended_unix_ms = j->ended_ms;
    if (j->session_id) {
        info->has_session_id = true;
        info->session_id = j->session_id;
    }
    if (j->pool) {
        info->pool = j->pool->name;
        info->has_warm = true;
        info->warm = j->warm;
    }
    if (j->state == ST(STOPPED)) {
        info->result = &j->res.msg;
        info->has_exit_status = true;
        info->exit_status = j->exit_status;
    }
    if (!full)
        return;
    info->policy = j->policy;
    sbx__v1__usage__init(usage);
    usage->has_wall_time_ms = usage->has_cpu_time_ms = usage->has_memory_peak_bytes = true;
    if (j->exec) {
        struct sbx_job_usage u;
        sbx_job_usage(j->exec, &u);
        usage->wall_time_ms = u.wall_time_ms;
        usage->cpu_time_ms = u.cpu_time_ms;
        usage->memory_peak_bytes = u.memory_peak_bytes;
    } else if (j->state == ST(STOPPED)) {
        usage->wall_time_ms = j->res.msg.wall_time_ms;
        usage->cpu_time_ms = j->res.msg.cpu_time_ms;
        usage->memory_peak_bytes = j->res.msg.memory_peak_bytes;
    }
    info->usage = usage;
}

void sbx_ops_send_info(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id, JobInfo *info,
                      Sbx__V1__JobState state)
{
    Response resp = SBX__V1__RESPONSE__INIT;
    if (state)
        info->state = state;
    resp.has_id = true;
    resp.id = req_id;
    resp.body_case = SBX__V1__RESPONSE__BODY_JOB;
    resp.job = info;
    sbx_conn_send(d, c, &resp);
}

static void send_job(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id, struct sbx_djob *j,
                     bool full, Sbx__V1__JobState state_override)
{
    JobInfo info;
    Sbx__V1__Usage usage;
    job_info(j, full, &info, &usage);
    sbx_ops_send_info(d, c, req_id, &info, state_override);
}

static struct sbx_djob *find_visible(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                                     uint64_t job_id)
{
    struct sbx_djob *j = sbx_jobs_find(d, job_id);
    /* Someone else's job looks exactly like a missing one. */
    if (!j || (!c->admin && j->uid != c->uid)) {
        char msg[96];
        snprintf(msg, sizeof msg, "job_id: no job %" PRIu64, job_id);
        sbx_conn_send_error(d, c, req_id, E(NOT_FOUND), msg);
        return NULL;
    }
    return j;
}

/* Each pending wait holds memory until its job stops: bounded per
 * connection and, for non-admins, per uid. -EAGAIN with msg set when over. */
static int waits_room(struct sbx_daemon *d, struct sbx_conn *c, char *msg, size_t len)
{
    if (c->n_waiters >= SBX_CONN_MAX_WAITS) {
        snprintf(msg, len, "wait: this connection already waits on %u jobs (at most %u)",
                 c->n_waiters, SBX_CONN_MAX_WAITS);
        return -EAGAIN;
    }
    if (c->admin)
        return 0;
    unsigned n = 0;
    for (struct sbx_conn *o = d->conns; o; o = o->next)
        n += o->uid == c->uid ? o->n_waiters : 0;
    if (n >= SBX_UID_MAX_WAITS) {
        snprintf(msg, len, "wait: uid %u already waits on %u jobs (at most %u)", c->uid, n,
                 SBX_UID_MAX_WAITS);
        return -EAGAIN;
    }
    return 0;
}

static int add_waiter(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id, uint64_t job_id,
                      bool remove)
{
    struct sbx_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    *w = (struct sbx_waiter){
        .next = d->waiters, .conn = c, .req_id = req_id, .job_id = job_id, .remove = remove};
    d->waiters = w;
    c->n_waiters++;
    return 0;
}

void sbx_ops_job_stopped(struct sbx_daemon *d, struct sbx_djob *j)
{
    for (struct sbx_waiter **pp = &d->waiters; *pp;) {
        struct sbx_waiter *w = *pp;
        if (w->job_id != j->id) {
            pp = &w->next;
            continue;
        }
        send_job(d, w->conn, w->req_id, j, false, 0);
        if (w->remove)
            j->remove_when_stopped = true;
        w->conn->n_waiters--;
        w->conn->last_active = sbx_now_ns();
        *pp = w->next;
        free(w);
    }
}

void sbx_ops_conn_gone(struct sbx_daemon *d, struct sbx_conn *c)
{
    sbx_warm_conn_gone(d, c);
    for (struct sbx_waiter **pp = &d->waiters; *pp;) {
        struct sbx_waiter *w = *pp;
        if (w->conn != c) {
            pp = &w->next;
            continue;
        }
        c->n_waiters--;
        *pp = w->next;
        free(w);
    }
}

static void op_job(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                   Sbx__V1__JobRequest *jreq, struct sbx_job_req *jr, int fds[3], bool wait,
                   struct sbx_pool *pool, struct sbx_sandbox *session)
{
    struct sbx_err err = {0};
    Sbx__V1__Error__Code code = E(INTERNAL);
    struct sbx_djob *j;
    if (sbx_jobs_create(d, c, jreq, jr, fds, &j, &code, &err) < 0) {
        d->counters.rejected++;
        sbx_conn_send_error(d, c, req_id, code, err.msg);
        return;
    }
    j->pool = pool;
    if (session) {
        /* Its session's queue, not the daemon's: it needs no new sandbox. */
        sbx_jobs_unqueue(d, j);
        sbx_warm_session_enqueue(d, session, j);
    }
    if (!wait) {
        send_job(d, c, req_id, j, false, 0);
        return;
    }
    /* run: the answer is the result; nobody needs the job after that. */
    if (add_waiter(d, c, req_id, j->id, true) < 0) {
        sbx_conn_send_error(d, c, req_id, E(INTERNAL), "out of memory");
        sbx_jobs_kill(d, j, SIGKILL, &err);
        j->remove_when_stopped = true;
    }
}

static void op_wait(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                    const Sbx__V1__WaitRequest *w)
{
    struct sbx_djob *j = find_visible(d, c, req_id, w->job_id);
    if (!j)
        return;
    if (j->state == ST(STOPPED)) {
        send_job(d, c, req_id, j, false, 0);
        if (w->remove)
            sbx_jobs_remove(d, j);
        return;
    }
    char msg[128];
    if (waits_room(d, c, msg, sizeof msg) < 0) {
        sbx_conn_send_error(d, c, req_id, E(RESOURCE_EXHAUSTED), msg);
        return;
    }
    if (add_waiter(d, c, req_id, j->id, w->remove) < 0)
        sbx_conn_send_error(d, c, req_id, E(INTERNAL), "out of memory");
}

static void op_list(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id, bool all)
{
    size_t n = 0;
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        n += all || j->uid == c->uid;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        n += !sb->pool && !sb->dying && (all || sb->uid == c->uid);
    _cleanup_free_ JobInfo *infos = calloc(n ? n : 1, sizeof *infos);
    _cleanup_free_ JobInfo **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!infos || !ptrs) {
        sbx_conn_send_error(d, c, req_id, E(INTERNAL), "out of memory");
        return;
    }
    size_t i = 0;
    for (struct sbx_djob *j = d->jobs; j; j = j->next) {
        if (!all && j->uid != c->uid)
            continue;
        job_info(j, false, &infos[i], NULL);
        /* ps shows the state, not every byte of captured output. */
        infos[i].result = NULL;
        ptrs[i] = &infos[i];
        i++;
    }
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next) {
        if (sb->pool || sb->dying || (!all && sb->uid != c->uid))
            continue;
        sbx_warm_session_info(sb, false, &infos[i], NULL);
        ptrs[i] = &infos[i];
        i++;
    }
    Sbx__V1__JobList list = SBX__V1__JOB_LIST__INIT;
    list.n_jobs = n;
    list.jobs = ptrs;
    Response resp = SBX__V1__RESPONSE__INIT;
    resp.has_id = true;
    resp.id = req_id;
    resp.body_case = SBX__V1__RESPONSE__BODY_JOBS;
    resp.jobs = &list;
    sbx_conn_send(d, c, &resp);
}

static uint32_t count_fds(void)
{
    uint32_t n = 0;
    _cleanup_closedir_ DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        n += e->d_name[0] != '.';
    return n ? n - 1 : 0; /* not the directory's own fd */
}

static void op_health(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id)
{
    Sbx__V1__Health h = SBX__V1__HEALTH__INIT;
    h.version = (char *)SBX_VERSION;
    h.has_protocol = h.has_uptime_ms = h.has_draining = h.has_jobs_created = true;
    h.protocol = SBX_PROTOCOL_VERSION;
    h.uptime_ms = (uint64_t)((sbx_now_ns() - d->start_ns) / 1000000);
    h.draining = d->draining;
    h.jobs_created = d->n_created;
    h.has_jobs_running = h.has_jobs_stopped = h.has_max_concurrent = h.has_queue_length = true;
    h.jobs_running = d->n_running;
    h.jobs_stopped = d->n_stopped;
    h.max_concurrent = d->cfg.max_concurrent;
    h.queue_length = d->cfg.queue_length;
    h.has_connections = h.has_submitted = h.has_finished = h.has_setup_failed = true;
    h.connections = d->n_conns;
    h.submitted = d->counters.submitted;
    h.finished = d->counters.finished;
    h.setup_failed = d->counters.setup_failed;
    h.has_rejected = h.has_requests = h.has_protocol_errors = h.has_connections_total = true;
    h.rejected = d->counters.rejected;
    h.requests = d->counters.requests;
    h.protocol_errors = d->counters.protocol_errors;
    h.connections_total = d->counters.connections_total;
    h.has_open_fds = true;
    h.open_fds = count_fds();
    h.has_sessions = true;
    h.sessions = d->n_sessions;
    _cleanup_free_ Sbx__V1__PoolStats *stats = calloc(d->n_pools + 1, sizeof *stats);
    _cleanup_free_ Sbx__V1__PoolStats **ptrs = calloc(d->n_pools + 1, sizeof *ptrs);
    if (stats && ptrs) {
        sbx_warm_health(d, stats, ptrs);
        h.n_pools = d->n_pools;
        h.pools = ptrs;
    }
    Response resp = SBX__V1__RESPONSE__INIT;
    resp.has_id = true;
    resp.id = req_id;
    resp.body_case = SBX__V1__RESPONSE__BODY_HEALTH;
    resp.health = &h;
    sbx_conn_send(d, c, &resp);
}

/* A session this client may see, else NULL. */
static struct sbx_sandbox *session_visible(struct sbx_daemon *d, struct sbx_conn *c, uint64_t id)
{
    struct sbx_sandbox *sb = sbx_warm_session_find(d, id);
    return sb && (c->admin || sb->uid == c->uid) ? sb : NULL;
}

static void send_session(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                         struct sbx_sandbox *sb, bool full, Sbx__V1__JobState state)
{
    JobInfo info;
    Sbx__V1__Usage usage;
    sbx_warm_session_info(sb, full, &info, &usage);
    /* The placeholder the session was checked with is nobody's command. */
    char *command = sb->policy->command;
    sb->policy->command = NULL;
    sbx_ops_send_info(d, c, req_id, &info, state);
    sb->policy->command = command;
}

/* inspect, kill, session_remove of a session: true when it was one. */
static bool session_control(struct sbx_daemon *d, struct sbx_conn *c, const Request *req)
{
    uint64_t id = req->op_case == SBX__V1__REQUEST__OP_INSPECT        ? req->inspect->job_id
                  : req->op_case == SBX__V1__REQUEST__OP_KILL         ? req->kill->job_id
                  : req->op_case == SBX__V1__REQUEST__OP_SESSION_REMOVE ? req->session_remove->job_id
                                                                        : 0;
    struct sbx_sandbox *sb = id ? session_visible(d, c, id) : NULL;
    if (!sb)
        return false;
    int sig = req->op_case == SBX__V1__REQUEST__OP_KILL && req->kill->has_signal
                  ? (int)req->kill->signal
                  : SIGKILL;
    if (req->op_case == SBX__V1__REQUEST__OP_INSPECT) {
        send_session(d, c, req->id, sb, true, 0);
    } else if (sig != SIGKILL) {
        /* Another signal is for the run in progress, as for a job. */
        struct sbx_err err = {0};
        if (!sb->busy || sbx_jobs_kill(d, sb->busy, sig, &err) < 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "session %" PRIu64 " has no run in progress", sb->id);
            sbx_conn_send_error(d, c, req->id, E(FAILED_PRECONDITION), err.msg[0] ? err.msg : msg);
            return true;
        }
        send_session(d, c, req->id, sb, false, 0);
    } else {
        send_session(d, c, req->id, sb, false, ST(REMOVED));
        sbx_warm_session_remove(d, sb);
    }
    return true;
}

static void op_control(struct sbx_daemon *d, struct sbx_conn *c, const Request *req)
{
    uint64_t id = req->id;
    struct sbx_err err = {0};
    struct sbx_djob *j;
    int r = 0;
    if (session_control(d, c, req))
        return;
    switch (req->op_case) {
    case SBX__V1__REQUEST__OP_SESSION_REMOVE: {
        char msg[96];
        snprintf(msg, sizeof msg, "session_remove.job_id: no session %" PRIu64,
                 req->session_remove->job_id);
        sbx_conn_send_error(d, c, id, E(NOT_FOUND), msg);
        return;
    }
    case SBX__V1__REQUEST__OP_INSPECT:
        if ((j = find_visible(d, c, id, req->inspect->job_id)))
            send_job(d, c, id, j, true, 0);
        return;
    case SBX__V1__REQUEST__OP_KILL:
        if (!(j = find_visible(d, c, id, req->kill->job_id)))
            return;
        r = sbx_jobs_kill(d, j, req->kill->has_signal ? (int)req->kill->signal : SIGKILL, &err);
        break;
    case SBX__V1__REQUEST__OP_PAUSE:
        if (!(j = find_visible(d, c, id, req->pause->job_id)))
            return;
        r = sbx_jobs_freeze(d, j, true, &err);
        break;
    case SBX__V1__REQUEST__OP_RESUME:
        if (!(j = find_visible(d, c, id, req->resume->job_id)))
            return;
        r = sbx_jobs_freeze(d, j, false, &err);
        break;
    case SBX__V1__REQUEST__OP_REMOVE:
        if (!(j = find_visible(d, c, id, req->remove->job_id)))
            return;
        if (j->state != ST(STOPPED)) {
            snprintf(err.msg, sizeof err.msg, "job %" PRIu64 " has not stopped: kill it first",
                     j->id);
            sbx_conn_send_error(d, c, id, E(FAILED_PRECONDITION), err.msg);
            return;
        }
        send_job(d, c, id, j, false, ST(REMOVED));
        sbx_jobs_remove(d, j);
        return;
    default:
        return;
    }
    if (r < 0) {
        sbx_conn_send_error(
            d, c, id, r == -EBUSY || r == -ESRCH ? E(FAILED_PRECONDITION) : E(INTERNAL), err.msg);
        return;
    }
    /* j may have stopped (a queued job that was killed) and been removed
     * once its run was answered: then say so, it is not an error. */
    uint64_t job_id = req->op_case == SBX__V1__REQUEST__OP_KILL    ? req->kill->job_id
                      : req->op_case == SBX__V1__REQUEST__OP_PAUSE ? req->pause->job_id
                                                                   : req->resume->job_id;
    if ((j = sbx_jobs_find(d, job_id))) {
        send_job(d, c, id, j, false, 0);
        return;
    }
    JobInfo info = SBX__V1__JOB_INFO__INIT;
    info.has_job_id = info.has_state = true;
    info.job_id = job_id;
    sbx_ops_send_info(d, c, id, &info, ST(REMOVED));
}

/* A stream must be a stream: a directory (or O_PATH) fd handed to a job
 * would let it open files outside its root, relative to that fd, and a
 * device would hand it the host's hardware. */
static int check_stdio_fds(const int fds[3], const char *op, struct sbx_err *err)
{
    static const char *const names[3] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        const char *what;
        int r = sbx_stdio_fd_check(fds[i], &what);
        if (r == -EINVAL)
            return sbx_err_set(err, EINVAL, "%s.stdio_fds: %s is %s, not a stream", op, names[i],
                               what);
        if (r < 0)
            return sbx_err_sys(err, -r, "%s.stdio_fds: %s", op, names[i]);
    }
    return 0;
}

void sbx_ops_handle(struct sbx_daemon *d, struct sbx_conn *c, const uint8_t *buf, size_t len)
{
    d->counters.requests++;
    struct sbx_err err = {0};
    Request *req = NULL;
    if (sbx_request_decode(buf, len, &req, &err) < 0) {
        /* The framing is intact, so the connection can go on. */
        d->counters.protocol_errors++;
        sbx_conn_drop_fds(c);
        sbx_conn_send_error(d, c, 0, E(PROTOCOL), err.msg);
        return;
    }
    uint64_t id = req->has_id ? req->id : 0;
    req->id = id;
    Sbx__V1__JobRequest *jreq = req->op_case == SBX__V1__REQUEST__OP_RUN      ? req->run
                                : req->op_case == SBX__V1__REQUEST__OP_SUBMIT ? req->submit
                                                                              : NULL;
    /* Claim the frame's fds first, so a refused request cannot leave them
     * to be taken by the next one. */
    int fds[3] = {-1, -1, -1};
    if (jreq) {
        unsigned bits = jreq->has_stdio_fds ? jreq->stdio_fds & SBX_STDIO_ALL : 0;
        unsigned n = (unsigned)__builtin_popcount(bits);
        int got[3];
        if (sbx_conn_take_fds(c, n, got) < 0) {
            snprintf(err.msg, sizeof err.msg,
                     "%s.stdio_fds: names %u streams but %zu fds came "
                     "with the frame",
                     sbx_request_op_name(req), n, c->nfds);
            sbx_conn_drop_fds(c);
            d->counters.rejected++;
            sbx_conn_send_error(d, c, id, E(INVALID_ARGUMENT), err.msg);
            sbx_request_free(req);
            return;
        }
        for (unsigned i = 0, k = 0; i < 3; i++)
            if (bits & (1u << i))
                fds[i] = got[k++];
        if (check_stdio_fds(fds, sbx_request_op_name(req), &err) < 0) {
            for (int i = 0; i < 3; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            d->counters.rejected++;
            sbx_conn_send_error(d, c, id, E(INVALID_ARGUMENT), err.msg);
            sbx_request_free(req);
            return;
        }
    } else {
        sbx_conn_drop_fds(c);
    }

    struct sbx_req_ctx ctx = {.cfg = &d->cfg, .admin = c->admin};
    /* A run of a prepared sandbox is checked against the sandbox's policy:
     * found here, for the checks (an unknown one is their error). */
    struct sbx_pool *pool = NULL;
    struct sbx_sandbox *session = NULL;
    char what[96];
    if (jreq && jreq->pool && !jreq->has_session_id && (pool = sbx_warm_pool_find(d, jreq->pool)) &&
        sbx_warm_pool_allows_uid(pool, c->uid, c->admin)) {
        snprintf(what, sizeof what, "pool %s", pool->name);
        ctx.base = pool->policy;
        ctx.base_spec = &pool->spec;
        ctx.base_what = what;
    } else if (jreq && jreq->has_session_id && !jreq->pool &&
               (session = session_visible(d, c, jreq->session_id)) && !session->removing) {
        snprintf(what, sizeof what, "session %" PRIu64, session->id);
        ctx.base = session->policy;
        ctx.base_spec = &session->spec;
        ctx.base_what = what;
    }
    pool = ctx.base && jreq->pool ? pool : NULL;
    session = ctx.base && jreq->has_session_id ? session : NULL;
    struct sbx_job_req jr;
    Sbx__V1__Error__Code code;
    if (sbx_request_check(req, &ctx, &jr, &code, &err) < 0) {
        if (jreq)
            d->counters.rejected++;
        sbx_conn_send_error(d, c, id, code, err.msg);
    } else {
        switch (req->op_case) {
        case SBX__V1__REQUEST__OP_RUN:
            op_job(d, c, id, req->run, &jr, fds, true, pool, session);
            break;
        case SBX__V1__REQUEST__OP_SUBMIT:
            op_job(d, c, id, req->submit, &jr, fds, false, pool, session);
            break;
        case SBX__V1__REQUEST__OP_SESSION_CREATE:
            sbx_warm_session_create(d, c, id, req->session_create, &jr);
            break;
        case SBX__V1__REQUEST__OP_WAIT:
            op_wait(d, c, id, req->wait);
            break;
        case SBX__V1__REQUEST__OP_LIST:
            op_list(d, c, id, req->list->all_users);
            break;
        case SBX__V1__REQUEST__OP_HEALTH:
            op_health(d, c, id);
            break;
        default:
            op_control(d, c, req);
            break;
        }
    }
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    sbx_job_req_free(&jr);
    sbx_request_free(req);
    sbx_jobs_trim(d);
}
