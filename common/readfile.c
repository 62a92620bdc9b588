#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int sbx_read_file(const char *path, size_t max, char **out, size_t *len, struct sbx_err *err)
{
    *out = NULL;
    *len = 0;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sbx_err_sys(err, errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "%s: cannot stat", path);
    if (S_ISDIR(st.st_mode))
        return sbx_err_set(err, EISDIR, "%s: is a directory", path);
    /* One byte past the bound is enough to know it is too big. */
    _cleanup_free_ char *buf = malloc(max + 2);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "%s: out of memory", path);
    size_t n = 0;
    while (n <= max) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sbx_err_sys(err, errno, "%s: cannot read", path);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max)
        return sbx_err_set(err, EFBIG, "%s: larger than %zu bytes", path, max);
    buf[n] = '\0';
    *len = n;
    *out = take_ptr(buf);
    return 0;
}
