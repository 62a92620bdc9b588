/* Seccomp: compiling a profile into BPF (launcher), installing it (job, between
 * fork and exec), and reading a violation (supervisor). See seccomp.h. */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "seccomp_cache.h"
#include "seccomp_internal.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* Profile files are small; a bound keeps a wrong path (a device, a huge
 * file) from eating memory. */
#define SBX_SC_FILE_MAX (1 << 20)

static bool uses_notify(const struct sbx_sc_profile *p)
{
    if (p->def_action == SCMP_ACT_NOTIFY || p->badarch_action == SCMP_ACT_NOTIFY)
        return true;
    for (size_t i = 0; i < p->n; i++)
        if (p->rules[i].action == SCMP_ACT_NOTIFY)
            return true;
    return false;
}

static int compile_profile(const struct sbx_sc_profile *p, const char *what,
                           struct sbx_seccomp **out, struct sbx_err *err)
{
    struct sbx_seccomp *s = calloc(1, sizeof *s);
    if (!s)
        return sbx_err_set(err, ENOMEM, "seccomp profile %s: out of memory", what);
    int r = sbx_sc_to_bpf_cached(p, what, &s->prog.filter, &s->prog.len, err);
    if (r < 0) {
        free(s);
        return r;
    }
    s->wants_listener = uses_notify(p);
    *out = s;
    return 0;
}

int sbx_seccomp_compile_text(const char *name, const char *text, size_t len,
                             struct sbx_seccomp **out, struct sbx_err *err)
{
    *out = NULL;
    struct sbx_sc_profile p = {0};
    int r = sbx_sc_parse(name, text, len, &p, err);
    if (r == 0)
        r = compile_profile(&p, name, out, err);
    sbx_sc_profile_clear(&p);
    return r;
}

static int read_file(const char *path, char **text, size_t *len, struct sbx_err *err)
{
    /* O_NONBLOCK: a FIFO at the path must not hang the launcher (it is
     * refused below as not a regular file). */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return sbx_err_sys(err, errno,
                           "seccomp profile \"%s\": not default, strict or none, and cannot open it",
                           path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "seccomp profile %s: fstat", path);
    if (!S_ISREG(st.st_mode))
        return sbx_err_set(err, EINVAL, "seccomp profile %s: not a regular file", path);
    if (st.st_size > SBX_SC_FILE_MAX)
        return sbx_err_set(err, EFBIG, "seccomp profile %s: larger than %d bytes", path,
                           SBX_SC_FILE_MAX);
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "seccomp profile %s: out of memory", path);
    size_t done = 0;
    for (;;) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sbx_err_sys(err, errno, "seccomp profile %s: read", path);
        if (n == 0 || done + (size_t)n == (size_t)st.st_size) {
            done += (size_t)n;
            break;
        }
        done += (size_t)n;
    }
    *len = done;
    *text = take_ptr(buf);
    return 0;
}

int sbx_seccomp_compile(const char *profile, struct sbx_seccomp **out, struct sbx_err *err)
{
    *out = NULL;
    if (!profile || !*profile)
        return sbx_err_set(err, EINVAL, "seccomp profile: empty name");
    if (strcmp(profile, "none") == 0)
        return 0;

    struct sbx_sc_profile p = {0};
    int r = sbx_sc_builtin(profile, &p, err);
    if (r == 0) {
        r = compile_profile(&p, profile, out, err);
        sbx_sc_profile_clear(&p);
        if (r == 0)
            (*out)->init_may_hold = strcmp(profile, "default") == 0;
        return r;
    }
    if (r != -ENOENT)
        return r;

    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    r = read_file(profile, &text, &len, err);
    if (r < 0)
        return r;
    return sbx_seccomp_compile_text(profile, text, len, out, err);
}

void sbx_seccomp_free(struct sbx_seccomp *s)
{
    if (!s)
        return;
    free(s->prog.filter);
    free(s);
}

/* Runs between fork and exec: no allocation, no libseccomp, no stdio. */
int sbx_seccomp_install(const struct sbx_seccomp *s, int *listener)
{
    *listener = -1;
    if (!s)
        return 0;
    unsigned flags = s->wants_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &s->prog);
    if (r < 0)
        return -errno;
    /* 0-2 are always open here, so a listener is a new fd above them: a
     * smaller answer means an earlier filter (an OCI spec's) answered
     * seccomp() itself and ours is not in. */
    if (s->wants_listener && r <= 2)
        return -EPERM;
    if (s->wants_listener)
        *listener = (int)r;
    return 0;
}

/* The kernel copies its own struct seccomp_notif, which may be larger than
 * the one in our headers; ask for its size so that a newer kernel cannot
 * write past our buffer. */
static size_t notif_size(void)
{
    struct seccomp_notif_sizes sizes = {0};
    size_t size = sizeof(struct seccomp_notif);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > size)
        size = sizes.seccomp_notif;
    return size;
}

static void name_call(uint32_t arch, int nr, char *name, size_t name_len)
{
    const char *arch_name = NULL;
    uint32_t scmp_arch = arch;
    if (arch == AUDIT_ARCH_X86_64 && (nr & __X32_SYSCALL_BIT)) {
        arch_name = "x32";
        scmp_arch = SCMP_ARCH_X32;
    } else if (arch == AUDIT_ARCH_I386) {
        arch_name = "i386";
    } else if (arch != AUDIT_ARCH_X86_64) {
        snprintf(name, name_len, "syscall %d (arch 0x%x)", nr, arch);
        return;
    }

    _cleanup_free_ char *resolved = seccomp_syscall_resolve_num_arch(scmp_arch, nr);
    const char *known = resolved;
    if (!known && !arch_name)
        known = sbx_sc_newer_name(nr);
    if (known && arch_name)
        snprintf(name, name_len, "%s (%s)", known, arch_name);
    else if (known)
        snprintf(name, name_len, "%s", known);
    else if (arch_name)
        snprintf(name, name_len, "syscall %d (%s)", nr, arch_name);
    else
        snprintf(name, name_len, "syscall %d", nr);
}

int sbx_seccomp_notif_read(int listener, char *name, size_t name_len)
{
    size_t size = notif_size();
    _cleanup_free_ struct seccomp_notif *req = malloc(size);
    if (!req)
        return -ENOMEM;
    for (;;) {
        /* The kernel refuses a buffer that is not zeroed. */
        memset(req, 0, size);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
            break;
        if (errno != EINTR)
            return -errno;
    }
    if (name && name_len)
        name_call(req->data.arch, req->data.nr, name, name_len);
    return 0;
}
