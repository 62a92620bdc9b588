/* Every shipped example must load and validate, and every broken policy must
 * fail with the error its first line promises ("# expect: ..."). A policy
 * without a command gets one, as `sbx run --policy FILE COMMAND` would. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

static int load_and_validate(const char *path, struct sbx_err *err)
{
    JobPolicy *p;
    int r = sbx_policy_load_file(path, &p, err);
    if (r < 0)
        return r;
    if (!p->command)
        p->command = strdup("/bin/true");
    struct sbx_spec spec;
    r = sbx_policy_validate(p, "/usr/lib/sbx/rootfs", &spec, err);
    if (r == 0)
        sbx_spec_free(&spec);
    sbx_policy_free(p);
    return r;
}

static size_t for_each(const char *sub, void (*fn)(const char *path))
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/policy/%s", SBX_SOURCE_DIR, sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 7, ".pb.txt") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fn(path);
        n++;
    }
    closedir(d);
    return n;
}

static void check_example(const char *path)
{
    struct sbx_err err = {0};
    if (load_and_validate(path, &err) < 0)
        fail_msg("%s", err.msg);
}

static void check_broken(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    const char *prefix = "# expect: ";
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        fail_msg("%s: first line is not \"# expect: ...\"", path);
    char *want = line + strlen(prefix);
    want[strcspn(want, "\n")] = '\0';
    struct sbx_err err = {0};
    if (load_and_validate(path, &err) == 0)
        fail_msg("%s: accepted, want an error containing \"%s\"", path, want);
    if (!strstr(err.msg, want))
        fail_msg("%s: error \"%s\" lacks \"%s\"", path, err.msg, want);
}

static void test_examples(void **state)
{
    assert_true(for_each("examples", check_example) >= 4);
}

static void test_broken(void **state)
{
    assert_true(for_each("broken", check_broken) >= 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
