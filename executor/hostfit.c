/* A valid policy checked against this host, before anything of the job
 * exists: values the kernel would refuse later, deep in the setup, with a
 * bare errno (ERANGE from a cgroup file or from timens_offsets). Each error
 * names the policy field, the flag it comes from and the host's fact. */
#include "hostfit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/readfile.h"

#define NSEC 1000000000LL

/* The kernel refuses an offset that puts the namespace's clock below zero
 * (kernel/time/namespace.c): it would read as a time before boot. */
static int check_offset(const char *clock_name, clockid_t clk, int64_t off_ns, struct sbx_err *err)
{
    if (off_ns >= 0)
        return 0;
    struct timespec ts;
    if (clock_gettime(clk, &ts) < 0)
        return 0; /* the kernel will say */
    int64_t now = (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
    /* Whole seconds, as the kernel compares: the offset's seconds are
     * floored, and the sum's seconds must not be negative. */
    int64_t off_s = off_ns / NSEC - (off_ns % NSEC < 0 ? 1 : 0);
    int64_t off_rem = off_ns - off_s * NSEC;
    int64_t sum_ns = ts.tv_nsec + off_rem;
    int64_t sum_s = ts.tv_sec + off_s + (sum_ns >= NSEC ? 1 : 0);
    if (sum_s >= 0)
        return 0;
    return sbx_err_set(err, ERANGE,
                       "time_offsets (--time-offset): %s offset %.12g s would put the job's clock "
                       "before boot (this host is up %lld s)",
                       clock_name, (double)off_ns / NSEC, (long long)(now / NSEC));
}

/* Parses a CPU list ("0-3,5"), already checked by policy/validate.c, calling
 * each(lo, hi). Returns the first nonzero result of each. */
static int each_range(const char *list, int (*each)(unsigned long, unsigned long, void *), void *arg)
{
    const char *p = list;
    while (*p) {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-') {
            hi = strtoul(p + 1, &end, 10);
            p = end;
        }
        int r = each(lo, hi, arg);
        if (r)
            return r;
        if (*p == ',')
            p++;
        else if (*p && *p != '\n')
            return -EINVAL;
        else
            break;
    }
    return 0;
}

struct cpu_check {
    const char *online;
    unsigned long missing;
};

static int in_online(unsigned long lo, unsigned long hi, void *arg)
{
    unsigned long *cpu = arg;
    return *cpu >= lo && *cpu <= hi;
}

static int check_range(unsigned long lo, unsigned long hi, void *arg)
{
    struct cpu_check *c = arg;
    for (unsigned long cpu = lo; cpu <= hi; cpu++)
        if (each_range(c->online, in_online, &cpu) != 1) {
            c->missing = cpu;
            return 1;
        }
    return 0;
}

static int check_cpuset(const char *cpuset, struct sbx_err *err)
{
    _cleanup_free_ char *online = NULL;
    size_t len;
    struct sbx_err e = {0};
    if (sbx_read_file("/sys/devices/system/cpu/online", 4096, &online, &len, &e) < 0)
        return 0; /* no sysfs: the cgroup will say */
    while (len && (online[len - 1] == '\n' || online[len - 1] == ' '))
        online[--len] = '\0';
    struct cpu_check c = {.online = online};
    if (each_range(cpuset, check_range, &c) != 1)
        return 0;
    return sbx_err_set(err, EINVAL, "limits.cpuset (--cpuset): CPU %lu is not online here (online: %s)",
                       c.missing, online);
}

int sbx_hostfit_check(const struct sbx_spec *spec, struct sbx_err *err)
{
    int r;
    if ((r = check_offset("monotonic", CLOCK_MONOTONIC, spec->monotonic_offset_ns, err)) < 0)
        return r;
    if ((r = check_offset("boottime", CLOCK_BOOTTIME, spec->boottime_offset_ns, err)) < 0)
        return r;
    if (spec->limits.cpuset && (r = check_cpuset(spec->limits.cpuset, err)) < 0)
        return r;
    return 0;
}
