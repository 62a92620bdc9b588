#include "runspec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

#define RUNSPEC_MAGIC 0x73627872u /* "sbxr" */
#define RUNSPEC_MAX ((size_t)64 << 20)

typedef __typeof__(((struct sbx_spec *)0)->limits) run_limits;

/* The launcher and the run's PID 1 are the same program (the child is a
 * clone of the launcher), so the header is a plain struct. */
struct wire {
    uint32_t magic, uid, gid, argc, envc, pad;
    uint64_t strings;   /* bytes of NUL-terminated strings after the header */
    run_limits limits;  /* cpuset is the sandbox's: its pointer is not used */
};

static size_t count(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

int sbx_runspec_encode(const struct sbx_spec *spec, struct sbx_err *err)
{
    size_t argc = count(spec->argv), envc = count(spec->envp);
    size_t len = strlen(spec->command) + 1 + strlen(spec->cwd) + 1;
    for (size_t i = 0; i < argc; i++)
        len += strlen(spec->argv[i]) + 1;
    for (size_t i = 0; i < envc; i++)
        len += strlen(spec->envp[i]) + 1;
    if (len > RUNSPEC_MAX || argc > UINT32_MAX || envc > UINT32_MAX)
        return sbx_err_set(err, E2BIG, "run: command, arguments and environment are too large");
    struct wire w = {.magic = RUNSPEC_MAGIC, .uid = spec->uid, .gid = spec->gid,
                     .argc = (uint32_t)argc, .envc = (uint32_t)envc, .strings = len,
                     .limits = spec->limits};
    w.limits.cpuset = NULL;
    _cleanup_free_ char *buf = malloc(sizeof w + len);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    memcpy(buf, &w, sizeof w);
    char *p = buf + sizeof w;
    p = stpcpy(p, spec->command) + 1;
    p = stpcpy(p, spec->cwd) + 1;
    for (size_t i = 0; i < argc; i++)
        p = stpcpy(p, spec->argv[i]) + 1;
    for (size_t i = 0; i < envc; i++)
        p = stpcpy(p, spec->envp[i]) + 1;
    int fd = memfd_create("sbx-run", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return sbx_err_sys(err, errno, "run: memfd_create");
    size_t total = sizeof w + len;
    for (size_t off = 0; off < total;) {
        ssize_t n = write(fd, buf + off, total - off);
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return sbx_err_sys(err, e, "run: writing the run's spec");
        }
        off += (size_t)n;
    }
    /* The run reads what the launcher wrote, and nothing else can change it. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return sbx_err_sys(err, e, "run: sealing the run's spec");
    }
    return fd;
}

/* The next string of [*p, end), NUL-terminated inside it, or NULL. */
static char *next_string(char **p, char *end)
{
    char *s = *p, *nul = memchr(s, '\0', (size_t)(end - s));
    if (!nul)
        return NULL;
    *p = nul + 1;
    return s;
}

int sbx_runspec_decode(int fd, const struct sbx_spec *base, struct sbx_spec *out, char **storage,
                       struct sbx_err *err)
{
    *storage = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "run: reading the run's spec");
    if ((size_t)st.st_size < sizeof(struct wire) || (size_t)st.st_size > sizeof(struct wire) + RUNSPEC_MAX)
        return sbx_err_set(err, EPROTO, "run: the run's spec has a bad size");
    size_t total = (size_t)st.st_size;
    _cleanup_free_ char *buf = malloc(total);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (pread(fd, buf, total, 0) != (ssize_t)total)
        return sbx_err_sys(err, EIO, "run: reading the run's spec");
    struct wire w;
    memcpy(&w, buf, sizeof w);
    if (w.magic != RUNSPEC_MAGIC || w.strings != total - sizeof w || w.argc == 0)
        return sbx_err_set(err, EPROTO, "run: the run's spec is malformed");
    char **vec = calloc((size_t)w.argc + w.envc + 2, sizeof(char *));
    if (!vec)
        return sbx_err_set(err, ENOMEM, "out of memory");
    *out = *base;
    char *p = buf + sizeof w, *end = buf + total;
    out->command = next_string(&p, end);
    out->cwd = next_string(&p, end);
    out->argv = vec;
    out->envp = vec + w.argc + 1;
    bool ok = out->command && out->cwd;
    for (uint32_t i = 0; ok && i < w.argc; i++)
        ok = (vec[i] = next_string(&p, end)) != NULL;
    for (uint32_t i = 0; ok && i < w.envc; i++)
        ok = (out->envp[i] = next_string(&p, end)) != NULL;
    if (!ok || p != end) {
        free(vec);
        return sbx_err_set(err, EPROTO, "run: the run's spec is malformed");
    }
    out->uid = w.uid;
    out->gid = w.gid;
    const char *cpuset = base->limits.cpuset;
    out->limits = w.limits;
    out->limits.cpuset = cpuset;
    *storage = take_ptr(buf);
    return 0;
}
