/* update: new limits for a container's cgroup, from an OCI LinuxResources
 * object (--resources FILE, or - for stdin, as containerd's shim sends it)
 * or runc's flags. Only the limits sbx applies at create can change, and
 * only in the container's own cgroup (executor/cgroup: never one sbx did
 * not make); a limit asked for that sbx cannot apply is refused, naming it,
 * rather than silently dropped. */
#include "oci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/cgroup/cgroup.h"

/* A JSON integer member that is there: 1 with *v, 0 when absent or null. */
static int int_member(json_t *o, const char *key, const char *field, json_int_t *v,
                      struct sbx_err *err)
{
    json_t *m = json_object_get(o, key);
    if (!m || json_is_null(m))
        return 0;
    if (!json_is_integer(m))
        return sbx_err_set(err, EINVAL, "%s: must be an integer", field);
    *v = json_integer_value(m);
    return 1;
}

/* The LinuxResources object into limits; strings it points to live in res. */
static int parse_resources(json_t *res, struct sbx_cg_limits *l, struct sbx_err *err)
{
    memset(l, 0, sizeof *l);
    if (!json_is_object(res))
        return sbx_err_set(err, EINVAL, "--resources: not a JSON object");
    json_int_t v = 0;
    int r;
    json_t *mem = json_object_get(res, "memory");
    if ((r = int_member(mem, "limit", "memory.limit", &v, err)) < 0)
        return r;
    if (r && v < 0)
        return sbx_err_set(err, ENOTSUP, "memory.limit: removing the memory limit is not "
                                         "supported by sbx-oci");
    if (r && v > 0)
        l->memory = (uint64_t)v;
    json_t *pids = json_object_get(res, "pids");
    if ((r = int_member(pids, "limit", "pids.limit", &v, err)) < 0)
        return r;
    if (r && (v <= 0 || v > SBX_MAX_PIDS))
        return sbx_err_set(err, EINVAL, "pids.limit: %" JSON_INTEGER_FORMAT " is not within "
                                        "1..%u", v, SBX_MAX_PIDS);
    if (r)
        l->pids = (uint32_t)v;
    json_t *cpu = json_object_get(res, "cpu");
    json_int_t quota = 0, period = 100000, shares = 0;
    if ((r = int_member(cpu, "quota", "cpu.quota", &quota, err)) < 0 ||
        int_member(cpu, "period", "cpu.period", &period, err) < 0 ||
        int_member(cpu, "shares", "cpu.shares", &shares, err) < 0)
        return -err->code;
    if (quota < 0)
        return sbx_err_set(err, ENOTSUP, "cpu.quota: removing the CPU quota is not supported "
                                         "by sbx-oci");
    if (period <= 0 || period > 1000000)
        return sbx_err_set(err, EINVAL, "cpu.period: %" JSON_INTEGER_FORMAT " is not within "
                                        "1..1000000", period);
    /* The period is sbx's (100 ms): the same share of the CPU. */
    if (quota > 0)
        l->cpus = (double)quota / (double)period;
    if (shares < 0 || shares > 262144)
        return sbx_err_set(err, EINVAL, "cpu.shares: %" JSON_INTEGER_FORMAT " is not within "
                                        "2..262144", shares);
    if (shares > 0)
        l->cpu_weight = oci_shares_to_weight(shares);
    json_t *cpus = json_object_get(cpu, "cpus");
    if (cpus && !json_is_null(cpus) && !json_is_string(cpus))
        return sbx_err_set(err, EINVAL, "cpu.cpus: must be a string");
    if (json_string_value(cpus) && *json_string_value(cpus))
        l->cpuset = json_string_value(cpus);
    /* Fields sbx does not apply at create either: refused when they ask
     * for something, so that an engine never believes a limit holds. */
    json_t *mems = json_object_get(cpu, "mems");
    if (json_string_value(mems) && *json_string_value(mems))
        return sbx_err_set(err, ENOTSUP, "cpu.mems: not supported by sbx-oci");
    /* devices: device cgroup rules, which create ignores too (sbx's /dev
     * holds only the default devices, linux.devices is checked there). */
    static const char *const unsupported[] = {"blockIO", "hugepageLimits", "network", "rdma",
                                              "unified"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        json_t *u = json_object_get(res, unsupported[i]);
        if (u && !json_is_null(u) && (json_object_size(u) || json_array_size(u)))
            return sbx_err_set(err, ENOTSUP, "%s: not supported by sbx-oci update",
                               unsupported[i]);
    }
    return 0;
}

/* runc's flags, as a LinuxResources object. */
static int flag_into(json_t *res, const char *section, const char *key, const char *val,
                     bool string, struct sbx_err *err)
{
    json_t *s = json_object_get(res, section);
    if (!s) {
        s = json_object();
        json_object_set_new(res, section, s);
    }
    if (string)
        return json_object_set_new(s, key, json_string(val)) < 0 ? -ENOMEM : 0;
    char *end;
    long long n = strtoll(val, &end, 10);
    if (!*val || *end)
        return sbx_err_set(err, EINVAL, "update: %s is not a number", val);
    return json_object_set_new(s, key, json_integer(n)) < 0 ? -ENOMEM : 0;
}

int oci_cmd_update(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    static const struct {
        const char *flag, *section, *key;
        bool string;
    } flags[] = {
        {"--memory", "memory", "limit", false},      {"--pids-limit", "pids", "limit", false},
        {"--cpu-quota", "cpu", "quota", false},      {"--cpu-period", "cpu", "period", false},
        {"--cpu-share", "cpu", "shares", false},     {"--cpuset-cpus", "cpu", "cpus", true},
        {"--cpuset-mems", "cpu", "mems", true},
    };
    const char *resources = NULL, *id = NULL;
    json_t *res = json_object();
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = oci_opt_value(argc, argv, &i, "--resources", &v, err);
        if (r == 0)
            r = oci_opt_value(argc, argv, &i, "-r", &v, err);
        if (r < 0)
            goto out;
        if (r > 0) {
            resources = v;
            continue;
        }
        bool matched = false;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0] && !matched; f++) {
            if ((r = oci_opt_value(argc, argv, &i, flags[f].flag, &v, err)) < 0)
                goto out;
            if (r > 0) {
                matched = true;
                if (flag_into(res, flags[f].section, flags[f].key, v, flags[f].string, err) < 0)
                    goto out;
            }
        }
        if (matched)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            sbx_err_set(err, EINVAL, "update: %s is not supported by sbx-oci (memory, pids, cpu "
                                     "quota/period/shares, cpuset only)", argv[i]);
            goto out;
        }
        if (id) {
            sbx_err_set(err, EINVAL, "update: one container id only");
            goto out;
        }
        id = argv[i];
    }
    if (!id) {
        sbx_err_set(err, EINVAL, "update: a container id is required");
        goto out;
    }
    if (resources) {
        if (json_object_size(res)) {
            sbx_err_set(err, EINVAL, "update: give --resources or flags, not both");
            goto out;
        }
        json_decref(res);
        json_error_t je;
        res = strcmp(resources, "-") == 0 ? json_loadf(stdin, 0, &je)
                                          : json_load_file(resources, 0, &je);
        if (!res) {
            sbx_err_set(err, EINVAL, "--resources: %s: line %d: %s", resources, je.line, je.text);
            goto out;
        }
    }
    struct sbx_cg_limits l;
    if (parse_resources(res, &l, err) < 0)
        goto out;
    struct oci_state st;
    if (oci_state_read(g, id, &st, err) < 0)
        goto out;
    if (oci_state_status(g, &st) == OCI_STOPPED) {
        sbx_err_set(err, EINVAL, "container not running");
    } else {
        const char *dirs[OCI_MAX_CGROUPS];
        for (int i = 0; i < st.n_cgroups; i++)
            dirs[i] = st.cgroups[i];
        oci_debug(g, "update %s", id);
        if (sbx_cgroup_update_kept(dirs, st.n_cgroups, &l, err) == 0)
            rc = 0;
    }
    oci_state_free(&st);
out:
    json_decref(res);
    return rc;
}
