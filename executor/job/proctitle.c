#include "proctitle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/cleanup.h"

#define NEUTRAL_NAME "sbx-init"

static struct {
    bool known;
    uintptr_t arg_start, arg_end, env_start, env_end;
} region;

int sbx_proctitle_prepare(void)
{
    if (region.known)
        return 0;
    /* The kernel's own bounds of the areas /proc/PID/cmdline and environ
     * read (fields 48-51 of /proc/self/stat), whatever main() did with
     * argv or environ since. */
    char buf[2048];
    _cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p)
        return -EIO;
    p++;
    uintptr_t v[4];
    for (int field = 3, got = 0; got < 4; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -EIO;
        char *end;
        unsigned long long x = strtoull(p, &end, 10);
        if (field >= 48)
            v[got++] = (uintptr_t)x;
        p = strchr(p, ' ');
        if (!p && got < 4)
            return -EIO;
        (void)end;
    }
    if (v[1] <= v[0] || v[3] < v[2])
        return -EIO;
    region.arg_start = v[0];
    region.arg_end = v[1];
    region.env_start = v[2];
    region.env_end = v[3];
    region.known = true;
    return 0;
}

void sbx_proctitle_neutral(void)
{
    prctl(PR_SET_NAME, NEUTRAL_NAME, 0, 0, 0);
    if (!region.known)
        return;
    char *args = (char *)region.arg_start;
    size_t alen = region.arg_end - region.arg_start;
    memset(args, 0, alen);
    /* The last byte stays NUL: the kernel then reads the area as argv, not
     * as a setproctitle() string running on into the environment. */
    memcpy(args, NEUTRAL_NAME, alen > sizeof NEUTRAL_NAME ? sizeof NEUTRAL_NAME : alen - 1);
    memset((char *)region.env_start, 0, region.env_end - region.env_start);
}
