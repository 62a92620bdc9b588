/* The commands on an existing container: state, list, kill, delete,
 * pause/resume, ps. Each reads the state create wrote and the kernel's
 * view of the container's PID 1; a signal goes through a pidfd opened and
 * then checked against PID 1's start time, so a reused PID is never hit. */
#include "oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "executor/cgroup/cgroup.h"

static int one_id(int argc, char **argv, const char **id, struct sbx_err *err)
{
    if (argc != 2 || argv[1][0] == '-')
        return sbx_err_set(err, EINVAL, "%s: usage: sbx-oci %s ID", argv[0], argv[0]);
    *id = argv[1];
    return 0;
}

int oci_cmd_state(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    const char *id = NULL;
    struct oci_state st;
    if (one_id(argc, argv, &id, err) < 0 || oci_state_read(g, id, &st, err) < 0)
        return 1;
    json_t *o = oci_state_json(g, &st);
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    oci_state_free(&st);
    if (!text)
        return sbx_err_set(err, ENOMEM, "out of memory"), 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

int oci_cmd_list(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    bool json = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = oci_opt_value(argc, argv, &i, "--format", &v, err);
        if (r == 0)
            r = oci_opt_value(argc, argv, &i, "-f", &v, err);
        if (r < 0)
            return 1;
        if (r > 0) {
            if (strcmp(v, "json") != 0 && strcmp(v, "table") != 0)
                return sbx_err_set(err, EINVAL, "--format: %s is not table or json", v), 1;
            json = strcmp(v, "json") == 0;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else {
            return sbx_err_set(err, EINVAL, "list: unknown argument %s", argv[i]), 1;
        }
    }
    json_t *arr = json_array();
    DIR *d = opendir(g->root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct oci_state st;
        if (e->d_name[0] == '.' || oci_state_read(g, e->d_name, &st, NULL) < 0)
            continue;
        json_array_append_new(arr, oci_state_json(g, &st));
        oci_state_free(&st);
    }
    if (d)
        closedir(d);
    if (json) {
        char *text = json_dumps(arr, JSON_COMPACT);
        printf("%s\n", text ? text : "[]");
        free(text);
    } else {
        if (!quiet)
            printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        size_t i;
        json_t *o;
        json_array_foreach(arr, i, o) {
            if (quiet)
                printf("%s\n", json_string_value(json_object_get(o, "id")));
            else
                printf("%-20s %-8lld %-10s %-40s %s\n", json_string_value(json_object_get(o, "id")),
                       (long long)json_integer_value(json_object_get(o, "pid")),
                       json_string_value(json_object_get(o, "status")),
                       json_string_value(json_object_get(o, "bundle")),
                       json_string_value(json_object_get(o, "created")));
        }
    }
    json_decref(arr);
    return 0;
}

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},   {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP},   {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

static int parse_signal(const char *s, int *sig, struct sbx_err *err)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end) {
        if (n < 1 || n > 64)
            return sbx_err_set(err, EINVAL, "invalid signal %s", s);
        *sig = (int)n;
        return 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (strcasecmp(s, signames[i].name) == 0) {
            *sig = signames[i].sig;
            return 0;
        }
    return sbx_err_set(err, EINVAL, "invalid signal %s", s);
}

/* A pidfd of the container's PID 1, or -ESRCH when it is gone (or the PID
 * now names another process). */
static int open_init(const struct oci_state *st)
{
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0)
        return -errno;
    unsigned long long start;
    if (oci_pid_starttime(st->pid, &start) < 0 || start != st->pid_start) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

static int read_procs(const struct oci_state *st, pid_t *pids, int max)
{
    for (int i = 0; i < st->n_cgroups; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/cgroup.procs", st->cgroups[i]);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        int n = 0, p;
        while (n < max && fscanf(f, "%d", &p) == 1)
            pids[n++] = p;
        fclose(f);
        return n;
    }
    return -ENOENT;
}

int oci_cmd_kill(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    bool all = false;
    const char *id = NULL, *signame = "TERM";
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)
            all = true;
        else if (argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
            return sbx_err_set(err, EINVAL, "kill: unknown option %s", argv[i]), 1;
        else if (npos == 0 && ++npos)
            id = argv[i];
        else if (npos == 1 && ++npos)
            signame = argv[i];
        else
            return sbx_err_set(err, EINVAL, "kill: usage: sbx-oci kill [--all] ID [SIGNAL]"), 1;
    }
    int sig = SIGTERM;
    struct oci_state st;
    if (!id)
        return sbx_err_set(err, EINVAL, "kill: usage: sbx-oci kill [--all] ID [SIGNAL]"), 1;
    if (parse_signal(signame, &sig, err) < 0 || oci_state_read(g, id, &st, err) < 0)
        return 1;
    enum oci_status s = oci_state_status(g, &st);
    _cleanup_close_ int pidfd = s == OCI_STOPPED ? -ESRCH : open_init(&st);
    int rc = 0;
    if (pidfd < 0) {
        rc = sbx_err_set(err, ESRCH, "container not running");
    } else if (all) {
        pid_t pids[4096];
        int n = read_procs(&st, pids, 4096);
        if (n < 0)
            n = 0;
        /* PID 1 last: once it goes, the kernel takes the rest anyway. */
        for (int i = 0; i < n; i++)
            if (pids[i] != st.pid)
                kill(pids[i], sig);
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
            rc = sbx_err_sys(err, errno, "kill");
    } else {
        /* Before start there is no command yet: any signal ends it, as it
         * would a runc container still waiting on its FIFO. */
        int target_sig = s == OCI_CREATED ? SIGKILL : sig;
        pid_t child = -1;
        if (s != OCI_CREATED && sig != SIGKILL && sig != SIGHUP && sig != SIGINT && sig != SIGTERM)
            child = oci_first_process(st.pid);
        if (child > 0) {
            if (kill(child, sig) < 0)
                rc = sbx_err_sys(err, errno, "kill");
        } else if (syscall(SYS_pidfd_send_signal, pidfd, target_sig, NULL, 0) < 0) {
            rc = errno == ESRCH ? sbx_err_set(err, ESRCH, "container not running")
                                : sbx_err_sys(err, errno, "kill");
        }
    }
    oci_state_free(&st);
    return rc < 0 ? 1 : 0;
}

static int remove_container(const struct oci_globals *g, struct oci_state *st, struct sbx_err *err)
{
    const char *dirs[OCI_MAX_CGROUPS];
    for (int i = 0; i < st->n_cgroups; i++)
        dirs[i] = st->cgroups[i];
    int r = sbx_cgroup_remove_dirs(dirs, st->n_cgroups, err);
    if (r < 0)
        return r;
    /* poststop, as the spec: after the container is deleted, before delete
     * returns, from what create kept (the bundle may have changed); a
     * failure is a warning. */
    json_t *hooks = oci_hooks_load(g, st->id);
    json_t *sj = hooks ? oci_state_json(g, st) : NULL;
    r = oci_state_remove(g, st->id, err);
    struct sbx_err herr = {0};
    if (r == 0 && sj && oci_hooks_run(hooks, "poststop", sj, "stopped", &herr) < 0)
        fprintf(stderr, "sbx-oci: warning: %s\n", herr.msg);
    json_decref(sj);
    json_decref(hooks);
    return r;
}

int oci_cmd_delete(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    bool force = false;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)
            force = true;
        else if (argv[i][0] == '-')
            return sbx_err_set(err, EINVAL, "delete: unknown option %s", argv[i]), 1;
        else if (!id)
            id = argv[i];
        else
            return sbx_err_set(err, EINVAL, "delete: usage: sbx-oci delete [--force] ID"), 1;
    }
    if (!id)
        return sbx_err_set(err, EINVAL, "delete: usage: sbx-oci delete [--force] ID"), 1;
    struct oci_state st;
    int r = oci_state_read(g, id, &st, err);
    if (r < 0) {
        /* --force on a half-made container (no state yet): remove what is there. */
        if (force && r == -ENOENT && oci_check_id(id, NULL) == 0) {
            sbx_err_clear(err);
            return oci_state_remove(g, id, err) < 0;
        }
        return 1;
    }
    enum oci_status s = oci_state_status(g, &st);
    if (s != OCI_STOPPED && s != OCI_CREATED && !force) {
        sbx_err_set(err, EBUSY, "cannot delete container %s that is not stopped: %s", id,
                    oci_status_name(s));
        oci_state_free(&st);
        return 1;
    }
    if (s != OCI_STOPPED) {
        _cleanup_close_ int pidfd = open_init(&st);
        if (pidfd >= 0) {
            /* A frozen PID 1 cannot die: thaw first. */
            for (int i = 0; i < st.n_cgroups; i++) {
                char path[4200];
                snprintf(path, sizeof path, "%s/freezer.state", st.cgroups[i]);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                    (void)!write(fd, "THAWED", 6);
                    close(fd);
                }
            }
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            poll(&p, 1, 10000);
        }
    }
    r = remove_container(g, &st, err);
    oci_state_free(&st);
    return r < 0 ? 1 : 0;
}

static int freeze(const struct oci_state *st, bool on, struct sbx_err *err)
{
    for (int i = 0; i < st->n_cgroups; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/freezer.state", st->cgroups[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        const char *v = on ? "FROZEN" : "THAWED";
        if (fd < 0) {
            snprintf(path, sizeof path, "%s/cgroup.freeze", st->cgroups[i]);
            fd = open(path, O_WRONLY | O_CLOEXEC);
            v = on ? "1" : "0";
        }
        if (fd < 0)
            continue;
        ssize_t n = write(fd, v, strlen(v));
        int e = errno;
        close(fd);
        if (n < 0)
            return sbx_err_sys(err, e, "%s", path);
        if (on) {
            /* v1 reports FREEZING until every task has stopped. */
            for (int k = 0; k < 1000; k++) {
                char buf[32] = "";
                snprintf(path, sizeof path, "%s/freezer.state", st->cgroups[i]);
                int rfd = open(path, O_RDONLY | O_CLOEXEC);
                if (rfd < 0)
                    break;
                ssize_t got = read(rfd, buf, sizeof buf - 1);
                close(rfd);
                if (got <= 0 || strncmp(buf, "FREEZING", 8) != 0)
                    break;
                usleep(1000);
            }
        }
        return 0;
    }
    return sbx_err_set(err, ENOTSUP, "pause: the container's cgroup has no freezer");
}

/* pause and resume (argv[0] says which). */
int oci_cmd_pause(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    const char *id = NULL;
    struct oci_state st;
    if (one_id(argc, argv, &id, err) < 0 || oci_state_read(g, id, &st, err) < 0)
        return 1;
    bool on = strcmp(argv[0], "pause") == 0;
    enum oci_status s = oci_state_status(g, &st);
    int r = 0;
    if (s == OCI_STOPPED || s == OCI_CREATED)
        r = sbx_err_set(err, EINVAL, "container not running");
    else if (on && s == OCI_PAUSED)
        r = sbx_err_set(err, EINVAL, "container already paused");
    else if (!on && s != OCI_PAUSED)
        r = sbx_err_set(err, EINVAL, "container not paused");
    else
        r = freeze(&st, on, err);
    oci_state_free(&st);
    return r < 0 ? 1 : 0;
}

int oci_cmd_ps(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    bool json = false;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = oci_opt_value(argc, argv, &i, "--format", &v, err);
        if (r == 0)
            r = oci_opt_value(argc, argv, &i, "-f", &v, err);
        if (r < 0)
            return 1;
        if (r > 0)
            json = strcmp(v, "json") == 0;
        else if (argv[i][0] == '-')
            return sbx_err_set(err, EINVAL, "ps: unknown option %s", argv[i]), 1;
        else if (!id)
            id = argv[i];
    }
    struct oci_state st;
    if (!id)
        return sbx_err_set(err, EINVAL, "ps: usage: sbx-oci ps [--format table|json] ID"), 1;
    if (oci_state_read(g, id, &st, err) < 0)
        return 1;
    if (oci_state_status(g, &st) == OCI_STOPPED) {
        oci_state_free(&st);
        return sbx_err_set(err, ESRCH, "container not running"), 1;
    }
    pid_t pids[4096];
    int n = read_procs(&st, pids, 4096);
    oci_state_free(&st);
    if (n < 0)
        n = 0;
    if (json) {
        printf("[");
        for (int i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        printf("]\n");
        return 0;
    }
    printf("%-8s %s\n", "PID", "CMD");
    for (int i = 0; i < n; i++) {
        char path[64], cmd[256] = "";
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : 0;
        if (fd >= 0)
            close(fd);
        for (ssize_t j = 0; j + 1 < k; j++)
            if (!cmd[j])
                cmd[j] = ' ';
        printf("%-8d %s\n", (int)pids[i], k > 0 ? cmd : "?");
    }
    return 0;
}
