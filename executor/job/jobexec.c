/* The job's first process, from CLONE_VFORK to execve. Order matters: ids
 * and capabilities go before no_new_privs and seccomp, and seccomp is the
 * very last step, so the filter never has to allow our own setup calls
 * (except the built-in default, which allows them all and which a resident
 * sandbox's run's PID 1 installs ahead: init.c, run_main). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>

#include "executor/caps.h"
#include "executor/console.h"
#include "init.h"
#include "executor/landlock.h"
#include "executor/procattr.h"
#include "executor/rlimits.h"
#include "executor/launcher/sync.h"

static void apply_rlimits(const struct sbx_plan *plan)
{
    struct sbx_rlimit rl[SBX_MAX_RLIMITS];
    int n = sbx_job_rlimits(plan->spec, rl);
    for (int i = 0; i < n; i++) {
        if (sbx_procattr_has_rlimit(plan->procattr, rl[i].resource))
            continue; /* the spec's own, set below */
        struct rlimit v = {.rlim_cur = rl[i].value, .rlim_max = rl[i].value};
        if (setrlimit(rl[i].resource, &v) < 0)
            sbx_child_fail(plan->sock, errno, "rlimit %s: %s", rl[i].field, strerror(errno));
    }
    struct sbx_err err = {0};
    if (plan->procattr && sbx_procattr_set_rlimits(plan->procattr, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
}

static void report_exec_errno(int exec_pipe, int e)
{
    ssize_t n = write(exec_pipe, &e, sizeof e);
    (void)n;
    _exit(e == ENOENT ? 127 : 126);
}

/* execvpe() searches the launcher's PATH; the job's PATH is the one from
 * its own environment, looked up inside the new root. */
static void exec_command(const struct sbx_plan *plan, int exec_pipe)
{
    const struct sbx_spec *s = plan->spec;
    char *const *envp = s->envp;
    if (strchr(s->command, '/')) {
        execve(s->command, s->argv, envp);
        report_exec_errno(exec_pipe, errno);
    }
    const char *path = "";
    for (size_t i = 0; envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            path = envp[i] + 5;
    int first_error = ENOENT;
    char buf[PATH_MAX];
    for (const char *p = path;;) {
        const char *colon = strchrnul(p, ':');
        const char *dir = p;
        size_t dlen = (size_t)(colon - p);
        if (dlen == 0) /* an empty PATH entry means the cwd */
            dir = ".", dlen = 1;
        if (dlen + 1 + strlen(s->command) < sizeof buf) {
            memcpy(buf, dir, dlen);
            buf[dlen] = '/';
            strcpy(buf + dlen + 1, s->command);
            execve(buf, s->argv, envp);
            /* Keep looking past "not here"; remember "here but not runnable". */
            if (errno != ENOENT && errno != ENOTDIR && first_error == ENOENT)
                first_error = errno;
        }
        if (!*colon)
            break;
        p = colon + 1;
    }
    report_exec_errno(exec_pipe, first_error);
}

__attribute__((noreturn)) void sbx_job_exec(const struct sbx_plan *plan, int exec_pipe, int tty,
                                            volatile int *listener_out)
{
    const struct sbx_spec *s = plan->spec;
    struct sbx_err err = {0};

    /* A session of its own: no controlling terminal of the caller, so
     * TIOCSTI into the caller's terminal is impossible (CVE-2017-5226). */
    if (setsid() < 0)
        sbx_child_fail(plan->sock, errno, "setsid: %s", strerror(errno));
    for (int fd = 0; fd < 3; fd++)
        if (plan->stdio[fd] >= 0 && dup2(plan->stdio[fd], fd) < 0)
            sbx_child_fail(plan->sock, errno, "stdio: dup2: %s", strerror(errno));
    /* While still root of the namespace: the chown needs it. */
    if (tty >= 0 && sbx_console_take(tty, s->uid, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    apply_rlimits(plan);
    const struct sbx_procattr *pa = plan->procattr;
    if (pa ? sbx_caps_keep(s->uid, s->gid, pa->groups, pa->n_groups, &pa->caps, &err) < 0
           : sbx_caps_drop_all(s->uid, s->gid, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);
    /* After the credentials changed (which clears it): if PID 1 goes, go. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        sbx_child_fail(plan->sock, errno, "PR_SET_PDEATHSIG: %s", strerror(errno));
    if (chdir(s->cwd) < 0)
        sbx_child_fail(plan->sock, errno, "cwd %s: %s", s->cwd, strerror(errno));

    /* Behind the mount namespace, a second wall: nothing outside "/". */
    if (sbx_landlock_confine_root(plan->landlock_abi, &err) < 0)
        sbx_child_fail(plan->sock, err.code, "%s", err.msg);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* Every fd but 0-2 closes on exec: the launcher's, PID 1's, the sync
     * socket (no host fd survives into the job: CVE-2024-21626). */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        sbx_child_fail(plan->sock, errno, "close_range: %s", strerror(errno));

    /* The caller's own program first: sbx's must be the last one installed
     * (its listener is handed on right after), and the caller's program
     * must allow seccomp() for it, or the job fails here, closed. */
    if (plan->extra_seccomp &&
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, plan->extra_seccomp) < 0)
        sbx_child_fail(plan->sock, errno, "seccomp: installing the spec's filter: %s",
                       strerror(errno));
    if (plan->seccomp && !plan->seccomp_held) {
        int listener = -1;
        int r = sbx_seccomp_install(plan->seccomp, &listener);
        *listener_out = listener;
        if (r < 0)
            sbx_child_fail(plan->sock, -r, "seccomp: installing the filter: %s", strerror(-r));
    }
    exec_command(plan, exec_pipe);
    _exit(127);
}
