#include "caps.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

int sbx_caps_drop_all(uid_t uid, gid_t gid, struct sbx_err *err)
{
    /* The bounding set first, while CAP_SETPCAP is still held. */
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        return sbx_err_set(err, EPERM, "capabilities: dropping the bounding set");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sbx_err_sys(err, errno, "capabilities: clearing the ambient set");
    if (uid != 0 || gid != 0) {
        gid_t g = gid;
        if (setgroups(1, &g) < 0 || setresgid(gid, gid, gid) < 0)
            return sbx_err_sys(err, errno, "switching to gid %u", (unsigned)gid);
        if (setresuid(uid, uid, uid) < 0)
            return sbx_err_sys(err, errno, "switching to uid %u", (unsigned)uid);
    }
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return sbx_err_set(err, EPERM, "capabilities: clearing the capability sets");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "setting no_new_privs");

    /* Verify rather than trust: read the sets back from the kernel. */
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
        return sbx_err_set(err, EPERM, "capabilities: some remain after dropping");
    for (unsigned long c = 0; c <= CAP_LAST_CAP; c++) {
        int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (in > 0)
            return sbx_err_set(err, EPERM, "capabilities: %lu remains in the bounding set", c);
    }
    return 0;
}

int sbx_caps_init_only_kill(struct sbx_err *err)
{
    capng_clear(CAPNG_SELECT_BOTH);
    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_KILL);
    if (capng_apply(CAPNG_SELECT_BOTH) < 0)
        return sbx_err_set(err, EPERM, "init: dropping capabilities");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "init: setting no_new_privs");
    return 0;
}
