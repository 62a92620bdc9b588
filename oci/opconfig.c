/* sbx-oci's operator configuration (OciConfig in policy/sandboxd.proto,
 * protobuf text): loaded and validated here in one place, so that create
 * never sees a half-checked value. Every error names the field. */
#include "oci.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

int oci_cap_from_name(const char *name)
{
    if (strncmp(name, "CAP_", 4) != 0 || strlen(name) > 40)
        return -1;
    char lower[48];
    size_t i = 0;
    for (const char *c = name + 4; *c; c++)
        lower[i++] = (char)tolower((unsigned char)*c);
    lower[i] = '\0';
    int cap = capng_name_to_capability(lower);
    if (cap < 0 || cap > 63 || capng_capability_to_name((unsigned)cap) == NULL)
        return -1;
    return cap;
}

bool oci_kernel_has_cap(int cap)
{
    return prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) >= 0;
}

uint64_t oci_default_allowed_caps(void)
{
    /* Each acts only on what the container's user namespace owns; a device
     * node (MKNOD) or an audit record (AUDIT_WRITE) the kernel refuses
     * there anyway. CAP_NET_RAW is left out: raw and packet sockets have a
     * long history of kernel CVEs. */
    static const int caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD,
                               CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP,
                               CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE};
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        m |= 1ULL << caps[i];
    return m;
}

static int check_caps(const Sbx__V1__OciConfig *m, struct oci_opconfig *c, struct sbx_err *err)
{
    if (m->n_allowed_capabilities == 0) {
        c->allowed_caps = oci_default_allowed_caps();
        return 0;
    }
    c->allowed_caps = 0;
    for (size_t i = 0; i < m->n_allowed_capabilities; i++) {
        const char *name = m->allowed_capabilities[i];
        if (strcmp(name, "none") == 0) {
            if (m->n_allowed_capabilities != 1)
                return sbx_err_set(err, EINVAL, "allowed_capabilities: \"none\" must be alone");
            return 0;
        }
        int cap = oci_cap_from_name(name);
        if (cap < 0)
            return sbx_err_set(err, EINVAL, "allowed_capabilities: \"%s\" is not a capability "
                                            "(CAP_CHOWN, CAP_NET_RAW, ...)", name);
        if (cap == CAP_SYS_ADMIN)
            return sbx_err_set(err, EPERM, "allowed_capabilities: CAP_SYS_ADMIN (a privileged "
                                           "container) is refused");
        c->allowed_caps |= 1ULL << cap;
    }
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
    if (check_caps(m, c, err) < 0)
        return -EINVAL;

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
