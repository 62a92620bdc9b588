/* Loading job policies from text, files and the wire format. The loaders
 * only build the message; every rule about the values is in validate.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/readfile.h"
#include "common/utf8.h"
#include "policy.h"
#include "textformat.h"

/* The same bound as the text parser's: a policy is small. */
#define POLICY_MAX_BYTES (4u << 20)

static void policy_freep(JobPolicy **p)
{
    sbx_policy_free(*p);
}

JobPolicy *sbx_policy_new(void)
{
    JobPolicy *p = malloc(sizeof *p);
    if (p)
        sbx__v1__job_policy__init(p);
    return p;
}

void sbx_policy_free(JobPolicy *p)
{
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
}

int sbx_policy_load_text(const char *text, size_t len, JobPolicy **out, struct sbx_err *err)
{
    ProtobufCMessage *m;
    int r = sbx_text_parse(&sbx__v1__job_policy__descriptor, text, len, &m, err);
    if (r < 0)
        return r;
    *out = (JobPolicy *)m;
    return 0;
}

int sbx_policy_load_file(const char *path, JobPolicy **out, struct sbx_err *err)
{
    *out = NULL;
    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = sbx_read_file(path, POLICY_MAX_BYTES, &buf, &len, err);
    if (r < 0)
        return r;
    r = sbx_policy_load_text(buf, len, out, err);
    if (r < 0)
        return sbx_err_wrap(err, "%s", path);
    return 0;
}

/* ---- the wire format ----
 *
 * protobuf-c's unpacker keeps unknown fields aside, lets a singular field
 * appear twice (last wins) and cuts strings at an embedded NUL without a
 * word. Walking the wire once before unpacking makes each of these an error
 * with a field path, as the text loader reports them. */

struct wire {
    const uint8_t *p, *end;
};

static int read_varint(struct wire *w, uint64_t *v)
{
    uint64_t acc = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (w->p >= w->end)
            return -EINVAL;
        uint8_t b = *w->p++;
        acc |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = acc;
            return 0;
        }
    }
    return -EINVAL;
}

static int check_wire(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, const char *path,
                      int depth, struct sbx_err *err)
{
    if (depth > 32)
        return sbx_err_set(err, EINVAL, "%s: nested deeper than 32 messages", *path ? path : d->name);
    _cleanup_free_ bool *seen = calloc(d->n_fields + 1, sizeof *seen);
    if (!seen)
        return sbx_err_set(err, ENOMEM, "out of memory");
    struct wire w = {p, p + len};
    while (w.p < w.end) {
        uint64_t key;
        if (read_varint(&w, &key) < 0)
            return sbx_err_set(err, EINVAL, "%s: malformed wire data", *path ? path : d->name);
        uint32_t num = (uint32_t)(key >> 3);
        unsigned wt = key & 7;
        const ProtobufCFieldDescriptor *f = key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, num) : NULL;
        char fpath[256];
        if (!f)
            return sbx_err_set(err, EINVAL, "%s%sfield number %llu: unknown field in %s", path, *path ? "." : "",
                               (unsigned long long)(key >> 3), d->name);
        size_t idx = (size_t)(f - d->fields);
        snprintf(fpath, sizeof fpath, "%s%s%s", path, *path ? "." : "", f->name);
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if (seen[idx])
                return sbx_err_set(err, EINVAL, "%s: given more than once", fpath);
            seen[idx] = true;
        }
        uint64_t v;
        switch (wt) {
        case 0:
            if (read_varint(&w, &v) < 0)
                return sbx_err_set(err, EINVAL, "%s: malformed varint", fpath);
            break;
        case 1:
        case 5: {
            size_t n = wt == 1 ? 8 : 4;
            if ((size_t)(w.end - w.p) < n)
                return sbx_err_set(err, EINVAL, "%s: truncated", fpath);
            w.p += n;
            break;
        }
        case 2:
            if (read_varint(&w, &v) < 0 || v > (uint64_t)(w.end - w.p))
                return sbx_err_set(err, EINVAL, "%s: truncated", fpath);
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (memchr(w.p, '\0', v))
                    return sbx_err_set(err, EINVAL, "%s: NUL byte in a string field", fpath);
                if (!sbx_utf8_valid(w.p, v))
                    return sbx_err_set(err, EINVAL, "%s: invalid UTF-8 in a string field", fpath);
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = check_wire(f->descriptor, w.p, v, fpath, depth + 1, err);
                if (r < 0)
                    return r;
            }
            w.p += v;
            break;
        default:
            return sbx_err_set(err, EINVAL, "%s: unsupported wire type %u", fpath, wt);
        }
    }
    return 0;
}

/* Belt and braces behind check_wire: whatever protobuf-c set aside as
 * unknown is still an error. */
static int check_unknown(const ProtobufCMessage *m, struct sbx_err *err)
{
    if (m->n_unknown_fields > 0)
        return sbx_err_set(err, EINVAL, "field number %u: unknown field in %s", m->unknown_fields[0].tag,
                           m->descriptor->name);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *slot = (const char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)slot;
            for (size_t k = 0; k < n; k++) {
                int r = check_unknown(arr[k], err);
                if (r < 0)
                    return r;
            }
        } else if (*(ProtobufCMessage *const *)slot) {
            int r = check_unknown(*(ProtobufCMessage *const *)slot, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int sbx_policy_load_binary(const uint8_t *buf, size_t len, JobPolicy **out, struct sbx_err *err)
{
    *out = NULL;
    if (len > POLICY_MAX_BYTES)
        return sbx_err_set(err, EFBIG, "binary policy is %zu bytes, more than the %u allowed", len, POLICY_MAX_BYTES);
    int r = check_wire(&sbx__v1__job_policy__descriptor, buf, len, "", 0, err);
    if (r < 0)
        return r;
    _cleanup_(policy_freep) JobPolicy *p =
        (JobPolicy *)protobuf_c_message_unpack(&sbx__v1__job_policy__descriptor, NULL, len, buf);
    if (!p)
        return sbx_err_set(err, EINVAL, "not a valid binary sbx.v1.JobPolicy");
    if ((r = check_unknown(&p->base, err)) < 0)
        return r;
    *out = take_ptr(p);
    return 0;
}
