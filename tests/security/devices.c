/* Device nodes: mknod of /dev/mem, /dev/kmem, a block device or the host's
 * disk, and opening whatever /dev offers beyond the harmless ones. */
#include "attack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void try_mknod(const char *path, mode_t type, unsigned maj, unsigned min)
{
    char what[128];
    snprintf(what, sizeof what, "mknod %s (%u:%u)", path, maj, min);
    int r = mknod(path, type | 0666, makedev(maj, min));
    attempt(0, what, "%s", res(r));
    if (r == 0) {
        int fd = open(path, O_RDWR);
        snprintf(what, sizeof what, "open the new node %s", path);
        attempt(fd >= 0, what, "%s", res(fd));
        if (fd >= 0)
            close(fd);
        unlink(path);
    }
}

int main(void)
{
    try_mknod("/tmp/mem", S_IFCHR, 1, 1);
    try_mknod("/tmp/kmsg", S_IFCHR, 1, 11);
    try_mknod("/tmp/sda", S_IFBLK, 8, 0);
    try_mknod("/tmp/vda", S_IFBLK, 253, 0);
    try_mknod("/tmp/nvme", S_IFBLK, 259, 0);
    try_mknod("/tmp/mem-in-root", S_IFCHR, 1, 1);
    try_mknod("/dev/mem", S_IFCHR, 1, 1);
    const char *nodes[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/sda",
                           "/dev/vda", "/dev/nvme0n1", "/dev/loop0", "/dev/loop-control",
                           "/dev/fuse", "/dev/kvm", "/dev/net/tun", "/dev/console", "/dev/tty0"};
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        char what[64];
        snprintf(what, sizeof what, "open %s", nodes[i]);
        int fd = open(nodes[i], O_RDWR);
        attempt(fd >= 0, what, "%s", res(fd));
        if (fd >= 0)
            close(fd);
    }
    return done();
}
