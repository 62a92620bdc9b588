/* Host files the launcher opens for a job (the result JSON, the policy's
 * stdio files) may lie in a directory the job can write (a --bind-rw):
 * while it runs, the job can plant a symlink to any host file there, or a
 * FIFO that blocks whoever opens it. These helpers never follow a symlink
 * in the last component, never block on a FIFO or device, and take only
 * regular files; each error names the flag or field. */
#ifndef SBX_COMMON_HOSTFILE_H
#define SBX_COMMON_HOSTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Opens path (O_RDONLY or O_WRONLY [| O_CREAT] [| O_TRUNC] [| O_APPEND]):
 * a symlink as its last component is refused, a FIFO or device is refused
 * without blocking, and O_TRUNC truncates only once the file is known to be
 * regular. Returns the fd (blocking, O_CLOEXEC) or -errno. */
int sbx_hostfile_open(const char *what, const char *path, int flags, mode_t mode,
                      struct sbx_err *err);

/* A file to be written after the job ends, pinned before it starts: the
 * directory is opened now, so that the job cannot redirect it later by
 * replacing a parent with a symlink, and the file is written to a fresh
 * name and renamed over the last component, so that a symlink or FIFO the
 * job planted there is replaced, never followed or opened. */
struct sbx_outfile {
    int dirfd;
    char *base;
    const char *what;
    const char *path;
};

/* Pins path's directory. An existing path that is not a regular file is an
 * error naming `what`. out is zeroed (dirfd -1) first, also on failure. */
int sbx_outfile_prepare(struct sbx_outfile *out, const char *what, const char *path,
                        struct sbx_err *err);
/* Writes len bytes as the whole new content of the file. */
int sbx_outfile_write(struct sbx_outfile *out, const void *buf, size_t len, struct sbx_err *err);
void sbx_outfile_close(struct sbx_outfile *out);

/* mkdir -p: the directories above path are made 0755 if missing, path
 * itself with mode; what exists already is left as it is (its owner and
 * mode are the caller's to check). 0 or -errno. */
int sbx_mkdir_p(const char *path, mode_t mode);

#endif
