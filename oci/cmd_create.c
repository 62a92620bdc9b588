/* create, start and run. create sets the container up completely through
 * the executor (a detached job) and leaves its PID 1 waiting on exec.fifo;
 * start opens the FIFO, which lets it exec the command. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/hostfile.h"
#include "executor/launcher/exec.h"

/* How long start waits for PID 1 to take its start (it is already waiting
 * on the FIFO, so this only bounds a PID 1 that died meanwhile). */
#define START_TIMEOUT_MS 10000

static void rfc3339_now(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char date[40];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%09ldZ", date, ts.tv_nsec);
}

/* The cgroup's name: the id and the state directory, so that two --root
 * trees may use the same ids. */
static void job_name(const struct oci_globals *g, const char *id, char *buf, size_t size)
{
    uint32_t h = 2166136261u;
    for (const char *p = g->root; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, size, "oci-%08x-%s", h, id);
}

struct create_args {
    const char *bundle, *pid_file, *console_socket, *id;
    int preserve_fds;
};

static int parse_create(int argc, char **argv, struct create_args *a, struct sbx_err *err)
{
    memset(a, 0, sizeof *a);
    a->bundle = ".";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = oci_opt_value(argc, argv, &i, "--bundle", &v, err)) ||
            (r = oci_opt_value(argc, argv, &i, "-b", &v, err))) {
            if (r < 0)
                return r;
            a->bundle = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--pid-file", &v, err))) {
            if (r < 0)
                return r;
            a->pid_file = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--console-socket", &v, err))) {
            if (r < 0)
                return r;
            a->console_socket = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--preserve-fds", &v, err))) {
            if (r < 0)
                return r;
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > 1024)
                return sbx_err_set(err, EINVAL, "--preserve-fds: %s is not a count", v);
            a->preserve_fds = (int)n;
        } else if (strcmp(argv[i], "--no-pivot") == 0 || strcmp(argv[i], "--no-new-keyring") == 0 ||
                   strcmp(argv[i], "--detach") == 0 || strcmp(argv[i], "-d") == 0) {
            continue;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return sbx_err_set(err, EINVAL, "%s: unknown option %s", argv[0], argv[i]);
        } else if (a->id) {
            return sbx_err_set(err, EINVAL, "%s: one container id only (got %s and %s)", argv[0],
                               a->id, argv[i]);
        } else {
            a->id = argv[i];
        }
    }
    if (!a->id)
        return sbx_err_set(err, EINVAL, "%s: a container id is required", argv[0]);
    if (a->preserve_fds)
        return sbx_err_set(err, ENOTSUP, "--preserve-fds: passing extra fds is not supported by "
                                         "sbx-oci");
    return oci_check_id(a->id, err);
}

int oci_console_connect(const char *path, struct sbx_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int dir = -1;
    if (strlen(path) >= sizeof sa.sun_path) {
        /* conmon keeps its socket paths short, other callers may not. */
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s", path);
        char *slash = strrchr(d, '/');
        if (!slash || slash == d)
            return sbx_err_set(err, ENAMETOOLONG, "--console-socket: %s: path too long", path);
        *slash = '\0';
        dir = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            return sbx_err_sys(err, errno, "--console-socket: %s", d);
        if (snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, slash + 1) >=
            (int)sizeof sa.sun_path)
            return sbx_err_set(err, ENAMETOOLONG, "--console-socket: %s: name too long", path);
    } else {
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    }
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sbx_err_sys(err, errno, "--console-socket: socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return sbx_err_sys(err, errno, "--console-socket: connecting to %s", path);
    return take_fd(fd);
}

int oci_set_oom_score_adj(pid_t pid, int value, struct sbx_err *err)
{
    char path[64], text[16];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
    int n = snprintf(text, sizeof text, "%d", value);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_sys(err, errno, "process.oomScoreAdj: %s", path);
    if (write(fd, text, (size_t)n) == n)
        return 0;
    int e = errno;
    if (e != EACCES)
        return sbx_err_sys(err, e, "process.oomScoreAdj: %d", value);
    /* The kernel lets a process without CAP_SYS_RESOURCE go no lower than
     * the lowest value a privileged ancestor set (inherited). */
    return sbx_err_set(err, EACCES, "process.oomScoreAdj: %d is below the lowest value this "
                                    "runtime may set (lowering it needs CAP_SYS_RESOURCE, "
                                    "which the runtime lacks)", value);
}

/* Creates the container; *pid gets its PID 1. */
static int create(const struct oci_globals *g, const struct create_args *a, pid_t *pid,
                  struct sbx_err *err)
{
    char bundle[PATH_MAX];
    if (!realpath(a->bundle, bundle))
        return sbx_err_sys(err, errno, "--bundle: %s", a->bundle);
    _cleanup_close_ int start_fd = -1, console_fd = -1;
    struct oci_config cfg;
    int r = oci_config_load(bundle, g->conf, &cfg, err);
    if (r < 0) {
        oci_config_free(&cfg);
        return r;
    }
    /* As runc: a terminal goes to the engine through the socket, and the
     * socket is of no use without one. */
    if (cfg.terminal != (a->console_socket != NULL)) {
        bool terminal = cfg.terminal;
        oci_config_free(&cfg);
        return terminal ? sbx_err_set(err, EINVAL, "process.terminal: a terminal needs "
                                                       "--console-socket")
                            : sbx_err_set(err, EINVAL, "--console-socket: process.terminal is "
                                                       "not true");
    }
    struct sbx_spec spec;
    if ((r = sbx_policy_validate(cfg.policy, NULL, &spec, err)) < 0) {
        oci_config_free(&cfg);
        return sbx_err_wrap(err, "config.json");
    }

    char dir[4096], fifo[4096];
    if ((r = oci_path(g, a->id, NULL, dir, sizeof dir, err)) < 0 ||
        (r = oci_path(g, a->id, "exec.fifo", fifo, sizeof fifo, err)) < 0)
        goto out;
    if ((r = sbx_mkdir_p(g->root, 0700)) < 0) {
        sbx_err_sys(err, -r, "--root: %s", g->root);
        goto out;
    }
    if (mkdir(dir, 0700) < 0) {
        r = errno == EEXIST ? sbx_err_set(err, EEXIST, "container with id exists: %s", a->id)
                            : sbx_err_sys(err, errno, "%s", dir);
        goto out;
    }
    /* PID 1 opens it as the container's root (an unmapped stranger to this
     * file) through its fd: writable by others, reachable by no one else
     * (the directory is 0700). */
    if (mkfifo(fifo, 0600) < 0 || chmod(fifo, 0622) < 0) {
        r = sbx_err_sys(err, errno, "%s", fifo);
        goto out_remove;
    }
    start_fd = open(fifo, O_PATH | O_CLOEXEC);
    if (start_fd < 0) {
        r = sbx_err_sys(err, errno, "%s", fifo);
        goto out_remove;
    }
    if (a->console_socket && (r = console_fd = oci_console_connect(a->console_socket, err)) < 0)
        goto out_remove;
    struct sbx_idmap idmap = {.host_uid = cfg.map_uid, .host_gid = cfg.map_gid,
                              .count = cfg.map_count};
    char name[256];
    if (cfg.cgroup_name[0])
        snprintf(name, sizeof name, "%s", cfg.cgroup_name);
    else
        job_name(g, a->id, name, sizeof name);
    struct sbx_exec_opts opts = {.pool = g->conf && g->conf->has_pool ? &g->conf->pool : NULL,
                                 .stdio = {-1, -1, -1}, .job_name = name, .detached = true,
                                 .start_fd = start_fd, .netns_fd = cfg.netns_fd,
                                 .ipcns_fd = cfg.ipcns_fd, .utsns_fd = cfg.utsns_fd,
                                 .console_fd = console_fd,
                                 .masked_paths = (const char *const *)cfg.masked,
                                 .readonly_paths = (const char *const *)cfg.readonly,
                                 .sysctls = (const char *const *)cfg.sysctls,
                                 .idmap = cfg.has_idmap ? &idmap : NULL,
                                 .extra_seccomp = cfg.seccomp.len ? &cfg.seccomp : NULL,
                                 .readonly_root = cfg.readonly_root,
                                 .procattr = &cfg.proc.attr, .mqueue = cfg.mqueue,
                                 .sysfs = cfg.sysfs};
    if (cfg.seccomp.len) {
        /* exec's processes get the same program, as the spec's own. */
        char sf[4096];
        if ((r = oci_path(g, a->id, OCI_SECCOMP_FILE, sf, sizeof sf, err)) < 0 ||
            (r = oci_write_atomic(sf, (const char *)cfg.seccomp.filter,
                                  cfg.seccomp.len * sizeof *cfg.seccomp.filter, 0600, err)) < 0)
            goto out_remove;
    }
    struct sbx_result res;
    sbx_result_init(&res);
    struct sbx_job *job = NULL;
    int exec_status = 125;
    oci_debug(g, "create %s: starting the job (rootfs %s)", a->id, cfg.rootfs);
    if ((r = sbx_job_start(&spec, &opts, &job, &res, &exec_status, err)) < 0) {
        if (r == -EEXIST && cfg.cgroup_name[0])
            sbx_err_wrap(err, "linux.cgroupsPath: in use by another container");
        goto out_remove;
    }
    struct sbx_job_detached d;
    sbx_job_detach(job, &d);

    struct oci_state st = {.pid = d.pid,
                           .allowed_caps = g->conf ? g->conf->allowed_caps
                                                   : oci_default_allowed_caps()};
    snprintf(st.id, sizeof st.id, "%s", a->id);
    snprintf(st.bundle, sizeof st.bundle, "%s", bundle);
    snprintf(st.rootfs, sizeof st.rootfs, "%s", cfg.rootfs);
    rfc3339_now(st.created, sizeof st.created);
    st.annotations = json_object_get(cfg.root, "annotations");
    for (int i = 0; i < d.n_cgroups && i < OCI_MAX_CGROUPS; i++)
        snprintf(st.cgroups[st.n_cgroups++], sizeof st.cgroups[0], "%s", d.cgroups[i]);
    r = oci_pid_starttime(d.pid, &st.pid_start);
    if (r < 0)
        sbx_err_sys(err, -r, "the container's PID 1 died during create");
    else
        r = oci_state_write(g, &st, err);
    /* PID 1 waits for start: the command's process, forked by it then,
     * inherits the value. */
    if (r == 0 && cfg.proc.has_oom_score_adj)
        r = oci_set_oom_score_adj(d.pid, cfg.proc.oom_score_adj, err);
    bool hooks_ran = false;
    if (r == 0 && cfg.hooks) {
        /* As the spec: once the container exists and before create
         * returns, in the runtime's namespaces; a failure fails create. */
        r = oci_hooks_save(g, a->id, cfg.hooks, err);
        json_t *sj = r == 0 ? oci_state_json(g, &st) : NULL;
        hooks_ran = r == 0;
        if (r == 0 && (r = oci_hooks_run(cfg.hooks, "prestart", sj, "creating", err)) == 0)
            r = oci_hooks_run(cfg.hooks, "createRuntime", sj, "creating", err);
        json_decref(sj);
    }
    if (r == 0 && a->pid_file) {
        /* Last: the engine takes the pid file as the sign that create is done. */
        char text[32];
        int n = snprintf(text, sizeof text, "%d", (int)d.pid);
        char pf[PATH_MAX];
        if (a->pid_file[0] != '/' && getcwd(pf, sizeof pf))
            r = snprintf(pf + strlen(pf), sizeof pf - strlen(pf), "/%s", a->pid_file) < 0 ? -EINVAL : 0;
        else
            snprintf(pf, sizeof pf, "%s", a->pid_file);
        if (r == 0)
            r = oci_write_atomic(pf, text, (size_t)n, 0644, err);
    }
    if (r < 0) {
        kill(d.pid, SIGKILL);
        waitpid(d.pid, NULL, 0);
        if (hooks_ran) {
            /* The spec: a failed create still runs the poststop hooks. */
            json_t *sj = oci_state_json(g, &st);
            oci_hooks_run(cfg.hooks, "poststop", sj, "stopped", NULL);
            json_decref(sj);
        }
        const char *dirs[OCI_MAX_CGROUPS];
        for (int i = 0; i < st.n_cgroups; i++)
            dirs[i] = st.cgroups[i];
        sbx_cgroup_remove_dirs(dirs, st.n_cgroups, NULL);
        goto out_remove;
    }
    *pid = d.pid;
    goto out;

out_remove:
    oci_state_remove(g, a->id, NULL);
out:
    sbx_spec_free(&spec);
    oci_config_free(&cfg);
    return r;
}

int oci_cmd_create(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    struct create_args a;
    int r = parse_create(argc, argv, &a, err);
    if (r < 0)
        return 1;
    pid_t pid;
    return create(g, &a, &pid, err) < 0 ? 1 : 0;
}

/* The spec: after the command started, before start returns; a failure is
 * a warning, the container runs on. */
static void poststart(const struct oci_globals *g, const char *id)
{
    json_t *hooks = oci_hooks_load(g, id);
    struct oci_state st;
    if (!hooks || oci_state_read(g, id, &st, NULL) < 0) {
        json_decref(hooks);
        return;
    }
    struct sbx_err herr = {0};
    json_t *sj = oci_state_json(g, &st);
    if (oci_hooks_run(hooks, "poststart", sj, "running", &herr) < 0)
        fprintf(stderr, "sbx-oci: warning: %s\n", herr.msg);
    json_decref(sj);
    json_decref(hooks);
    oci_state_free(&st);
}

static int start(const struct oci_globals *g, const char *id, struct sbx_err *err)
{
    struct oci_state st;
    int r = oci_state_read(g, id, &st, err);
    if (r < 0)
        return r;
    enum oci_status s = oci_state_status(g, &st);
    oci_state_free(&st);
    if (s == OCI_STOPPED)
        return sbx_err_set(err, EINVAL, "cannot start a container that has stopped");
    if (s != OCI_CREATED)
        return sbx_err_set(err, EINVAL, "cannot start an already running container");
    char fifo[4096];
    if ((r = oci_path(g, id, "exec.fifo", fifo, sizeof fifo, err)) < 0)
        return r;
    _cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? sbx_err_set(err, EINVAL, "cannot start an already running container")
                               : sbx_err_sys(err, errno, "%s", fifo);
    for (int waited = 0; waited < START_TIMEOUT_MS; waited += 100) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
            char c;
            if (read(fd, &c, 1) == 1) {
                unlink(fifo);
                poststart(g, id);
                return 0;
            }
        }
        struct oci_state again;
        if (oci_state_read(g, id, &again, NULL) < 0)
            break;
        s = oci_state_status(g, &again);
        oci_state_free(&again);
        if (s == OCI_STOPPED)
            break;
    }
    unlink(fifo);
    return sbx_err_set(err, ECHILD, "container %s: its process exited before it started", id);
}

int oci_cmd_start(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    if (argc != 2 || argv[1][0] == '-')
        return sbx_err_set(err, EINVAL, "start: usage: sbx-oci start ID"), 1;
    return start(g, argv[1], err) < 0 ? 1 : 0;
}

/* create + start in the foreground, then delete: the container's exit
 * status is ours (128+N for a signal). */
int oci_cmd_run(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    struct create_args a;
    int r = parse_create(argc, argv, &a, err);
    if (r < 0)
        return 1;
    pid_t pid;
    if (create(g, &a, &pid, err) < 0)
        return 1;
    int status = 0;
    if (start(g, a.id, err) < 0)
        kill(pid, SIGKILL);
    else
        sbx_err_clear(err);
    int failed = err->code;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    struct oci_state st;
    json_t *hooks = oci_hooks_load(g, a.id), *sj = NULL;
    if (oci_state_read(g, a.id, &st, NULL) == 0) {
        const char *dirs[OCI_MAX_CGROUPS];
        for (int i = 0; i < st.n_cgroups; i++)
            dirs[i] = st.cgroups[i];
        sbx_cgroup_remove_dirs(dirs, st.n_cgroups, NULL);
        sj = hooks ? oci_state_json(g, &st) : NULL;
        oci_state_free(&st);
    }
    oci_state_remove(g, a.id, NULL);
    struct sbx_err herr = {0};
    if (sj && oci_hooks_run(hooks, "poststop", sj, "stopped", &herr) < 0)
        fprintf(stderr, "sbx-oci: warning: %s\n", herr.msg);
    json_decref(sj);
    json_decref(hooks);
    if (failed)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
