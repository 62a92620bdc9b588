/* seccomp_expect PROFILE [ASM_DIR]: for every system call the kernel
 * headers (asm/unistd_64.h, unistd_32.h, unistd_x32.h) know, prints
 * "ABI NR NAME ACTION" with the action the built-in PROFILE intends for the
 * arguments tests/security/seccomp_table.c passes (every argument 0x10):
 * "allow", "errno N" or "kill". Exits 1, naming them, if the headers know a
 * native call the profile tables do not mention: a name sandboxd cannot
 * resolve, or a number at or past the default profile's reviewed range
 * (the first number of its ENOSYS guard). i386 and x32 are mentioned as a
 * whole: only the native ABI is in the filter, the rest is bad-arch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/seccomp/seccomp_internal.h"

#define ARG 0x10ULL

static int cond_holds(const struct sbx_sc_cond *c)
{
    uint64_t v = ARG;
    switch (c->op) {
    case SCMP_CMP_NE: return v != c->a;
    case SCMP_CMP_LT: return v < c->a;
    case SCMP_CMP_LE: return v <= c->a;
    case SCMP_CMP_EQ: return v == c->a;
    case SCMP_CMP_GE: return v >= c->a;
    case SCMP_CMP_GT: return v > c->a;
    case SCMP_CMP_MASKED_EQ: return (v & c->a) == c->b;
    default: return 0;
    }
}

static void print_action(uint32_t a)
{
    if (a == SCMP_ACT_ALLOW)
        printf("allow\n");
    else if (a == SBX_SC_KILL || a == SCMP_ACT_KILL_PROCESS || a == SCMP_ACT_KILL)
        printf("kill\n");
    else if ((a & 0xffff0000U) == SCMP_ACT_ERRNO(0))
        printf("errno %u\n", a & 0xffffU);
    else
        printf("other %#x\n", a);
}

static uint32_t intended(const struct sbx_sc_profile *p, int nr)
{
    uint32_t act = p->def_action;
    int matched = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct sbx_sc_rule *r = &p->rules[i];
        if (r->nr != nr)
            continue;
        int all = 1;
        for (unsigned k = 0; k < r->ncond; k++)
            all &= cond_holds(&r->cond[k]);
        if (!all)
            continue;
        if (matched && r->action != act)
            fprintf(stderr, "warning: nr %d: rules disagree\n", nr);
        act = r->action;
        matched = 1;
    }
    return act;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *dir = argc > 2 ? argv[2] : "/usr/include/x86_64-linux-gnu/asm";
    struct sbx_sc_profile p = {0}, def = {0};
    struct sbx_err err = {0};
    if (sbx_sc_builtin(argv[1], &p, &err) < 0 || sbx_sc_builtin("default", &def, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    /* The reviewed range ends where the default profile's ENOSYS guard starts. */
    /* The guard is the unbroken run of ENOSYS rules that ends at 511. */
    int reviewed_below = 512;
    for (;;) {
        int found = 0;
        for (size_t i = 0; i < def.n && !found; i++)
            found = def.rules[i].nr == reviewed_below - 1 && def.rules[i].ncond == 0 &&
                    def.rules[i].action == SCMP_ACT_ERRNO(ENOSYS);
        if (!found)
            break;
        reviewed_below--;
    }
    const char *abis[][2] = {{"native", "unistd_64.h"}, {"i386", "unistd_32.h"}, {"x32", "unistd_x32.h"}};
    int unmentioned = 0;
    for (int a = 0; a < 3; a++) {
        char path[512], line[512];
        snprintf(path, sizeof path, "%s/%s", dir, abis[a][1]);
        FILE *f = fopen(path, "r");
        if (!f) {
            perror(path);
            return 2;
        }
        int count = 0;
        while (fgets(line, sizeof line, f)) {
            char name[128];
            int nr;
            if (sscanf(line, "#define __NR_%127s (__X32_SYSCALL_BIT + %d)", name, &nr) == 2 ||
                sscanf(line, "#define __NR_%127s %d", name, &nr) == 2) {
                count++;
                if (a != 0) {
                    printf("%s %d %s ", abis[a][0], nr, name);
                    print_action(p.badarch_action);
                    continue;
                }
                int known = sbx_sc_resolve_name(name);
                if (known == __NR_SCMP_ERROR || known != nr || nr >= reviewed_below) {
                    fprintf(stderr, "UNMENTIONED native %s (%d): not in the profile tables of "
                                    "executor/seccomp/seccomp_profiles.c (reviewed below %d)\n",
                            name, nr, reviewed_below);
                    unmentioned++;
                }
                printf("native %d %s ", nr, name);
                print_action(intended(&p, nr));
            }
        }
        fclose(f);
        if (count < 300) {
            fprintf(stderr, "%s: only %d calls: not the header this test expects\n", path, count);
            return 2;
        }
    }
    sbx_sc_profile_clear(&p);
    sbx_sc_profile_clear(&def);
    return unmentioned ? 1 : 0;
}
