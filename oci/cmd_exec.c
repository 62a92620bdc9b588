/* exec: another process in a running container. A helper (a fork of the
 * caller, which itself stays where it is) enters the container's cgroups
 * and its namespaces: the time namespace its init made for its children,
 * then, through a pidfd of init, all the others at once (user first, which
 * the kernel orders itself); the process forked then is
 * inside the container's PID namespace and drops everything the way the
 * container's first process did (executor/caps.c, landlock.c, seccomp/):
 * only its capabilities within the allow-list create kept, no_new_privs,
 * Landlock, sbx's filter, then exec. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/readfile.h"
#include <linux/seccomp.h>
#include "executor/caps.h"
#include "executor/console.h"
#include "executor/landlock.h"
#include "executor/seccomp/seccomp.h"
#include "executor/userns.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct exec_args {
    const char *process, *pid_file, *cwd, *id, *console_socket;
    bool detach, tty;
    char **cmd;
    int ncmd;
    const char *env[256];
    int nenv;
};

static int parse_exec(int argc, char **argv, struct exec_args *a, struct sbx_err *err)
{
    memset(a, 0, sizeof *a);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if ((r = oci_opt_value(argc, argv, &i, "--process", &v, err)) ||
            (r = oci_opt_value(argc, argv, &i, "-p", &v, err))) {
            if (r < 0)
                return r;
            a->process = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--pid-file", &v, err))) {
            if (r < 0)
                return r;
            a->pid_file = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--cwd", &v, err))) {
            if (r < 0)
                return r;
            a->cwd = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--env", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "-e", &v, err))) {
            if (r < 0)
                return r;
            if (a->nenv == 256)
                return sbx_err_set(err, E2BIG, "--env: at most 256");
            a->env[a->nenv++] = v;
        } else if (strcmp(argv[i], "--detach") == 0 || strcmp(argv[i], "-d") == 0) {
            a->detach = true;
        } else if (strcmp(argv[i], "--tty") == 0 || strcmp(argv[i], "-t") == 0) {
            a->tty = true;
        } else if ((r = oci_opt_value(argc, argv, &i, "--console-socket", &v, err))) {
            if (r < 0)
                return r;
            a->console_socket = v;
        } else if ((r = oci_opt_value(argc, argv, &i, "--preserve-fds", &v, err))) {
            if (r < 0)
                return r;
            if (strcmp(v, "0") != 0)
                return sbx_err_set(err, ENOTSUP, "--preserve-fds: passing extra fds is not "
                                                 "supported by sbx-oci");
        } else if (strcmp(argv[i], "--no-new-privs") == 0 || strcmp(argv[i], "--ignore-paused") == 0) {
            continue; /* always, and refused while paused anyway */
        } else if ((r = oci_opt_value(argc, argv, &i, "--user", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "-u", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "--cap", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "--apparmor", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "--process-label", &v, err)) ||
                   (r = oci_opt_value(argc, argv, &i, "--cgroup", &v, err))) {
            return r < 0 ? r : sbx_err_set(err, ENOTSUP, "exec: %s is not supported by sbx-oci "
                                                         "(use --process)", argv[i]);
        } else {
            return sbx_err_set(err, EINVAL, "exec: unknown option %s", argv[i]);
        }
    }
    if (i >= argc)
        return sbx_err_set(err, EINVAL, "exec: a container id is required");
    a->id = argv[i++];
    a->cmd = argv + i;
    a->ncmd = argc - i;
    if (!a->process && !a->ncmd)
        return sbx_err_set(err, EINVAL, "exec: give --process FILE or a command");
    if (a->process && a->ncmd)
        return sbx_err_set(err, EINVAL, "exec: give --process FILE or a command, not both");
    return 0;
}

/* The process to run, as a job policy validated like create's. */
static int load_process(const struct exec_args *a, uint64_t allowed, JobPolicy **out,
                        bool *terminal, struct oci_process *extra, struct sbx_err *err)
{
    json_t *proc;
    if (a->process) {
        json_error_t je;
        proc = json_load_file(a->process, JSON_REJECT_DUPLICATES, &je);
        if (!proc)
            return sbx_err_set(err, EINVAL, "--process: %s: line %d: %s", a->process, je.line,
                               je.text);
    } else {
        json_t *args = json_array();
        for (int i = 0; i < a->ncmd; i++)
            json_array_append_new(args, json_string(a->cmd[i]));
        json_t *env = json_array();
        for (int i = 0; i < a->nenv; i++)
            json_array_append_new(env, json_string(a->env[i]));
        proc = json_pack("{s:o, s:o, s:s}", "args", args, "env", env, "cwd", a->cwd ? a->cwd : "/");
    }
    JobPolicy *p = sbx_policy_new();
    if (!p || !proc) {
        json_decref(proc);
        sbx_policy_free(p);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    int r = oci_process_policy(proc, p, terminal, allowed, extra, err);
    json_decref(proc);
    if (r < 0) {
        sbx_policy_free(p);
        return a->process ? sbx_err_wrap(err, "--process") : r;
    }
    *out = p;
    return 0;
}

struct child_failure {
    int code;
    char msg[SBX_ERR_MSG_MAX];
};

/* What the helper tells sbx-oci exec: the process's pid (pid > 0), or why
 * the process could not start (pid 0, f filled; the process itself writes
 * that too when it fails before its exec). */
struct helper_msg {
    pid_t pid;
    struct child_failure f;
};

/* The process's own failure before its exec. */
/* The spec's seccomp program, as create kept it in the state (none: len 0).
 * The state directory is root's and 0700: what create wrote. */
static int load_spec_filter(const struct oci_globals *g, const char *id, char **buf,
                            struct sock_fprog *prog, struct sbx_err *err)
{
    char path[4096];
    if (oci_path(g, id, OCI_SECCOMP_FILE, path, sizeof path, err) < 0)
        return -EINVAL;
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : sbx_err_sys(err, errno, "%s", path);
    size_t len;
    int r = sbx_read_file(path, (size_t)BPF_MAXINSNS * sizeof(struct sock_filter), buf, &len, err);
    if (r < 0)
        return r;
    if (!len || len % sizeof(struct sock_filter))
        return sbx_err_set(err, EINVAL, "%s: not a BPF program", path);
    prog->filter = (struct sock_filter *)(void *)*buf;
    prog->len = (unsigned short)(len / sizeof(struct sock_filter));
    return 0;
}

__attribute__((noreturn)) static void child_fail(int fd, int code, const char *msg)
{
    struct helper_msg m = {.pid = 0, .f.code = code};
    snprintf(m.f.msg, sizeof m.f.msg, "%s", msg);
    (void)!write(fd, &m, sizeof m);
    _exit(code == ENOENT ? 127 : 126);
}

/* In the forked process, inside every namespace of the container. */
__attribute__((noreturn)) static void run_process(const struct sbx_spec *s,
                                                  const struct sbx_procattr *pa,
                                                  const struct sbx_seccomp *filter,
                                                  const struct sock_fprog *spec_filter, int abi,
                                                  int console, int report)
{
    struct sbx_err err = {0};
    char msg[SBX_ERR_MSG_MAX];
    if (setsid() < 0)
        child_fail(report, errno, "exec: setsid");
    /* Host root is nobody in here until it takes the namespace's root, and
     * host root's supplementary groups must never reach the container. */
    struct sbx_idmap root = {.count = 1};
    if (sbx_userns_become_root(&root, &err) < 0)
        child_fail(report, err.code, err.msg);
    /* The pty from the container's devpts (this mount namespace's), as
     * create's; made while we are root here, for the chown. */
    if (console >= 0) {
        int slave;
        if (sbx_console_send(console, &slave, &err) < 0 ||
            sbx_console_take(slave, s->uid, &err) < 0)
            child_fail(report, err.code, err.msg);
        close(slave);
        close(console);
    }
    if (!sbx_procattr_has_rlimit(pa, RLIMIT_NOFILE)) {
        struct rlimit nofile = {.rlim_cur = s->limits.open_files,
                                .rlim_max = s->limits.open_files};
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
            child_fail(report, errno, "exec: rlimit open_files");
    }
    if (sbx_procattr_set_rlimits(pa, &err) < 0)
        child_fail(report, err.code, err.msg);
    /* The gids were not checked against the container's map here: the
     * kernel refuses an unmapped one (EINVAL). */
    if (sbx_caps_keep(s->uid, s->gid, pa->groups, pa->n_groups, &pa->caps, &err) < 0) {
        if (err.code == EINVAL && pa->n_groups)
            child_fail(report, EINVAL, "exec: process.user.additionalGids: a gid is not mapped "
                                       "in the container");
        child_fail(report, err.code, err.msg);
    }
    if (chdir(s->cwd) < 0) {
        snprintf(msg, sizeof msg, "exec: cwd %s: %s", s->cwd, strerror(errno));
        child_fail(report, errno, msg);
    }
    if (sbx_landlock_confine_root(abi, &err) < 0)
        child_fail(report, err.code, err.msg);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        child_fail(report, errno, "exec: close_range");
    /* The spec's own profile first, then sbx's, as create's PID 1 does
     * (executor/job/jobexec.c): both filter every call. */
    if (spec_filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, spec_filter) < 0)
        child_fail(report, errno, "exec: installing the spec's seccomp filter");
    int listener = -1;
    int r = sbx_seccomp_install(filter, &listener);
    if (r < 0)
        child_fail(report, -r, "exec: installing the seccomp filter");
    if (listener >= 0)
        close(listener); /* no supervisor: notified calls fail with ENOSYS */
    /* The container's PATH, looked up inside its root. */
    extern char **environ;
    environ = s->envp;
    execvp(s->command, s->argv);
    int e = errno;
    snprintf(msg, sizeof msg, "exec: %s: %s", s->command, strerror(e));
    child_fail(report, e, msg);
}

static int enter_cgroups(const struct oci_state *st, struct sbx_err *err)
{
    for (int i = 0; i < st->n_cgroups; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/cgroup.procs", st->cgroups[i]);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            return sbx_err_sys(err, errno, "exec: entering the container's cgroup %s",
                               st->cgroups[i]);
    }
    return 0;
}

__attribute__((noreturn)) static void helper_fail(int fd, int code, const char *msg)
{
    struct helper_msg m = {.pid = 0, .f.code = code};
    snprintf(m.f.msg, sizeof m.f.msg, "%s", msg);
    (void)!write(fd, &m, sizeof m);
    _exit(code == ENOENT ? 127 : 126);
}

/* In the helper (a fork of sbx-oci exec): into the container's cgroups
 * and namespaces, fork the process, report its pid; then, unless detach,
 * wait for it and exit with its status. Never returns. */
__attribute__((noreturn)) static void exec_helper(const struct oci_state *st, int init_pidfd,
                                                  int time_fd,
                                                  const struct sbx_spec *spec,
                                                  const struct oci_process *proc,
                                                  const struct sbx_seccomp *filter,
                                                  const struct sock_fprog *spec_filter, int abi,
                                                  int console, bool detach, int rep)
{
    struct sbx_err err = {0};
    if (enter_cgroups(st, &err) < 0)
        helper_fail(rep, err.code, err.msg);
    /* While this helper is still a host process (the process inherits it). */
    if (proc->has_oom_score_adj &&
        oci_set_oom_score_adj(getpid(), proc->oom_score_adj, &err) < 0)
        helper_fail(rep, err.code, err.msg);
    /* The time namespace first, while this helper is still host root: the
     * container's own processes are not asked at all. (Entering through a
     * pidfd of the command process, after the user namespace, needed ptrace
     * access to it from inside, which the kernel refuses while that process
     * is not dumpable with a memory map the host owns: before its execve,
     * and after it when it runs a binary it may not read.) sbx's init holds
     * all the other namespaces. */
    if (setns(time_fd, CLONE_NEWTIME) < 0 ||
        setns(init_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                              CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP) < 0) {
        sbx_err_sys(&err, errno, "exec: entering the container's namespaces");
        helper_fail(rep, err.code, err.msg);
    }
    close(time_fd);
    /* Nothing of the container may ptrace us while we hold host fds. */
    prctl(PR_SET_DUMPABLE, 0);
    pid_t pid = fork();
    if (pid < 0)
        helper_fail(rep, errno, "exec: fork");
    if (pid == 0)
        run_process(spec, &proc->attr, filter, spec_filter, abi, console, rep);
    struct helper_msg m = {.pid = pid};
    (void)!write(rep, &m, sizeof m);
    close(rep);
    if (detach)
        _exit(0);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
}

int oci_cmd_exec(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    struct exec_args a;
    if (parse_exec(argc, argv, &a, err) < 0)
        return 1;
    struct oci_state st;
    if (oci_state_read(g, a.id, &st, err) < 0)
        return 1;
    enum oci_status status = oci_state_status(g, &st);
    int rc = 1;
    JobPolicy *p = NULL;
    struct sbx_spec spec = {0};
    struct sbx_seccomp *filter = NULL;
    _cleanup_free_ char *spec_buf = NULL;
    struct sock_fprog spec_prog = {0};
    _cleanup_close_ int time_fd = -1, init_pidfd = -1, dirfd = -1, console = -1;
    bool terminal = false;
    char pid_name[PATH_MAX] = "";
    if (status != OCI_RUNNING) {
        sbx_err_set(err, ESRCH, status == OCI_PAUSED ? "cannot exec in a paused container"
                                                     : "container not running");
        goto out;
    }
    struct oci_process extra;
    if (load_process(&a, st.allowed_caps, &p, &terminal, &extra, err) < 0)
        goto out;
    terminal = terminal || a.tty;
    if (terminal != (a.console_socket != NULL)) {
        sbx_err_set(err, EINVAL, terminal ? "exec: a terminal (--tty) needs --console-socket"
                                          : "exec: --console-socket without --tty");
        goto out;
    }
    /* Before the namespaces change: the socket's path is the host's. */
    if (a.console_socket && (console = oci_console_connect(a.console_socket, err)) < 0)
        goto out;
    if (sbx_policy_validate(p, "/", &spec, err) < 0) {
        sbx_err_wrap(err, "exec");
        goto out;
    }
    if (sbx_seccomp_compile(spec.seccomp, &filter, err) < 0)
        goto out;
    if (load_spec_filter(g, a.id, &spec_buf, &spec_prog, err) < 0)
        goto out;
    int abi = sbx_landlock_abi();
    if (a.pid_file) {
        /* Opened now: the pid file is written from inside the container's
         * mount namespace, through this directory fd. */
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s", a.pid_file);
        char *slash = strrchr(buf, '/');
        const char *dir = slash ? (slash == buf ? "/" : buf) : ".";
        snprintf(pid_name, sizeof pid_name, "%s", slash ? slash + 1 : buf);
        if (slash)
            *slash = '\0';
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0 || !pid_name[0]) {
            sbx_err_sys(err, dirfd < 0 ? errno : EINVAL, "--pid-file: %s", a.pid_file);
            goto out;
        }
    }
    init_pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
    char ns_path[64];
    snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/time_for_children", (int)st.pid);
    time_fd = init_pidfd < 0 ? -1 : open(ns_path, O_RDONLY | O_CLOEXEC);
    unsigned long long start;
    /* Checked after both opens: init was alive and the container's (its
     * start time) then, so the pid named it all along and the time
     * namespace is its; should it die now, setns through its pidfd fails. */
    if (init_pidfd < 0 || time_fd < 0 || oci_pid_starttime(st.pid, &start) < 0 ||
        start != st.pid_start) {
        sbx_err_set(err, ESRCH, "container not running");
        goto out;
    }
    int rep[2];
    if (pipe2(rep, O_CLOEXEC) < 0) {
        sbx_err_sys(err, errno, "exec: pipe");
        goto out;
    }
    /* A helper enters the container's cgroups and namespaces and forks the
     * process; this process never changes its own. (A process left in
     * another PID and user namespace could not exit cleanly under
     * LeakSanitizer, whose exit-time tracer cannot attach to it: the
     * sanitizer build hung there.) */
    pid_t helper = fork();
    if (helper < 0) {
        close(rep[0]);
        close(rep[1]);
        sbx_err_sys(err, errno, "exec: fork");
        goto out;
    }
    if (helper == 0) {
        close(rep[0]);
        exec_helper(&st, init_pidfd, time_fd, &spec, &extra, filter, spec_prog.len ? &spec_prog : NULL, abi, console,
                    a.detach, rep[1]);
    }
    close(rep[1]);
    /* The process's pid, then its failure or, when it has exec'd, EOF. */
    struct helper_msg m;
    pid_t pid = -1;
    ssize_t n;
    while ((n = read(rep[0], &m, sizeof m)) == (ssize_t)sizeof m && m.pid > 0)
        pid = m.pid;
    close(rep[0]);
    int hs = 0;
    if (n == (ssize_t)sizeof m || pid < 0) {
        while (waitpid(helper, &hs, 0) < 0 && errno == EINTR)
            ;
        if (n == (ssize_t)sizeof m)
            sbx_err_set(err, m.f.code, "%s", m.f.msg);
        else
            sbx_err_set(err, EIO, "exec: the helper ended without starting the process");
        rc = n == (ssize_t)sizeof m && m.f.code == ENOENT ? 127 : 126;
        goto out;
    }
    if (a.detach) {
        while (waitpid(helper, &hs, 0) < 0 && errno == EINTR)
            ;
        char text[32], tmp[PATH_MAX + 32];
        int len = snprintf(text, sizeof text, "%d", (int)pid);
        snprintf(tmp, sizeof tmp, ".%s.tmp-%d", pid_name, (int)getpid());
        if (dirfd >= 0) {
            int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
            if (fd < 0 || write(fd, text, (size_t)len) != len || renameat(dirfd, tmp, dirfd, pid_name) < 0) {
                sbx_err_sys(err, errno, "--pid-file: %s", a.pid_file);
                if (fd >= 0)
                    close(fd);
                kill(pid, SIGKILL);
                goto out;
            }
            close(fd);
        }
        rc = 0;
        goto out;
    }
    /* The helper waits for the process and exits with its status. */
    while (waitpid(helper, &hs, 0) < 0 && errno == EINTR)
        ;
    rc = WIFEXITED(hs) ? WEXITSTATUS(hs) : 128 + WTERMSIG(hs);
    sbx_err_clear(err);
out:
    sbx_seccomp_free(filter);
    sbx_spec_free(&spec);
    sbx_policy_free(p);
    oci_state_free(&st);
    return rc;
}
