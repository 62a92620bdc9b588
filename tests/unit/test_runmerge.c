/* A run's policy on a prepared sandbox's (policy/runmerge.c): only per-run
 * fields may differ, they replace the sandbox's (env by name), and limits
 * may only narrow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/policy.h"
#include "policy/runmerge.h"

static JobPolicy *load(const char *text)
{
    JobPolicy *p = NULL;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_load_text(text, strlen(text), &p, &err), 0);
    return p;
}

static int merge(const char *base, const char *req, JobPolicy **out, char *msg)
{
    JobPolicy *b = load(base), *r = load(req);
    struct sbx_err err = {0};
    int rc = sbx_policy_run_merge(b, r, "pool p", out, &err);
    strcpy(msg, err.msg);
    sbx_policy_free(b);
    sbx_policy_free(r);
    return rc;
}

static void test_per_run_fields(void **state)
{
    (void)state;
    JobPolicy *m = NULL;
    char msg[SBX_ERR_MSG_MAX];
    assert_int_equal(merge("hostname: \"h\" env: \"A=1\" env: \"B=2\" limits { memory: \"64M\" }",
                           "command: \"/bin/sh\" args: \"-c\" args: \"x\" env: \"B=3\" "
                           "cwd: \"/tmp\" limits { cpu_time: \"1s\" memory: \"32M\" } "
                           "stdio { capture: true } hostname: \"h\"",
                           &m, msg),
                     0);
    assert_string_equal(m->command, "/bin/sh");
    assert_int_equal(m->n_args, 2);
    assert_string_equal(m->hostname, "h");
    assert_int_equal(m->n_env, 2);
    assert_string_equal(m->env[0], "A=1");
    assert_string_equal(m->env[1], "B=3");
    assert_string_equal(m->limits->memory, "32M");
    assert_string_equal(m->limits->cpu_time, "1s");
    assert_true(m->stdio->capture);
    sbx_policy_free(m);
}

static void test_fixed_fields(void **state)
{
    (void)state;
    JobPolicy *m = NULL;
    char msg[SBX_ERR_MSG_MAX];
    assert_true(merge("hostname: \"h\"", "command: \"x\" hostname: \"other\"", &m, msg) < 0);
    assert_non_null(strstr(msg, "hostname: differs from pool p's"));
    assert_true(merge("", "command: \"x\" rootfs { layers: \"/\" }", &m, msg) < 0);
    assert_non_null(strstr(msg, "rootfs: differs"));
    assert_true(merge("", "command: \"x\" uid: 5", &m, msg) < 0);
    assert_non_null(strstr(msg, "uid: differs"));
    assert_true(merge("limits { cpuset: \"0\" }", "command: \"x\" limits { cpuset: \"1\" }", &m,
                      msg) < 0);
    assert_non_null(strstr(msg, "limits.cpuset: differs"));
    assert_true(merge("network: NONE", "command: \"x\" network: LOOPBACK", &m, msg) < 0);
    assert_non_null(strstr(msg, "network: differs"));
}

static void test_narrows(void **state)
{
    (void)state;
    JobPolicy *b = load("command: \"x\" limits { memory: \"64M\" pids: 10 wall_time: \"5s\" }");
    JobPolicy *ok = load("command: \"x\" limits { memory: \"32M\" pids: 10 wall_time: \"1s\" }");
    JobPolicy *over = load("command: \"x\" limits { memory: \"128M\" pids: 10 wall_time: \"5s\" }");
    struct sbx_spec sb, so, sv;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_validate(b, "/", &sb, &err), 0);
    assert_int_equal(sbx_policy_validate(ok, "/", &so, &err), 0);
    assert_int_equal(sbx_policy_validate(over, "/", &sv, &err), 0);
    assert_int_equal(sbx_spec_run_narrows(&sb, &so, "session 3", &err), 0);
    assert_true(sbx_spec_run_narrows(&sb, &sv, "session 3", &err) < 0);
    assert_non_null(strstr(err.msg, "limits.memory"));
    assert_non_null(strstr(err.msg, "session 3"));
    sbx_spec_free(&sb);
    sbx_spec_free(&so);
    sbx_spec_free(&sv);
    sbx_policy_free(b);
    sbx_policy_free(ok);
    sbx_policy_free(over);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_run_fields),
        cmocka_unit_test(test_fixed_fields),
        cmocka_unit_test(test_narrows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
