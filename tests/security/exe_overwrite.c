/* runc CVE-2019-5736: a job opens the runtime's binary through
 * /proc/self/exe or /proc/1/exe (PID 1 is the launcher's own image, forked
 * from sbx) and overwrites it, so that the next host use of the runtime runs
 * the job's code as root. Every way to get a writable fd must fail. */
#include "attack.h"

#include <fcntl.h>
#include <sys/stat.h>

static void try_write(const char *path)
{
    char what[128];
    snprintf(what, sizeof what, "open(%s, O_WRONLY)", path);
    int fd = open(path, O_WRONLY);
    attempt(fd >= 0, what, "%s", res(fd));
    if (fd >= 0) {
        ssize_t n = write(fd, "PWNED", 5);
        attempt(n > 0, "write through it", "%s", res(n));
        close(fd);
    }
    snprintf(what, sizeof what, "open(%s, O_RDWR|O_TRUNC)", path);
    fd = open(path, O_RDWR | O_TRUNC);
    attempt(fd >= 0, what, "%s", res(fd));
    if (fd >= 0)
        close(fd);
    /* The runc exploit's way: an O_PATH fd, then reopen it for writing
     * through /proc/self/fd once the runtime has exited (ETXTBSY gone). */
    int p = open(path, O_PATH);
    if (p >= 0) {
        char re[64];
        snprintf(re, sizeof re, "/proc/self/fd/%d", p);
        snprintf(what, sizeof what, "reopen O_PATH of %s for writing", path);
        fd = open(re, O_WRONLY);
        attempt(fd >= 0, what, "%s", res(fd));
        if (fd >= 0)
            close(fd);
        close(p);
    } else {
        snprintf(what, sizeof what, "open(%s, O_PATH)", path);
        attempt(0, what, "%s (nothing to reopen)", res(p));
    }
    snprintf(what, sizeof what, "truncate(%s)", path);
    int r = truncate(path, 0);
    attempt(r == 0, what, "%s", res(r));
    snprintf(what, sizeof what, "chmod(%s)", path);
    r = chmod(path, 0777);
    attempt(r == 0, what, "%s", res(r));
}

int main(void)
{
    char target[256];
    ssize_t n = readlink("/proc/1/exe", target, sizeof target - 1);
    attempt(n >= 0, "readlink(/proc/1/exe) (PID 1 is non-dumpable)", "%s", res(n));
    try_write("/proc/self/exe");
    try_write("/proc/1/exe");
    /* PID 1's other handles on the host: its root and cwd before pivot. */
    int fd = open("/proc/1/root/", O_RDONLY | O_DIRECTORY);
    attempt(fd >= 0, "open(/proc/1/root)", "%s", res(fd));
    fd = open("/proc/1/map_files/", O_RDONLY | O_DIRECTORY);
    attempt(fd >= 0, "open(/proc/1/map_files)", "%s", res(fd));
    return done();
}
