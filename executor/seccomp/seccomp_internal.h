/* Internal to the seccomp module: a profile as plain data (the built-in
 * tables and profile files both produce it; seccomp.c turns it into BPF).
 * Keeping an intermediate form, instead of feeding libseccomp directly, lets
 * a file override an included built-in rule and lets the parser check for
 * conflicts that libseccomp would either reject late or resolve silently. */
#ifndef SBX_EXECUTOR_SECCOMP_INTERNAL_H
#define SBX_EXECUTOR_SECCOMP_INTERNAL_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* libseccomp 2.5 takes at most one comparison per argument in a rule. */
#define SBX_SC_MAX_COND 6

struct sbx_sc_cond {
    unsigned arg;            /* 0..5 */
    enum scmp_compare op;
    uint64_t a;              /* the value; the mask for SCMP_CMP_MASKED_EQ */
    uint64_t b;              /* the value for SCMP_CMP_MASKED_EQ */
};

struct sbx_sc_rule {
    int nr;                  /* x86_64 number; libseccomp pseudo numbers (< 0) are skipped */
    uint32_t action;         /* SCMP_ACT_* */
    unsigned ncond;
    struct sbx_sc_cond cond[SBX_SC_MAX_COND];
    unsigned line;           /* line in the profile file, 0 for built-ins */
    bool included;           /* came from `include`: the file may override it */
};

struct sbx_sc_profile {
    uint32_t def_action;
    uint32_t badarch_action;
    struct sbx_sc_rule *rules;
    size_t n, cap;
};

/* "Kill" in our vocabulary: the supervisor learns the call, then kills. */
#define SBX_SC_KILL SCMP_ACT_NOTIFY

void sbx_sc_profile_clear(struct sbx_sc_profile *p);
int sbx_sc_profile_add(struct sbx_sc_profile *p, const struct sbx_sc_rule *r);

/* Fills p (which must be empty) with a built-in profile: "default" or
 * "strict". Returns -ENOENT for other names. */
int sbx_sc_builtin(const char *name, struct sbx_sc_profile *p, struct sbx_err *err);

/* Parses a profile file's text; `fname` only names it in messages. */
int sbx_sc_parse(const char *fname, const char *text, size_t len, struct sbx_sc_profile *p,
                 struct sbx_err *err);

/* x86_64 number of a system call name, including calls newer than the
 * installed libseccomp knows; __NR_SCMP_ERROR when unknown. */
int sbx_sc_resolve_name(const char *name);
/* Name of a native x86_64 number from our own table of calls newer than
 * libseccomp, or NULL. */
const char *sbx_sc_newer_name(int nr);

/* seccomp_bpf.c: compiles p into a BPF program; on success *filter (with *len instructions) owns the program. */
int sbx_sc_to_bpf(const struct sbx_sc_profile *p, const char *what, struct sock_filter **filter,
                  unsigned short *len, struct sbx_err *err);

#endif
