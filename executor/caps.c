/* The capability sets go through libcap-ng (capng_clear/capng_update then
 * capng_apply(CAPNG_SELECT_CAPS): one capset). The bounding set is dropped
 * with PR_CAPBSET_DROP directly: capng_apply(CAPNG_SELECT_BOUNDS) first
 * re-reads /proc/<tid>/status, which cost 0.4 ms of CPU per job (three reads
 * in the job's process, three in PID 1) for what the kernel tells us anyway.
 * The outcome is read back with capget and PR_CAPBSET_READ. */
#include "caps.h"

#include <cap-ng.h>

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capabilities beyond the headers' CAP_LAST_CAP count too: the loops run
 * until the kernel says EINVAL (no such capability). */
#define CAPS_MAX 64

static int drop_bounding_but(uint64_t keep)
{
    /* Each drop commits a new set of credentials (~1.5 us). A set emptied
     * ahead (a run's PID 1 does) lacks capability 0: then ask before each
     * drop, so that it costs only the questions; a full set (a cold job's)
     * is dropped without them. Either way every capability not kept is
     * out afterwards. */
    bool ask = !(keep & 1) && prctl(PR_CAPBSET_READ, 0UL, 0, 0, 0) == 0;
    for (unsigned long c = 0; c < CAPS_MAX; c++) {
        if (keep & (1ULL << c))
            continue;
        int in = ask ? prctl(PR_CAPBSET_READ, c, 0, 0, 0) : 1;
        if (in == 0)
            continue;
        if (in > 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
            continue;
        if (errno == EINVAL)
            return 0;
        return -errno;
    }
    return 0;
}

static int drop_bounding(void)
{
    return drop_bounding_but(0);
}

int sbx_caps_drop_bounding(struct sbx_err *err)
{
    int r = drop_bounding();
    return r < 0 ? sbx_err_sys(err, -r, "capabilities: dropping the bounding set") : 0;
}

/* libcap-ng remembers the thread it first saw; the job's process shares
 * PID 1's memory until it execs (CLONE_VM), so each says who it is. */
static int this_thread(void)
{
    return (int)syscall(SYS_gettid);
}

static int capget_raw(uint64_t *eff, uint64_t *perm, uint64_t *inh)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) < 0)
        return -1;
    *eff = d[0].effective | (uint64_t)d[1].effective << 32;
    *perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

int sbx_caps_drop_all(uid_t uid, gid_t gid, struct sbx_err *err)
{
    /* The bounding set first, while CAP_SETPCAP is still held. */
    int r = drop_bounding();
    if (r < 0)
        return sbx_err_sys(err, -r, "capabilities: dropping the bounding set");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sbx_err_sys(err, errno, "capabilities: clearing the ambient set");
    if (uid != 0 || gid != 0) {
        gid_t g = gid;
        if (setgroups(1, &g) < 0 || setresgid(gid, gid, gid) < 0)
            return sbx_err_sys(err, errno, "switching to gid %u", (unsigned)gid);
        if (setresuid(uid, uid, uid) < 0)
            return sbx_err_sys(err, errno, "switching to uid %u", (unsigned)uid);
    }
    capng_clear(CAPNG_SELECT_CAPS);
    capng_setpid(this_thread());
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return sbx_err_set(err, EPERM, "capabilities: clearing the capability sets");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "setting no_new_privs");

    /* Verify rather than trust: read the sets back from the kernel. */
    uint64_t e, p, i;
    if (capget_raw(&e, &p, &i) < 0)
        return sbx_err_sys(err, errno, "capabilities: reading them back");
    if (e || p || i)
        return sbx_err_set(err, EPERM, "capabilities: some remain after dropping");
    for (unsigned long c = 0; c < CAPS_MAX; c++) {
        int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (in < 0)
            break;
        if (in > 0)
            return sbx_err_set(err, EPERM, "capabilities: %lu remains in the bounding set", c);
    }
    for (unsigned long c = 0; c < CAPS_MAX; c++) {
        int in = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
        if (in < 0)
            break;
        if (in > 0)
            return sbx_err_set(err, EPERM, "capabilities: %lu remains in the ambient set", c);
    }
    return 0;
}

int sbx_caps_init_only_kill(struct sbx_err *err)
{
    capng_clear(CAPNG_SELECT_CAPS);
    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_KILL);
    capng_setpid(this_thread());
    if (drop_bounding() < 0 || capng_apply(CAPNG_SELECT_CAPS) < 0)
        return sbx_err_set(err, EPERM, "init: dropping capabilities");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "init: setting no_new_privs");
    return 0;
}

static int capset_raw(uint64_t eff, uint64_t perm, uint64_t inh)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {
        {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
        {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32),
         .inheritable = (uint32_t)(inh >> 32)},
    };
    return (int)syscall(SYS_capset, &h, d);
}

int sbx_caps_keep(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
                  const struct sbx_capsets *keep, struct sbx_err *err)
{
    const struct sbx_capsets k = *keep;
    if ((k.effective & ~k.permitted) || (k.inheritable & ~k.bounding))
        return sbx_err_set(err, EINVAL, "capabilities: an effective one not permitted, or an "
                                        "inheritable one not in the bounding set");
    int r = drop_bounding_but(k.bounding);
    if (r < 0)
        return sbx_err_sys(err, -r, "capabilities: dropping the bounding set");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sbx_err_sys(err, errno, "capabilities: clearing the ambient set");
    /* Without it the kernel empties the permitted set when root's uid
     * changes; cleared again by the exec. */
    if (k.permitted && uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "capabilities: PR_SET_KEEPCAPS");
    if (n > 0 || uid != 0 || gid != 0) {
        gid_t g = gid;
        if (n > 0 ? setgroups(n, groups) < 0 : setgroups(1, &g) < 0)
            return sbx_err_sys(err, errno, "setting the supplementary groups");
        if (setresgid(gid, gid, gid) < 0)
            return sbx_err_sys(err, errno, "switching to gid %u", (unsigned)gid);
        if (setresuid(uid, uid, uid) < 0)
            return sbx_err_sys(err, errno, "switching to uid %u", (unsigned)uid);
    }
    if (capset_raw(k.effective, k.permitted, k.inheritable) < 0)
        return sbx_err_sys(err, errno, "capabilities: setting the sets");
    /* The kernel takes an ambient capability only if it is permitted and
     * inheritable; runc skips the others, and so do we (fewer, not more). */
    uint64_t ambient = k.ambient & k.permitted & k.inheritable;
    for (unsigned long c = 0; c < CAPS_MAX; c++)
        if ((ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return sbx_err_sys(err, errno, "capabilities: raising ambient %lu", c);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "setting no_new_privs");

    uint64_t e, p, i;
    if (capget_raw(&e, &p, &i) < 0)
        return sbx_err_sys(err, errno, "capabilities: reading them back");
    if (e != k.effective || p != k.permitted || i != k.inheritable)
        return sbx_err_set(err, EPERM, "capabilities: the sets differ from what was asked");
    for (unsigned long c = 0; c < CAPS_MAX; c++) {
        int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (in < 0)
            break;
        if (in != !!(k.bounding & (1ULL << c)))
            return sbx_err_set(err, EPERM, "capabilities: %lu is wrong in the bounding set", c);
    }
    for (unsigned long c = 0; c < CAPS_MAX; c++) {
        int in = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
        if (in < 0)
            break;
        if (in != !!(ambient & (1ULL << c)))
            return sbx_err_set(err, EPERM, "capabilities: %lu is wrong in the ambient set", c);
    }
    return 0;
}
