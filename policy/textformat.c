/* Protobuf text format parser driven by protobuf-c descriptors.
 *
 * Every value is stored into the message as soon as it is parsed, in the
 * layout protobuf-c's unpacker produces, so that on any error the caller
 * frees the half-built message with protobuf_c_message_free_unpacked() and
 * nothing leaks. */
#include "textformat.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/utf8.h"

#define TEXT_MAX_INPUT (4u << 20)
#define TEXT_MAX_DEPTH 32
#define PATH_MAX_LEN 256

enum tok_kind { T_EOF, T_IDENT, T_NUMBER, T_STRING, T_PUNCT };

struct tok {
    enum tok_kind kind;
    const char *start; /* for T_STRING: the opening quote */
    size_t len;
    int line;
};

struct parser {
    const char *buf;
    size_t len, pos;
    int line;
    struct tok cur; /* the lookahead token */
    char path[PATH_MAX_LEN];
    size_t path_len;
    struct sbx_err *err;
};

static void msg_free_p(ProtobufCMessage **m)
{
    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
}

__attribute__((format(printf, 3, 4))) static int fail(struct parser *ps, int line, const char *fmt, ...)
{
    char reason[SBX_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (ps->path_len)
        return sbx_err_set(ps->err, EINVAL, "line %d: %s: %s", line, ps->path, reason);
    return sbx_err_set(ps->err, EINVAL, "line %d: %s", line, reason);
}

/* Quotes a token for an error message, bounded so one line stays short. */
static const char *tok_text(const struct tok *t, char *out, size_t size)
{
    if (t->kind == T_EOF)
        return "end of input";
    int n = t->len > 40 ? 40 : (int)t->len;
    snprintf(out, size, "'%.*s%s'", n, t->start, t->len > 40 ? "..." : "");
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
            *c = '?';
    return out;
}

/* ---- lexer ---- */

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int next(struct parser *ps)
{
    for (;;) {
        if (ps->pos >= ps->len) {
            ps->cur = (struct tok){T_EOF, ps->buf + ps->len, 0, ps->line};
            return 0;
        }
        char c = ps->buf[ps->pos];
        if (c == '\n') {
            ps->line++;
            ps->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            ps->pos++;
        } else if (c == '#') {
            while (ps->pos < ps->len && ps->buf[ps->pos] != '\n')
                ps->pos++;
        } else {
            break;
        }
    }
    const char *s = ps->buf + ps->pos;
    size_t left = ps->len - ps->pos;
    char c = s[0];
    struct tok t = {T_PUNCT, s, 1, ps->line};
    if (is_ident_start(c)) {
        t.kind = T_IDENT;
        while (t.len < left && is_ident_char(s[t.len]))
            t.len++;
    } else if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
        /* A number, or a signed identifier such as -inf: the value parser
         * decides what the spelling means for the field's type. */
        t.kind = T_NUMBER;
        bool hex = false;
        while (t.len < left) {
            char d = s[t.len];
            char prev = s[t.len - 1];
            if (d == 'x' || d == 'X')
                hex = true;
            if (is_ident_char(d) || d == '.' ||
                ((d == '-' || d == '+') && !hex && (prev == 'e' || prev == 'E')))
                t.len++;
            else
                break;
        }
    } else if (c == '"' || c == '\'') {
        t.kind = T_STRING;
        while (t.len < left && s[t.len] != c && s[t.len] != '\n') {
            if (s[t.len] == '\\' && t.len + 1 < left && s[t.len + 1] != '\n')
                t.len++;
            t.len++;
        }
        if (t.len >= left || s[t.len] != c)
            return fail(ps, t.line, "unterminated string");
        t.len++;
    } else if (!strchr("{}<>[]:,;", c) || c == '\0') {
        char shown[8];
        if ((unsigned char)c >= 0x21 && (unsigned char)c < 0x7f)
            snprintf(shown, sizeof shown, "'%c'", c);
        else
            snprintf(shown, sizeof shown, "0x%02x", (unsigned char)c);
        return fail(ps, t.line, "unexpected character %s", shown);
    }
    ps->pos += t.len;
    ps->cur = t;
    return 0;
}

static bool is_punct(const struct parser *ps, char c)
{
    return ps->cur.kind == T_PUNCT && ps->cur.start[0] == c;
}

/* ---- field paths for error messages ---- */

static size_t path_push(struct parser *ps, const char *name, ssize_t index)
{
    size_t saved = ps->path_len;
    size_t room = sizeof ps->path - ps->path_len;
    int n;
    if (index >= 0)
        n = snprintf(ps->path + ps->path_len, room, "%s%s[%zd]", saved ? "." : "", name, index);
    else
        n = snprintf(ps->path + ps->path_len, room, "%s%s", saved ? "." : "", name);
    ps->path_len = n < 0 ? saved : ((size_t)n >= room ? sizeof ps->path - 1 : ps->path_len + (size_t)n);
    return saved;
}

static void path_pop(struct parser *ps, size_t saved)
{
    ps->path_len = saved;
    ps->path[saved] = '\0';
}

/* ---- strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads n hex digits at s[*i]; -1 when they are not all there. */
static int64_t read_hex(const char *s, size_t end, size_t *i, int n)
{
    int64_t v = 0;
    for (int k = 0; k < n; k++) {
        int h = *i < end ? hexval(s[*i]) : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
        (*i)++;
    }
    return v;
}

/* Decodes the escapes of one quoted literal (quotes included in t), appending
 * to out, which has room for t->len bytes more: no escape ever expands. */
static int unescape(struct parser *ps, const struct tok *t, uint8_t *out, size_t *olen)
{
    const char *s = t->start;
    size_t end = t->len - 1, i = 1, o = *olen;
    while (i < end) {
        if (s[i] != '\\') {
            out[o++] = (uint8_t)s[i++];
            continue;
        }
        i++;
        char c = s[i++];
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': case '\'': case '"': case '?': out[o++] = (uint8_t)c; break;
        case 'x': case 'X': {
            int h1 = i < end ? hexval(s[i]) : -1;
            if (h1 < 0)
                return fail(ps, t->line, "\\x needs a hex digit");
            i++;
            int v = h1, h2 = i < end ? hexval(s[i]) : -1;
            if (h2 >= 0) {
                v = v * 16 + h2;
                i++;
            }
            out[o++] = (uint8_t)v;
            break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            int v = c - '0';
            for (int k = 0; k < 2 && i < end && s[i] >= '0' && s[i] <= '7'; k++)
                v = v * 8 + (s[i++] - '0');
            if (v > 0xff)
                return fail(ps, t->line, "octal escape \\%o is larger than a byte", v);
            out[o++] = (uint8_t)v;
            break;
        }
        case 'u': case 'U': {
            int64_t cp = read_hex(s, end, &i, c == 'u' ? 4 : 8);
            if (cp < 0)
                return fail(ps, t->line, "\\%c needs %d hex digits", c, c == 'u' ? 4 : 8);
            if (cp >= 0xd800 && cp <= 0xdbff && c == 'u' && i + 1 < end && s[i] == '\\' && s[i + 1] == 'u') {
                size_t j = i + 2;
                int64_t lo = read_hex(s, end, &j, 4);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i = j;
                }
            }
            if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return fail(ps, t->line, "\\%c escape U+%04" PRIX64 " is not a Unicode scalar value", c, (uint64_t)cp);
            o += put_utf8(out + o, (uint32_t)cp);
            break;
        }
        default:
            return fail(ps, t->line, "unknown escape \\%c", (unsigned char)c >= 0x21 && (unsigned char)c < 0x7f ? c : '?');
        }
    }
    *olen = o;
    return 0;
}

/* Reads one or more adjacent string literals into a malloc'd buffer, always
 * NUL-terminated (protobuf-c strings are C strings). */
static int parse_string(struct parser *ps, bool is_bytes, uint8_t **out, size_t *out_len)
{
    int line = ps->cur.line;
    if (ps->cur.kind != T_STRING) {
        char tb[64];
        return fail(ps, line, "expected a string, got %s", tok_text(&ps->cur, tb, sizeof tb));
    }
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    while (ps->cur.kind == T_STRING) {
        uint8_t *nb = realloc(buf, len + ps->cur.len + 1);
        if (!nb)
            return sbx_err_set(ps->err, ENOMEM, "line %d: out of memory", line);
        buf = nb;
        int r = unescape(ps, &ps->cur, buf, &len);
        if (r < 0)
            return r;
        if ((r = next(ps)) < 0)
            return r;
    }
    buf[len] = '\0';
    if (!is_bytes) {
        if (memchr(buf, '\0', len))
            return fail(ps, line, "NUL byte in a string field (use a bytes field for binary data)");
        if (!sbx_utf8_valid(buf, len))
            return fail(ps, line, "invalid UTF-8 in a string field");
    }
    *out = take_ptr(buf);
    *out_len = len;
    return 0;
}

/* ---- scalars ---- */

static const char *type_name(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

/* Parses an integer token (decimal, 0x hex or 0 octal, optional '-') into
 * magnitude and sign. Returns -EINVAL for a non-integer, -ERANGE when the
 * magnitude exceeds 64 bits. */
static int parse_int_token(const char *s, size_t n, bool *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = false;
    if (i < n && s[i] == '-') {
        *neg = true;
        i++;
    }
    unsigned base = 10;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (n - i > 1 && s[i] == '0') {
        base = 8;
        i++;
    }
    if (i >= n)
        return -EINVAL;
    uint64_t v = 0;
    bool overflow = false;
    for (; i < n; i++) {
        int d = hexval(s[i]);
        if (d < 0 || (unsigned)d >= base)
            return -EINVAL;
        if (v > (UINT64_MAX - (unsigned)d) / base)
            overflow = true;
        v = v * base + (unsigned)d;
    }
    *mag = v;
    return overflow ? -ERANGE : 0;
}

static locale_t c_loc;

static void c_locale_init(void)
{
    c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Numbers in a policy mean the same whatever locale the process runs in. */
static locale_t c_locale(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, c_locale_init);
    return c_loc;
}

static bool ieq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static int parse_float_token(struct parser *ps, bool is_float, double *out)
{
    const struct tok *t = &ps->cur;
    char tb[64];
    if (t->kind != T_NUMBER && t->kind != T_IDENT)
        return fail(ps, t->line, "expected a number, got %s", tok_text(t, tb, sizeof tb));
    const char *s = t->start;
    size_t n = t->len;
    bool neg = false;
    if (n && s[0] == '-' && t->kind == T_NUMBER) {
        neg = true;
        s++, n--;
    }
    if (ieq(s, n, "inf") || ieq(s, n, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (ieq(s, n, "nan")) {
        *out = NAN;
        return 0;
    }
    char buf[128];
    /* protobuf spells floats like 1.5f; hex floats are not its syntax. */
    if (n > 1 && (s[n - 1] == 'f' || s[n - 1] == 'F') && !memchr(s, 'x', n) && !memchr(s, 'X', n))
        n--;
    if (t->kind != T_NUMBER || n == 0 || n >= sizeof buf || memchr(s, 'x', n) || memchr(s, 'X', n) ||
        !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        return fail(ps, t->line, "%s is not a number", tok_text(t, tb, sizeof tb));
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    locale_t loc = c_locale();
    double v = loc ? strtod_l(buf, &end, loc) : strtod(buf, &end);
    if (*end != '\0')
        return fail(ps, t->line, "%s is not a number", tok_text(t, tb, sizeof tb));
    if (isinf(v) || (is_float && fabs(v) > FLT_MAX))
        return fail(ps, t->line, "%s is out of range for %s", tok_text(t, tb, sizeof tb), is_float ? "float" : "double");
    *out = neg ? -v : v;
    return 0;
}

/* Parses the current token as a scalar of field f into the storage at dst
 * (a struct member or a repeated array slot). */
static int parse_scalar(struct parser *ps, const ProtobufCFieldDescriptor *f, void *dst)
{
    const struct tok *t = &ps->cur;
    char tb[64];
    int line = t->line;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: {
        if (t->kind != T_NUMBER)
            return fail(ps, line, "expected an integer, got %s", tok_text(t, tb, sizeof tb));
        bool neg;
        uint64_t mag;
        int r = parse_int_token(t->start, t->len, &neg, &mag);
        if (r == -EINVAL)
            return fail(ps, line, "%s is not an integer", tok_text(t, tb, sizeof tb));
        bool is_signed = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
                         f->type == PROTOBUF_C_TYPE_SFIXED32 || f->type == PROTOBUF_C_TYPE_INT64 ||
                         f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_SFIXED64;
        bool is64 = f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_SINT64 ||
                    f->type == PROTOBUF_C_TYPE_SFIXED64 || f->type == PROTOBUF_C_TYPE_UINT64 ||
                    f->type == PROTOBUF_C_TYPE_FIXED64;
        uint64_t max = is_signed ? (is64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX) : (is64 ? UINT64_MAX : UINT32_MAX);
        uint64_t neg_max = is_signed ? max + 1 : 0;
        if (r == -ERANGE || (!neg && mag > max) || (neg && mag > neg_max))
            return fail(ps, line, "%.*s is out of range for %s", (int)(t->len > 40 ? 40 : t->len), t->start,
                        type_name(f->type));
        if (is_signed) {
            int64_t v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
            if (is64)
                *(int64_t *)dst = v;
            else
                *(int32_t *)dst = (int32_t)v;
        } else if (is64) {
            *(uint64_t *)dst = mag;
        } else {
            *(uint32_t *)dst = (uint32_t)mag;
        }
        return next(ps);
    }
    case PROTOBUF_C_TYPE_BOOL: {
        static const char *const yes[] = {"true", "True", "t", "1"};
        static const char *const no[] = {"false", "False", "f", "0"};
        for (size_t i = 0; i < 4; i++) {
            if ((t->kind == T_IDENT || t->kind == T_NUMBER) && strlen(yes[i]) == t->len && !memcmp(t->start, yes[i], t->len)) {
                *(protobuf_c_boolean *)dst = 1;
                return next(ps);
            }
            if ((t->kind == T_IDENT || t->kind == T_NUMBER) && strlen(no[i]) == t->len && !memcmp(t->start, no[i], t->len)) {
                *(protobuf_c_boolean *)dst = 0;
                return next(ps);
            }
        }
        return fail(ps, line, "%s is not a bool (true or false)", tok_text(t, tb, sizeof tb));
    }
    case PROTOBUF_C_TYPE_FLOAT: case PROTOBUF_C_TYPE_DOUBLE: {
        double v = 0;
        int r = parse_float_token(ps, f->type == PROTOBUF_C_TYPE_FLOAT, &v);
        if (r < 0)
            return r;
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)dst = (float)v;
        else
            *(double *)dst = v;
        return next(ps);
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const ProtobufCEnumValue *ev = NULL;
        if (t->kind == T_IDENT) {
            char name[128];
            if (t->len < sizeof name) {
                memcpy(name, t->start, t->len);
                name[t->len] = '\0';
                ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
            }
            if (!ev)
                return fail(ps, line, "%s is not a value of %s", tok_text(t, tb, sizeof tb), ed->name);
        } else if (t->kind == T_NUMBER) {
            bool neg;
            uint64_t mag;
            if (parse_int_token(t->start, t->len, &neg, &mag) == 0 && mag <= (neg ? (uint64_t)INT32_MAX + 1 : INT32_MAX))
                ev = protobuf_c_enum_descriptor_get_value(ed, neg ? (int)-(int64_t)mag : (int)mag);
            if (!ev)
                return fail(ps, line, "%s is not a value of %s", tok_text(t, tb, sizeof tb), ed->name);
        } else {
            return fail(ps, line, "expected a %s name, got %s", ed->name, tok_text(t, tb, sizeof tb));
        }
        *(int *)dst = ev->value;
        return next(ps);
    }
    case PROTOBUF_C_TYPE_STRING: {
        uint8_t *s;
        size_t n;
        int r = parse_string(ps, false, &s, &n);
        if (r < 0)
            return r;
        *(char **)dst = (char *)s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        uint8_t *s;
        size_t n;
        int r = parse_string(ps, true, &s, &n);
        if (r < 0)
            return r;
        ProtobufCBinaryData *bd = dst;
        bd->data = s;
        bd->len = n;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return fail(ps, line, "unsupported field type");
}

static size_t scalar_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_FLOAT: return 4;
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* ---- messages ---- */

static int parse_body(struct parser *ps, ProtobufCMessage *msg, char close, int depth, int open_line);

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

/* Parses `{ ... }` or `< ... >` into a freshly initialized sub-message that
 * is already linked into its parent, so an error frees it with the parent. */
static int parse_submessage(struct parser *ps, ProtobufCMessage *sub, int depth)
{
    char tb[64];
    char close;
    if (is_punct(ps, '{'))
        close = '}';
    else if (is_punct(ps, '<'))
        close = '>';
    else
        return fail(ps, ps->cur.line, "expected '{' or '<', got %s", tok_text(&ps->cur, tb, sizeof tb));
    if (depth >= TEXT_MAX_DEPTH)
        return fail(ps, ps->cur.line, "nested deeper than %d messages", TEXT_MAX_DEPTH);
    int open_line = ps->cur.line;
    int r = next(ps);
    if (r < 0)
        return r;
    return parse_body(ps, sub, close, depth + 1, open_line);
}

/* Appends one element to repeated field f, growing the array in powers of
 * two so that long lists stay linear. Returns the new slot (zeroed). */
static void *repeated_append(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
    void **arr = (void **)((char *)msg + f->offset);
    size_t es = scalar_size(f->type);
    if (*n == 0 || (*n & (*n - 1)) == 0) {
        size_t cap = *n ? *n * 2 : 1;
        void *na = realloc(*arr, cap * es);
        if (!na)
            return NULL;
        *arr = na;
    }
    void *slot = (char *)*arr + *n * es;
    memset(slot, 0, es);
    return slot;
}

/* Parses one value of field f (at the current token) and stores it. */
static int parse_value(struct parser *ps, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, int depth,
                       ssize_t index)
{
    bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    size_t saved = path_push(ps, f->name, index);
    int r;
    if (repeated) {
        void *slot = repeated_append(msg, f);
        if (!slot)
            return sbx_err_set(ps->err, ENOMEM, "line %d: out of memory", ps->cur.line);
        size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage *sub = new_message(f->descriptor);
            if (!sub)
                return sbx_err_set(ps->err, ENOMEM, "line %d: out of memory", ps->cur.line);
            *(ProtobufCMessage **)slot = sub;
            (*n)++;
            r = parse_submessage(ps, sub, depth);
        } else {
            r = parse_scalar(ps, f, slot);
            /* Count the slot only once it holds a value the freer can own. */
            if (r == 0)
                (*n)++;
        }
    } else {
        void *dst = (char *)msg + f->offset;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage *sub = new_message(f->descriptor);
            if (!sub)
                return sbx_err_set(ps->err, ENOMEM, "line %d: out of memory", ps->cur.line);
            *(ProtobufCMessage **)dst = sub;
            r = parse_submessage(ps, sub, depth);
        } else {
            r = parse_scalar(ps, f, dst);
        }
        if (r == 0 || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
            else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                     f->type != PROTOBUF_C_TYPE_MESSAGE)
                *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
        }
    }
    if (r == 0)
        path_pop(ps, saved);
    return r;
}

static int parse_field(struct parser *ps, ProtobufCMessage *msg, bool *seen, int depth)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    char tb[64];
    int line = ps->cur.line;
    if (ps->cur.kind != T_IDENT)
        return fail(ps, line, "expected a field name, got %s", tok_text(&ps->cur, tb, sizeof tb));
    char name[128];
    const ProtobufCFieldDescriptor *f = NULL;
    size_t nlen = ps->cur.len < sizeof name ? ps->cur.len : sizeof name - 1;
    memcpy(name, ps->cur.start, nlen);
    name[nlen] = '\0';
    if (nlen == ps->cur.len)
        f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    if (!f) {
        path_push(ps, name, -1);
        return fail(ps, line, "unknown field in %s", d->name);
    }
    size_t fi = (size_t)(f - d->fields);
    size_t saved = path_push(ps, f->name, -1);
    int r = next(ps);
    if (r < 0)
        return r;

    bool is_msg = f->type == PROTOBUF_C_TYPE_MESSAGE;
    if (is_punct(ps, ':')) {
        if ((r = next(ps)) < 0)
            return r;
    } else if (!is_msg) {
        return fail(ps, ps->cur.line, "expected ':' after the field name, got %s", tok_text(&ps->cur, tb, sizeof tb));
    }

    bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    if (!repeated) {
        if (seen[fi])
            return fail(ps, line, "given more than once");
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            for (size_t k = 0; k < d->n_fields; k++) {
                const ProtobufCFieldDescriptor *o = &d->fields[k];
                if (seen[k] && (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && o->quantifier_offset == f->quantifier_offset)
                    return fail(ps, line, "conflicts with %s (only one of them may be set)", o->name);
            }
        }
        seen[fi] = true;
    }

    if (is_punct(ps, '[')) {
        if (!repeated)
            return fail(ps, ps->cur.line, "a list for a field that is not repeated");
        if ((r = next(ps)) < 0)
            return r;
        if (is_punct(ps, ']')) {
            path_pop(ps, saved);
            return next(ps);
        }
        for (;;) {
            if (ps->cur.kind == T_EOF)
                return fail(ps, ps->cur.line, "unterminated list");
            size_t n = *(size_t *)((char *)msg + f->quantifier_offset);
            path_pop(ps, saved);
            if ((r = parse_value(ps, msg, f, depth, (ssize_t)n)) < 0)
                return r;
            path_push(ps, f->name, -1);
            if (ps->cur.kind == T_EOF)
                return fail(ps, ps->cur.line, "unterminated list");
            if (is_punct(ps, ']')) {
                path_pop(ps, saved);
                return next(ps);
            }
            if (!is_punct(ps, ','))
                return fail(ps, ps->cur.line, "expected ',' or ']' in a list, got %s", tok_text(&ps->cur, tb, sizeof tb));
            if ((r = next(ps)) < 0)
                return r;
        }
    }
    if (ps->cur.kind == T_EOF)
        return fail(ps, ps->cur.line, "missing value");
    path_pop(ps, saved);
    ssize_t index = repeated ? (ssize_t) * (size_t *)((char *)msg + f->quantifier_offset) : -1;
    return parse_value(ps, msg, f, depth, index);
}

/* proto2 `required` fields: the unpacker refuses a message without them, so
 * the text parser must too. */
static int check_required(struct parser *ps, const ProtobufCMessageDescriptor *d, const bool *seen, int line)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i]) {
            path_push(ps, d->fields[i].name, -1);
            return fail(ps, line, "required field missing in %s", d->name);
        }
    }
    return 0;
}

static int parse_body(struct parser *ps, ProtobufCMessage *msg, char close, int depth, int open_line)
{
    _cleanup_free_ bool *seen = calloc(msg->descriptor->n_fields + 1, sizeof *seen);
    if (!seen)
        return sbx_err_set(ps->err, ENOMEM, "out of memory");
    for (;;) {
        if (ps->cur.kind == T_EOF) {
            if (close)
                return fail(ps, open_line, "unterminated message (no '%c' for the '%c' on this line)", close,
                            close == '}' ? '{' : '<');
            return check_required(ps, msg->descriptor, seen, ps->cur.line);
        }
        if (close && is_punct(ps, close)) {
            int r = check_required(ps, msg->descriptor, seen, ps->cur.line);
            return r < 0 ? r : next(ps);
        }
        int r = parse_field(ps, msg, seen, depth);
        if (r < 0)
            return r;
        if (is_punct(ps, ',') || is_punct(ps, ';'))
            if ((r = next(ps)) < 0)
                return r;
    }
}

int sbx_text_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len, ProtobufCMessage **out,
                   struct sbx_err *err)
{
    *out = NULL;
    if (len > TEXT_MAX_INPUT)
        return sbx_err_set(err, EFBIG, "input is %zu bytes, more than the %u allowed", len, TEXT_MAX_INPUT);
    struct parser ps = {.buf = text ? text : "", .len = text ? len : 0, .line = 1, .err = err};
    _cleanup_(msg_free_p) ProtobufCMessage *msg = new_message(desc);
    if (!msg)
        return sbx_err_set(err, ENOMEM, "out of memory");
    int r = next(&ps);
    if (r < 0)
        return r;
    if ((r = parse_body(&ps, msg, 0, 0, 1)) < 0)
        return r;
    *out = take_ptr(msg);
    return 0;
}
