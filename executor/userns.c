#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "common/cleanup.h"

static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

static bool covers(uint32_t first, uint32_t count, uint32_t id)
{
    return id >= first && (uint64_t)id < (uint64_t)first + count;
}

int sbx_userns_write_maps(pid_t pid, const struct sbx_idmap *map, struct sbx_err *err)
{
    uid_t me = getuid();
    if (map->count == 0)
        return sbx_err_set(err, EINVAL, "user namespace: empty id map");
    if (covers(map->host_uid, map->count, 0) || covers(map->host_gid, map->count, 0))
        return sbx_err_set(err, EPERM, "user namespace: refusing to map host id 0 into a job");
    if (!map->rootless && covers(map->host_uid, map->count, me))
        return sbx_err_set(err, EPERM, "user namespace: refusing to map the launcher's uid %u",
                           (unsigned)me);

    char buf[64];
    snprintf(buf, sizeof buf, "0 %" PRIu32 " %" PRIu32 "\n", map->host_uid, map->count);
    int r = write_proc(pid, "uid_map", buf);
    if (r < 0)
        return sbx_err_sys(err, -r, "user namespace: writing uid_map");
    /* Without privilege over the host, gid_map may only be written once
     * setgroups is denied (CVE-2014-8989). */
    if (map->rootless && (r = write_proc(pid, "setgroups", "deny")) < 0)
        return sbx_err_sys(err, -r, "user namespace: writing setgroups");
    snprintf(buf, sizeof buf, "0 %" PRIu32 " %" PRIu32 "\n", map->host_gid, map->count);
    if ((r = write_proc(pid, "gid_map", buf)) < 0)
        return sbx_err_sys(err, -r, "user namespace: writing gid_map");
    return 0;
}

int sbx_userns_become_root(const struct sbx_idmap *map, struct sbx_err *err)
{
    if (!map->rootless && setgroups(0, NULL) < 0)
        return sbx_err_sys(err, errno, "user namespace: dropping supplementary groups");
    if (setresgid(0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "user namespace: setresgid(0)");
    if (setresuid(0, 0, 0) < 0)
        return sbx_err_sys(err, errno, "user namespace: setresuid(0)");
    return 0;
}

/* Raw syscalls: glibc's setresuid changes every thread's ids, and only this
 * thread's matter to the clone (and a long-lived launcher's other threads,
 * if it ever has any, must not run as the job's uid). */
int sbx_userns_owner_enter(const struct sbx_idmap *map, struct sbx_userns_owner *saved,
                           struct sbx_err *err)
{
    *saved = (struct sbx_userns_owner){.securebits = -1};
    if (map->rootless)
        return 0;
    saved->euid = geteuid();
    saved->egid = getegid();
    /* Without the bit the euid change drops the effective capabilities for
     * the clone (they come back with euid 0): only CLONE_INTO_CGROUP, which
     * needs write access to the job cgroup, would then fail, and says so. */
    int bits = prctl(PR_GET_SECUREBITS);
    if (bits >= 0 && !(bits & SECBIT_NO_SETUID_FIXUP) &&
        prctl(PR_SET_SECUREBITS, (unsigned long)(bits | SECBIT_NO_SETUID_FIXUP)) == 0)
        saved->securebits = bits;
    if (syscall(SYS_setresgid, -1, map->host_gid, -1) < 0) {
        int e = errno;
        sbx_userns_owner_leave(saved);
        return sbx_err_sys(err, e, "user namespace: setting the owner's gid %u",
                           (unsigned)map->host_gid);
    }
    saved->changed = true;
    if (syscall(SYS_setresuid, -1, map->host_uid, -1) < 0) {
        int e = errno;
        sbx_userns_owner_leave(saved);
        return sbx_err_sys(err, e, "user namespace: setting the owner's uid %u",
                           (unsigned)map->host_uid);
    }
    return 0;
}

void sbx_userns_owner_leave(struct sbx_userns_owner *saved)
{
    if (saved->changed) {
        /* Back to the saved ids (0): allowed with or without capabilities. */
        if (syscall(SYS_setresuid, -1, saved->euid, -1) < 0 ||
            syscall(SYS_setresgid, -1, saved->egid, -1) < 0)
            abort(); /* a launcher left as the job's uid must not go on */
        saved->changed = false;
    }
    if (saved->securebits >= 0) {
        prctl(PR_SET_SECUREBITS, (unsigned long)saved->securebits);
        saved->securebits = -1;
    }
}
