/* sbx-oci: a runc-compatible OCI runtime on sbx's executor. Global flags,
 * the command table, --help for each command, and errors: one line on
 * stderr, and one JSON line appended to --log. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

#ifndef SBX_VERSION
#define SBX_VERSION "0"
#endif

static const struct oci_globals *g_log;

int oci_opt_value(int argc, char **argv, int *i, const char *name, const char **val,
                  struct sbx_err *err)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc)
        return sbx_err_set(err, EINVAL, "%s: needs a value", name);
    *val = argv[++*i];
    return 1;
}

bool oci_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static void now_rfc3339(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void log_line(const struct oci_globals *g, const char *level, const char *msg)
{
    if (!g || !g->log)
        return;
    int fd = open(g->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char t[64];
    now_rfc3339(t, sizeof t);
    char *line = NULL;
    if (g->log_json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", t);
        char *j = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (j && asprintf(&line, "%s\n", j) < 0)
            line = NULL;
        free(j);
    } else if (asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", t, level, msg) < 0) {
        line = NULL;
    }
    if (line)
        (void)!write(fd, line, strlen(line));
    free(line);
    close(fd);
}

void oci_debug(const struct oci_globals *g, const char *fmt, ...)
{
    if (!g->debug)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line(g, "debug", msg);
    if (!g->log)
        fprintf(stderr, "sbx-oci: debug: %s\n", msg);
}

static const struct cmd {
    const char *name;
    int (*fn)(const struct oci_globals *, int, char **, struct sbx_err *);
    const char *usage;
    const char *help;
} cmds[] = {
    {"create", oci_cmd_create,
     "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--no-pivot]\n"
     "       [--no-new-keyring] ID",
     "Sets the container up from DIR/config.json (default: the current directory) and leaves\n"
     "its first process waiting for `start`. The process is a child of this command (an\n"
     "engine's subreaper reaps it); the pid file is written last, atomically. Refused at\n"
     "create, naming the config.json field: host PID/IPC/network/mount namespaces, the\n"
     "host's namespaces by path (an engine's network/IPC/UTS ones are joined), pid, mount,\n"
     "user or cgroup namespaces by path, CAP_SYS_ADMIN (privileged), unknown capabilities,\n"
     "additionalGids outside the container's ids, rlimits above this runtime's hard limits,\n"
     "an oomScoreAdj below what it may set, devices\n"
     "beyond the defaults, sysctls of the host, hooks unless the operator allows them\n"
     "(prestart and createRuntime then run here), --preserve-fds. process.terminal needs\n"
     "--console-socket: a pty of the container's own devpts, whose master is sent there."},
    {"start", oci_cmd_start, "start ID", "Starts the command of a created container."},
    {"run", oci_cmd_run, "run [--bundle DIR] ID",
     "create + start in the foreground, wait, delete; exits with the container's status."},
    {"state", oci_cmd_state, "state ID",
     "Prints the container's state as JSON (ociVersion, id, pid, status, bundle, rootfs,\n"
     "created, owner, annotations); status is created, running, paused or stopped."},
    {"list", oci_cmd_list, "list [--format table|json] [-q]", "Lists the containers under --root."},
    {"kill", oci_cmd_kill, "kill [--all] ID [SIGNAL]",
     "Sends SIGNAL (a number or a name, default TERM) to the container's process; --all: to\n"
     "every process of the container. Before start, any signal ends the container."},
    {"delete", oci_cmd_delete, "delete [--force] ID",
     "Removes a stopped (or created) container: its cgroup and its state. --force kills a\n"
     "running one first."},
    {"pause", oci_cmd_pause, "pause ID", "Freezes every process of the container."},
    {"resume", oci_cmd_pause, "resume ID", "Thaws a paused container."},
    {"ps", oci_cmd_ps, "ps [--format table|json] ID",
     "Lists the container's processes (host PIDs)."},
    {"features", oci_cmd_features, "features", "Prints what sbx-oci supports, as JSON."},
    {"spec", oci_cmd_spec, "spec [--bundle DIR]",
     "Writes a starting config.json (running sh) into DIR or the current directory."},
    {"exec", oci_cmd_exec,
     "exec [--process FILE] [--detach] [--pid-file FILE] [--cwd DIR] [--env K=V]...\n"
     "     [--tty --console-socket SOCKET] ID [CMD ARGS...]",
     "Runs another process in a running container, held as tightly as its first one: in all\n"
     "its namespaces and cgroups, the capabilities its process asks for within the\n"
     "operator's allow-list (none without --process), no_new_privs, Landlock, sbx's seccomp\n"
     "filter. --process: an OCI process JSON (else CMD ARGS). --detach: leave it running (a\n"
     "child of this command until it exits) and write --pid-file last; else wait and exit\n"
     "with its status. --tty (or the process's terminal): a pty of the container's devpts,\n"
     "its master sent over --console-socket."},
    {"update", oci_cmd_update,
     "update [--resources FILE|-] [--memory N] [--pids-limit N] [--cpu-quota N] [--cpu-period N]\n"
     "       [--cpu-share N] [--cpuset-cpus LIST] ID",
     "Changes the limits of a created, running or paused container in its own cgroup: from an\n"
     "OCI LinuxResources JSON object (FILE, or - for stdin) or the flags. Memory, pids, CPU\n"
     "quota (over sbx's 100 ms period), shares (as a weight) and cpuset (if the container was\n"
     "created with one). Removing a limit (-1) and any other resource are refused."},
    {"checkpoint", NULL, "checkpoint ...", "Refused: sbx-oci does not checkpoint containers."},
    {"restore", NULL, "restore ...", "Refused: sbx-oci does not restore containers."},
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: sbx-oci [GLOBAL OPTIONS] COMMAND [ARGS]\n"
            "A hardened OCI runtime (runc's command line) on sbx's executor: every container gets\n"
            "a new user namespace (root inside is an unprivileged host range), no host network,\n"
            "capabilities only within the operator's allow-list (and the container's user\n"
            "namespace), no_new_privs, seccomp and Landlock, and a writable root whose\n"
            "writes land in a tmpfs, never in the engine's image.\n\n"
            "Global options (--flag value or --flag=value):\n"
            "  --root DIR           state directory (default " OCI_DEFAULT_ROOT ")\n"
            "  --config FILE        the operator's configuration (OciConfig, protobuf text;\n"
            "                       default " OCI_DEFAULT_CONFIG ", absent = defaults)\n"
            "  --log FILE           append errors (and --debug lines) to FILE\n"
            "  --log-format FORMAT  text or json (default json)\n"
            "  --systemd-cgroup     accepted; cgroups are always sbx's own, below the caller's\n"
            "                       (cgroupsPath, either form, only names the container's)\n"
            "  --debug              more detail in the log\n"
            "  --version, --help\n\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %s\n", cmds[i].usage);
    fprintf(f, "\n`sbx-oci COMMAND --help` for more. Errors: one line on stderr, exit status 1.\n");
}

int main(int argc, char **argv)
{
    struct oci_globals g = {.root = OCI_DEFAULT_ROOT, .log_json = true,
                            .config = OCI_DEFAULT_CONFIG};
    g_log = &g;
    struct sbx_err err = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        int r;
        if ((r = oci_opt_value(argc, argv, &i, "--root", &v, &err))) {
            if (r > 0)
                g.root = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--config", &v, &err))) {
            if (r > 0) {
                g.config = v;
                g.config_given = true;
            }
        } else if ((r = oci_opt_value(argc, argv, &i, "--log", &v, &err))) {
            if (r > 0)
                g.log = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--log-format", &v, &err))) {
            if (r > 0 && strcmp(v, "json") != 0 && strcmp(v, "text") != 0)
                r = sbx_err_set(&err, EINVAL, "--log-format: %s is not text or json", v);
            if (r > 0)
                g.log_json = strcmp(v, "json") == 0;
        } else if ((r = oci_opt_value(argc, argv, &i, "--criu", &v, &err)) ||
                   (r = oci_opt_value(argc, argv, &i, "--rootless", &v, &err))) {
            /* accepted and ignored, as engines pass them */
        } else if (strcmp(argv[i], "--systemd-cgroup") == 0) {
            continue;
        } else if (strcmp(argv[i], "--debug") == 0) {
            g.debug = true;
            continue;
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            printf("sbx-oci version %s\nspec: %s\n", SBX_VERSION, OCI_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            r = sbx_err_set(&err, EINVAL, "unknown global option %s (see sbx-oci --help)", argv[i]);
        }
        if (r < 0)
            goto fail;
    }
    if (g.root[0] != '/') {
        sbx_err_set(&err, EINVAL, "--root: %s must be an absolute path", g.root);
        goto fail;
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        if (strcmp(argv[i], cmds[c].name) != 0)
            continue;
        if (oci_wants_help(argc - i, argv + i)) {
            printf("Usage: sbx-oci %s\n\n%s\n", cmds[c].usage, cmds[c].help);
            return 0;
        }
        if (!cmds[c].fn) {
            if (strcmp(cmds[c].name, "checkpoint") == 0 || strcmp(cmds[c].name, "restore") == 0)
                sbx_err_set(&err, ENOTSUP, "%s: checkpoint/restore is refused by sbx-oci",
                            cmds[c].name);
            else
                sbx_err_set(&err, ENOTSUP, "%s: not supported by sbx-oci yet", cmds[c].name);
            goto fail;
        }
        oci_debug(&g, "%s", argv[i]);
        /* Only the commands that grant something read the operator's file:
         * a broken one must not keep state, kill or delete from cleaning up. */
        struct oci_opconfig conf = {0};
        if (strcmp(cmds[c].name, "create") == 0 || strcmp(cmds[c].name, "run") == 0) {
            if (oci_opconfig_load(g.config, g.config_given, &conf, &err) < 0)
                goto fail;
            g.conf = &conf;
        }
        int status = cmds[c].fn(&g, argc - i, argv + i, &err);
        oci_opconfig_free(&conf);
        g.conf = NULL;
        if (status != 0 && err.code)
            goto fail_status;
        return status;
fail_status:
        fprintf(stderr, "sbx-oci: %s\n", err.msg);
        log_line(&g, "error", err.msg);
        return status;
    }
    sbx_err_set(&err, EINVAL, "unknown command %s (see sbx-oci --help)", argv[i]);
fail:
    fprintf(stderr, "sbx-oci: %s\n", err.msg);
    log_line(&g, "error", err.msg);
    return 1;
}
