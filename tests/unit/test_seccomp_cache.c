/* The compiled-program cache (executor/seccomp/seccomp_cache.c): a hit gives exactly
 * the program a fresh compile gives, different profiles never share one, and
 * a damaged or foreign disk entry is ignored. */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "executor/seccomp/seccomp.h"

static struct sbx_seccomp *compile(const char *name, const char *cache)
{
    setenv("SBX_SECCOMP_CACHE", cache, 1);
    struct sbx_err err = {0};
    struct sbx_seccomp *s = NULL;
    assert_int_equal(sbx_seccomp_compile(name, &s, &err), 0);
    assert_non_null(s);
    return s;
}

static bool same(const struct sbx_seccomp *a, const struct sbx_seccomp *b)
{
    return a->prog.len == b->prog.len && a->wants_listener == b->wants_listener &&
           memcmp(a->prog.filter, b->prog.filter, a->prog.len * sizeof *a->prog.filter) == 0;
}

static void hit_equals_fresh(void **state)
{
    (void)state;
    struct sbx_seccomp *a = compile("default", "0"), *b = compile("default", "0");
    struct sbx_seccomp *c = compile("default", "1"), *d = compile("strict", "1");
    struct sbx_seccomp *e = compile("strict", "1");
    assert_true(same(a, b));
    assert_true(same(a, c));
    assert_false(same(a, d));
    assert_true(same(d, e));
    assert_ptr_not_equal(a->prog.filter, b->prog.filter); /* each job owns its copy */
    sbx_seccomp_free(a), sbx_seccomp_free(b), sbx_seccomp_free(c), sbx_seccomp_free(d);
    sbx_seccomp_free(e);
}

/* A profile file differing in one argument condition gets its own program. */
static void one_condition_differs(void **state)
{
    (void)state;
    const char *p1 = "default kill\nallow read\nallow write\nallow personality arg0 == 0\n";
    const char *p2 = "default kill\nallow read\nallow write\nallow personality arg0 == 8\n";
    struct sbx_err err = {0};
    struct sbx_seccomp *a = NULL, *b = NULL, *c = NULL;
    setenv("SBX_SECCOMP_CACHE", "0", 1);
    int r1 = sbx_seccomp_compile_text("p1", p1, strlen(p1), &a, &err);
    int r2 = sbx_seccomp_compile_text("p2", p2, strlen(p2), &b, &err);
    int r3 = sbx_seccomp_compile_text("p1", p1, strlen(p1), &c, &err);
    if (r1 < 0 || r2 < 0 || r3 < 0) {
        fprintf(stderr, "profile syntax not accepted (%s): skipped\n", err.msg);
        skip();
    }
    assert_false(same(a, b));
    assert_true(same(a, c));
    sbx_seccomp_free(a), sbx_seccomp_free(b), sbx_seccomp_free(c);
}

/* As root: a corrupted disk entry is not used; the compile repairs it. */
static void bad_disk_entry_ignored(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct sbx_seccomp *a = compile("strict", "0");
    struct sbx_seccomp *b = compile("strict", "1"); /* makes sure an entry exists */
    assert_true(same(a, b));
    FILE *ls = popen("ls /run/sbx/bpf/*.bpf", "r");
    assert_non_null(ls);
    char path[512];
    int n = 0;
    while (fgets(path, sizeof path, ls)) {
        path[strcspn(path, "\n")] = '\0';
        int fd = open(path, O_WRONLY);
        if (fd < 0)
            continue;
        struct stat st;
        fstat(fd, &st);
        /* flip a byte in the program (the end of the file) */
        unsigned char x = 0xff;
        assert_int_equal(pwrite(fd, &x, 1, st.st_size - 3), 1);
        close(fd);
        n++;
    }
    pclose(ls);
    assert_true(n > 0);
    /* The in-memory copy is per process: run the check in a fresh child. */
    pid_t pid = fork();
    if (pid == 0) {
        struct sbx_seccomp *c = compile("strict", "1");
        _exit(same(a, c) ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    sbx_seccomp_free(a), sbx_seccomp_free(b);
    struct stat ds;
    assert_int_equal(stat("/run/sbx/bpf", &ds), 0);
    assert_int_equal(ds.st_mode & 0077, 0);
    assert_int_equal(ds.st_uid, 0);
    assert_int_equal(system("rm -f /run/sbx/bpf/*.bpf"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_equals_fresh),
        cmocka_unit_test(one_condition_differs),
        cmocka_unit_test(bad_disk_entry_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
