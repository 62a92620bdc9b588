/* sandboxd's internals: one event loop, the connections it serves and the
 * jobs it runs. Single-threaded on purpose: the executor clones jobs with a
 * raw clone3(), which needs a single-threaded launcher, and one thread makes
 * every state change of a job or a connection happen in one place.
 *
 *   daemon_main.c    flags, socket (or systemd's), signals, the poll loop
 *   daemon_conn.c    framing, per-connection buffers, fds, stall timeouts
 *   daemon_ops.c     the operations: request in, response out
 *   daemon_jobs.c    job table, queue, states, the executor, captured stdio
 *   daemon_config.c  the configuration file
 *   daemon_proto.c   request decoding and checks (shared with clients) */
#ifndef SBX_SANDBOXD_DAEMON_H
#define SBX_SANDBOXD_DAEMON_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon_config.h"
#include "daemon_proto.h"
#include "executor/launcher/exec.h"
#include "executor/launcher/jobio.h"

#define SBX_CONN_MAX_FDS 3 /* stdio fds a request may carry */
#define SBX_CONN_MAX_PENDING_OUT (256u << 20)
#define SBX_CONN_READ_CHUNK 65536
/* A client with this much unread output is not read from until it catches
 * up (and its stall clock stops meanwhile). */
#define SBX_CONN_BACKPRESSURE (1u << 20)
/* Waits pending at once, per connection and per non-admin uid: each holds
 * memory until its job stops. */
#define SBX_CONN_MAX_WAITS 64U
#define SBX_UID_MAX_WAITS 256U
/* Connections only administrators may take, so that no tenant can lock
 * them out: an eighth of max_connections, at most 8. */
#define SBX_ADMIN_RESERVED_CONNS(max) ((max) / 8 < 8 ? (max) / 8 : 8)

#define SBX_NETNS_STASH 4

struct sbx_conn {
    struct sbx_conn *next, *prev;
    uint64_t id;
    int fd;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    bool admin;
    uint8_t *rbuf; /* bytes of frames not yet handled */
    size_t rlen, rcap;
    int64_t partial_since;     /* when an incomplete frame began; 0: none */
    int fds[SBX_CONN_MAX_FDS]; /* received with SCM_RIGHTS, not yet claimed */
    size_t nfds;
    uint8_t *wbuf; /* responses not yet written */
    size_t wlen, woff, wcap;
    bool closing;           /* read no more; close once written */
    int64_t close_deadline; /* give up flushing then */
    int pfd;                /* index in the poll array, -1: none */
    int64_t last_active;    /* last frame read (or job activity); for idle_timeout */
    unsigned n_waiters;     /* waits pending on this connection */
};

/* One layer directory some jobs run on, and the one fd (holding a shared
 * flock) the daemon keeps for all of them: fds grow with the layers in
 * use, not with jobs x layers. */
struct sbx_claim_key {
    dev_t dev;
    ino_t ino;
};

struct sbx_claim {
    struct sbx_claim_key key;
    int fd;
    unsigned refs;
};

struct sbx_sandbox;
struct sbx_pool;

struct sbx_djob {
    struct sbx_djob *next, *prev; /* every job, oldest first */
    struct sbx_djob *qnext;       /* the queue of CREATED jobs */
    uint64_t id;
    Sbx__V1__JobState state;
    size_t image_layers;          /* the first rootfs.layers: its image's */
    uid_t uid;
    gid_t gid;
    bool detached;
    char name[SBX_MAX_JOB_NAME + 1];
    JobPolicy *policy; /* owned; spec borrows from it */
    struct sbx_spec spec;
    /* Its image's layers, claimed until it stops: indices into the
     * daemon's claims are not stable, so by directory identity. */
    struct sbx_claim_key *claimed;
    size_t n_claimed;
    struct sbx_conn *owner;   /* killed when it closes (unless detached) */
    bool remove_when_stopped; /* nobody will ask for the result */
    struct sbx_job *exec;     /* RUNNING and PAUSED only */
    int stdio[3];             /* handed to the job at start; then closed */
    struct sbx_jobio io; /* stdin_data fed in, output captured */
    int io_pfd;          /* first of the io's poll entries, -1: none */
    int exec_pfd; /* first of SBX_JOB_MAX_POLLFDS entries */
    bool exec_ended; /* its processes are gone; its output may still be on its way */
    bool drop_output; /* its client or the daemon gave up: do not wait for its reader */
    uint64_t created_ms, started_ms, ended_ms;
    int64_t slot_wait_since; /* first found every uid slot taken; 0: never */
    struct sbx_result res; /* once STOPPED */
    int exit_status;
    /* A job of a warm pool (taken warm, or a cold start when it was
     * empty), or a run of a session: */
    struct sbx_pool *pool;
    uint64_t session_id;
    bool warm;
    struct sbx_sandbox *sandbox;  /* the sandbox it runs in (RUNNING, PAUSED) */
    struct sbx_sandbox *queued_in; /* the session whose queue holds it (CREATED) */
};

/* A warm pool (daemon_warm.c): its configuration, fixed until a restart,
 * and its counters. */
struct sbx_pool {
    char name[SBX_MAX_POOL_NAME + 1];
    uint32_t size;
    uint32_t *allowed_uids;
    size_t n_allowed;
    JobPolicy *policy; /* a copy of the configured one, command placeholder set */
    struct sbx_spec spec;
    uint64_t taken, cold_starts, built, build_failed, setup_cpu_ms;
};

/* A resident sandbox: one of a warm pool's, or a session. */
struct sbx_sandbox {
    struct sbx_sandbox *next;
    struct sbx_pool *pool; /* NULL: a session */
    struct sbx_job *exec;  /* the sandbox */
    struct sbx_job *run;   /* its next run, preparing or ready; NULL while one runs */
    struct sbx_djob *busy; /* the job running in it */
    bool exec_ended;       /* its PID 1 is gone (or its setup failed) */
    bool counted;          /* its setup's CPU went to its pool's budget */
    bool armed;            /* set up, its first run asked for */
    bool want_run;         /* prepare its next run once this turn's answers are out */
    bool want_kick;        /* start its next queued run then */
    unsigned prep_failures; /* its next run could not be made, in a row */
    bool dying;            /* done with: its PID 1 is killed, torn down once reaped */
    bool want_kill;        /* ... killed once this turn's answers are out */
    int exec_pfd, run_pfd;
    /* A session: */
    uint64_t id;
    uid_t uid;
    gid_t gid;
    char name[SBX_MAX_JOB_NAME + 1];
    JobPolicy *policy; /* owned; spec borrows from it */
    struct sbx_spec spec;
    struct sbx_image_hold hold;
    struct sbx_djob *rq, *rq_tail; /* runs waiting for it, through qnext */
    uint64_t created_ms;
    unsigned runs;
    int64_t idle_ns, lifetime_ns, created_ns, idle_since_ns;
    struct sbx_conn *creator; /* its session_create waits for it to be ready */
    uint64_t creator_req;
    bool removing;
};

struct sbx_waiter {
    struct sbx_waiter *next;
    struct sbx_conn *conn;
    uint64_t req_id;
    uint64_t job_id;
    bool remove;
};

struct sbx_counters {
    uint64_t submitted, finished, setup_failed, rejected, requests, protocol_errors,
        connections_total;
};

struct sbx_daemon {
    struct sbx_dconfig cfg;
    const char *config_path;
    int listen_fd;
    bool unlink_socket; /* we made the socket file, so we remove it */
    char socket_path[108];
    char slot_dir[4096]; /* the pool's lockdir, fixed at start */
    int sigfd;
    int devnull;
    struct sbx_conn *conns;
    unsigned n_conns;
    uint64_t next_conn_id;
    struct sbx_djob *jobs, *jobs_tail;
    struct sbx_djob *queue, *queue_tail;
    unsigned n_created, n_running, n_stopped;
    bool stopped_since_trim; /* sbx_jobs_trim has work only then */
    uint64_t next_job_id;
    struct sbx_job **ended; /* collected, torn down after the answers' write */
    int64_t slot_retry_at;  /* no job starts before then (uid slots looked taken) */
    size_t n_ended, cap_ended;
    struct sbx_waiter *waiters;
    struct sbx_claim *claims;
    size_t n_claims, cap_claims;
    struct sbx_counters counters;
    bool draining;
    int64_t drain_deadline; /* then kill what still runs */
    bool quit;
    int64_t start_ns;
    struct sbx_pool *pools;
    size_t n_pools;
    /* Network namespaces with lo up, made while the loop has nothing else
     * to do, for the next cold jobs (their child then skips ~1 ms). */
    int netns[SBX_NETNS_STASH];
    int n_netns;
    bool netns_off;  /* the kernel refused: none are made */
    struct sbx_sandbox *sandboxes;
    unsigned n_sessions;
    int64_t last_take_ns; /* a job took a warm sandbox then */
};

int64_t sbx_now_ns(void);
uint64_t sbx_unix_ms(void);
void sbx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* daemon_conn.c */
/* Takes one pending connection (serving or refusing it); false: none. */
bool sbx_conn_accept(struct sbx_daemon *d);
/* Both return true when they closed c. */
bool sbx_conn_readable(struct sbx_daemon *d, struct sbx_conn *c);
bool sbx_conn_writable(struct sbx_daemon *d, struct sbx_conn *c);
void sbx_conn_send(struct sbx_daemon *d, struct sbx_conn *c, const Response *resp);
void sbx_conn_send_error(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                         Sbx__V1__Error__Code code, const char *msg);
/* Stops reading and closes once what is queued is written. */
void sbx_conn_shutdown(struct sbx_daemon *d, struct sbx_conn *c);
void sbx_conn_close(struct sbx_daemon *d, struct sbx_conn *c);
/* Closes shut-down connections with nothing left to write. */
void sbx_conn_sweep(struct sbx_daemon *d);
/* Closes connections that stalled mid-frame or could not be flushed. */
void sbx_conn_check_timeouts(struct sbx_daemon *d, int64_t now);
int sbx_conn_timeout_ms(struct sbx_daemon *d, int64_t now);
/* Takes the first n pending fds; -1 when fewer arrived. */
int sbx_conn_take_fds(struct sbx_conn *c, unsigned n, int *out);
void sbx_conn_drop_fds(struct sbx_conn *c);

/* daemon_ops.c */
void sbx_ops_handle(struct sbx_daemon *d, struct sbx_conn *c, const uint8_t *buf, size_t len);
/* The answer to req_id: info (with state, when set, in place of its own). */
void sbx_ops_send_info(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id, JobInfo *info,
                       Sbx__V1__JobState state);
/* A job stopped: answer its waiters. */
void sbx_ops_job_stopped(struct sbx_daemon *d, struct sbx_djob *j);
/* A connection is going away: forget its waiters. */
void sbx_ops_conn_gone(struct sbx_daemon *d, struct sbx_conn *c);

/* daemon_jobs.c */
/* Creates a CREATED job from a checked request (takes the policy and fds). */
int sbx_jobs_create(struct sbx_daemon *d, struct sbx_conn *c, Sbx__V1__JobRequest *jreq,
                    struct sbx_job_req *jr, int stdio_fds[3], struct sbx_djob **out,
                    Sbx__V1__Error__Code *code, struct sbx_err *err);
struct sbx_djob *sbx_jobs_find(struct sbx_daemon *d, uint64_t id);
unsigned sbx_jobs_active_of(struct sbx_daemon *d, uid_t uid);
/* Starts queued jobs while there is room. */
void sbx_jobs_schedule(struct sbx_daemon *d);
/* Poll entries of running jobs, and what poll said about them. */
void sbx_jobs_add_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n);
void sbx_jobs_poll_done(struct sbx_daemon *d, const struct pollfd *fds);
int sbx_jobs_timeout_ms(struct sbx_daemon *d);
size_t sbx_jobs_max_pollfds(struct sbx_daemon *d);
int sbx_jobs_kill(struct sbx_daemon *d, struct sbx_djob *j, int sig, struct sbx_err *err);
int sbx_jobs_freeze(struct sbx_daemon *d, struct sbx_djob *j, bool frozen, struct sbx_err *err);
void sbx_jobs_remove(struct sbx_daemon *d, struct sbx_djob *j);
/* The connection that owns non-detached jobs is gone. */
void sbx_jobs_orphan(struct sbx_daemon *d, struct sbx_conn *c);
/* Draining: stop queued jobs; kill_running also kills the running ones. */
void sbx_jobs_drain(struct sbx_daemon *d, bool kill_running);
/* Keeps at most keep_stopped stopped jobs per owner uid, dropping the oldest. */
void sbx_jobs_trim(struct sbx_daemon *d);
/* Whether c owns a job that has not stopped (idle_timeout spares it). */
bool sbx_jobs_owned_active(struct sbx_daemon *d, const struct sbx_conn *c);
/* Tears down the jobs that ended (their cgroups; their uid slots went when
 * they were collected): called after the loop has written what it could of
 * their answers, so that the teardown is not on their latency. */
void sbx_jobs_release_ended(struct sbx_daemon *d);
/* The fds of ended jobs whose release waits (at most d->n_ended). */
void sbx_jobs_add_release_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n);

/* Takes a queued job out of the daemon's queue (a session's run). */
void sbx_jobs_unqueue(struct sbx_daemon *d, struct sbx_djob *j);
/* Stops a queued job that will never start, with why as its result. */
void sbx_jobs_stop_unstarted(struct sbx_daemon *d, struct sbx_djob *j, const char *why);
/* Tears j's executor job down after this turn's answers are written. */
void sbx_jobs_defer_release(struct sbx_daemon *d, struct sbx_job *job);

/* Fills the stash of network namespaces while nothing runs. */
void sbx_jobs_stash_netns(struct sbx_daemon *d);

/* daemon_warm.c: warm pools and sessions. */
int sbx_warm_init(struct sbx_daemon *d, struct sbx_err *err);
/* Starts building sandboxes the pools lack (a few at a time). */
void sbx_warm_fill(struct sbx_daemon *d);
size_t sbx_warm_max_pollfds(struct sbx_daemon *d);
void sbx_warm_add_pollfds(struct sbx_daemon *d, struct pollfd *fds, int *n);
void sbx_warm_poll_done(struct sbx_daemon *d, const struct pollfd *fds);
int sbx_warm_timeout_ms(struct sbx_daemon *d);
/* Removes sessions past their idle timeout or lifetime. */
void sbx_warm_tick(struct sbx_daemon *d);
struct sbx_pool *sbx_warm_pool_find(struct sbx_daemon *d, const char *name);
bool sbx_warm_pool_allows_uid(const struct sbx_pool *p, uid_t uid, bool admin);
struct sbx_sandbox *sbx_warm_session_find(struct sbx_daemon *d, uint64_t id);
/* A pool's job about to start: runs it in a ready sandbox of its pool
 * (true), or says the pool is empty (false: start it cold). */
bool sbx_warm_take(struct sbx_daemon *d, struct sbx_djob *j);
/* A session's run, just created: waits in the session's queue. */
void sbx_warm_session_enqueue(struct sbx_daemon *d, struct sbx_sandbox *sb, struct sbx_djob *j);
void sbx_warm_unqueue(struct sbx_djob *j);
/* j, which ran in a sandbox, ended (its executor job collected). */
void sbx_warm_job_done(struct sbx_daemon *d, struct sbx_djob *j);
void sbx_warm_session_create(struct sbx_daemon *d, struct sbx_conn *c, uint64_t req_id,
                             Sbx__V1__SessionRequest *s, struct sbx_job_req *jr);
/* Removes a session (killing a run in progress, failing the queued). */
void sbx_warm_session_remove(struct sbx_daemon *d, struct sbx_sandbox *sb);
void sbx_warm_session_info(struct sbx_sandbox *sb, bool full, JobInfo *info,
                           Sbx__V1__Usage *usage);
/* Health's pools (stats points to n_pools entries it fills; ptrs too). */
void sbx_warm_health(struct sbx_daemon *d, Sbx__V1__PoolStats *stats,
                     Sbx__V1__PoolStats **ptrs);
void sbx_warm_conn_gone(struct sbx_daemon *d, struct sbx_conn *c);
/* Tears down every sandbox (shutdown). */
void sbx_warm_shutdown(struct sbx_daemon *d);

#endif
