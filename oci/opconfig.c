/* sbx-oci's operator configuration (OciConfig in policy/sandboxd.proto,
 * protobuf text): loaded and validated here in one place, so that create
 * never sees a half-checked value. Every error names the field. */
#include "oci.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/readfile.h"
#include "policy/textformat.h"
#include "policy/units.h"

#define OPCONFIG_MAX_BYTES (1u << 20)

static int check_size(const char *field, const char *s, struct sbx_err *err)
{
    uint64_t v;
    if (sbx_parse_size(s, &v) < 0)
        return sbx_err_set(err, EINVAL, "%s: \"%s\" is not a size", field, s);
    if (v == 0)
        return sbx_err_set(err, EINVAL, "%s: must be more than zero", field);
    return 0;
}

static int validate(const Sbx__V1__OciConfig *m, struct oci_opconfig *c, struct sbx_err *err)
{
    c->pool = (struct sbx_uidpool){.first = SBX_UIDPOOL_DEFAULT_FIRST,
                                   .range = SBX_UIDPOOL_DEFAULT_RANGE,
                                   .slots = SBX_UIDPOOL_DEFAULT_SLOTS,
                                   .lockdir = SBX_UIDPOOL_DEFAULT_LOCKDIR};
    if (m->slot_dir) {
        if (sbx_check_config_path("slot_dir", m->slot_dir, err) < 0)
            return -EINVAL;
        c->pool.lockdir = m->slot_dir;
    }
    if (m->uid_pool) {
        const Sbx__V1__UidPool *u = m->uid_pool;
        if (u->has_first)
            c->pool.first = u->first;
        if (u->has_range)
            c->pool.range = u->range;
        if (u->has_slots)
            c->pool.slots = u->slots;
    }
    if (c->pool.first == 0)
        return sbx_err_set(err, EINVAL, "uid_pool.first: must not be 0 (root is never mapped)");
    /* The executor maps one range of 65,536 ids at least: a container's
     * image owns files up to nobody (65534). */
    if (c->pool.range < 65536)
        return sbx_err_set(err, EINVAL, "uid_pool.range: must be at least 65536");
    if (c->pool.slots == 0)
        return sbx_err_set(err, EINVAL, "uid_pool.slots: must be more than zero");
    if ((uint64_t)c->pool.first + (uint64_t)c->pool.range * c->pool.slots > UINT32_MAX - 1)
        return sbx_err_set(err, ERANGE, "uid_pool: first + range * slots goes past the largest uid");
    c->has_pool = m->uid_pool || m->slot_dir;
    c->allow_host_network = m->has_allow_host_network && m->allow_host_network;

    c->allow_hooks = m->has_allow_hooks && m->allow_hooks;
    c->hook_timeout_s = 30;
    if (m->hook_timeout) {
        int64_t ns;
        if (sbx_parse_duration_ns(m->hook_timeout, false, &ns) < 0)
            return sbx_err_set(err, EINVAL, "hook_timeout: \"%s\" is not a duration",
                               m->hook_timeout);
        if (ns <= 0 || ns > 3600LL * 1000000000LL)
            return sbx_err_set(err, EINVAL, "hook_timeout: must be more than 0 and at most 1h");
        /* The spec counts a hook's timeout in whole seconds. */
        c->hook_timeout_s = (int)((ns + 999999999LL) / 1000000000LL);
    }

    const Sbx__V1__OciDefaults *d = m->defaults;
    if (!d)
        return 0;
    if (d->memory && check_size("defaults.memory", d->memory, err) < 0)
        return -EINVAL;
    c->memory = d->memory;
    if (d->has_pids) {
        if (d->pids == 0 || d->pids > SBX_MAX_PIDS)
            return sbx_err_set(err, EINVAL, "defaults.pids: must be between 1 and %u", SBX_MAX_PIDS);
        c->pids = d->pids;
    }
    if (d->has_cpus) {
        if (!isfinite(d->cpus) || d->cpus <= 0 || d->cpus > 4096)
            return sbx_err_set(err, EINVAL, "defaults.cpus: must be more than 0 and at most 4096");
        c->cpus = d->cpus;
    }
    if (d->rootfs_size && check_size("defaults.rootfs_size", d->rootfs_size, err) < 0)
        return -EINVAL;
    c->rootfs_size = d->rootfs_size;
    return 0;
}

int oci_opconfig_load(const char *path, bool given, struct oci_opconfig *c, struct sbx_err *err)
{
    memset(c, 0, sizeof *c);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    struct stat st;
    /* The default path may be absent (every default); a file named with
     * --config must exist. */
    if (given || stat(path, &st) == 0) {
        int r = sbx_read_file(path, OPCONFIG_MAX_BYTES, &buf, &len, err);
        if (r < 0)
            return sbx_err_wrap(err, "--config");
    }
    ProtobufCMessage *m = NULL;
    int r = sbx_text_parse(&sbx__v1__oci_config__descriptor, buf ? buf : "", len, &m, err);
    if (r < 0)
        return sbx_err_wrap(err, "%s", path);
    c->msg = (Sbx__V1__OciConfig *)m;
    if ((r = validate(c->msg, c, err)) < 0) {
        oci_opconfig_free(c);
        return sbx_err_wrap(err, "%s", path);
    }
    return 0;
}

void oci_opconfig_free(struct oci_opconfig *c)
{
    if (c->msg)
        protobuf_c_message_free_unpacked(&c->msg->base, NULL);
    memset(c, 0, sizeof *c);
}
