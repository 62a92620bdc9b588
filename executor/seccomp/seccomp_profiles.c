/* The built-in seccomp profiles as data. docs/seccomp.md explains every
 * group and compares it with Docker's default profile; keep the two in step. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "seccomp_internal.h"

#ifndef __x86_64__
#error "the seccomp profiles are written for x86_64"
#endif

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* x86_64 calls newer than some libseccomp 2.5.x releases know. Debian's
 * 2.5.4 knows up to 456; upstream 2.5.4 stops at 450. Numbers from the
 * kernel's arch/x86/entry/syscalls/syscall_64.tbl. */
static const struct {
    int nr;
    const char *name;
} newer[] = {
    {451, "cachestat"},        {452, "fchmodat2"},        {453, "map_shadow_stack"},
    {454, "futex_wake"},       {455, "futex_wait"},       {456, "futex_requeue"},
    {457, "statmount"},        {458, "listmount"},        {459, "lsm_get_self_attr"},
    {460, "lsm_set_self_attr"}, {461, "lsm_list_modules"}, {462, "mseal"},
    {463, "setxattrat"},       {464, "getxattrat"},       {465, "listxattrat"},
    {466, "removexattrat"},    {467, "open_tree_attr"},   {468, "file_getattr"},
    {469, "file_setattr"},
};

/* The default profile allows every call up to here (after review, above);
 * numbers from here to SBX_SC_GUARD_LAST get ENOSYS, so that a kernel newer
 * than this list does not silently widen an allow-by-default profile (libc
 * falls back on ENOSYS; it would not on EPERM). Native x86_64 numbers stop
 * below 512, where the x32-only range starts. */
#define SBX_SC_FIRST_UNREVIEWED 470
#define SBX_SC_GUARD_LAST 511

int sbx_sc_resolve_name(const char *name)
{
    int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
    if (nr != __NR_SCMP_ERROR)
        return nr;
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++)
        if (strcmp(newer[i].name, name) == 0)
            return newer[i].nr;
    return __NR_SCMP_ERROR;
}

const char *sbx_sc_newer_name(int nr)
{
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++)
        if (newer[i].nr == nr)
            return newer[i].name;
    return NULL;
}

void sbx_sc_profile_clear(struct sbx_sc_profile *p)
{
    free(p->rules);
    memset(p, 0, sizeof *p);
}

int sbx_sc_profile_add(struct sbx_sc_profile *p, const struct sbx_sc_rule *r)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct sbx_sc_rule *n = realloc(p->rules, cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        p->rules = n;
        p->cap = cap;
    }
    p->rules[p->n++] = *r;
    return 0;
}

static int add_names(struct sbx_sc_profile *p, uint32_t action, const char *const *names,
                     struct sbx_err *err)
{
    for (; *names; names++) {
        int nr = sbx_sc_resolve_name(*names);
        /* A typo in a table is a bug here, not the user's: fail loudly so
         * that the unit test catches it. */
        if (nr == __NR_SCMP_ERROR)
            return sbx_err_set(err, EINVAL, "built-in seccomp profile: unknown system call \"%s\"",
                               *names);
        struct sbx_sc_rule r = {.nr = nr, .action = action, .included = true};
        if (sbx_sc_profile_add(p, &r) < 0)
            return sbx_err_set(err, ENOMEM, "built-in seccomp profile: out of memory");
    }
    return 0;
}

static int add_cond(struct sbx_sc_profile *p, const char *name, uint32_t action, unsigned arg,
                    enum scmp_compare op, uint64_t a, uint64_t b, struct sbx_err *err)
{
    int nr = sbx_sc_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return sbx_err_set(err, EINVAL, "built-in seccomp profile: unknown system call \"%s\"", name);
    struct sbx_sc_rule r = {.nr = nr, .action = action, .ncond = 1, .included = true};
    r.cond[0] = (struct sbx_sc_cond){.arg = arg, .op = op, .a = a, .b = b};
    if (sbx_sc_profile_add(p, &r) < 0)
        return sbx_err_set(err, ENOMEM, "built-in seccomp profile: out of memory");
    return 0;
}

/* ---------------------------------------------------------------- default */

static const char *const default_eperm[] = {
    /* kernel keyring: not namespaced, a long CVE history */
    "add_key", "request_key", "keyctl",
    /* large kernel attack surfaces an unprivileged job has no use for */
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "fanotify_init", "lookup_dcookie",
    /* kernel code and the machine itself */
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "get_kernel_syms", "query_module", "reboot", "swapon", "swapoff", "acct",
    "ioperm", "iopl", "syslog", "vhangup", "quotactl", "quotactl_fd", "nfsservctl",
    /* mounts, old and new API */
    "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_tree", "open_tree_attr", "move_mount", "mount_setattr",
    /* namespaces (clone and clone3 are handled below) */
    "unshare", "setns", "sethostname", "setdomainname",
    /* clocks are not namespaced (the time namespace only offsets reads) */
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    /* file handles bypass path-based confinement (the "shocker" escape) */
    "open_by_handle_at", "name_to_handle_at",
    /* other processes' memory: see docs/seccomp.md for why ptrace is denied */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "process_madvise",
    /* NUMA policy: Docker denies these without CAP_SYS_NICE */
    "mbind", "move_pages", "migrate_pages", "set_mempolicy", "get_mempolicy",
    "set_mempolicy_home_node",
    /* obsolete or unimplemented; denied for parity with Docker */
    "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old", "afs_syscall", "getpmsg",
    "putpmsg", "security", "tuxcall", "vserver",
    NULL,
};

/* clone(2) takes its flags in a register, so namespace creation can be
 * filtered: one rule per CLONE_NEW* bit (libseccomp has no "any of these
 * bits" test). CLONE_NEWTIME is not listed: in clone(2) that bit is part of
 * the exit signal; only clone3 and unshare take it, and both are denied. */
static const uint64_t clone_ns_flags[] = {
    CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* personality(2): EPERM unless the argument is one Docker allows: 0
 * (PER_LINUX), 8 (PER_LINUX32), 0x20000 (UNAME26), 0x20008, or 0xffffffff
 * (query). libseccomp takes one comparison per argument per rule, so the
 * complement of that set is written as a union of masked tests on the low 32
 * bits (the kernel takes an unsigned int):
 *   - for each bit k other than 3 and 17: bit k set and bit k+1 (mod 32)
 *     clear;
 *   - for k = 3 and 17: bits k-1 and k set and bit k+1 clear;
 *   - and anything above 32 bits.
 * Why this is exact: a value outside the set has a forbidden bit d set and is
 * not all ones, so walking up from d (cyclically) reaches a set bit k followed
 * by a clear one; if k is 3 or 17, the run of ones has more than d = k, so bit
 * k-1 is set too. The allowed values have no such k: 0 and 0xffffffff have no
 * set-then-clear step, and in 8, 0x20000, 0x20008 the only steps are at bits
 * 3 and 17 with bit k-1 clear. The unit test checks values both ways. */
static int add_personality(struct sbx_sc_profile *p, uint32_t action, struct sbx_err *err)
{
    for (unsigned k = 0; k < 32; k++) {
        uint64_t bit = 1ULL << k, next = 1ULL << ((k + 1) % 32);
        uint64_t mask = bit | next, value = bit;
        if (k == 3 || k == 17) {
            mask |= bit >> 1;
            value |= bit >> 1;
        }
        int r = add_cond(p, "personality", action, 0, SCMP_CMP_MASKED_EQ, mask, value, err);
        if (r < 0)
            return r;
    }
    return add_cond(p, "personality", action, 0, SCMP_CMP_GT, 0xffffffffULL, 0, err);
}

static int builtin_default(struct sbx_sc_profile *p, struct sbx_err *err)
{
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
    p->def_action = SCMP_ACT_ALLOW;
    p->badarch_action = SBX_SC_KILL;

    int r = add_names(p, eperm, default_eperm, err);
    for (size_t i = 0; r == 0 && i < sizeof clone_ns_flags / sizeof clone_ns_flags[0]; i++)
        r = add_cond(p, "clone", eperm, 0, SCMP_CMP_MASKED_EQ, clone_ns_flags[i],
                     clone_ns_flags[i], err);
    /* clone3's flags sit in a struct in memory, out of seccomp's reach: say
     * it does not exist, and glibc falls back to clone (as Docker does). */
    if (r == 0)
        r = add_names(p, SCMP_ACT_ERRNO(ENOSYS), (const char *const[]){"clone3", NULL}, err);
    /* Terminal injection into the caller's terminal. The kernel truncates
     * the command to 32 bits, so compare only those: a full 64-bit equality
     * would let 0x100005412 through as TIOCSTI. */
    if (r == 0)
        r = add_cond(p, "ioctl", eperm, 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCSTI, err);
    if (r == 0)
        r = add_cond(p, "ioctl", eperm, 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, TIOCLINUX, err);
    /* vsock is not network-namespaced: it reaches the host or hypervisor
     * from an "empty" network namespace. Docker denies it too. */
    if (r == 0)
        r = add_cond(p, "socket", eperm, 0, SCMP_CMP_MASKED_EQ, 0xffffffffULL, AF_VSOCK, err);
    if (r == 0)
        r = add_personality(p, eperm, err);
    for (int nr = SBX_SC_FIRST_UNREVIEWED; r == 0 && nr <= SBX_SC_GUARD_LAST; nr++) {
        struct sbx_sc_rule rule = {.nr = nr, .action = SCMP_ACT_ERRNO(ENOSYS), .included = true};
        if (sbx_sc_profile_add(p, &rule) < 0)
            r = sbx_err_set(err, ENOMEM, "built-in seccomp profile: out of memory");
    }
    return r;
}

/* ----------------------------------------------------------------- strict */

/* What a single-threaded judged program (C, C++, Pascal, Rust) needs from
 * its first instruction after exec to its exit, the dynamic loader included.
 * No fork, no threads, no sockets, no writes to opened files: output goes to
 * the inherited stdout and stderr. */
static const char *const strict_allow[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close",
    "fstat", "stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getcwd", "fadvise64", "dup", "dup2", "dup3",
    "pipe", "pipe2",
    /* cat and friends copy in the kernel; no more than read plus write */
    "copy_file_range", "sendfile",
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    "exit", "exit_group", "restart_syscall",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getrusage", "times", "sched_yield", "sched_getaffinity",
    "getrandom", "futex", "set_tid_address", "set_robust_list", "rseq", "arch_prctl",
    "getrlimit", "uname", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
    "getegid", "getresuid", "getresgid",
    /* the exec that starts the program; the job's PID namespace and its
     * mount namespace bound what a later exec can reach */
    "execve",
    NULL,
};

static int builtin_strict(struct sbx_sc_profile *p, struct sbx_err *err)
{
    p->def_action = SBX_SC_KILL;
    p->badarch_action = SBX_SC_KILL;
    int r = add_names(p, SCMP_ACT_ALLOW, strict_allow, err);
    /* Opening for reading only: no write access, no O_CREAT, no O_TRUNC
     * (which truncates even with O_RDONLY). */
    const uint64_t open_mask = O_ACCMODE | O_CREAT | O_TRUNC;
    if (r == 0)
        r = add_cond(p, "openat", SCMP_ACT_ALLOW, 2, SCMP_CMP_MASKED_EQ, open_mask, O_RDONLY, err);
    if (r == 0)
        r = add_cond(p, "open", SCMP_ACT_ALLOW, 1, SCMP_CMP_MASKED_EQ, open_mask, O_RDONLY, err);
    /* fcntl without its lock, lease and notify commands: an advisory lock
     * on a file two concurrent jobs both see (a shared read-only bind) is
     * a channel between them, read with F_GETLK. The kernel takes the
     * command as an unsigned int: compare the low 32 bits. */
    static const uint64_t fcntl_ok[] = {F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
                                        F_DUPFD_CLOEXEC, F_GETPIPE_SZ};
    for (size_t i = 0; r == 0 && i < sizeof fcntl_ok / sizeof fcntl_ok[0]; i++)
        r = add_cond(p, "fcntl", SCMP_ACT_ALLOW, 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, fcntl_ok[i],
                     err);
    /* prlimit64 to read limits only: new_limit (arg 2) must be NULL. */
    if (r == 0)
        r = add_cond(p, "prlimit64", SCMP_ACT_ALLOW, 2, SCMP_CMP_EQ, 0, 0, err);
    /* isatty() and stdio buffering ask TCGETS; nothing else. */
    if (r == 0)
        r = add_cond(p, "ioctl", SCMP_ACT_ALLOW, 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, TCGETS, err);
    return r;
}

int sbx_sc_builtin(const char *name, struct sbx_sc_profile *p, struct sbx_err *err)
{
    int r;
    if (strcmp(name, "default") == 0)
        r = builtin_default(p, err);
    else if (strcmp(name, "strict") == 0)
        r = builtin_strict(p, err);
    else
        return -ENOENT;
    if (r < 0)
        sbx_sc_profile_clear(p);
    return r;
}
