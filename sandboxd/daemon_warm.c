/* Warm pools and sessions: sandboxes built before their command is known
 * (resident sandboxes, executor/launcher/resident.c), each with its next
 * run prepared, so that a job's start costs a message and an exec.
 *
 * A pool's sandbox serves one job and is torn down after it; the pool
 * builds another in the background, a few at a time. A session serves its
 * owner's runs one after the other (the next run is prepared as soon as the
 * last has ended) until it is removed, idle too long, or too old. A run is
 * an ordinary job of the job table (daemon_jobs.c) that runs in a sandbox
 * instead of one of its own: same answers, same accounting (the run's own
 * cgroup), same kill and wait. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "policy/units.h"

#define E(c) SBX__V1__ERROR__CODE__##c
#define ST(s) SBX__V1__JOB_STATE__##s

/* Sandboxes of pools built at once: the rest waits, so that building does
 * not crowd out the jobs being served. */
#define MAX_BUILDING 2
/* After a job took a sandbox, the used one is killed and a new one built
 * only this much later: both keep a core busy a while, which the job's
 * client, still reading its answer and exiting, would wait for. */
#define QUIET_AFTER_TAKE_NS (3LL * 1000000)

static JobPolicy *policy_copy(const JobPolicy *p)
{
    size_t len = protobuf_c_message_get_packed_size(&p->base);
    _cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(&p->base, buf);
    return (JobPolicy *)protobuf_c_message_unpack(&sbx__v1__job_policy__descriptor, NULL, len,
                                                  buf);
}

int sbx_warm_init(struct sbx_daemon *d, struct sbx_err *err)
{
    const DaemonConfig *m = d->cfg.msg;
    size_t n = m ? m->n_warm_pool : 0;
    if (!n)
        return 0;
    d->pools = calloc(n, sizeof *d->pools);
    if (!d->pools)
        return sbx_err_set(err, ENOMEM, "out of memory");
    const char *rootfs = d->cfg.default_rootfs ? d->cfg.default_rootfs : sbx_default_rootfs();
    for (size_t i = 0; i < n; i++) {
        const Sbx__V1__WarmPool *w = m->warm_pool[i];
        struct sbx_pool *p = &d->pools[d->n_pools];
        snprintf(p->name, sizeof p->name, "%s", w->name);
        p->size = w->size;
        p->policy = policy_copy(w->policy);
        if (!p->policy || !(p->policy->command = strdup(SBX_SANDBOX_PLACEHOLDER_COMMAND)))
            return sbx_err_set(err, ENOMEM, "out of memory");
        if (w->n_allowed_uids) {
            p->allowed_uids = malloc(w->n_allowed_uids * sizeof *p->allowed_uids);
            if (!p->allowed_uids)
                return sbx_err_set(err, ENOMEM, "out of memory");
            memcpy(p->allowed_uids, w->allowed_uids, w->n_allowed_uids * sizeof *p->allowed_uids);
        }
        p->n_allowed = w->n_allowed_uids;
        struct sbx_err e = {0};
        if (sbx_policy_validate(p->policy, rootfs, &p->spec, &e) < 0)
            return sbx_err_set(err, EINVAL, "warm_pool[%zu].policy.%s", i, e.msg);
        d->n_pools++;
    }
    return 0;
}

struct sbx_pool *sbx_warm_pool_find(struct sbx_daemon *d, const char *name)
{
    for (size_t i = 0; i < d->n_pools; i++)
        if (strcmp(d->pools[i].name, name) == 0)
            return &d->pools[i];
    return NULL;
}

bool sbx_warm_pool_allows_uid(const struct sbx_pool *p, uid_t uid, bool admin)
{
    if (admin || !p->n_allowed)
        return true;
    for (size_t i = 0; i < p->n_allowed; i++)
        if (p->allowed_uids[i] == uid)
            return true;
    return false;
}

struct sbx_sandbox *sbx_warm_session_find(struct sbx_daemon *d, uint64_t id)
{
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        if (!sb->pool && sb->id == id && !sb->dying)
            return sb;
    return NULL;
}

static bool ready(const struct sbx_sandbox *sb)
{
    return !sb->busy && !sb->exec_ended && !sb->dying && sb->run && sbx_run_prepared(sb->run);
}

static void pool_counts(struct sbx_daemon *d, const struct sbx_pool *p, unsigned *nready,
                        unsigned *building)
{
    *nready = *building = 0;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        if (sb->pool == p && !sb->busy && !sb->dying) {
            if (ready(sb))
                (*nready)++;
            else
                (*building)++;
        }
}

static int spawn_sandbox(struct sbx_daemon *d, struct sbx_sandbox *sb, const struct sbx_spec *spec,
                         struct sbx_err *err)
{
    static uint64_t seq;
    char name[64];
    if (sb->pool)
        snprintf(name, sizeof name, "sandboxd-warm-%" PRIu64, ++seq);
    else
        snprintf(name, sizeof name, "sandboxd-session-%" PRIu64, sb->id);
    struct sbx_exec_opts opts = {.pool = &d->cfg.pool, .job_name = name, .resident = true,
                                 .start_fd = -1, .netns_fd = -1, .ipcns_fd = -1,
                                 .utsns_fd = -1, .console_fd = -1};
    /* The sandbox's own streams are nobody's: each run brings its own. */
    for (int i = 0; i < 3; i++)
        opts.stdio[i] = d->devnull;
    struct sbx_result res;
    sbx_result_init(&res);
    int exec_status;
    return sbx_job_spawn(spec, &opts, &sb->exec, &res, &exec_status, err);
}

static void unlink_sandbox(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    for (struct sbx_sandbox **pp = &d->sandboxes; *pp; pp = &(*pp)->next)
        if (*pp == sb) {
            *pp = sb->next;
            return;
        }
}

/* Kills and collects the sandbox (its prepared run first); their cgroups
 * go after this turn's answers. Fails its session's queued runs. */
static void teardown(struct sbx_daemon *d, struct sbx_sandbox *sb, const char *why)
{
    unlink_sandbox(d, sb);
    if (sb->run) {
        sbx_job_collect(sb->run, NULL);
        sbx_jobs_defer_release(d, sb->run);
    }
    if (sb->exec) {
        sbx_job_collect(sb->exec, NULL);
        sbx_jobs_defer_release(d, sb->exec);
    }
    while (sb->rq)
        sbx_jobs_stop_unstarted(d, sb->rq, why); /* unqueues it */
    if (sb->creator) {
        sbx_conn_send_error(d, sb->creator, sb->creator_req, E(INTERNAL), why);
        sb->creator->n_waiters--;
    }
    if (!sb->pool) {
        d->n_sessions--;
        sbx_spec_free(&sb->spec);
        sbx_policy_free(sb->policy);
        sbx_image_hold_release(&sb->hold);
    }
    free(sb);
}

static void prepare_next(struct sbx_daemon *d, struct sbx_sandbox *sb);
static void session_kick(struct sbx_daemon *d, struct sbx_sandbox *sb);

void sbx_warm_fill(struct sbx_daemon *d)
{
    struct sbx_sandbox *next;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = next) {
        next = sb->next;
        if (sb->want_kill && sbx_now_ns() - d->last_take_ns >= QUIET_AFTER_TAKE_NS) {
            sb->want_kill = false;
            sbx_job_kill(sb->exec);
            continue;
        }
        /* Its queued run, now or when max_concurrent allows. */
        if (sb->want_kick || sb->rq) {
            sb->want_kick = false;
            session_kick(d, sb);
        }
        if (sb->want_run)
            prepare_next(d, sb); /* may free sb */
    }
    if (d->draining || !d->n_pools || sbx_now_ns() - d->last_take_ns < QUIET_AFTER_TAKE_NS)
        return;
    unsigned building = 0;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        building += sb->pool && !sb->busy && !sb->dying && !ready(sb);
    for (size_t i = 0; i < d->n_pools && building < MAX_BUILDING; i++) {
        struct sbx_pool *p = &d->pools[i];
        unsigned nready, nbuild;
        pool_counts(d, p, &nready, &nbuild);
        /* A pool whose builds keep failing (a bad layer, no uid slot) is
         * tried again only as jobs take from it, not in a loop. */
        if (p->build_failed > p->built + p->taken + 2 * (uint64_t)p->size)
            continue;
        while (nready + nbuild < p->size && building < MAX_BUILDING) {
            struct sbx_sandbox *sb = calloc(1, sizeof *sb);
            struct sbx_err err = {0};
            if (!sb)
                return;
            sb->pool = p;
            sb->exec_pfd = sb->run_pfd = -1;
            if (spawn_sandbox(d, sb, &p->spec, &err) < 0) {
                p->build_failed++;
                sbx_log("warm pool %s: building a sandbox: %s", p->name, err.msg);
                free(sb);
                return;
            }
            sb->next = d->sandboxes;
            d->sandboxes = sb;
            nbuild++;
            building++;
        }
    }
}

size_t sbx_warm_max_pollfds(struct sbx_daemon *d)
{
    size_t n = 0;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        n += (size_t)2 * SBX_JOB_MAX_POLLFDS;
    return n;
}

void sbx_warm_add_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n)
{
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next) {
        sb->exec_pfd = sb->run_pfd = -1;
        if (sb->exec && !sb->exec_ended) {
            sb->exec_pfd = *n;
            *n += sbx_job_pollfds(sb->exec, fds + *n);
        }
        if (sb->run) {
            sb->run_pfd = *n;
            *n += sbx_job_pollfds(sb->run, fds + *n);
        }
    }
}

int sbx_warm_timeout_ms(struct sbx_daemon *d)
{
    int best = -1;
    int64_t now = sbx_now_ns();
    /* The quiet spell after a take ends: kill and build then. */
    if (d->last_take_ns && now - d->last_take_ns < QUIET_AFTER_TAKE_NS)
        best = (int)((d->last_take_ns + QUIET_AFTER_TAKE_NS - now + 999999) / 1000000);
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next) {
        int t = -1;
        if (sb->exec && !sb->exec_ended)
            t = sbx_job_timeout_ms(sb->exec);
        if (sb->run) {
            int r = sbx_job_timeout_ms(sb->run);
            t = t < 0 || (r >= 0 && r < t) ? r : t;
        }
        if (!sb->pool && !sb->dying) {
            int64_t due = sb->created_ns + sb->lifetime_ns;
            if (!sb->busy && !sb->rq && sb->idle_since_ns &&
                sb->idle_since_ns + sb->idle_ns < due)
                due = sb->idle_since_ns + sb->idle_ns;
            int64_t ms = (due - now + 999999) / 1000000;
            int s = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
            t = t < 0 || s < t ? s : t;
        }
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

/* Gives the session's next queued run its prepared run, if both are there. */
static void start_in(struct sbx_daemon *d, struct sbx_sandbox *sb, struct sbx_djob *j)
{
    j->exec = sb->run;
    sb->run = NULL;
    sb->busy = j;
    j->sandbox = sb;
    struct sbx_err err = {0};
    int r = sbx_run_start(j->exec, &j->spec, j->stdio, &err);
    /* The run has its own copies now: a client's pipe sees EOF at its end. */
    for (int i = 0; i < 3; i++)
        if (j->stdio[i] >= 0) {
            close(j->stdio[i]);
            j->stdio[i] = -1;
        }
    j->state = ST(RUNNING);
    d->n_running++;
    if (r < 0) {
        /* It cannot get its command: it ends killed, like a job whose
         * setup was cut short. */
        sbx_log("job %" PRIu64 ": starting its run: %s", j->id, err.msg);
        sbx_job_kill(j->exec);
    }
    /* A session's next run is prepared once this one has ended and its
     * answer is out (sbx_warm_job_done, then sbx_warm_fill): made while
     * this one runs, it took a core from it and from its client (measured:
     * 3.2 against 2.5 ms a run, back to back). */
}

/* A session's next run, when it wants one. */
static void prepare_next(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    sb->want_run = false;
    if (sb->run || sb->exec_ended || sb->removing || sb->dying)
        return;
    struct sbx_err err = {0};
    if (sbx_sandbox_prepare(sb->exec, &sb->run, &err) < 0) {
        sbx_log("session %" PRIu64 ": preparing its next run: %s", sb->id, err.msg);
        sb->run = NULL;
        if (!sb->busy)
            teardown(d, sb, err.msg);
    }
}

static void session_kick(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    /* A run counts against max_concurrent as a job does. */
    if (sb->pool || !sb->rq || !ready(sb) || sb->removing ||
        d->n_running >= d->cfg.max_concurrent)
        return;
    struct sbx_djob *j = sb->rq;
    sb->rq = j->qnext;
    if (!sb->rq)
        sb->rq_tail = NULL;
    j->qnext = NULL;
    j->queued_in = NULL;
    start_in(d, sb, j);
}

static void answer_created(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    if (!sb->creator)
        return;
    JobInfo info;
    sbx_warm_session_info(sb, false, &info, NULL);
    sbx_ops_send_info(d, sb->creator, sb->creator_req, &info, 0);
    sb->creator->n_waiters--;
    sb->creator->last_active = sbx_now_ns();
    sb->creator = NULL;
}

static const char *exec_error(struct sbx_job *job, char *buf, size_t len)
{
    struct sbx_result res;
    sbx_result_init(&res);
    sbx_job_collect(job, &res);
    const char *e = res.error[0] ? res.error : "its init ended";
    size_t n = strnlen(e, len - 1);
    memcpy(buf, e, n);
    buf[n] = '\0';
    return buf;
}

/* The sandbox's PID 1 ended (or its setup failed): it serves no more. */
static void sandbox_ended(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    sb->exec_ended = true;
    if (sb->dying) {
        teardown(d, sb, "the session was removed");
        return;
    }
    char why[2 * SBX_ERR_MSG_MAX], msg[SBX_ERR_MSG_MAX];
    bool was_ready = sb->run && sbx_run_prepared(sb->run);
    if (sb->pool) {
        if (!was_ready && !sb->counted)
            sb->pool->build_failed++;
        snprintf(why, sizeof why, "warm pool %s: a sandbox ended: %s", sb->pool->name,
                 exec_error(sb->exec, msg, sizeof msg));
    } else {
        snprintf(why, sizeof why, "session %" PRIu64 ": ended: %s", sb->id,
                 exec_error(sb->exec, msg, sizeof msg));
    }
    sbx_log("%s", why);
    if (sb->busy)
        return; /* its run ends with it; then sbx_warm_job_done */
    teardown(d, sb, why);
}

void sbx_warm_poll_done(struct sbx_daemon *d, const struct pollfd *fds)
{
    struct sbx_sandbox *next;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = next) {
        next = sb->next;
        if (sb->exec_pfd >= 0 && sbx_job_step(sb->exec, fds + sb->exec_pfd)) {
            sandbox_ended(d, sb); /* may free sb */
            continue;
        }
        if (sb->exec_ended || sb->dying)
            continue;
        struct sbx_err err = {0};
        /* Set up: its first run is prepared at once. */
        if (!sb->armed && sbx_job_started(sb->exec)) {
            sb->armed = true;
            if (sbx_sandbox_prepare(sb->exec, &sb->run, &err) < 0) {
                sbx_log("sandbox: preparing a run: %s", err.msg);
                teardown(d, sb, err.msg);
                continue;
            }
            continue;
        }
        if (!sb->run || sb->run_pfd < 0)
            continue;
        bool was_ready = sbx_run_prepared(sb->run);
        if (sbx_job_step(sb->run, fds + sb->run_pfd)) {
            /* A run that ends before its command: the sandbox is broken. */
            char msg[SBX_ERR_MSG_MAX - 64];
            snprintf(err.msg, sizeof err.msg, "sandbox: its run could not be prepared: %s",
                     exec_error(sb->run, msg, sizeof msg));
            sbx_jobs_defer_release(d, sb->run);
            sb->run = NULL;
            if (sb->pool && !sb->busy)
                sb->pool->build_failed++;
            sbx_log("%s", err.msg);
            /* A session's next run may fail for a moment (the run in
             * progress holding every pid): it is made again, once that run
             * has ended; three failures in a row end the sandbox. */
            if (!sb->pool && ++sb->prep_failures < 3) {
                sb->want_run = !sb->busy;
                continue;
            }
            if (sb->busy) {
                sb->removing = true;
                continue;
            }
            teardown(d, sb, err.msg);
            continue;
        }
        if (!was_ready && sbx_run_prepared(sb->run)) {
            sb->prep_failures = 0;
            if (sb->pool && !sb->counted) {
                struct sbx_job_usage u;
                sbx_job_usage(sb->exec, &u);
                sb->pool->setup_cpu_ms += u.cpu_time_ms;
                sb->pool->built++;
                sb->counted = true;
            }
            answer_created(d, sb);
            session_kick(d, sb);
        }
    }
}

bool sbx_warm_take(struct sbx_daemon *d, struct sbx_djob *j)
{
    struct sbx_sandbox *best = NULL;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        if (sb->pool == j->pool && ready(sb))
            best = sb; /* the list is newest first: the last is the oldest */
    if (!best) {
        j->pool->cold_starts++;
        return false;
    }
    j->pool->taken++;
    j->warm = true;
    d->last_take_ns = sbx_now_ns();
    start_in(d, best, j);
    return true;
}

void sbx_warm_session_enqueue(struct sbx_daemon *d, struct sbx_sandbox *sb, struct sbx_djob *j)
{
    j->session_id = sb->id;
    j->queued_in = sb;
    j->qnext = NULL;
    if (sb->rq_tail)
        sb->rq_tail->qnext = j;
    else
        sb->rq = j;
    sb->rq_tail = j;
    /* Started after this turn's answers (its submit's) are out. */
    sb->want_kick = true;
}

void sbx_warm_unqueue(struct sbx_djob *j)
{
    struct sbx_sandbox *sb = j->queued_in;
    if (!sb)
        return;
    struct sbx_djob *prev = NULL;
    for (struct sbx_djob *q = sb->rq; q; prev = q, q = q->qnext)
        if (q == j) {
            if (prev)
                prev->qnext = j->qnext;
            else
                sb->rq = j->qnext;
            if (sb->rq_tail == j)
                sb->rq_tail = prev;
            break;
        }
    j->qnext = NULL;
    j->queued_in = NULL;
}

void sbx_warm_job_done(struct sbx_daemon *d, struct sbx_djob *j)
{
    struct sbx_sandbox *sb = j->sandbox;
    j->sandbox = NULL;
    if (!sb)
        return;
    sb->busy = NULL;
    /* One job per pool sandbox: nothing of it may reach the next job. Its
     * PID 1 is killed now (it takes the whole sandbox with it) and the
     * sandbox torn down once it is reaped, after this turn's answers:
     * reaping it waits for the kernel to tear its namespaces down. */
    if (sb->pool || sb->removing || sb->exec_ended) {
        if (sb->exec && !sb->exec_ended && !sb->dying) {
            /* Killed once this turn's answers are out (sbx_warm_fill):
             * the kernel's teardown of a sandbox takes a core a while. */
            sb->dying = sb->want_kill = true;
            return;
        }
        if (!sb->dying)
            teardown(d, sb, sb->pool ? "" : "the session was removed");
        return;
    }
    sb->runs++;
    sb->idle_since_ns = sbx_now_ns();
    sb->want_run = !sb->run;
    session_kick(d, sb);
}

void sbx_warm_session_create(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                             Sbx__V1__SessionRequest *s, struct sbx_job_req *jr)
{
    char msg[SBX_ERR_MSG_MAX];
    if (d->draining) {
        sbx_conn_send_error(d, c, req_id, E(UNAVAILABLE),
                            "sandboxd is shutting down: no new sessions");
        return;
    }
    unsigned mine = 0;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        mine += !sb->pool && sb->uid == c->uid;
    if (d->n_sessions >= d->cfg.max_sessions) {
        snprintf(msg, sizeof msg, "sessions.max_sessions: %u sessions exist already",
                 d->cfg.max_sessions);
        sbx_conn_send_error(d, c, req_id, E(RESOURCE_EXHAUSTED), msg);
        return;
    }
    /* Sessions hold uid slots: those of the pools and of max_concurrent
     * jobs stay for them. */
    unsigned held = d->n_sessions + d->cfg.max_concurrent;
    for (size_t i = 0; i < d->n_pools; i++)
        held += d->pools[i].size;
    if (held >= d->cfg.pool.slots) {
        snprintf(msg, sizeof msg, "uid_pool.slots: all %u are held or kept for the pools and for "
                 "max_concurrent jobs", d->cfg.pool.slots);
        sbx_conn_send_error(d, c, req_id, E(RESOURCE_EXHAUSTED), msg);
        return;
    }
    if (!c->admin && mine >= d->cfg.max_sessions_per_uid) {
        snprintf(msg, sizeof msg, "sessions.max_sessions_per_uid: uid %u has %u sessions already",
                 c->uid, mine);
        sbx_conn_send_error(d, c, req_id, E(OVER_CAP), msg);
        return;
    }
    struct sbx_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) {
        sbx_conn_send_error(d, c, req_id, E(INTERNAL), "out of memory");
        return;
    }
    sb->exec_pfd = sb->run_pfd = -1;
    sb->id = ++d->next_job_id;
    sb->uid = c->uid;
    sb->gid = c->gid;
    snprintf(sb->name, sizeof sb->name, "%s", s->name ? s->name : "");
    sb->policy = s->policy;
    s->policy = NULL;
    sb->spec = jr->spec;
    jr->have_spec = false;
    sb->hold = jr->hold;
    jr->hold = (struct sbx_image_hold){0};
    sb->idle_ns = d->cfg.session_idle_ns;
    sb->lifetime_ns = d->cfg.session_lifetime_ns;
    int64_t ns;
    if (s->idle_timeout && sbx_parse_duration_ns(s->idle_timeout, false, &ns) == 0)
        sb->idle_ns = ns;
    if (s->max_lifetime && sbx_parse_duration_ns(s->max_lifetime, false, &ns) == 0)
        sb->lifetime_ns = ns;
    sb->created_ms = sbx_unix_ms();
    sb->created_ns = sb->idle_since_ns = sbx_now_ns();
    d->n_sessions++;
    struct sbx_err err = {0};
    if (spawn_sandbox(d, sb, &sb->spec, &err) < 0) {
        sbx_conn_send_error(d, c, req_id, E(INTERNAL), err.msg);
        sb->exec = NULL;
        teardown(d, sb, err.msg);
        return;
    }
    sb->creator = c;
    sb->creator_req = req_id;
    c->n_waiters++;
    sb->next = d->sandboxes;
    d->sandboxes = sb;
}

void sbx_warm_session_remove(struct sbx_daemon *d, struct sbx_sandbox *sb)
{
    sb->removing = true;
    while (sb->rq)
        sbx_jobs_stop_unstarted(d, sb->rq, "the session was removed");
    if (sb->busy) {
        struct sbx_err e = {0};
        sbx_jobs_kill(d, sb->busy, SIGKILL, &e); /* then sbx_warm_job_done */
        return;
    }
    /* Torn down once its PID 1 is reaped (sandbox_ended), after this
     * turn's answers. */
    if (sb->exec && !sb->exec_ended && !sb->dying) {
        sb->dying = true;
        sbx_job_kill(sb->exec);
        return;
    }
    if (!sb->dying)
        teardown(d, sb, "the session was removed");
}

void sbx_warm_tick(struct sbx_daemon *d)
{
    int64_t now = sbx_now_ns();
    struct sbx_sandbox *next;
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = next) {
        next = sb->next;
        if (sb->pool || sb->removing || sb->dying)
            continue;
        const char *why = NULL;
        if (now >= sb->created_ns + sb->lifetime_ns)
            why = "its max_lifetime passed";
        else if (!sb->busy && !sb->rq && !sb->creator && now >= sb->idle_since_ns + sb->idle_ns)
            why = "its idle_timeout passed";
        if (!why)
            continue;
        sbx_log("session %" PRIu64 " (uid %u): removed: %s", sb->id, sb->uid, why);
        sbx_warm_session_remove(d, sb);
    }
}

void sbx_warm_session_info(struct sbx_sandbox *sb, bool full, JobInfo *info,
                           Sbx__V1__Usage *usage)
{
    sbx__v1__job_info__init(info);
    info->has_job_id = info->has_state = info->has_owner_uid = info->has_owner_gid = true;
    info->job_id = sb->id;
    info->state = ST(RUNNING);
    info->owner_uid = sb->uid;
    info->owner_gid = sb->gid;
    info->has_detached = info->detached = true;
    info->name = sb->name;
    info->command = (char *)"";
    info->has_created_unix_ms = info->has_started_unix_ms = true;
    info->created_unix_ms = info->started_unix_ms = sb->created_ms;
    info->has_session = info->session = true;
    info->has_runs = true;
    info->runs = sb->runs;
    uint64_t now_ms = sbx_unix_ms();
    int64_t now = sbx_now_ns();
    info->has_expires_unix_ms = true;
    info->expires_unix_ms = now_ms + (uint64_t)((sb->created_ns + sb->lifetime_ns - now) / 1000000);
    if (!sb->busy && !sb->rq) {
        info->has_idle_deadline_unix_ms = true;
        int64_t left = sb->idle_since_ns + sb->idle_ns - now;
        info->idle_deadline_unix_ms = now_ms + (uint64_t)(left > 0 ? left / 1000000 : 0);
    }
    if (!full)
        return;
    /* (Sent without its placeholder command: send_session.) */
    info->policy = sb->policy;
    sbx__v1__usage__init(usage);
    usage->has_wall_time_ms = usage->has_cpu_time_ms = usage->has_memory_peak_bytes = true;
    if (sb->exec) {
        struct sbx_job_usage u;
        sbx_job_usage(sb->exec, &u);
        usage->wall_time_ms = (uint64_t)((now - sb->created_ns) / 1000000);
        usage->cpu_time_ms = u.cpu_time_ms;
        usage->memory_peak_bytes = u.memory_peak_bytes;
    }
    info->usage = usage;
}

void sbx_warm_health(struct sbx_daemon *d, Sbx__V1__PoolStats *stats, Sbx__V1__PoolStats **ptrs)
{
    for (size_t i = 0; i < d->n_pools; i++) {
        struct sbx_pool *p = &d->pools[i];
        Sbx__V1__PoolStats *s = &stats[i];
        sbx__v1__pool_stats__init(s);
        unsigned nready, building;
        pool_counts(d, p, &nready, &building);
        uint64_t mem = 0;
        for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
            if (sb->pool == p && ready(sb)) {
                struct sbx_job_usage u;
                sbx_job_usage(sb->exec, &u);
                mem += u.memory_peak_bytes;
            }
        s->name = p->name;
        s->has_size = s->has_ready = s->has_building = s->has_taken = s->has_cold_starts = true;
        s->size = p->size;
        s->ready = nready;
        s->building = building;
        s->taken = p->taken;
        s->cold_starts = p->cold_starts;
        s->has_built = s->has_build_failed = s->has_setup_cpu_ms = true;
        s->built = p->built;
        s->build_failed = p->build_failed;
        s->setup_cpu_ms = p->setup_cpu_ms;
        s->has_memory_bytes = s->has_memory_per_sandbox_bytes = true;
        s->memory_bytes = mem;
        s->memory_per_sandbox_bytes = nready ? mem / nready : 0;
        ptrs[i] = s;
    }
}

void sbx_warm_conn_gone(struct sbx_daemon *d, struct sbx_conn *c)
{
    for (struct sbx_sandbox *sb = d->sandboxes; sb; sb = sb->next)
        if (sb->creator == c) {
            /* Nobody learns its id: no use keeping it (sbx_warm_tick). */
            sb->creator = NULL;
            c->n_waiters--;
            sb->idle_ns = 0;
        }
}

void sbx_warm_shutdown(struct sbx_daemon *d)
{
    while (d->sandboxes) {
        struct sbx_sandbox *sb = d->sandboxes;
        if (sb->busy) {
            struct sbx_djob *j = sb->busy;
            /* The job table tears its job down; the sandbox goes here. */
            sb->busy = NULL;
            j->sandbox = NULL;
        }
        teardown(d, sb, "sandboxd shut down");
    }
    for (size_t i = 0; i < d->n_pools; i++) {
        sbx_spec_free(&d->pools[i].spec);
        sbx_policy_free(d->pools[i].policy);
        free(d->pools[i].allowed_uids);
    }
    free(d->pools);
    d->pools = NULL;
    d->n_pools = 0;
}
