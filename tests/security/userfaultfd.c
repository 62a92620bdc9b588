/* userfaultfd: lets a job stall the kernel in the middle of a copy from user
 * memory, the standard way to win kernel races (used by many exploits). */
#include "attack.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>

int main(void)
{
    long r = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    attempt(r >= 0, "userfaultfd(UFFD_USER_MODE_ONLY)", "%s", res(r));
    r = syscall(SYS_userfaultfd, O_CLOEXEC);
    attempt(r >= 0, "userfaultfd(kernel faults too)", "%s", res(r));
    int fd = open("/dev/userfaultfd", O_RDWR);
    attempt(fd >= 0, "open(/dev/userfaultfd)", "%s", res(fd));
    return done();
}
