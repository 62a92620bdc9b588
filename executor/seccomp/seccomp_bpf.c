/* Seccomp: a parsed profile to a BPF program, through libseccomp. The one
 * place that compiles; seccomp_cache.c remembers its output and seccomp.c
 * asks the cache, so the three depend on each other in one direction only. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "seccomp_internal.h"

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

static int load_rules(scmp_filter_ctx ctx, const struct sbx_sc_profile *p, const char *what,
                      struct sbx_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct sbx_sc_rule *r = &p->rules[i];
        /* Pseudo numbers are calls that do not exist on x86_64 (stime,
         * vm86...): nothing to filter, and bad-arch covers i386. A rule with
         * the default action can only come from an include whose default
         * was overridden; it does nothing, and libseccomp refuses it. */
        if (r->nr < 0 || r->action == p->def_action)
            continue;
        struct scmp_arg_cmp cmp[SBX_SC_MAX_COND];
        for (unsigned c = 0; c < r->ncond; c++)
            cmp[c] = (struct scmp_arg_cmp){.arg = r->cond[c].arg, .op = r->cond[c].op,
                                           .datum_a = r->cond[c].a, .datum_b = r->cond[c].b};
        int e = seccomp_rule_add_array(ctx, r->action, r->nr, r->ncond, cmp);
        if (e < 0) {
            _cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, r->nr);
            if (r->line)
                return sbx_err_sys(err, -e, "seccomp profile %s: line %u: %s: libseccomp refused "
                                            "the rule", what, r->line, name ? name : "?");
            return sbx_err_sys(err, -e, "seccomp profile %s: %s: libseccomp refused the rule", what,
                               name ? name : "?");
        }
    }
    return 0;
}

/* libseccomp 2.5 can only export into a file descriptor: use a memfd and
 * read the program back. */
static int export_bpf(scmp_filter_ctx ctx, const char *what, struct sock_filter **filter,
                      unsigned short *len, struct sbx_err *err)
{
    _cleanup_close_ int fd = memfd_create("sbx-seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return sbx_err_sys(err, errno, "seccomp profile %s: memfd_create", what);
    int e = seccomp_export_bpf(ctx, fd);
    if (e < 0)
        return sbx_err_sys(err, -e, "seccomp profile %s: exporting BPF", what);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "seccomp profile %s: fstat of the BPF memfd", what);
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return sbx_err_set(err, EIO, "seccomp profile %s: libseccomp exported %zu bytes", what,
                           size);
    size_t count = size / sizeof(struct sock_filter);
    if (count > BPF_MAXINSNS)
        return sbx_err_set(err, E2BIG,
                           "seccomp profile %s: %zu BPF instructions, more than the kernel's %d: "
                           "too many rules",
                           what, count, BPF_MAXINSNS);
    _cleanup_free_ struct sock_filter *buf = malloc(size);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "seccomp profile %s: out of memory", what);
    for (size_t done = 0; done < size;) {
        ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sbx_err_sys(err, n < 0 ? errno : EIO, "seccomp profile %s: reading BPF back",
                               what);
        done += (size_t)n;
    }
    *filter = take_ptr(buf);
    *len = (unsigned short)count;
    return 0;
}

int sbx_sc_to_bpf(const struct sbx_sc_profile *p, const char *what, struct sock_filter **filter,
                  unsigned short *len, struct sbx_err *err)
{
    _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(p->def_action);
    if (!ctx)
        return sbx_err_set(err, EINVAL, "seccomp profile %s: libseccomp refused the default action",
                           what);
    /* Only the native arch is in the filter: i386 (int $0x80) and anything
     * else hit the bad-arch action. libseccomp also sends x32 numbers (the
     * 0x40000000 bit) of an x86_64-only filter to the bad-arch action; the
     * unit test checks that, so no explicit rule is needed. */
    int e = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p->badarch_action);
    /* We only export: whoever installs sets no_new_privs itself. */
    if (e == 0)
        e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (e < 0)
        return sbx_err_sys(err, -e, "seccomp profile %s: setting filter attributes", what);
    /* A binary tree of syscall numbers instead of a linear list: the default
     * profile has a hundred-odd rules, checked on every system call. */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

    int r = load_rules(ctx, p, what, err);
    if (r < 0)
        return r;
    return export_bpf(ctx, what, filter, len, err);
}
