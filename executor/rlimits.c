#include "rlimits.h"
#include "procattr.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>

int sbx_job_rlimits(const struct sbx_spec *s, struct sbx_rlimit *out)
{
    int n = 0;
    out[n++] = (struct sbx_rlimit){RLIMIT_CORE, "limits.core", s->limits.core};
    out[n++] = (struct sbx_rlimit){RLIMIT_NOFILE, "limits.open_files", s->limits.open_files};
    out[n++] = (struct sbx_rlimit){RLIMIT_STACK, "limits.stack", s->limits.stack};
    /* Counted per user: the whole job's, against its slot uid's account. */
    out[n++] = (struct sbx_rlimit){RLIMIT_SIGPENDING, "limits.pending_signals",
                                   s->limits.pending_signals};
    out[n++] = (struct sbx_rlimit){RLIMIT_MSGQUEUE, "limits.msgqueue", s->limits.msgqueue};
    if (s->limits.output)
        out[n++] = (struct sbx_rlimit){RLIMIT_FSIZE, "limits.output", s->limits.output};
    if (s->limits.cpu_time_ns > 0) {
        /* A backstop only: the supervisor enforces the limit on the whole
         * job through the cgroup's accounting; this one catches a single
         * process even if that were not possible. Whole seconds, rounded
         * up, plus one. */
        uint64_t secs = (uint64_t)(s->limits.cpu_time_ns + 999999999) / 1000000000 + 1;
        out[n++] = (struct sbx_rlimit){RLIMIT_CPU, "limits.cpu_time", secs};
    }
    return n;
}

int sbx_rlimits_fit(const struct sbx_spec *spec, struct sbx_err *err)
{
    struct sbx_rlimit want[SBX_MAX_RLIMITS];
    int n = sbx_job_rlimits(spec, want);
    for (int i = 0; i < n; i++) {
        struct rlimit cur;
        if (getrlimit(want[i].resource, &cur) < 0)
            return sbx_err_sys(err, errno, "getrlimit for %s", want[i].field);
        if (cur.rlim_max == RLIM_INFINITY || want[i].value <= cur.rlim_max)
            continue;
        /* The launcher's own hard limit: every later job of a sandboxd
         * may then ask as much, which is no more than this one could. */
        struct rlimit raised = {.rlim_cur = cur.rlim_cur, .rlim_max = want[i].value};
        if (setrlimit(want[i].resource, &raised) == 0)
            continue;
        int e = errno;
        const char *unit = want[i].resource == RLIMIT_CPU ? " s of CPU per process" : "";
        return sbx_err_set(err, e == EPERM ? EPERM : e,
                           "%s: %" PRIu64 "%s is above the launcher's hard limit of %" PRIu64
                           "%s on this host, which it may not raise (%s): ask for at most %" PRIu64,
                           want[i].field, want[i].value, unit, (uint64_t)cur.rlim_max, unit,
                           e == EPERM ? "needs CAP_SYS_RESOURCE" : strerror(e), (uint64_t)cur.rlim_max);
    }
    return 0;
}

bool sbx_procattr_has_rlimit(const struct sbx_procattr *a, int resource)
{
    for (size_t i = 0; a && i < a->n_rlimits; i++)
        if (a->rlimits[i].resource == resource)
            return true;
    return false;
}

int sbx_procattr_set_rlimits(const struct sbx_procattr *a, struct sbx_err *err)
{
    for (size_t i = 0; i < a->n_rlimits; i++) {
        struct rlimit v = {.rlim_cur = a->rlimits[i].soft, .rlim_max = a->rlimits[i].hard};
        if (setrlimit(a->rlimits[i].resource, &v) < 0)
            return sbx_err_sys(err, errno, "rlimit %d", a->rlimits[i].resource);
    }
    return 0;
}
