/* linux.seccomp: the spec's own profile, compiled with libseccomp into a
 * second BPF program that the container's process installs next to sbx's
 * own filter (executor/job/jobexec.c). Both run for every call and the
 * kernel takes the strictest answer, so the spec can only take more away.
 * What cannot be honoured exactly (a notify listener, filter flags, an
 * action or operator sbx does not know) is refused, naming the field. */
#include "oci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/filter.h>
#include <seccomp.h>

#include "common/cleanup.h"

static void ctx_release(scmp_filter_ctx *c)
{
    if (*c)
        seccomp_release(*c);
}

/* An OCI action name (and its errnoRet) as libseccomp's action. */
static int action_of(const char *name, json_t *errno_ret, uint32_t *out, const char *field,
                     struct sbx_err *err)
{
    if (!name)
        return sbx_err_set(err, EINVAL, "%s: missing", field);
    json_int_t e = json_is_integer(errno_ret) ? json_integer_value(errno_ret) : EPERM;
    if (errno_ret && !json_is_integer(errno_ret))
        return sbx_err_set(err, EINVAL, "%s: errnoRet must be an integer", field);
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
        /* Errno 0 makes a call "succeed" without running: applied to
         * seccomp() it would pretend to install sbx's own filter, which
         * goes in after the spec's. */
        if (e < 1 || e > 4095)
            return sbx_err_set(err, EINVAL, "%s: errnoRet %" JSON_INTEGER_FORMAT
                               " is not within 1..4095 (0 would fake success)", field, e);
        *out = SCMP_ACT_ERRNO((uint32_t)e);
    } else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL; /* as runc: the thread */
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else
        /* SCMP_ACT_TRACE wants a tracer and SCMP_ACT_NOTIFY a listener the
         * engine runs: sbx has neither to give. */
        return sbx_err_set(err, ENOTSUP, "%s: %s is not supported by sbx-oci", field, name);
    return 0;
}

static int op_of(const char *name, enum scmp_compare *out)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    for (size_t i = 0; name && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(name, ops[i].name) == 0) {
            *out = ops[i].op;
            return 0;
        }
    return -EINVAL;
}

/* "SCMP_ARCH_X86_64" as libseccomp's token (its names are the suffix, in
 * lower case), or 0. */
static uint32_t arch_of(const char *name)
{
    if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name) > 40)
        return 0;
    char low[48];
    size_t i = 0;
    for (const char *c = name + 10; *c; c++)
        low[i++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    low[i] = '\0';
    return seccomp_arch_resolve_name(low);
}

static int add_rules(scmp_filter_ctx ctx, uint32_t def, json_t *sys, size_t i, struct sbx_err *err)
{
    char field[64];
    snprintf(field, sizeof field, "linux.seccomp.syscalls[%zu].action", i);
    uint32_t act;
    int r = action_of(json_string_value(json_object_get(sys, "action")),
                      json_object_get(sys, "errnoRet"), &act, field, err);
    if (r < 0)
        return r;
    json_t *args = json_object_get(sys, "args"), *names = json_object_get(sys, "names");
    if (!json_is_array(names))
        return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu].names: must be an array", i);
    if (args && !json_is_array(args))
        return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu].args: must be an array", i);
    size_t n = json_array_size(args);
    if (n > 6)
        return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu].args: more than 6", i);
    struct scmp_arg_cmp cmp[6];
    bool same_index = false;
    for (size_t k = 0; k < n; k++) {
        json_t *a = json_array_get(args, k);
        json_t *idx = json_object_get(a, "index");
        enum scmp_compare op;
        if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
            return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].index: not "
                                            "within 0..5", i, k);
        if (op_of(json_string_value(json_object_get(a, "op")), &op) < 0)
            return sbx_err_set(err, ENOTSUP, "linux.seccomp.syscalls[%zu].args[%zu].op: not a "
                                             "comparison sbx-oci knows", i, k);
        cmp[k] = (struct scmp_arg_cmp){
            .arg = (unsigned)json_integer_value(idx), .op = op,
            .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
            .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"))};
        for (size_t j = 0; j < k; j++)
            same_index = same_index || cmp[j].arg == cmp[k].arg;
    }
    if (act == def)
        return 0; /* libseccomp refuses a rule that repeats the default */
    size_t j;
    json_t *nm;
    json_array_foreach(names, j, nm) {
        const char *name = json_string_value(nm);
        if (!name)
            return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu].names[%zu]: must be a "
                                            "string", i, j);
        int nr = seccomp_syscall_resolve_name(name);
        /* As runc: a profile names calls newer than this libseccomp. */
        if (nr == __NR_SCMP_ERROR)
            continue;
        int e;
        if (same_index) {
            /* Several tests of one argument mean any of them (runc's
             * reading); libseccomp takes one test per argument per rule. */
            for (size_t k = 0; k < n; k++)
                if ((e = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k])) < 0)
                    goto refused;
            continue;
        }
        if ((e = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp)) < 0)
            goto refused;
        continue;
refused:
        return sbx_err_sys(err, -e, "linux.seccomp.syscalls[%zu]: %s: libseccomp refused the rule",
                           i, name);
    }
    return 0;
}

/* libseccomp 2.5 exports only into a file descriptor. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog, struct sbx_err *err)
{
    _cleanup_close_ int fd = memfd_create("sbx-oci-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return sbx_err_sys(err, errno, "linux.seccomp: memfd_create");
    int e = seccomp_export_bpf(ctx, fd);
    if (e < 0)
        return sbx_err_sys(err, -e, "linux.seccomp: exporting the BPF program");
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sbx_err_sys(err, errno, "linux.seccomp: fstat");
    size_t size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) || size / sizeof(struct sock_filter) >
                                                               BPF_MAXINSNS)
        return sbx_err_set(err, E2BIG, "linux.seccomp: a program of %zu bytes cannot be loaded",
                           size);
    _cleanup_free_ struct sock_filter *buf = malloc(size);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (pread(fd, buf, size, 0) != (ssize_t)size)
        return sbx_err_sys(err, EIO, "linux.seccomp: reading the BPF program back");
    prog->filter = take_ptr(buf);
    prog->len = (unsigned short)(size / sizeof(struct sock_filter));
    return 0;
}

int oci_seccomp_compile(json_t *sec, struct sock_fprog *prog, struct sbx_err *err)
{
    memset(prog, 0, sizeof *prog);
    if (!sec || json_is_null(sec))
        return 0;
    if (!json_is_object(sec))
        return sbx_err_set(err, EINVAL, "linux.seccomp: must be an object");
    if (json_array_size(json_object_get(sec, "flags")))
        return sbx_err_set(err, ENOTSUP, "linux.seccomp.flags: filter flags are not supported by "
                                         "sbx-oci");
    const char *lp = json_string_value(json_object_get(sec, "listenerPath"));
    if (lp && *lp)
        return sbx_err_set(err, ENOTSUP, "linux.seccomp.listenerPath: a notify listener is not "
                                         "supported by sbx-oci");
    uint32_t def;
    int r = action_of(json_string_value(json_object_get(sec, "defaultAction")),
                      json_object_get(sec, "defaultErrnoRet"), &def, "linux.seccomp.defaultAction",
                      err);
    if (r < 0)
        return r;
    _cleanup_(ctx_release) scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return sbx_err_set(err, EINVAL, "linux.seccomp.defaultAction: libseccomp refused it");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(sec, "architectures"), i, e) {
        uint32_t arch = arch_of(json_string_value(e));
        if (!arch)
            return sbx_err_set(err, EINVAL, "linux.seccomp.architectures[%zu]: not an "
                                            "architecture libseccomp knows", i);
        int a = seccomp_arch_add(ctx, arch);
        if (a < 0 && a != -EEXIST)
            return sbx_err_sys(err, -a, "linux.seccomp.architectures[%zu]", i);
    }
    json_t *sys = json_object_get(sec, "syscalls");
    if (sys && !json_is_array(sys))
        return sbx_err_set(err, EINVAL, "linux.seccomp.syscalls: must be an array");
    json_array_foreach(sys, i, e)
        if ((r = add_rules(ctx, def, e, i, err)) < 0)
            return r;
    return export_prog(ctx, prog, err);
}
