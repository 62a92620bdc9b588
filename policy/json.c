/* JSON output of protobuf-c messages, driven by the descriptor so that the
 * result file always follows the .proto. */
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

/* A growing buffer; after the first allocation failure every append is a
 * no-op, and the caller checks once at the end. */
struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Decodes one UTF-8 sequence at s; returns its length, or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    else if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes that are not valid UTF-8 become U+FFFD, so the output is always
 * valid JSON whatever a job put in a string. */
static void put_string(struct buf *b, const uint8_t *s, size_t n)
{
    put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named) {
                puts_(b, named);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                puts_(b, esc);
            }
            i++;
        } else {
            size_t len = utf8_seq(s + i, n - i);
            if (len == 0) {
                puts_(b, "\\ufffd");
                i++;
            } else {
                put(b, (const char *)s + i, len);
                i += len;
            }
        }
    }
    put(b, "\"", 1);
}

static void put_base64(struct buf *b, const uint8_t *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        put(b, q, 4);
    }
    put(b, "\"", 1);
}

static locale_t c_loc;

static void c_locale_init(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The shortest %g spelling that reads back as the same value, printed in
 * the C locale whatever the process's locale says about decimal commas. */
static void put_double(struct buf *b, double v, bool is_float)
{
    if (isnan(v)) {
        puts_(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        puts_(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, c_locale_init);
    locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
    char s[64];
    for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        double back = strtod(s, NULL);
        if (is_float ? (float)back == (float)v : back == v)
            break;
    }
    if (old)
        uselocale(old);
    puts_(b, s);
}

static void put_message(struct buf *b, const ProtobufCMessage *m);

/* One value of field f stored at p (a struct member or array element). */
static void put_value(struct buf *b, const ProtobufCFieldDescriptor *f, const void *p)
{
    char s[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(s, sizeof s, "%" PRId32, *(const int32_t *)p);
        puts_(b, s);
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        snprintf(s, sizeof s, "%" PRIu32, *(const uint32_t *)p);
        puts_(b, s);
        break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(s, sizeof s, "%" PRId64, *(const int64_t *)p);
        puts_(b, s);
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf(s, sizeof s, "%" PRIu64, *(const uint64_t *)p);
        puts_(b, s);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        puts_(b, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        put_double(b, *(const float *)p, true);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        put_double(b, *(const double *)p, false);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev) {
            put_string(b, (const uint8_t *)ev->name, strlen(ev->name));
        } else {
            snprintf(s, sizeof s, "%d", v);
            puts_(b, s);
        }
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)p;
        put_string(b, (const uint8_t *)(str ? str : ""), str ? strlen(str) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = p;
        put_base64(b, bd->data, bd->data ? bd->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        put_message(b, *(ProtobufCMessage *const *)p);
        break;
    }
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static void put_message(struct buf *b, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    bool first = true;
    /* An unset scalar prints what the unpacker would leave in it: the value
     * message_init gives, which for an enum is its first declared value. */
    _cleanup_free_ char *dflt = malloc(d->sizeof_message);
    if (!dflt) {
        b->oom = true;
        return;
    }
    d->message_init((ProtobufCMessage *)dflt);
    put(b, "{", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *p = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
            puts_(b, first ? "" : ",");
            first = false;
            put_string(b, (const uint8_t *)f->name, strlen(f->name));
            put(b, ":[", 2);
            const char *arr = *(char *const *)p;
            for (size_t k = 0; k < n; k++) {
                if (k)
                    put(b, ",", 1);
                put_value(b, f, arr + k * elem_size(f->type));
            }
            put(b, "]", 1);
            continue;
        }
        bool set;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            set = *(const uint32_t *)(base + f->quantifier_offset) == f->id;
        else if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
            set = *(void *const *)p != NULL;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            set = *(const protobuf_c_boolean *)(base + f->quantifier_offset);
        else
            set = true;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !set)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !set)
            continue;
        puts_(b, first ? "" : ",");
        first = false;
        put_string(b, (const uint8_t *)f->name, strlen(f->name));
        put(b, ":", 1);
        put_value(b, f, set ? p : dflt + f->offset);
    }
    put(b, "}", 1);
}

char *sbx_json_format(const ProtobufCMessage *msg)
{
    struct buf b = {0};
    put_message(&b, msg);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int sbx_json_write_out(const ProtobufCMessage *msg, struct sbx_outfile *out, struct sbx_err *err)
{
    _cleanup_free_ char *json = sbx_json_format(msg);
    if (!json)
        return sbx_err_set(err, ENOMEM, "%s: out of memory formatting the result", out->path);
    size_t len = strlen(json);
    json[len] = '\n'; /* the buffer always has room for the NUL, now a newline */
    return sbx_outfile_write(out, json, len + 1, err);
}

int sbx_json_write_file(const ProtobufCMessage *msg, const char *path, struct sbx_err *err)
{
    struct sbx_outfile out;
    int r = sbx_outfile_prepare(&out, "--result-json", path, err);
    if (r == 0)
        r = sbx_json_write_out(msg, &out, err);
    sbx_outfile_close(&out);
    return r;
}
