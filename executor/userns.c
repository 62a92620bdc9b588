#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
