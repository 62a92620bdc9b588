/* Scope-bound cleanup helpers (as systemd does): a variable declared with one
 * of these is released when it goes out of scope, so error paths are plain
 * `return`s instead of goto ladders. Use take_fd()/take_ptr() to hand a
 * resource on to the caller. */
#ifndef SBX_COMMON_CLEANUP_H
#define SBX_COMMON_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void sbx_freep(void *p)
{
    free(*(void **)p);
}

static inline void sbx_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void sbx_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void sbx_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

#define _cleanup_free_ _cleanup_(sbx_freep)
#define _cleanup_close_ _cleanup_(sbx_closep)
#define _cleanup_fclose_ _cleanup_(sbx_fclosep)
#define _cleanup_closedir_ _cleanup_(sbx_closedirp)

static inline int sbx_take_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

static inline void *sbx_take_ptr_(void **p)
{
    void *r = *p;
    *p = NULL;
    return r;
}
#define take_fd(fd) sbx_take_fd(&(fd))
#define take_ptr(p) sbx_take_ptr_((void **)&(p))

#endif
