#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "common/cleanup.h"

/* Newer than Debian 12's headers: defined here by their kernel values. */
#define LL_ACCESS_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_ACCESS_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

/* The kernel takes the struct's size: fields it does not know stay unused. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int sbx_landlock_abi(void)
{
    static int abi = -1;
    if (abi < 0) {
        long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        abi = v < 0 ? 0 : (int)v;
    }
    return abi;
}

static uint64_t fs_rights(int abi)
{
    uint64_t r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2)
        r |= LL_ACCESS_FS_REFER;
    if (abi >= 3)
        r |= LL_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        r |= LL_ACCESS_FS_IOCTL_DEV;
    return r;
}

int sbx_landlock_confine_root(int abi, struct sbx_err *err)
{
    if (abi <= 0)
        return 0;
    struct ll_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
        size = sizeof attr;
    }
    _cleanup_close_ int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
    if (ruleset < 0)
        return sbx_err_sys(err, errno, "landlock: creating the ruleset");
    _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return sbx_err_sys(err, errno, "landlock: opening /");
    struct ll_path_beneath rule = {.allowed_access = attr.handled_access_fs, .parent_fd = root};
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0U) < 0)
        return sbx_err_sys(err, errno, "landlock: allowing /");
    if (syscall(SYS_landlock_restrict_self, ruleset, 0U) < 0)
        return sbx_err_sys(err, errno, "landlock: restricting the job");
    return 0;
}
