/* Small file helpers for cgroup control files: every access is relative to
 * a kept directory fd, so that a job's files cost one open each and no path
 * walk from the root. */
#include "cgroup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

const char *const cg_ctrl_name[CG_NCTRL] = {
    [CG_MEMORY] = "memory",   [CG_PIDS] = "pids",     [CG_CPU] = "cpu",
    [CG_CPUACCT] = "cpuacct", [CG_CPUSET] = "cpuset", [CG_FREEZER] = "freezer",
};

int cg_write(int dirfd, const char *dirpath, const char *file, const char *s, const char *what,
             struct sbx_err *err)
{
    _cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return sbx_err_sys(err, errno, "cgroup %s: %s/%s: cannot open", what, dirpath, file);
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    if (n < 0)
        return sbx_err_sys(err, errno, "cgroup %s: %s/%s: cannot write \"%s\"", what, dirpath, file,
                           s);
    if ((size_t)n != len)
        return sbx_err_set(err, EIO, "cgroup %s: %s/%s: short write of \"%s\"", what, dirpath, file,
                           s);
    return 0;
}

/* Reads fd from its start into buf (NUL-terminated). */
static ssize_t read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = pread(fd, buf + len, size - 1 - len, (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        len += (size_t)n;
        /* Callers read one-record files (a value, a keyed list): a short
         * read is their whole content, no second read() to see the end.
         * Files of many records (cgroup.procs, tasks) can read short before
         * their end: those are read through stdio (cg_read_pids). */
        if (n == 0 || len + 1 < size)
            break;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

ssize_t cg_read(int dirfd, const char *file, char *buf, size_t size)
{
    _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return read_all(fd, buf, size);
}

ssize_t cg_read_kept(struct sbx_cgroup *cg, int dir, const char *file, char *buf, size_t size)
{
    for (int i = 0; i < cg->n_kept; i++)
        if (cg->kept[i].dir == dir && strcmp(cg->kept[i].file, file) == 0)
            return cg->kept[i].fd < 0 ? cg->kept[i].fd : read_all(cg->kept[i].fd, buf, size);
    if (!cg->keep_files || cg->n_kept == CG_MAX_KEPT)
        return cg_read(cg->dirs[dir].fd, file, buf, size);
    /* A file the kernel does not have (memory.peak before 5.19, pressure
     * files without PSI) is remembered as such: not looked up again. Any
     * other failure (out of fds) is not: the next read tries again. */
    int fd = openat(cg->dirs[dir].fd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    cg->kept[cg->n_kept++] = (struct cg_kept){.dir = dir, .file = file, .fd = fd < 0 ? -ENOENT : fd};
    return fd < 0 ? -ENOENT : read_all(fd, buf, size);
}

void cg_kept_close(struct sbx_cgroup *cg)
{
    for (int i = 0; i < cg->n_kept; i++)
        if (cg->kept[i].fd >= 0)
            close(cg->kept[i].fd);
    cg->n_kept = 0;
}

static int parse_u64(const char *buf, uint64_t *v)
{
    if (strncmp(buf, "max", 3) == 0) {
        *v = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return -EINVAL;
    *v = x;
    return 0;
}

int cg_read_u64(int dirfd, const char *file, uint64_t *v)
{
    char buf[64];
    ssize_t n = cg_read(dirfd, file, buf, sizeof buf);
    return n < 0 ? (int)n : parse_u64(buf, v);
}

int cg_read_kept_u64(struct sbx_cgroup *cg, int dir, const char *file, uint64_t *v)
{
    char buf[64];
    ssize_t n = cg_read_kept(cg, dir, file, buf, sizeof buf);
    return n < 0 ? (int)n : parse_u64(buf, v);
}

int cg_keyed_u64(const char *buf, const char *key, uint64_t *v)
{
    size_t klen = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            *v = strtoull(p + klen + 1, NULL, 10);
            return 0;
        }
    }
    return -ENOENT;
}

int cg_read_pids(int dirfd, pid_t *pids, int max)
{
    int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_fclose_ FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        return -e;
    }
    int n = 0, pid;
    while (n < max && fscanf(f, "%d", &pid) == 1)
        pids[n++] = pid;
    return n;
}

bool cg_file_exists(int dirfd, const char *file)
{
    return faccessat(dirfd, file, F_OK, 0) == 0;
}

uint64_t cg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool cg_swap_on(void)
{
    char buf[256];
    ssize_t n = cg_read(AT_FDCWD, "/proc/swaps", buf, sizeof buf);
    /* A header line, then one line per active swap area. */
    char *nl = n > 0 ? strchr(buf, '\n') : NULL;
    return nl && nl[1] != '\0';
}
