/* A run of a prepared sandbox (a warm pool's, a session's): the request's
 * policy may set only the fields that can differ per run; anything else
 * must be the sandbox's own or unset, since the sandbox is already built
 * with it. Field by field through protobuf-c's descriptors, so that a field
 * added to JobPolicy later is refused until it is listed as per-run. */
#include "runmerge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* The per-run fields of JobPolicy and of its Limits. */
static const char *const run_fields[] = {"command", "args", "env", "cwd", "stdio", "limits", NULL};
static const char *const fixed_limits[] = {"cpu_weight", "cpuset", NULL};

static bool listed(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return sizeof(void *);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 4;
    }
}

static bool field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)(base + f->quantifier_offset) > 0;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)(base + f->offset) != NULL;
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

/* The wire bytes of field f of m alone (NULL when out of memory). */
static uint8_t *field_bytes(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                            size_t *len)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    _cleanup_free_ void *tmp = calloc(1, d->sizeof_message);
    if (!tmp)
        return NULL;
    d->message_init((ProtobufCMessage *)tmp);
    memcpy((char *)tmp + f->offset, (const char *)m + f->offset, value_size(f));
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        memcpy((char *)tmp + f->quantifier_offset, (const char *)m + f->quantifier_offset,
               sizeof(size_t));
    else if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        memcpy((char *)tmp + f->quantifier_offset, (const char *)m + f->quantifier_offset,
               sizeof(protobuf_c_boolean));
    *len = protobuf_c_message_get_packed_size(tmp);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(tmp, buf);
    return buf;
}

/* Every field of req outside allowed must be unset or equal to base's. */
static int check_fixed(const ProtobufCMessage *req, const ProtobufCMessage *base,
                       const char *const *allowed, const char *prefix, const char *what,
                       struct sbx_err *err)
{
    const ProtobufCMessageDescriptor *d = req->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (listed(allowed, f->name) || !field_set(req, f))
            continue;
        bool same = false;
        if (field_set(base, f)) {
            size_t a, b;
            _cleanup_free_ uint8_t *x = field_bytes(req, f, &a);
            _cleanup_free_ uint8_t *y = field_bytes(base, f, &b);
            if (!x || !y)
                return sbx_err_set(err, ENOMEM, "out of memory");
            same = a == b && memcmp(x, y, a) == 0;
        }
        if (!same)
            return sbx_err_set(err, EINVAL, "%s%s: differs from %s's (only command, args, env, "
                               "cwd, stdio and limits that narrow it may differ per run)",
                               prefix, f->name, what);
    }
    return 0;
}

static int env_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (int)(eq - kv) : (int)strlen(kv);
}

/* base's env with req's entries replacing those of the same name. */
static int merge_env(JobPolicy *m, const JobPolicy *req)
{
    size_t n = m->n_env;
    char **env = calloc(n + req->n_env + 1, sizeof *env);
    if (!env)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < req->n_env && !replaced; j++)
            replaced = env_key_len(m->env[i]) == env_key_len(req->env[j]) &&
                       strncmp(m->env[i], req->env[j], (size_t)env_key_len(m->env[i])) == 0;
        if (replaced)
            free(m->env[i]);
        else
            env[k++] = m->env[i];
    }
    bool ok = true;
    for (size_t j = 0; j < req->n_env; j++)
        ok = ok && (env[k++] = strdup(req->env[j])) != NULL;
    free(m->env);
    m->env = env;
    m->n_env = k;
    return ok ? 0 : -ENOMEM;
}

int sbx_policy_run_merge(const JobPolicy *base, const JobPolicy *req, const char *what,
                         JobPolicy **out, struct sbx_err *err)
{
    *out = NULL;
    int r = check_fixed(&req->base, &base->base, run_fields, "", what, err);
    if (r < 0)
        return r;
    if (req->limits) {
        /* Of the limits, only these are the sandbox's for good. */
        const ProtobufCMessageDescriptor *d = req->limits->base.descriptor;
        for (size_t i = 0; fixed_limits[i]; i++) {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
                d, fixed_limits[i]);
            if (!f || !field_set(&req->limits->base, f))
                continue;
            bool same = false;
            if (base->limits && field_set(&base->limits->base, f)) {
                size_t a, b;
                _cleanup_free_ uint8_t *x = field_bytes(&req->limits->base, f, &a);
                _cleanup_free_ uint8_t *y = field_bytes(&base->limits->base, f, &b);
                if (!x || !y)
                    return sbx_err_set(err, ENOMEM, "out of memory");
                same = a == b && memcmp(x, y, a) == 0;
            }
            if (!same)
                return sbx_err_set(err, EINVAL, "limits.%s: differs from %s's (a sandbox's "
                                   "CPUs and CPU weight are fixed when it is built)",
                                   f->name, what);
        }
    }
    /* Protobuf's own merge: base's bytes, then the run's fields', unpacked
     * together (a later singular field wins, messages merge field by field,
     * repeated ones add up: args and env are set apart first). */
    JobPolicy run = SBX__V1__JOB_POLICY__INIT;
    run.command = req->command;
    run.cwd = req->cwd;
    run.stdio = req->stdio;
    run.limits = req->limits;
    run.n_args = req->n_args;
    run.args = req->args;
    JobPolicy b = *base;
    if (req->n_args || req->command) {
        /* A new command comes with its own arguments, never the base's. */
        b.n_args = 0;
        b.args = NULL;
    }
    size_t lb = protobuf_c_message_get_packed_size(&b.base);
    size_t lr = protobuf_c_message_get_packed_size(&run.base);
    _cleanup_free_ uint8_t *buf = malloc(lb + lr + 1);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    protobuf_c_message_pack(&b.base, buf);
    protobuf_c_message_pack(&run.base, buf + lb);
    JobPolicy *m = (JobPolicy *)protobuf_c_message_unpack(&sbx__v1__job_policy__descriptor, NULL,
                                                          lb + lr, buf);
    if (!m)
        return sbx_err_set(err, ENOMEM, "out of memory");
    if (merge_env(m, req) < 0) {
        sbx_policy_free(m);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    *out = m;
    return 0;
}

#define NARROW(field, name, fmt)                                                                  \
    do {                                                                                          \
        if (base->limits.field && (!run->limits.field || run->limits.field > base->limits.field)) \
            return sbx_err_set(err, EPERM,                                                        \
                               "limits." name ": " fmt " is above %s's " fmt                     \
                               " (a run may only narrow it)",                                     \
                               run->limits.field, what, base->limits.field);                      \
    } while (0)

int sbx_spec_run_narrows(const struct sbx_spec *base, const struct sbx_spec *run, const char *what,
                         struct sbx_err *err)
{
    NARROW(memory, "memory", "%" PRIu64);
    NARROW(pids, "pids", "%" PRIu32);
    NARROW(cpus, "cpus", "%g");
    NARROW(cpu_time_ns, "cpu_time", "%" PRId64 " ns");
    NARROW(wall_time_ns, "wall_time", "%" PRId64 " ns");
    NARROW(output, "output", "%" PRIu64);
    NARROW(open_files, "open_files", "%" PRIu64);
    NARROW(stack, "stack", "%" PRIu64);
    NARROW(pending_signals, "pending_signals", "%" PRIu32);
    NARROW(msgqueue, "msgqueue", "%" PRIu64);
    if (run->limits.core > base->limits.core)
        return sbx_err_set(err, EPERM, "limits.core: %" PRIu64 " is above %s's %" PRIu64
                           " (a run may only narrow it)", run->limits.core, what,
                           base->limits.core);
    return 0;
}
