/* sandboxd: the job service. Listens on a UNIX socket (its own, or the one
 * systemd passes through LISTEN_FDS), runs jobs with the same executor as
 * `sbx run`, and serves every client from one poll() loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/stdfds.h"
#include "executor/cgroup/cgroup.h"
#include "daemon.h"

#define SD_LISTEN_FDS_START 3

static const char usage[] =
    "usage: sandboxd [--socket PATH] [--config FILE]\n"
    "\n"
    "The sbx job service: runs sandboxed jobs for clients on a UNIX socket\n"
    "(sbx --socket PATH run|submit|wait|ps|inspect|kill|pause|resume|stats).\n"
    "\n"
    "options:\n"
    "  --socket PATH   listen on PATH (overrides the config's socket;\n"
    "                  default " SBX_DAEMON_DEFAULT_SOCKET ")\n"
    "  --config FILE   DaemonConfig in protobuf text format (policy/sandboxd.proto)\n"
    "  --help          this text\n"
    "\n"
    "Socket activation: with LISTEN_PID and LISTEN_FDS set by systemd, the\n"
    "first passed fd is the listening socket. SIGTERM drains (no new jobs;\n"
    "running ones get grace_period, then are killed); SIGHUP reloads FILE.\n";

/* systemd's socket activation: the listening socket is fd 3. */
static int activated_socket(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    struct stat st;
    if (fstat(SD_LISTEN_FDS_START, &st) < 0 || !S_ISSOCK(st.st_mode))
        return -1;
    fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC);
    int fl = fcntl(SD_LISTEN_FDS_START, F_GETFL);
    fcntl(SD_LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK);
    return SD_LISTEN_FDS_START;
}

static int make_socket(struct sbx_daemon *d, struct sbx_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", d->socket_path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sbx_err_sys(err, errno, "socket");
    /* A socket file left by a daemon that was killed is removed; one that a
     * live daemon answers on is not ours to take. */
    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0)
        return sbx_err_set(err, EADDRINUSE, "socket %s: another sandboxd is listening there",
                           d->socket_path);
    if (unlink(d->socket_path) < 0 && errno != ENOENT)
        return sbx_err_sys(err, errno, "socket %s: removing the stale socket", d->socket_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return sbx_err_sys(err, errno, "socket %s: bind", d->socket_path);
    /* Anyone may connect; SO_PEERCRED and the config decide who is served. */
    if (chmod(d->socket_path, 0666) < 0 || listen(fd, 128) < 0) {
        int e = errno;
        unlink(d->socket_path);
        return sbx_err_sys(err, e, "socket %s: listen", d->socket_path);
    }
    d->unlink_socket = true;
    d->listen_fd = take_fd(fd);
    return 0;
}

static void stop_listening(struct sbx_daemon *d)
{
    if (d->listen_fd < 0)
        return;
    close(d->listen_fd);
    d->listen_fd = -1;
    if (d->unlink_socket)
        unlink(d->socket_path);
}

/* What the configuration allows but an operator should hear about: shared
 * paths in directories others can change (a client could swap them; they
 * are refused to non-admins until fixed), uid slots overlapping host users. */
static void warn_config(const struct sbx_dconfig *cfg)
{
    struct sbx_err e = {0};
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_shared_paths; i++)
        if (sbx_dconfig_path_owned(cfg->msg->shared_paths[i], &e) < 0)
            sbx_log("warning: shared_paths[%zu]: %s (refused to non-admins)", i, e.msg);
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_shared_paths_rw; i++)
        if (sbx_dconfig_path_owned(cfg->msg->shared_paths_rw[i], &e) < 0)
            sbx_log("warning: shared_paths_rw[%zu]: %s (refused to non-admins)", i, e.msg);
    char what[384];
    if (sbx_uidpool_host_overlap(&cfg->pool, what, sizeof what))
        sbx_log("warning: uid_pool %u:%u:%u overlaps %s: jobs would share that user's ids",
                cfg->pool.first, cfg->pool.range, cfg->pool.slots, what);
}

/* The daemon holds fds for everything it keeps ready: a warm sandbox or a
 * session ~40 (its cgroups' directories in every hierarchy, twice with its
 * PID 1's and its run's, the run's statistics files, sockets, pidfds), a
 * running job ~30. A service's usual soft limit (1024) ran out before 48
 * ready sandboxes did: the soft limit is raised to the hard one, which
 * jobs never inherit (limits.open_files is always set for them). */
static void check_open_files(const struct sbx_dconfig *cfg)
{
    struct rlimit rl;
    uint64_t ready = cfg->max_sessions;
    for (size_t i = 0; cfg->msg && i < cfg->msg->n_warm_pool; i++)
        ready += cfg->msg->warm_pool[i]->size;
    uint64_t need = 64 + 48 * ready + 32 * (uint64_t)cfg->max_concurrent;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        sbx_log("warning: open files: the limit (%llu) is below the ~%llu that %llu ready "
                "sandboxes and sessions and %u jobs could hold at most",
                (unsigned long long)rl.rlim_cur, (unsigned long long)need,
                (unsigned long long)ready, cfg->max_concurrent);
}

static void raise_open_files(const struct sbx_dconfig *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    check_open_files(cfg);
}

/* Whether two configurations have the same warm pools, byte for byte. */
static bool same_pools(const DaemonConfig *a, const DaemonConfig *b)
{
    size_t na = a ? a->n_warm_pool : 0, nb = b ? b->n_warm_pool : 0;
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        size_t la = protobuf_c_message_get_packed_size(&a->warm_pool[i]->base);
        size_t lb = protobuf_c_message_get_packed_size(&b->warm_pool[i]->base);
        _cleanup_free_ uint8_t *x = malloc(la + 1), *y = malloc(lb + 1);
        if (!x || !y || la != lb)
            return false;
        protobuf_c_message_pack(&a->warm_pool[i]->base, x);
        protobuf_c_message_pack(&b->warm_pool[i]->base, y);
        if (memcmp(x, y, la) != 0)
            return false;
    }
    return true;
}

static void reload(struct sbx_daemon *d)
{
    struct sbx_dconfig cfg;
    struct sbx_err err = {0};
    if (!d->config_path) {
        sbx_log("SIGHUP: no --config file to reload");
        return;
    }
    if (sbx_dconfig_load(d->config_path, &cfg, &err) < 0) {
        sbx_log("SIGHUP: keeping the current configuration: %s", err.msg);
        return;
    }
    /* The socket, the uid pool and the cgroup parent hold live state. */
    if (cfg.pool.first != d->cfg.pool.first || cfg.pool.range != d->cfg.pool.range ||
        cfg.pool.slots != d->cfg.pool.slots || strcmp(cfg.pool.lockdir, d->slot_dir) != 0)
        sbx_log("SIGHUP: uid_pool and slot_dir changes take effect on restart");
    cfg.pool = d->cfg.pool;
    cfg.pool.lockdir = d->slot_dir;
    if (!same_pools(d->cfg.msg, cfg.msg))
        sbx_log("SIGHUP: warm_pool changes take effect on restart");
    sbx_dconfig_free(&d->cfg);
    d->cfg = cfg;
    warn_config(&d->cfg);
    check_open_files(&d->cfg);
    /* Who may connect applies to the connections already open, too. */
    for (struct sbx_conn *c = d->conns; c; c = c->next) {
        c->admin = sbx_dconfig_is_admin(&d->cfg, c->uid);
        if (!sbx_dconfig_allows(&d->cfg, c->uid, c->gid)) {
            sbx_log("SIGHUP: uid %u may no longer connect; closing its connection", c->uid);
            sbx_conn_shutdown(d, c);
        }
    }
    d->stopped_since_trim = true; /* keep_stopped may have shrunk */
    sbx_log("SIGHUP: configuration reloaded from %s", d->config_path);
}

static void start_drain(struct sbx_daemon *d, int sig)
{
    if (d->draining) {
        sbx_log("%s again: killing every job now", strsignal(sig));
        d->drain_deadline = sbx_now_ns();
        return;
    }
    sbx_log("%s: draining (no new jobs; %u running get %lld ms)", strsignal(sig), d->n_running,
            (long long)(d->cfg.grace_ns / 1000000));
    d->draining = true;
    d->drain_deadline = sbx_now_ns() + d->cfg.grace_ns;
    stop_listening(d);
    sbx_jobs_drain(d, false);
}

static void handle_signals(struct sbx_daemon *d)
{
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            start_drain(d, (int)si.ssi_signo);
        else if (si.ssi_signo == SIGHUP)
            reload(d);
    }
}

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void flush_answers(struct sbx_daemon *d)
{
    struct sbx_conn *next;
    for (struct sbx_conn *c = d->conns; c; c = next) {
        next = c->next;
        if (c->woff < c->wlen)
            sbx_conn_writable(d, c);
    }
}

/* One turn of the loop: poll everything, then let each part act. */
static int loop_once(struct sbx_daemon *d, struct pollfd **pfds, size_t *cap)
{
    size_t need = 2 + d->n_conns + sbx_jobs_max_pollfds(d) + sbx_warm_max_pollfds(d) + d->n_ended;
    if (need > *cap) {
        struct pollfd *p = realloc(*pfds, need * sizeof *p);
        if (!p)
            return -ENOMEM;
        *pfds = p;
        *cap = need;
    }
    struct pollfd *fds = *pfds;
    int n = 0;
    fds[n++] = (struct pollfd){.fd = d->sigfd, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
    for (struct sbx_conn *c = d->conns; c; c = c->next) {
        short ev = 0;
        /* Backpressure: a client that does not read its answers is not read. */
        if (!c->closing && c->wlen - c->woff < SBX_CONN_BACKPRESSURE)
            ev |= POLLIN;
        if (c->woff < c->wlen)
            ev |= POLLOUT;
        c->pfd = n;
        fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    sbx_jobs_add_pollfds(d, fds, &n);
    sbx_warm_add_pollfds(d, fds, &n);
    sbx_jobs_add_release_pollfds(d, fds, &n);

    int64_t now = sbx_now_ns();
    int timeout = min_timeout(sbx_jobs_timeout_ms(d), sbx_conn_timeout_ms(d, now));
    timeout = min_timeout(timeout, sbx_warm_timeout_ms(d));
    if (d->draining) {
        int64_t ms = (d->drain_deadline - now + 999999) / 1000000;
        timeout = min_timeout(timeout, ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms);
    }
    if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
        return -errno;

    if (fds[0].revents & POLLIN)
        handle_signals(d);
    if (d->listen_fd >= 0 && (fds[1].revents & POLLIN))
        for (int i = 0; i < 16 && sbx_conn_accept(d); i++)
            ;
    struct sbx_conn *next;
    for (struct sbx_conn *c = d->conns; c; c = next) {
        next = c->next;
        if (c->pfd < 0)
            continue; /* accepted in this turn */
        short re = fds[c->pfd].revents;
        if ((re & POLLOUT) && sbx_conn_writable(d, c))
            continue;
        if ((re & (POLLIN | POLLHUP | POLLERR)) && sbx_conn_readable(d, c))
            continue;
    }
    for (struct sbx_conn *c = d->conns; c; c = c->next)
        c->pfd = -1;
    sbx_jobs_poll_done(d, fds);
    sbx_warm_poll_done(d, fds);
    sbx_warm_tick(d);
    sbx_jobs_schedule(d);
    /* Jobs that stopped in this turn count against keep_stopped now. */
    sbx_jobs_trim(d);

    now = sbx_now_ns();
    sbx_conn_check_timeouts(d, now);
    /* Answers go out now rather than one poll later. */
    flush_answers(d);
    sbx_conn_sweep(d);
    sbx_jobs_release_ended(d);
    /* Pools are refilled once this turn's jobs are on their way, and the
     * stash of network namespaces while nothing runs. */
    sbx_warm_fill(d);
    sbx_jobs_stash_netns(d);

    if (d->draining) {
        if (now >= d->drain_deadline && d->n_running) {
            sbx_log("grace period over: killing %u jobs", d->n_running);
            sbx_jobs_drain(d, true);
            d->drain_deadline = now + 60LL * 1000000000;
        }
        bool flushed = true;
        for (struct sbx_conn *c = d->conns; c; c = c->next)
            flushed &= c->woff == c->wlen;
        if (d->n_running == 0 && d->n_created == 0 && flushed)
            d->quit = true;
    }
    return 0;
}

static int setup(struct sbx_daemon *d, const char *socket_flag, struct sbx_err *err)
{
    int r = sbx_dconfig_load(d->config_path, &d->cfg, err);
    if (r < 0)
        return r;
    const char *sock = socket_flag ? socket_flag : d->cfg.socket;
    if (strlen(sock) >= sizeof d->socket_path)
        return sbx_err_set(err, ENAMETOOLONG, "--socket: longer than %zu bytes",
                           sizeof d->socket_path - 1);
    snprintf(d->socket_path, sizeof d->socket_path, "%s", sock);
    snprintf(d->slot_dir, sizeof d->slot_dir, "%s", d->cfg.pool.lockdir);
    d->cfg.pool.lockdir = d->slot_dir;
    /* A slot directory others can write, or a pool whose slots overlap
     * another launcher's differently: refused before serving anyone. */
    r = sbx_uidpool_check(&d->cfg.pool, err);
    if (r < 0)
        return r;
    warn_config(&d->cfg);
    raise_open_files(&d->cfg);
    if (d->cfg.cgroup_parent)
        setenv("SBX_CGROUP_PARENT", d->cfg.cgroup_parent, 1);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Writes to a closed client or pipe fail with EPIPE instead. Blocked,
     * not ignored: an ignored disposition would be inherited by jobs. */
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, NULL);
    d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (d->sigfd < 0)
        return sbx_err_sys(err, errno, "signalfd");
    d->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (d->devnull < 0)
        return sbx_err_sys(err, errno, "/dev/null");

    /* What a previous daemon's jobs left if it was SIGKILLed: their
     * processes died with it (PDEATHSIG); their cgroups go now, before any
     * new job. Uid slots free themselves (flock). */
    struct sbx_err cg = {0};
    if (geteuid() == 0 && sbx_cgroup_cleanup_stale(&cg) < 0)
        sbx_log("cleaning stale job cgroups: %s", cg.msg);
    r = sbx_warm_init(d, err);
    if (r < 0)
        return r;
    sbx_jobs_stash_netns(d);

    d->listen_fd = activated_socket();
    if (d->listen_fd >= 0) {
        sbx_log("listening on the socket systemd passed (fd %d)", d->listen_fd);
    } else {
        r = make_socket(d, err);
        if (r < 0)
            return r;
        sbx_log("listening on %s", d->socket_path);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (sbx_ensure_std_fds() < 0)
        return 1;
    const char *socket_flag = NULL;
    struct sbx_daemon d = {.listen_fd = -1, .sigfd = -1, .devnull = -1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            socket_flag = argv[++i];
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            socket_flag = argv[i] + 9;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            d.config_path = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            d.config_path = argv[i] + 9;
        } else {
            fprintf(stderr, "sandboxd: unknown or incomplete option %s (see sandboxd --help)\n",
                    argv[i]);
            return 2;
        }
    }
    /* Nothing may ptrace the launcher or read its memory. */
    prctl(PR_SET_DUMPABLE, 0);
    setvbuf(stderr, NULL, _IOLBF, 0);
    d.start_ns = sbx_now_ns();

    struct sbx_err err = {0};
    if (setup(&d, socket_flag, &err) < 0) {
        fprintf(stderr, "sandboxd: %s\n", err.msg);
        sbx_dconfig_free(&d.cfg);
        return 1;
    }
    struct pollfd *pfds = NULL;
    size_t cap = 0;
    int r = 0;
    while (!d.quit && (r = loop_once(&d, &pfds, &cap)) == 0)
        ;
    if (r < 0)
        sbx_log("event loop: %s", strerror(-r));
    free(pfds);
    stop_listening(&d);
    while (d.conns)
        sbx_conn_close(&d, d.conns);
    sbx_jobs_drain(&d, true);
    /* Runs before their sandboxes: a run's cgroup is its sandbox's child. */
    while (d.jobs)
        sbx_jobs_remove(&d, d.jobs);
    sbx_warm_shutdown(&d);
    d.quit = true; /* everything is released now, waiting if need be */
    sbx_jobs_release_ended(&d);
    while (d.n_netns > 0)
        close(d.netns[--d.n_netns]);
    free(d.ended);
    free(d.claims); /* empty: every job dropped its claims */
    sbx_dconfig_free(&d.cfg);
    sbx_log("stopped");
    return r < 0 ? 1 : 0;
}
