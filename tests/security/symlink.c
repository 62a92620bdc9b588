/* Symlinks planted in an image layer that point at host paths (absolute or
 * ../../.. relative): inside the job they must resolve inside its root.
 * argv: the host secret's content, then paths in the job to read. */
#include "attack.h"

#include <fcntl.h>

int main(int argc, char **argv)
{
    const char *secret = argc > 1 ? argv[1] : "HOST-SECRET";
    for (int i = 2; i < argc; i++) {
        char buf[256] = {0}, what[300];
        int fd = open(argv[i], O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        int e = errno;
        snprintf(what, sizeof what, "read %s", argv[i]);
        int leaked = n > 0 && strstr(buf, secret) != NULL;
        errno = e;
        attempt(leaked, what, "%s%s", fd < 0 || n < 0 ? res(-1) : "read",
                n > 0 && !leaked ? " (a file of the job's own root)" : "");
        if (fd >= 0)
            close(fd);
        /* Writing through the link, for links to host directories. */
        snprintf(what, sizeof what, "%s/sbx-planted", argv[i]);
        fd = open(what, O_WRONLY | O_CREAT, 0644);
        char w[320];
        snprintf(w, sizeof w, "create %s", what);
        attempt(0, w, "%s (the host check says whether it landed)", res(fd));
        if (fd >= 0)
            close(fd);
    }
    return done();
}
