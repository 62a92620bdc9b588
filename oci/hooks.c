/* config.json's hooks, run as the runtime spec says (and only when the
 * operator's configuration allows them: a hook runs as the runtime, host
 * root, in the host's namespaces, so whoever writes config.json would
 * otherwise run anything there). prestart and createRuntime at create
 * (their failure fails create), poststart after start (a failure is a
 * warning), poststop at delete (a warning). Each gets the state JSON on
 * stdin and is killed after its timeout. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "common/cleanup.h"

static const char *const run_kinds[] = {"prestart", "createRuntime", "poststart", "poststop"};

static bool is_run_kind(const char *k)
{
    for (size_t i = 0; i < sizeof run_kinds / sizeof run_kinds[0]; i++)
        if (strcmp(k, run_kinds[i]) == 0)
            return true;
    return false;
}

static int check_strings(json_t *a, const char *kind, size_t i, const char *field,
                         struct sbx_err *err)
{
    if (!a)
        return 0;
    if (!json_is_array(a))
        return sbx_err_set(err, EINVAL, "hooks.%s[%zu].%s: must be an array of strings", kind, i,
                           field);
    size_t k;
    json_t *s;
    json_array_foreach(a, k, s)
        if (!json_is_string(s))
            return sbx_err_set(err, EINVAL, "hooks.%s[%zu].%s[%zu]: must be a string", kind, i,
                               field, k);
    return 0;
}

int oci_hooks_check(json_t *hooks, const struct oci_opconfig *conf, json_t **out,
                    struct sbx_err *err)
{
    *out = NULL;
    if (!hooks || json_is_null(hooks))
        return 0;
    if (!json_is_object(hooks))
        return sbx_err_set(err, EINVAL, "hooks: must be an object");
    const char *kind;
    json_t *list;
    json_object_foreach(hooks, kind, list) {
        if (!json_is_array(list))
            return sbx_err_set(err, EINVAL, "hooks.%s: must be an array", kind);
        if (!json_array_size(list))
            continue;
        if (strcmp(kind, "createContainer") == 0 || strcmp(kind, "startContainer") == 0)
            return sbx_err_set(err, EPERM, "hooks.%s: hooks in the container's namespaces are not "
                                           "supported by sbx-oci", kind);
        if (!is_run_kind(kind))
            return sbx_err_set(err, EINVAL, "hooks.%s: not a kind of hook", kind);
        if (!conf || !conf->allow_hooks)
            return sbx_err_set(err, EPERM, "hooks.%s: hooks are refused by the operator's "
                                           "configuration (allow_hooks is off)", kind);
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h) {
            const char *path = json_string_value(json_object_get(h, "path"));
            if (!path || path[0] != '/')
                return sbx_err_set(err, EINVAL, "hooks.%s[%zu].path: must be an absolute path",
                                   kind, i);
            int r;
            if ((r = check_strings(json_object_get(h, "args"), kind, i, "args", err)) < 0 ||
                (r = check_strings(json_object_get(h, "env"), kind, i, "env", err)) < 0)
                return r;
            json_t *t = json_object_get(h, "timeout");
            if (t && (!json_is_integer(t) || json_integer_value(t) <= 0 ||
                      json_integer_value(t) > 3600))
                return sbx_err_set(err, EINVAL, "hooks.%s[%zu].timeout: must be 1..3600 seconds",
                                   kind, i);
        }
    }
    /* A copy with every timeout resolved: start and delete do not read the
     * operator's file. */
    json_t *copy = json_deep_copy(hooks);
    if (!copy)
        return sbx_err_set(err, ENOMEM, "out of memory");
    json_object_foreach(copy, kind, list) {
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h)
            if (!json_object_get(h, "timeout"))
                json_object_set_new(h, "timeout", json_integer(conf->hook_timeout_s));
    }
    *out = copy;
    return 0;
}

/* NULL-terminated copy of a JSON array of strings, with `first` in front
 * when the array is empty (args default to the path). */
static char **strv_of(json_t *a, const char *first)
{
    size_t n = json_array_size(a);
    char **v = calloc(n + 2, sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    if (!n && first)
        v[k++] = (char *)first;
    for (size_t i = 0; i < n; i++)
        v[k++] = (char *)json_string_value(json_array_get(a, i));
    return v;
}

static int run_one(json_t *h, const char *kind, size_t i, const char *input, struct sbx_err *err)
{
    const char *path = json_string_value(json_object_get(h, "path"));
    json_int_t timeout = json_integer_value(json_object_get(h, "timeout"));
    if (timeout <= 0)
        timeout = 30;
    _cleanup_free_ char **argv = strv_of(json_object_get(h, "args"), path);
    _cleanup_free_ char **envp = strv_of(json_object_get(h, "env"), NULL);
    if (!argv || !envp)
        return sbx_err_set(err, ENOMEM, "out of memory");
    /* The state in a file, whole, whatever its size (annotations may be
     * far larger than a pipe holds) and whether or not the hook reads it. */
    _cleanup_close_ int in = memfd_create("oci-state", MFD_CLOEXEC);
    size_t len = strlen(input);
    if (in < 0 || write(in, input, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) < 0)
        return sbx_err_sys(err, errno ? errno : EIO, "hooks.%s[%zu]: the state for stdin", kind, i);
    pid_t pid = fork();
    if (pid < 0)
        return sbx_err_sys(err, errno, "hooks.%s[%zu]: fork", kind, i);
    if (pid == 0) {
        /* The hook's stdout would land in an engine's container output
         * (create's stdout is the container's): it goes to stderr. */
        if (dup2(in, 0) < 0 || dup2(2, 1) < 0)
            _exit(127);
        syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        _exit(127);
    }
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    bool timed_out = pidfd >= 0 && poll(&p, 1, (int)(timeout * 1000)) == 0;
    if (timed_out)
        kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return sbx_err_set(err, ETIMEDOUT, "hooks.%s[%zu]: %s: timed out after %llds", kind, i,
                           path, (long long)timeout);
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return 0;
    if (WIFEXITED(ws))
        return sbx_err_set(err, EIO, "hooks.%s[%zu]: %s: exited with status %d", kind, i, path,
                           WEXITSTATUS(ws));
    return sbx_err_set(err, EIO, "hooks.%s[%zu]: %s: killed by signal %d", kind, i, path,
                       WTERMSIG(ws));
}

int oci_hooks_run(json_t *hooks, const char *kind, json_t *state, const char *status,
                  struct sbx_err *err)
{
    json_t *list = json_object_get(hooks, kind);
    if (!json_array_size(list))
        return 0;
    json_object_set_new(state, "status", json_string(status));
    _cleanup_free_ char *input = json_dumps(state, JSON_COMPACT);
    if (!input)
        return sbx_err_set(err, ENOMEM, "out of memory");
    size_t i;
    json_t *h;
    json_array_foreach(list, i, h) {
        int r = run_one(h, kind, i, input, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int oci_hooks_save(const struct oci_globals *g, const char *id, json_t *hooks, struct sbx_err *err)
{
    char path[4096];
    int r = oci_path(g, id, OCI_HOOKS_FILE, path, sizeof path, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *text = json_dumps(hooks, JSON_COMPACT);
    if (!text)
        return sbx_err_set(err, ENOMEM, "out of memory");
    return oci_write_atomic(path, text, strlen(text), 0600, err);
}

json_t *oci_hooks_load(const struct oci_globals *g, const char *id)
{
    char path[4096];
    if (oci_path(g, id, OCI_HOOKS_FILE, path, sizeof path, NULL) < 0)
        return NULL;
    return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}
