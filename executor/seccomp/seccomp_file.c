/* The profile file parser. The format (docs/seccomp.md has the reference):
 *
 *   # comment
 *   include default                 # optional, first: start from a built-in
 *   default allow|kill|log|errno E  # required unless included
 *   allow NAME...
 *   errno EPERM NAME...
 *   kill NAME...
 *   log NAME...
 *   errno EPERM ioctl arg1 &0xffffffff == 0x5412   # one NAME, conditions
 *
 * Strict on purpose: a profile that silently means something else than its
 * author thought is a hole. Every error names the file and line. This works on
 * (text, len) so that it can be fuzzed; it allocates but never aborts. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "seccomp_internal.h"

#define MAX_TOKENS 64
/* Every rule costs at least one BPF instruction and the kernel takes 4096,
 * so more rules can never load; the bound also keeps the conflict check
 * (quadratic) fast on a hostile 1 MiB file. */
#define MAX_RULES BPF_MAXINSNS

struct parser {
    const char *fname;
    unsigned line;
    struct sbx_sc_profile *p;
    bool has_default;
    bool seen_directive;     /* anything but comments so far */
    bool rules_seen;
    struct sbx_err *err;
};

#define FAIL(ps, code, ...) fail_at((ps), (code), __VA_ARGS__)

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *ps, int code, const char *fmt, ...)
{
    char msg[SBX_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sbx_err_set(ps->err, code, "seccomp profile %s: line %u: %s", ps->fname, ps->line, msg);
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

static const struct {
    const char *name;
    int value;
} errnos[] = {
    {"EPERM", EPERM},   {"ENOENT", ENOENT},   {"ESRCH", ESRCH},   {"EIO", EIO},
    {"ENXIO", ENXIO},   {"E2BIG", E2BIG},     {"EBADF", EBADF},   {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM}, {"EACCES", EACCES},   {"EFAULT", EFAULT}, {"EBUSY", EBUSY},
    {"EEXIST", EEXIST}, {"ENODEV", ENODEV},   {"EINVAL", EINVAL}, {"ENOTTY", ENOTTY},
    {"EROFS", EROFS},   {"ENOSYS", ENOSYS},   {"ENOTSUP", ENOTSUP}, {"EOPNOTSUPP", EOPNOTSUPP},
    {"EAFNOSUPPORT", EAFNOSUPPORT}, {"EPROTONOSUPPORT", EPROTONOSUPPORT},
};

static int parse_errno(struct parser *ps, const char *tok, uint32_t *action)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (strcmp(errnos[i].name, tok) == 0) {
            *action = SCMP_ACT_ERRNO((uint32_t)errnos[i].value);
            return 0;
        }
    uint64_t v;
    /* libseccomp 2.5 refuses 4095 and up (found by the fuzzer), and 0
     * would make the call look successful. */
    if (parse_u64(tok, &v) < 0 || v == 0 || v > 4094)
        return FAIL(ps, EINVAL, "\"%s\" is not an errno name (EPERM, ENOSYS...) or number 1..4094",
                    tok);
    *action = SCMP_ACT_ERRNO((uint32_t)v);
    return 0;
}

/* Reads an action from tokens; returns how many it used, or a negative errno. */
static int parse_action(struct parser *ps, char **tok, int ntok, uint32_t *action)
{
    if (strcmp(tok[0], "allow") == 0)
        *action = SCMP_ACT_ALLOW;
    else if (strcmp(tok[0], "kill") == 0)
        *action = SBX_SC_KILL;
    else if (strcmp(tok[0], "log") == 0)
        *action = SCMP_ACT_LOG;
    else if (strcmp(tok[0], "errno") == 0) {
        if (ntok < 2)
            return FAIL(ps, EINVAL, "errno needs a value, e.g. errno EPERM");
        int r = parse_errno(ps, tok[1], action);
        return r < 0 ? r : 2;
    } else
        return FAIL(ps, EINVAL,
                    "unknown directive \"%s\" (expected include, default, allow, errno, kill or log)",
                    tok[0]);
    return 1;
}

static bool is_cond_start(const char *tok)
{
    return strncmp(tok, "arg", 3) == 0 && tok[3] != '\0';
}

static const struct {
    const char *op;
    enum scmp_compare cmp;
} ops[] = {
    {"==", SCMP_CMP_EQ}, {"!=", SCMP_CMP_NE}, {"<", SCMP_CMP_LT},
    {"<=", SCMP_CMP_LE}, {">", SCMP_CMP_GT},  {">=", SCMP_CMP_GE},
};

/* argN OP VALUE, or argN &MASK == VALUE. Returns tokens used. */
static int parse_cond(struct parser *ps, char **tok, int ntok, struct sbx_sc_cond *c)
{
    const char *a = tok[0] + 3;
    if (a[0] < '0' || a[0] > '5' || a[1] != '\0')
        return FAIL(ps, EINVAL, "\"%s\": arguments are arg0 to arg5", tok[0]);
    c->arg = (unsigned)(a[0] - '0');
    int i = 1;
    bool masked = false;
    if (i < ntok && tok[i][0] == '&') {
        if (parse_u64(tok[i] + 1, &c->a) < 0)
            return FAIL(ps, EINVAL, "\"%s\": a mask is &NUMBER, e.g. &0xffffffff", tok[i]);
        masked = true;
        i++;
    }
    if (i + 1 >= ntok)
        return FAIL(ps, EINVAL, "%s: a condition is argN OP VALUE or argN &MASK == VALUE", tok[0]);
    const char *op = tok[i++];
    size_t k;
    for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (strcmp(ops[k].op, op) == 0)
            break;
    if (k == sizeof ops / sizeof ops[0])
        return FAIL(ps, EINVAL, "\"%s\" is not a comparison (==, !=, <, <=, >, >=)", op);
    if (masked && ops[k].cmp != SCMP_CMP_EQ)
        return FAIL(ps, EINVAL, "a masked comparison takes ==, not %s", op);
    uint64_t v;
    if (parse_u64(tok[i], &v) < 0)
        return FAIL(ps, EINVAL, "\"%s\" is not a number (decimal, 0x hex or 0 octal, 64 bits)",
                    tok[i]);
    if (masked) {
        if ((v & ~c->a) != 0)
            return FAIL(ps, EINVAL, "value 0x%llx has bits outside mask 0x%llx: it never matches",
                        (unsigned long long)v, (unsigned long long)c->a);
        c->op = SCMP_CMP_MASKED_EQ;
        c->b = v;
    } else {
        c->op = ops[k].cmp;
        c->a = v;
        c->b = 0;
    }
    return i + 1;
}

static bool same_conds(const struct sbx_sc_rule *x, const struct sbx_sc_rule *y)
{
    if (x->ncond != y->ncond)
        return false;
    for (unsigned i = 0; i < x->ncond; i++)
        if (x->cond[i].arg != y->cond[i].arg || x->cond[i].op != y->cond[i].op ||
            x->cond[i].a != y->cond[i].a || x->cond[i].b != y->cond[i].b)
            return false;
    return true;
}

/* Adds a rule from the file: checks it against the file's earlier rules for
 * the same call, and replaces included rules for that call. */
static int add_rule(struct parser *ps, const char *name, struct sbx_sc_rule *r)
{
    struct sbx_sc_profile *p = ps->p;
    bool overrides = false;
    size_t keep = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct sbx_sc_rule *o = &p->rules[i];
        if (o->nr == r->nr && o->included) {
            overrides = true;
            continue; /* dropped: the file's rules replace the built-in's */
        }
        if (o->nr == r->nr) {
            if (o->action != r->action)
                return FAIL(ps, EINVAL, "%s: conflicts with the rule at line %u (another action)",
                            name, o->line);
            if (o->ncond == 0 || r->ncond == 0 || same_conds(o, r))
                return FAIL(ps, EINVAL, "%s: duplicates the rule at line %u", name, o->line);
        }
        p->rules[keep++] = *o;
    }
    p->n = keep;

    if (r->action == p->def_action) {
        /* Allowed only as "lift the included rule": otherwise it does nothing
         * and is probably a mistake. */
        if (r->ncond == 0 && overrides)
            return 0;
        return FAIL(ps, EINVAL, "%s: the rule has the profile's default action, so it does nothing",
                    name);
    }
    if (p->n >= MAX_RULES)
        return FAIL(ps, E2BIG, "more than %d rules: no kernel would load the filter", MAX_RULES);
    if (sbx_sc_profile_add(p, r) < 0)
        return FAIL(ps, ENOMEM, "out of memory");
    return 0;
}

static int resolve(struct parser *ps, const char *name, int *nr)
{
    *nr = sbx_sc_resolve_name(name);
    if (*nr == __NR_SCMP_ERROR)
        return FAIL(ps, EINVAL, "unknown system call \"%s\"", name);
    if (*nr < 0)
        return FAIL(ps, EINVAL, "\"%s\" is not an x86_64 system call", name);
    return 0;
}

static int parse_rule(struct parser *ps, char **tok, int ntok)
{
    ps->rules_seen = true;
    if (!ps->has_default)
        return FAIL(ps, EINVAL, "a rule before the default action: start with `default ACTION` "
                                "or `include default|strict`");
    uint32_t action;
    int used = parse_action(ps, tok, ntok, &action);
    if (used < 0)
        return used;
    tok += used;
    ntok -= used;

    int nnames = 0;
    while (nnames < ntok && !is_cond_start(tok[nnames]))
        nnames++;
    if (nnames == 0)
        return FAIL(ps, EINVAL, "no system call named");
    struct sbx_sc_rule r = {.action = action, .line = ps->line};
    for (int i = nnames; i < ntok;) {
        if (!is_cond_start(tok[i]))
            return FAIL(ps, EINVAL, "\"%s\": expected a condition argN ...", tok[i]);
        if (r.ncond == SBX_SC_MAX_COND)
            return FAIL(ps, EINVAL, "more than %d conditions", SBX_SC_MAX_COND);
        struct sbx_sc_cond *c = &r.cond[r.ncond];
        int n = parse_cond(ps, tok + i, ntok - i, c);
        if (n < 0)
            return n;
        for (unsigned j = 0; j < r.ncond; j++)
            if (r.cond[j].arg == c->arg)
                return FAIL(ps, EINVAL, "arg%u is compared twice; libseccomp takes one "
                                        "comparison per argument (write two rules)", c->arg);
        r.ncond++;
        i += n;
    }
    if (r.ncond > 0 && nnames != 1)
        return FAIL(ps, EINVAL, "a rule with conditions names exactly one system call");
    /* libseccomp 2.5 spins (minutes, found by the fuzzer) compiling two
     * rules for one call that each combine an ordering comparison with
     * another condition; an ordering comparison stands alone instead. */
    for (unsigned j = 0; r.ncond > 1 && j < r.ncond; j++) {
        enum scmp_compare op = r.cond[j].op;
        if (op == SCMP_CMP_LT || op == SCMP_CMP_LE || op == SCMP_CMP_GT || op == SCMP_CMP_GE)
            return FAIL(ps, EINVAL, "a <, <=, > or >= comparison must be the rule's only "
                                    "condition (libseccomp cannot compile it combined in "
                                    "reasonable time)");
    }

    for (int i = 0; i < nnames; i++) {
        int e = resolve(ps, tok[i], &r.nr);
        if (e == 0)
            e = add_rule(ps, tok[i], &r);
        if (e < 0)
            return e;
    }
    return 0;
}

static int parse_line(struct parser *ps, char **tok, int ntok)
{
    if (strcmp(tok[0], "include") == 0) {
        if (ntok != 2)
            return FAIL(ps, EINVAL, "include takes one built-in profile: default or strict");
        if (ps->seen_directive)
            return FAIL(ps, EINVAL, "include must come first");
        struct sbx_err inner = {0};
        int r = sbx_sc_builtin(tok[1], ps->p, &inner);
        if (r == -ENOENT)
            return FAIL(ps, EINVAL, "cannot include \"%s\": the built-ins are default and strict",
                        tok[1]);
        if (r < 0)
            return FAIL(ps, -r, "%s", inner.msg);
        ps->has_default = true;
        return 0;
    }
    if (strcmp(tok[0], "default") == 0) {
        if (ps->rules_seen)
            return FAIL(ps, EINVAL, "default must come before the rules");
        uint32_t action;
        if (ntok < 2)
            return FAIL(ps, EINVAL, "default needs an action: allow, kill, log or errno E");
        int used = parse_action(ps, tok + 1, ntok - 1, &action);
        if (used < 0)
            return used;
        if (1 + used != ntok)
            return FAIL(ps, EINVAL, "unexpected \"%s\" after the default action", tok[1 + used]);
        ps->p->def_action = action;
        ps->p->badarch_action = SBX_SC_KILL;
        ps->has_default = true;
        return 0;
    }
    return parse_rule(ps, tok, ntok);
}

int sbx_sc_parse(const char *fname, const char *text, size_t len, struct sbx_sc_profile *p,
                 struct sbx_err *err)
{
    struct parser ps = {.fname = fname, .p = p, .err = err};
    bool default_seen = false;
    size_t pos = 0;
    int r = 0;
    while (r == 0 && pos < len) {
        ps.line++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        _cleanup_free_ char *buf = strndup(text + pos, end - pos);
        if (!buf) {
            r = FAIL(&ps, ENOMEM, "out of memory");
            break;
        }
        if (strlen(buf) != end - pos) {
            r = FAIL(&ps, EINVAL, "NUL byte");
            break;
        }
        pos = end + 1;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';

        char *tok[MAX_TOKENS];
        int ntok = 0;
        char *save = NULL;
        for (char *t = strtok_r(buf, " \t\r\v\f", &save); t; t = strtok_r(NULL, " \t\r\v\f", &save)) {
            if (ntok == MAX_TOKENS) {
                r = FAIL(&ps, E2BIG, "more than %d words; split the rule", MAX_TOKENS);
                break;
            }
            tok[ntok++] = t;
        }
        if (r < 0 || ntok == 0)
            continue;
        if (strcmp(tok[0], "default") == 0) {
            if (default_seen) {
                r = FAIL(&ps, EINVAL, "default given twice");
                break;
            }
            default_seen = true;
        }
        r = parse_line(&ps, tok, ntok);
        ps.seen_directive = true;
    }
    if (r == 0 && !ps.has_default) {
        ps.line = 0;
        r = sbx_err_set(err, EINVAL,
                        "seccomp profile %s: no default action: add `default ACTION` or "
                        "`include default|strict`",
                        fname);
    }
    if (r < 0)
        sbx_sc_profile_clear(p);
    return r;
}
