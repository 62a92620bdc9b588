/* io_uring: a second system call interface that seccomp cannot see into
 * (operations run from kernel workers), and the largest recent source of
 * kernel exploits (CVE-2022-29582, CVE-2023-2598, ...). sbx denies it in
 * every built-in profile. */
#include "attack.h"

#include <linux/io_uring.h>
#include <sys/syscall.h>

int main(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long r = syscall(SYS_io_uring_setup, 4, &p);
    attempt(r >= 0, "io_uring_setup", "%s", res(r));
    r = syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0);
    attempt(r >= 0, "io_uring_enter", "%s", res(r));
    r = syscall(SYS_io_uring_register, 0, 0, NULL, 0);
    attempt(r >= 0, "io_uring_register", "%s", res(r));
    return done();
}
