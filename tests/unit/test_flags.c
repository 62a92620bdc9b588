#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/commands_internal.h"
#include "client/flags.h"

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE_OK(opts, ...) parse_ok(opts, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))
#define PARSE_ERR(want, ...) parse_err(want, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void parse_ok(struct sbx_run_opts *o, int argc, char **argv)
{
    struct sbx_err err = {0};
    if (sbx_run_parse_flags(argc, argv, o, &err) < 0)
        fail_msg("parse failed: %s", err.msg);
}

static void parse_err(const char *want, int argc, char **argv)
{
    struct sbx_run_opts o;
    struct sbx_err err = {0};
    int r = sbx_run_parse_flags(argc, argv, &o, &err);
    if (r >= 0)
        fail_msg("parse of %s... succeeded, want \"%s\"", argv[0], want);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
    sbx_run_opts_free(&o);
}

static char policy_path[64];

static int setup(void **state)
{
    strcpy(policy_path, "/tmp/sbx-flags-XXXXXX");
    int fd = mkstemp(policy_path);
    const char text[] = "command: '/bin/policy-cmd' args: 'p1'\n"
                        "env: ['A=policy', 'B=policy']\n"
                        "rootfs { layers: ['/p0', '/p1'] size: '1G' }\n"
                        "mounts { src: '/h' dst: '/data' }\n"
                        "mounts { type: TMPFS dst: '/tmp' }\n"
                        "limits { memory: '1G' pids: 10 }\n"
                        "time_offsets { clock: MONOTONIC offset: '5' }\n";
    if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    unlink(policy_path);
    return 0;
}

static void test_every_flag(void **state)
{
    struct sbx_run_opts o;
    PARSE_OK(&o, "--rootfs", "/r0", "--rootfs=/r1", "--rootfs-size", "128M", "--bind", "/src", "--bind=/a:/b",
             "--bind-rw", "/w:/work", "--tmpfs", "/scratch:8M", "--tmpfs=/t2", "--cwd", "/work", "--env", "X=1",
             "--env=Y=a=b", "--hostname", "box", "--memory", "256M", "--pids", "32", "--cpus", "0.5", "--time-limit",
             "1.5", "--wall-time-limit=10", "--output-limit", "1M", "--time-offset", "monotonic=-3600",
             "--time-offset=boottime=1.5s", "--network", "none", "--seccomp", "strict", "--result-json",
             "/tmp/r.json", "--cpu-weight", "50", "--cpuset", "0-1", "--uid", "1000", "--gid=1000", "--", "/bin/echo",
             "hi", "--memory");
    JobPolicy *p = o.policy;
    assert_null(o.policy_path);
    assert_string_equal(o.result_json, "/tmp/r.json");
    assert_false(o.help);
    assert_string_equal(p->command, "/bin/echo");
    assert_int_equal(p->n_args, 2);
    assert_string_equal(p->args[1], "--memory");
    assert_int_equal(p->rootfs->n_layers, 2);
    assert_string_equal(p->rootfs->layers[1], "/r1");
    assert_string_equal(p->rootfs->size, "128M");
    assert_int_equal(p->n_mounts, 5);
    assert_string_equal(p->mounts[0]->src, "/src");
    assert_string_equal(p->mounts[0]->dst, "/src");
    assert_false(p->mounts[0]->rw);
    assert_string_equal(p->mounts[1]->dst, "/b");
    assert_true(p->mounts[2]->rw);
    assert_int_equal(p->mounts[3]->type, SBX__V1__MOUNT__TYPE__TMPFS);
    assert_string_equal(p->mounts[3]->size, "8M");
    assert_null(p->mounts[4]->size);
    assert_string_equal(p->cwd, "/work");
    assert_string_equal(p->env[1], "Y=a=b");
    assert_string_equal(p->hostname, "box");
    assert_string_equal(p->limits->memory, "256M");
    assert_int_equal(p->limits->pids, 32);
    assert_true(p->limits->cpus == 0.5);
    assert_string_equal(p->limits->cpu_time, "1.5");
    assert_string_equal(p->limits->wall_time, "10");
    assert_string_equal(p->limits->output, "1M");
    assert_int_equal(p->n_time_offsets, 2);
    assert_string_equal(p->time_offsets[0]->offset, "-3600");
    assert_int_equal(p->time_offsets[1]->clock, SBX__V1__TIME_OFFSET__CLOCK__BOOTTIME);
    assert_int_equal(p->network, SBX__V1__JOB_POLICY__NETWORK__NONE);
    assert_string_equal(p->seccomp, "strict");
    assert_int_equal(p->limits->cpu_weight, 50);
    assert_string_equal(p->limits->cpuset, "0-1");
    assert_true(p->has_uid && p->uid == 1000);
    assert_true(p->has_gid && p->gid == 1000);

    /* and the result validates */
    struct sbx_spec s;
    struct sbx_err err = {0};
    if (sbx_policy_validate(p, "/default", &s, &err) < 0)
        fail_msg("%s", err.msg);
    sbx_spec_free(&s);
    sbx_run_opts_free(&o);
}

static void test_policy_merge(void **state)
{
    struct sbx_run_opts o;
    /* --policy is applied first even when it comes last */
    PARSE_OK(&o, "--memory", "2G", "--env", "B=flag", "--env", "C=flag", "--bind-rw", "/other:/data", "--tmpfs",
             "/x", "--rootfs", "/f0", "--time-offset", "monotonic=7", "--pids=11", "--policy", policy_path);
    JobPolicy *p = o.policy;
    assert_string_equal(o.policy_path, policy_path);
    assert_string_equal(p->command, "/bin/policy-cmd");
    assert_int_equal(p->n_args, 1);
    assert_string_equal(p->limits->memory, "2G");
    assert_int_equal(p->limits->pids, 11);
    assert_int_equal(p->n_env, 3);
    assert_string_equal(p->env[0], "A=policy");
    assert_string_equal(p->env[1], "B=flag");
    assert_string_equal(p->env[2], "C=flag");
    assert_int_equal(p->n_mounts, 3);
    assert_string_equal(p->mounts[0]->src, "/other");
    assert_true(p->mounts[0]->rw);
    assert_string_equal(p->mounts[2]->dst, "/x");
    assert_int_equal(p->rootfs->n_layers, 1);
    assert_string_equal(p->rootfs->layers[0], "/f0");
    assert_string_equal(p->rootfs->size, "1G");
    assert_int_equal(p->n_time_offsets, 1);
    assert_string_equal(p->time_offsets[0]->offset, "7");
    sbx_run_opts_free(&o);

    /* COMMAND replaces the policy's command and args */
    PARSE_OK(&o, "--policy", policy_path, "ls");
    assert_string_equal(o.policy->command, "ls");
    assert_int_equal(o.policy->n_args, 0);
    sbx_run_opts_free(&o);

    /* --arg appends to the policy's args, or after COMMAND's */
    PARSE_OK(&o, "--policy", policy_path, "--arg", "-a1", "--arg=-a2");
    assert_string_equal(o.policy->command, "/bin/policy-cmd");
    assert_int_equal(o.policy->n_args, 3);
    assert_string_equal(o.policy->args[0], "p1");
    assert_string_equal(o.policy->args[2], "-a2");
    sbx_run_opts_free(&o);
    PARSE_OK(&o, "--arg", "late", "--policy", policy_path, "--", "/bin/x", "early");
    assert_string_equal(o.policy->command, "/bin/x");
    assert_int_equal(o.policy->n_args, 2);
    assert_string_equal(o.policy->args[0], "early");
    assert_string_equal(o.policy->args[1], "late");
    sbx_run_opts_free(&o);

    /* no COMMAND keeps the policy's */
    PARSE_OK(&o, "--policy", policy_path, "--");
    assert_string_equal(o.policy->command, "/bin/policy-cmd");
    assert_int_equal(o.policy->n_args, 1);
    sbx_run_opts_free(&o);
}

static void test_command_boundaries(void **state)
{
    struct sbx_run_opts o;
    PARSE_OK(&o, "/bin/sh", "-c", "--memory=1");
    assert_string_equal(o.policy->command, "/bin/sh");
    assert_int_equal(o.policy->n_args, 2);
    assert_null(o.policy->limits);
    sbx_run_opts_free(&o);
    PARSE_OK(&o, "--", "--weird-name");
    assert_string_equal(o.policy->command, "--weird-name");
    sbx_run_opts_free(&o);
    PARSE_OK(&o, "-");
    assert_string_equal(o.policy->command, "-");
    sbx_run_opts_free(&o);
    struct sbx_err err = {0};
    assert_int_equal(sbx_run_parse_flags(0, ARGV(NULL), &o, &err), 0);
    assert_null(o.policy->command);
    sbx_run_opts_free(&o);
}

static void test_relative_host_paths(void **state)
{
    struct sbx_run_opts o;
    char cwd[1024], want[1100];
    assert_non_null(getcwd(cwd, sizeof cwd));
    PARSE_OK(&o, "--bind", "data:/data", "--rootfs", "layer", "--seccomp", "prof.json", "/x");
    snprintf(want, sizeof want, "%s/data", cwd);
    assert_string_equal(o.policy->mounts[0]->src, want);
    snprintf(want, sizeof want, "%s/layer", cwd);
    assert_string_equal(o.policy->rootfs->layers[0], want);
    snprintf(want, sizeof want, "%s/prof.json", cwd);
    assert_string_equal(o.policy->seccomp, want);
    sbx_run_opts_free(&o);

    /* ".", ".." and "//" are resolved by name: the policy's rules refuse
     * them, and sbx made the path itself. */
    PARSE_OK(&o, "--bind", "./data:/a", "--bind-rw", "x/../y//z/.:/b", "--rootfs", ".", "/x");
    snprintf(want, sizeof want, "%s/data", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(o.policy->mounts[0]->src, want);
    snprintf(want, sizeof want, "%s/y/z", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(o.policy->mounts[1]->src, want);
    assert_string_equal(o.policy->rootfs->layers[0], cwd);
    sbx_run_opts_free(&o);
    assert_int_equal(chdir("/"), 0);
    PARSE_OK(&o, "--bind", "../..:/a", "/x");
    assert_string_equal(o.policy->mounts[0]->src, "/");
    sbx_run_opts_free(&o);
    assert_int_equal(chdir(cwd), 0);
}

static void test_help(void **state)
{
    struct sbx_run_opts o;
    PARSE_OK(&o, "--memory", "1G", "--help");
    assert_true(o.help);
    sbx_run_opts_free(&o);
    PARSE_OK(&o, "-h");
    assert_true(o.help);
    sbx_run_opts_free(&o);
    PARSE_ERR("--help: takes no value", "--help=yes");
    PARSE_OK(&o, "--quiet", "/x");
    assert_true(o.quiet);
    sbx_run_opts_free(&o);
    PARSE_OK(&o, "-q", "/x");
    assert_true(o.quiet);
    sbx_run_opts_free(&o);

    const char *must[] = {"--policy", "--rootfs", "--rootfs-size", "--bind", "--bind-rw", "--tmpfs", "--cwd", "--env",
                          "--hostname", "--memory", "--pids", "--cpus", "--time-limit", "--wall-time-limit",
                          "--output-limit", "--time-offset", "--network", "--seccomp", "--result-json", "--help",
                          "--cpu-weight", "--cpuset", "--uid", "--gid", "--arg", "--quiet", "--pool", "125", "126", "127", "128+N", "Examples"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!strstr(sbx_run_usage, must[i]))
            fail_msg("usage lacks %s", must[i]);
}

static void test_errors(void **state)
{
    PARSE_ERR("--memory: \"banana\" is not a size", "--memory", "banana", "/x");
    PARSE_ERR("--memory: \"banana\" is not a size", "--memory=banana");
    PARSE_ERR("--memory: needs a value", "--memory");
    PARSE_ERR("--output-limit: \"-1\" is not a size", "--output-limit", "-1");
    PARSE_ERR("--rootfs-size: \"1.5G\" is not a size", "--rootfs-size", "1.5G");
    PARSE_ERR("--tmpfs: \"x\" is not a size", "--tmpfs", "/t:x");
    PARSE_ERR("--tmpfs: \":1M\" is not DST[:SIZE]", "--tmpfs", ":1M");
    PARSE_ERR("--bind: \":/x\" is not SRC[:DST]", "--bind", ":/x");
    PARSE_ERR("--bind-rw: \"/x:\" is not SRC[:DST]", "--bind-rw", "/x:");
    PARSE_ERR("--time-limit: \"soon\" is not a duration", "--time-limit", "soon");
    PARSE_ERR("--time-limit: \"-1\" is not a duration", "--time-limit", "-1");
    PARSE_ERR("--wall-time-limit: \"99999999999999\" is out of range", "--wall-time-limit", "99999999999999");
    PARSE_ERR("--pids: \"ten\" is not a number", "--pids", "ten");
    PARSE_ERR("--pids: \"-1\" is not a number", "--pids=-1");
    PARSE_ERR("--pids: \"\" is not a number", "--pids=");
    PARSE_ERR("--pids: \"99999999999\" is too large", "--pids", "99999999999");
    PARSE_ERR("--uid: \"root\" is not a number", "--uid", "root");
    PARSE_ERR("--gid: \"1.5\" is not a number", "--gid", "1.5");
    PARSE_ERR("--cpu-weight: \"x\" is not a number", "--cpu-weight", "x");
    PARSE_ERR("--cpus: \"half\" is not a number of cores", "--cpus", "half");
    PARSE_ERR("--cpus: \"inf\" is not a number of cores", "--cpus", "inf");
    PARSE_ERR("--cpus: \" 1\" is not a number of cores", "--cpus", " 1");
    PARSE_ERR("--cpus: \"1.2.3\" is not a number of cores", "--cpus", "1.2.3");
    PARSE_ERR("--env: \"FOO\" is not KEY=VALUE", "--env", "FOO");
    PARSE_ERR("--env: \"=x\" is not KEY=VALUE", "--env", "=x");
    PARSE_ERR("--time-offset: \"realtime=5\" is not CLOCK=SECONDS", "--time-offset", "realtime=5");
    PARSE_ERR("--time-offset: \"monotonic\" is not CLOCK=SECONDS", "--time-offset", "monotonic");
    PARSE_ERR("--time-offset: \"x\" is not a duration", "--time-offset", "boottime=x");
    PARSE_ERR("--network: \"host\" is not loopback or none", "--network", "host");
    PARSE_ERR("--frobnicate: unknown flag", "--frobnicate", "/x");
    PARSE_ERR("--frobnicate: unknown flag", "--frobnicate=1");
    PARSE_ERR("-x: unknown flag", "-x");
    PARSE_ERR("--policy: given more than once", "--policy", "/a", "--policy", "/b");
    PARSE_ERR("/nonexistent.pb.txt: cannot open", "--policy", "/nonexistent.pb.txt");
    PARSE_ERR("--mem: unknown flag", "--mem", "1G");
}

static void test_result_json_early(void **state)
{
    /* result_json is known even when a later flag or the policy fails */
    struct sbx_run_opts o;
    struct sbx_err err = {0};
    assert_true(sbx_run_parse_flags(4, ARGV("--memory", "x", "--result-json", "/r.json"), &o, &err) < 0);
    assert_string_equal(o.result_json, "/r.json");
    sbx_run_opts_free(&o);
    assert_true(sbx_run_parse_flags(4, ARGV("--result-json=/r.json", "--policy", "/nonexistent", "/x"), &o, &err) < 0);
    assert_string_equal(o.result_json, "/r.json");
    sbx_run_opts_free(&o);
}

static void test_validation_after_flags(void **state)
{
    /* ranges are validate.c's, and name the field */
    struct sbx_run_opts o;
    PARSE_OK(&o, "--pids", "0", "/x");
    struct sbx_spec s;
    struct sbx_err err = {0};
    assert_true(sbx_policy_validate(o.policy, "/r", &s, &err) < 0);
    assert_non_null(strstr(err.msg, "limits.pids: 0 is not within"));
    sbx_run_opts_free(&o);
}

static void mode_err(enum sbx_flag_mode mode, const char *want, int argc, char **argv)
{
    struct sbx_run_opts o;
    struct sbx_err err = {0};
    if (sbx_run_parse_flags_mode(argc, argv, mode, &o, &err) >= 0)
        fail_msg("parse of %s... succeeded, want \"%s\"", argv[0], want);
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
    sbx_run_opts_free(&o);
}
#define MODE_ERR(mode, want, ...) mode_err(mode, want, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

/* --pool is run's (and submit's); --name, --idle-timeout, --max-lifetime
 * only session create's; a session run takes only the per-run flags, and a
 * session create no command. */
static void test_session_and_pool_flags(void **state)
{
    struct sbx_run_opts o;
    PARSE_OK(&o, "--pool", "judge", "--memory", "64M", "--", "/bin/true");
    assert_string_equal(o.pool, "judge");
    assert_string_equal(o.policy->command, "/bin/true");
    sbx_run_opts_free(&o);
    PARSE_ERR("--pool: the pool's name is empty", "--pool=", "/bin/true");
    PARSE_ERR("--name: unknown flag (see sbx run --help)", "--name", "x", "/bin/true");
    PARSE_ERR("--idle-timeout: unknown flag", "--idle-timeout", "5", "/bin/true");

    struct sbx_err err = {0};
    char **a = ARGV("--hostname", "h", "--name", "n", "--idle-timeout", "2s", "--max-lifetime", "1m",
                    "--memory", "64M");
    assert_int_equal(sbx_run_parse_flags_mode(10, a, SBX_FLAGS_SESSION_CREATE, &o, &err), 0);
    assert_string_equal(o.name, "n");
    assert_string_equal(o.idle_timeout, "2s");
    assert_string_equal(o.max_lifetime, "1m");
    assert_string_equal(o.policy->hostname, "h");
    assert_null(o.policy->command);
    sbx_run_opts_free(&o);
    MODE_ERR(SBX_FLAGS_SESSION_CREATE, "takes no COMMAND", "--memory", "64M", "/bin/sh");
    MODE_ERR(SBX_FLAGS_SESSION_CREATE, "--pool: not a flag of sbx session create", "--pool", "p");
    MODE_ERR(SBX_FLAGS_SESSION_CREATE, "--result-json: not a flag of sbx session create", "--result-json",
             "/tmp/x");
    MODE_ERR(SBX_FLAGS_SESSION_CREATE, "--idle-timeout: \"x\" is not a duration", "--idle-timeout", "x");

    a = ARGV("--time-limit", "1", "--wall-time-limit", "2", "--memory", "32M", "--pids", "8",
             "--output-limit", "1K", "--env", "A=1", "--cwd", "/tmp", "--arg", "z", "--", "/bin/echo",
             "y");
    assert_int_equal(sbx_run_parse_flags_mode(19, a, SBX_FLAGS_SESSION_RUN, &o, &err), 0);
    assert_string_equal(o.policy->limits->memory, "32M");
    assert_int_equal(o.policy->limits->pids, 8);
    assert_string_equal(o.policy->cwd, "/tmp");
    assert_int_equal(o.policy->n_args, 2);
    sbx_run_opts_free(&o);
    MODE_ERR(SBX_FLAGS_SESSION_RUN, "--hostname: not a per-run flag", "--hostname", "x", "/bin/true");
    MODE_ERR(SBX_FLAGS_SESSION_RUN, "--rootfs: not a per-run flag", "--rootfs=/", "/bin/true");
    MODE_ERR(SBX_FLAGS_SESSION_RUN, "--pool: not a per-run flag", "--pool", "p", "/bin/true");
    MODE_ERR(SBX_FLAGS_SESSION_RUN, "--bogus: unknown flag (see sbx session run --help)", "--bogus",
             "/bin/true");

    /* sbx session run --help names every flag a run takes, and so does the
     * error for one it does not take. */
    const char *per_run[] = {"--time-limit", "--wall-time-limit", "--memory", "--pids", "--output-limit", "--env",
                             "--cwd", "--arg", "--policy", "--result-json"};
    struct sbx_err e2 = {0};
    sbx_run_parse_flags_mode(1, ARGV("--uid=1"), SBX_FLAGS_SESSION_RUN, &o, &e2);
    sbx_run_opts_free(&o);
    for (size_t i = 0; i < sizeof per_run / sizeof per_run[0]; i++) {
        if (!strstr(sbx_session_run_usage, per_run[i]))
            fail_msg("session run usage lacks %s", per_run[i]);
        if (!strstr(e2.msg, per_run[i]))
            fail_msg("the per-run flag error lacks %s: %s", per_run[i], e2.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_session_and_pool_flags),
        cmocka_unit_test(test_policy_merge),
        cmocka_unit_test(test_command_boundaries),
        cmocka_unit_test(test_relative_host_paths),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_result_json_early),
        cmocka_unit_test(test_validation_after_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
