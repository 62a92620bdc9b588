/* The job table: jobs go CREATED (queued) -> RUNNING <-> PAUSED -> STOPPED
 * -> removed. At most max_concurrent run at once; up to queue_length more
 * wait in FIFO order; beyond that a submit is refused. The executor does the
 * isolation; this file feeds it poll events and moves captured output and
 * stdin bytes between the job's pipes and memory. */
#include "daemon.h"

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
#include "executor/net.h"

#define E(c) SBX__V1__ERROR__CODE__##c
#define ST(s) SBX__V1__JOB_STATE__##s
#define RS(s) SBX__V1__JOB_RESULT__STATUS__##s

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static bool is_active(const struct sbx_djob *j)
{
    return j->state == ST(CREATED) || j->state == ST(RUNNING) || j->state == ST(PAUSED);
}

struct sbx_djob *sbx_jobs_find(struct sbx_daemon *d, uint64_t id)
{
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

bool sbx_jobs_owned_active(struct sbx_daemon *d, const struct sbx_conn *c)
{
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        if (j->owner == c && is_active(j))
            return true;
    return false;
}

unsigned sbx_jobs_active_of(struct sbx_daemon *d, uid_t uid)
{
    unsigned n = 0;
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        n += j->uid == uid && is_active(j);
    return n;
}

/* The three fds the job gets: the client's own streams where attached, a
 * pipe to the daemon for stdin_data and captured output, else /dev/null
 * (never the daemon's own stdio). */
static int setup_stdio(struct sbx_daemon *d, struct sbx_djob *j, int attached[3],
                       struct sbx_err *err)
{
    /* With an output limit, stdout and stderr go through the daemon, which
     * counts them on their way to the client's streams (or /dev/null). */
    int dest[3];
    for (int i = 0; i < 3; i++)
        dest[i] = attached[i] >= 0 ? attached[i] : d->devnull;
    int r = sbx_jobio_open(&j->io, j->policy, &j->spec, dest, err);
    if (r < 0)
        return r;
    for (int i = 0; i < 3; i++) {
        if (j->io.job_fd[i] >= 0) {
            j->stdio[i] = j->io.job_fd[i];
            j->io.job_fd[i] = -1;
            close_fd(&attached[i]); /* the forward has its own */
        } else if (attached[i] >= 0) {
            j->stdio[i] = attached[i];
            attached[i] = -1;
        } else {
            j->stdio[i] = fcntl(d->devnull, F_DUPFD_CLOEXEC, 3);
            if (j->stdio[i] < 0)
                return sbx_err_sys(err, errno, "stdio: dup /dev/null");
        }
    }
    return 0;
}

/* Moves a request's claims (one fd per layer) into the daemon's table:
 * an fd on a layer already claimed is closed (the table's own keeps the
 * shared flock), else the table keeps it. */
static int claims_take(struct sbx_daemon *d, struct sbx_djob *j, struct sbx_image_hold *h,
                       struct sbx_err *err)
{
    int r = 0;
    if (h->n && !(j->claimed = calloc(h->n, sizeof *j->claimed)))
        r = sbx_err_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < h->n; i++) {
        struct stat st;
        if (fstat(h->fds[i], &st) < 0) {
            r = sbx_err_sys(err, errno, "image: claiming its layers");
            break;
        }
        struct sbx_claim_key k = {st.st_dev, st.st_ino};
        size_t c = 0;
        while (c < d->n_claims && (d->claims[c].key.dev != k.dev || d->claims[c].key.ino != k.ino))
            c++;
        if (c == d->n_claims) {
            if (d->n_claims == d->cap_claims) {
                size_t cap = d->cap_claims ? 2 * d->cap_claims : 16;
                struct sbx_claim *nc = realloc(d->claims, cap * sizeof *nc);
                if (!nc) {
                    r = sbx_err_set(err, ENOMEM, "out of memory");
                    break;
                }
                d->claims = nc;
                d->cap_claims = cap;
            }
            d->claims[d->n_claims++] = (struct sbx_claim){.key = k, .fd = h->fds[i], .refs = 0};
            h->fds[i] = -1;
        }
        d->claims[c].refs++;
        j->claimed[j->n_claimed++] = k;
    }
    /* Those the table did not keep (or all, on failure: the caller drops
     * what the job claimed so far). */
    for (size_t i = 0; i < h->n; i++)
        if (h->fds[i] >= 0)
            close(h->fds[i]);
    h->n = 0;
    sbx_image_hold_release(h);
    return r;
}

/* The job no longer runs on its layers: rm and prune may take them once no
 * other job does. */
static void claims_drop(struct sbx_daemon *d, struct sbx_djob *j)
{
    for (size_t i = 0; i < j->n_claimed; i++)
        for (size_t c = 0; c < d->n_claims; c++) {
            struct sbx_claim *cl = &d->claims[c];
            if (cl->key.dev != j->claimed[i].dev || cl->key.ino != j->claimed[i].ino)
                continue;
            if (--cl->refs == 0) {
                close(cl->fd);
                *cl = d->claims[--d->n_claims];
            }
            break;
        }
    free(j->claimed);
    j->claimed = NULL;
    j->n_claimed = 0;
}

static void free_job(struct sbx_daemon *d, struct sbx_djob *j)
{
    for (int i = 0; i < 3; i++)
        close_fd(&j->stdio[i]);
    sbx_jobio_close(&j->io);
    sbx_spec_free(&j->spec);
    claims_drop(d, j);
    sbx_policy_free(j->policy);
    free(j);
}

int sbx_jobs_create(struct sbx_daemon *d, struct sbx_conn *c, Sbx__V1__JobRequest *jreq,
                    struct sbx_job_req *jr, int attached[3], struct sbx_djob **out,
                    Sbx__V1__Error__Code *code, struct sbx_err *err)
{
    *out = NULL;
    if (d->draining) {
        *code = E(UNAVAILABLE);
        return sbx_err_set(err, ESHUTDOWN, "sandboxd is shutting down: no new jobs");
    }
    if (d->n_created + d->n_running >= d->cfg.max_concurrent + d->cfg.queue_length) {
        *code = E(RESOURCE_EXHAUSTED);
        return sbx_err_set(err, EAGAIN,
                           "queue: full (%u running, %u queued; max_concurrent %u, "
                           "queue_length %u)",
                           d->n_running, d->n_created, d->cfg.max_concurrent, d->cfg.queue_length);
    }
    if (!c->admin && d->cfg.caps.max_jobs &&
        sbx_jobs_active_of(d, c->uid) >= d->cfg.caps.max_jobs) {
        *code = E(OVER_CAP);
        return sbx_err_set(err, EPERM,
                           "client_caps.max_jobs: uid %u already has %u jobs queued "
                           "or running",
                           c->uid, d->cfg.caps.max_jobs);
    }
    struct sbx_djob *j = calloc(1, sizeof *j);
    if (!j) {
        *code = E(INTERNAL);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    j->stdio[0] = j->stdio[1] = j->stdio[2] = -1;
    j->exec_pfd = j->io_pfd = -1;
    j->policy = jreq->policy;
    jreq->policy = NULL;
    j->spec = jr->spec;
    j->image_layers = jr->image_layers;
    jr->have_spec = false;
    int r = claims_take(d, j, &jr->hold, err);
    if (r == 0)
        r = setup_stdio(d, j, attached, err);
    if (r < 0) {
        free_job(d, j);
        *code = E(INTERNAL);
        return r;
    }
    j->id = ++d->next_job_id;
    j->state = ST(CREATED);
    j->uid = c->uid;
    j->gid = c->gid;
    j->detached = jreq->detached;
    j->owner = j->detached ? NULL : c;
    snprintf(j->name, sizeof j->name, "%s", jreq->name ? jreq->name : "");
    j->created_ms = sbx_unix_ms();
    sbx_result_init(&j->res);

    j->prev = d->jobs_tail;
    if (d->jobs_tail)
        d->jobs_tail->next = j;
    else
        d->jobs = j;
    d->jobs_tail = j;
    if (d->queue_tail)
        d->queue_tail->qnext = j;
    else
        d->queue = j;
    d->queue_tail = j;
    d->n_created++;
    d->counters.submitted++;
    *out = j;
    return 0;
}

static void queue_unlink(struct sbx_daemon *d, struct sbx_djob *j)
{
    if (j->queued_in) {
        sbx_warm_unqueue(j); /* a session's run: not counted in n_created */
        return;
    }
    struct sbx_djob **pp = &d->queue, *prev = NULL;
    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = j->qnext;
    if (d->queue_tail == j)
        d->queue_tail = prev;
    j->qnext = NULL;
    d->n_created--;
}

void sbx_jobs_unqueue(struct sbx_daemon *d, struct sbx_djob *j)
{
    queue_unlink(d, j);
}

void sbx_jobs_remove(struct sbx_daemon *d, struct sbx_djob *j)
{
    if (j->state == ST(CREATED))
        queue_unlink(d, j);
    else if (j->state == ST(STOPPED))
        d->n_stopped--;
    if (j->exec) {
        sbx_job_finish(j->exec, NULL);
        j->exec = NULL;
        d->n_running--;
    }
    /* A run's sandbox goes after the run (its cgroup is the run's parent). */
    sbx_warm_job_done(d, j);
    if (j->prev)
        j->prev->next = j->next;
    else
        d->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        d->jobs_tail = j->prev;
    free_job(d, j);
}

static void job_stopped(struct sbx_daemon *d, struct sbx_djob *j)
{
    j->state = ST(STOPPED);
    j->ended_ms = sbx_unix_ms();
    d->n_stopped++;
    d->stopped_since_trim = true;
    d->counters.finished++;
    for (int i = 0; i < 3; i++)
        close_fd(&j->stdio[i]);
    sbx_jobio_close_fds(&j->io);
    /* Its processes are gone: rm and prune may take its layers now. */
    claims_drop(d, j);
    /* The stdin bytes were fed (or never will be): a stopped job kept for
     * wait and inspect need not hold them (up to max_request_bytes each). */
    Sbx__V1__Stdio *io = j->policy ? j->policy->stdio : NULL;
    if (io && io->has_stdin_data && io->stdin_data.len) {
        j->io.stdin_data = NULL;
        j->io.stdin_len = j->io.stdin_off = 0;
        free(io->stdin_data.data);
        io->stdin_data.data = NULL;
        io->stdin_data.len = 0;
    }
    sbx_ops_job_stopped(d, j);
    if (j->remove_when_stopped)
        sbx_jobs_remove(d, j);
}

/* A job that never ran still gets a result, so its waiters learn why. */
static void stop_unstarted(struct sbx_daemon *d, struct sbx_djob *j, const char *why, int sig);

void sbx_jobs_stop_unstarted(struct sbx_daemon *d, struct sbx_djob *j, const char *why)
{
    stop_unstarted(d, j, why, 0);
}

static void stop_unstarted(struct sbx_daemon *d, struct sbx_djob *j, const char *why, int sig)
{
    queue_unlink(d, j);
    struct sbx_err e = {0};
    sbx_err_set(&e, ECANCELED, "%s", why);
    sbx_result_setup_failed(&j->res, &e);
    if (sig) {
        /* As if it had been killed at once: the contract's error field is
         * for SETUP_FAILED only. */
        j->res.msg.status = RS(SIGNALED);
        j->res.msg.has_signal = true;
        j->res.msg.signal = sig;
        j->res.error[0] = '\0';
    }
    j->exit_status = sbx_result_exit_status(&j->res.msg);
    job_stopped(d, j);
}

/* How long a queued job waits for a uid slot that looks taken although the
 * daemon's own jobs do not hold them all, and how often it looks again. */
#define SLOT_WAIT_NS (2LL * 1000000000)
#define SLOT_RETRY_NS (2LL * 1000000)

/* Every uid slot looked taken, yet the daemon's running jobs hold fewer: a
 * slot of a job that just ended can be held a moment longer by a child
 * cloned while that job ran, until the child closes what it inherited (its
 * first step), or by another launcher sharing the pool. Rather than fail
 * the job, keep it first in the queue and look again shortly. */
static bool wait_for_slot(struct sbx_daemon *d, struct sbx_djob *j)
{
    if (d->n_running >= d->cfg.pool.slots)
        return false;
    int64_t now = sbx_now_ns();
    if (!j->slot_wait_since)
        j->slot_wait_since = now;
    if (now - j->slot_wait_since > SLOT_WAIT_NS)
        return false;
    d->slot_retry_at = now + SLOT_RETRY_NS;
    return true;
}

/* Returns false when the job could not start yet and stays queued. */
static bool start_job(struct sbx_daemon *d, struct sbx_djob *j)
{
    /* The checks made when it arrived, again with the configuration in force
     * now: a SIGHUP meanwhile may have unshared a path, lowered a cap, or
     * taken the uid off the allowed list. */
    struct sbx_req_ctx ctx = {.cfg = &d->cfg, .admin = sbx_dconfig_is_admin(&d->cfg, j->uid)};
    Sbx__V1__Error__Code code;
    struct sbx_err why = {0};
    if (!sbx_dconfig_allows(&d->cfg, j->uid, j->gid))
        sbx_err_set(&why, EPERM, "uid %u is no longer allowed to run jobs", j->uid);
    else if (j->pool && !sbx_warm_pool_allows_uid(j->pool, j->uid, ctx.admin))
        sbx_err_set(&why, EPERM, "uid %u may no longer take from pool %s", j->uid, j->pool->name);
    else if ((ctx.caps_only = j->pool != NULL), /* a pool's paths are the operator's */
             sbx_job_recheck(j->policy, &j->spec, j->image_layers, &ctx, &code, &why) == 0)
        why.code = 0;
    if (why.code) {
        char msg[sizeof why.msg + 64];
        snprintf(msg, sizeof msg, "the configuration changed while the job was queued: %s",
                 why.msg);
        sbx_log("job %" PRIu64 " (uid %u): not started: %s", j->id, j->uid, why.msg);
        d->counters.setup_failed++;
        stop_unstarted(d, j, msg, 0);
        return true;
    }
    if (j->pool && sbx_warm_take(d, j)) {
        queue_unlink(d, j);
        return true;
    }
    char name[64];
    snprintf(name, sizeof name, "sandboxd-%" PRIu64, j->id);
    struct sbx_exec_opts opts = {.pool = &d->cfg.pool, .job_name = name};
    /* A network namespace made ahead, when the job wants lo up (the
     * stash's kind): the child need not make one on the job's time. */
    _cleanup_close_ int netns = -1;
    if (j->spec.loopback && d->n_netns > 0) {
        netns = d->netns[--d->n_netns];
        opts.netns_fd = netns;
        opts.premade_netns = true;
    }
    memcpy(opts.stdio, j->stdio, sizeof opts.stdio);
    struct sbx_err err = {0};
    int exec_status = 125;
    /* Not waiting for the child's setup: the loop goes on serving (and
     * starting the next job) while it builds its root on another core. */
    int r = sbx_job_spawn(&j->spec, &opts, &j->exec, &j->res, &exec_status, &err);
    if (r == -EAGAIN && wait_for_slot(d, j)) {
        j->exec = NULL;
        sbx_result_init(&j->res);
        return false;
    }
    queue_unlink(d, j);
    /* The job has its own copies now (or failed): the daemon keeps none, so
     * a client's pipe sees EOF when the job ends. */
    for (int i = 0; i < 3; i++)
        close_fd(&j->stdio[i]);
    if (r < 0) {
        j->exec = NULL;
        j->exit_status = exec_status;
        d->counters.setup_failed++;
        sbx_log("job %" PRIu64 " (uid %u): setup failed: %s", j->id, j->uid, err.msg);
        job_stopped(d, j);
        return true;
    }
    j->state = ST(RUNNING); /* started_ms stays 0 until its command runs */
    d->n_running++;
    return true;
}

void sbx_jobs_schedule(struct sbx_daemon *d)
{
    if (d->slot_retry_at && sbx_now_ns() < d->slot_retry_at)
        return;
    d->slot_retry_at = 0;
    while (d->queue && !d->draining && d->n_running < d->cfg.max_concurrent)
        if (!start_job(d, d->queue))
            break;
}

size_t sbx_jobs_max_pollfds(struct sbx_daemon *d)
{
    return (size_t)d->n_running * (SBX_JOB_MAX_POLLFDS + SBX_JOBIO_MAX_POLLFDS);
}

void sbx_jobs_add_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n)
{
    for (struct sbx_djob *j = d->jobs; j; j = j->next) {
        j->exec_pfd = j->io_pfd = -1;
        if (!j->exec)
            continue;
        if (!j->exec_ended) {
            j->exec_pfd = *n;
            *n += sbx_job_pollfds(j->exec, fds + *n);
        }
        j->io_pfd = *n;
        *n += sbx_jobio_pollfds(&j->io, fds + *n);
    }
}

int sbx_jobs_timeout_ms(struct sbx_daemon *d)
{
    int best = -1;
    if (d->slot_retry_at && d->queue) {
        int64_t ms = (d->slot_retry_at - sbx_now_ns() + 999999) / 1000000;
        best = ms < 0 ? 0 : (int)ms;
    }
    for (struct sbx_djob *j = d->jobs; j; j = j->next) {
        if (!j->exec || j->exec_ended)
            continue;
        int t = sbx_job_timeout_ms(j->exec);
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

void sbx_jobs_defer_release(struct sbx_daemon *d, struct sbx_job *job)
{
    if (d->n_ended == d->cap_ended) {
        size_t cap = d->cap_ended ? 2 * d->cap_ended : 16;
        struct sbx_job **p = realloc(d->ended, cap * sizeof *p);
        if (p) {
            d->ended = p;
            d->cap_ended = cap;
        }
    }
    if (d->n_ended < d->cap_ended)
        d->ended[d->n_ended++] = job;
    else
        sbx_job_release(job);
}

static void finish_job(struct sbx_daemon *d, struct sbx_djob *j)
{
    /* Every process of the job is gone once PID 1 is reaped, so the pipes
     * hold all there will ever be. */
    if (sbx_jobio_step(&j->io, NULL, true))
        sbx_job_kill_for_output(j->exec);
    sbx_job_collect(j->exec, &j->res);
    sbx_jobs_defer_release(d, j->exec);
    j->exec = NULL;
    d->n_running--;
    /* After the run: its sandbox's cgroup is its cgroup's parent. */
    sbx_warm_job_done(d, j);
    JobResult *r = &j->res.msg;
    if (r->status == RS(SETUP_FAILED)) {
        d->counters.setup_failed++;
        sbx_log("job %" PRIu64 " (uid %u): setup failed: %s", j->id, j->uid, j->res.error);
    } else {
        sbx_jobio_result(&j->io, j->spec.capture, r);
    }
    j->exit_status = sbx_result_exit_status(r);
    job_stopped(d, j);
}

void sbx_jobs_poll_done(struct sbx_daemon *d, const struct pollfd *fds)
{
    struct sbx_djob *next;
    for (struct sbx_djob *j = d->jobs; j; j = next) {
        next = j->next;
        if (!j->exec || (j->exec_pfd < 0 && j->io_pfd < 0))
            continue;
        /* Output past its limit ends the job (OUTPUT_LIMIT_EXCEEDED). */
        if (j->io_pfd >= 0 && sbx_jobio_step(&j->io, fds + j->io_pfd, false))
            sbx_job_kill_for_output(j->exec);
        if (!j->exec_ended && j->exec_pfd >= 0) {
            if (sbx_job_step(j->exec, fds + j->exec_pfd))
                j->exec_ended = true;
            else if (!j->started_ms && sbx_job_started(j->exec))
                j->started_ms = sbx_unix_ms();
        }
        /* The job's last bytes reach the client before its result does
         * (unless nobody waits for them any more). */
        if (j->exec_ended && j->drop_output)
            sbx_jobio_stop_forwarding(&j->io);
        if (j->exec_ended && !sbx_jobio_forwarding(&j->io))
            finish_job(d, j); /* may free j, never another job */
    }
}

int sbx_jobs_kill(struct sbx_daemon *d, struct sbx_djob *j, int sig, struct sbx_err *err)
{
    if (j->state == ST(CREATED)) {
        stop_unstarted(d, j, "killed before it started", sig);
        return 0;
    }
    if (!j->exec)
        return sbx_err_set(err, ESRCH, "job %" PRIu64 " has already stopped", j->id);
    if (sig == SIGKILL) {
        sbx_job_kill(j->exec);
        if (j->drop_output && j->exec_ended) /* no event of its own may come */
            sbx_jobio_stop_forwarding(&j->io);
        /* Frozen tasks die only once thawed on cgroup v1. */
        if (j->state == ST(PAUSED)) {
            struct sbx_err e = {0};
            sbx_job_freeze(j->exec, false, &e);
            j->state = ST(RUNNING);
        }
        return 0;
    }
    int r = sbx_job_signal(j->exec, sig);
    if (r < 0)
        return sbx_err_sys(err, -r, "job %" PRIu64 ": signal %d", j->id, sig);
    return 0;
}

int sbx_jobs_freeze(struct sbx_daemon *d, struct sbx_djob *j, bool frozen, struct sbx_err *err)
{
    Sbx__V1__JobState want = frozen ? ST(RUNNING) : ST(PAUSED);
    if (j->state != want || !j->exec)
        return sbx_err_set(err, EBUSY, "job %" PRIu64 " is not %s", j->id,
                           frozen ? "running" : "paused");
    int r = sbx_job_freeze(j->exec, frozen, err);
    if (r < 0)
        return r;
    j->state = frozen ? ST(PAUSED) : ST(RUNNING);
    return 0;
}

void sbx_jobs_orphan(struct sbx_daemon *d, struct sbx_conn *c)
{
    struct sbx_djob *next;
    for (struct sbx_djob *j = d->jobs; j; j = next) {
        next = j->next;
        if (j->owner != c)
            continue;
        j->owner = NULL;
        if (j->state == ST(STOPPED))
            continue;
        /* Nobody can collect its result: kill it and forget it, and its
         * output still on its way too (its reader may never read). */
        j->remove_when_stopped = true;
        j->drop_output = true;
        sbx_log("job %" PRIu64 " (uid %u): its connection closed; killing it", j->id, j->uid);
        struct sbx_err e = {0};
        sbx_jobs_kill(d, j, SIGKILL, &e);
    }
}

void sbx_jobs_drain(struct sbx_daemon *d, bool kill_running)
{
    while (d->queue)
        stop_unstarted(d, d->queue, "sandboxd shut down before the job started", 0);
    /* And the runs waiting in sessions' queues. */
    struct sbx_djob *next;
    for (struct sbx_djob *j = d->jobs; j; j = next) {
        next = j->next;
        if (j->queued_in && j->state == ST(CREATED))
            stop_unstarted(d, j, "sandboxd shut down before the run started", 0);
    }
    if (!kill_running)
        return;
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        if (j->exec) {
            struct sbx_err e = {0};
            j->drop_output = true;
            sbx_jobs_kill(d, j, SIGKILL, &e);
        }
}

void sbx_jobs_stash_netns(struct sbx_daemon *d)
{
    /* Only while nothing runs: under load the daemon has better to do, and
     * the jobs make their own. */
    if (d->netns_off || d->n_netns >= SBX_NETNS_STASH || d->draining || d->n_running || d->queue)
        return;
    /* Up to full: as many as jobs took since (about 1 ms each). */
    while (d->n_netns < SBX_NETNS_STASH) {
        struct sbx_err err = {0};
        int fd = sbx_net_prepare(true, &err);
        if (fd < 0) {
            sbx_log("network namespaces are made by each job (%s)", err.msg);
            d->netns_off = true;
            return;
        }
        d->netns[d->n_netns++] = fd;
    }
}

void sbx_jobs_release_ended(struct sbx_daemon *d)
{
    /* A run whose PID 1 still tears its namespaces down (a CPU-starved one
     * can take long) waits in the list, polled, rather than the loop
     * waiting for it; its sandbox waits for it, for its cgroup is the
     * run's parent. */
    size_t keep = 0;
    for (size_t i = 0; i < d->n_ended; i++) {
        int fd;
        if (sbx_job_release_ready(d->ended[i], &fd) || d->quit)
            sbx_job_release(d->ended[i]);
        else
            d->ended[keep++] = d->ended[i];
    }
    d->n_ended = keep;
}

void sbx_jobs_add_release_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n)
{
    for (size_t i = 0; i < d->n_ended; i++) {
        int fd;
        if (!sbx_job_release_ready(d->ended[i], &fd) && fd >= 0)
            fds[(*n)++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
}

struct uid_count {
    uid_t uid;
    unsigned n;
};

static struct uid_count *uid_slot(struct uid_count *c, size_t *n, uid_t uid)
{
    for (size_t i = 0; i < *n; i++)
        if (c[i].uid == uid)
            return &c[i];
    c[*n] = (struct uid_count){.uid = uid};
    return &c[(*n)++];
}

void sbx_jobs_trim(struct sbx_daemon *d)
{
    /* Per owner: one client's submits must not evict another's results. */
    if (!d->stopped_since_trim || d->n_stopped <= d->cfg.keep_stopped)
        return;
    d->stopped_since_trim = false;
    _cleanup_free_ struct uid_count *counts = calloc(d->n_stopped, sizeof *counts);
    if (!counts)
        return;
    size_t n = 0;
    for (struct sbx_djob *j = d->jobs; j; j = j->next)
        if (j->state == ST(STOPPED))
            uid_slot(counts, &n, j->uid)->n++;
    struct sbx_djob *next;
    for (struct sbx_djob *j = d->jobs; j; j = next) {
        next = j->next;
        if (j->state != ST(STOPPED))
            continue;
        struct uid_count *c = uid_slot(counts, &n, j->uid);
        if (c->n > d->cfg.keep_stopped) {
            c->n--;
            sbx_jobs_remove(d, j);
        }
    }
}
