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

#include "policy/policy.h"

#define ROOTFS "/opt/sbx/rootfs"

static JobPolicy *load(const char *text)
{
    JobPolicy *p;
    struct sbx_err err = {0};
    if (sbx_policy_load_text(text, strlen(text), &p, &err) < 0)
        fail_msg("load <<%s>>: %s", text, err.msg);
    return p;
}

/* Validates "command: '/bin/true'" plus text; the spec is left in *spec. */
static JobPolicy *valid(const char *text, struct sbx_spec *spec)
{
    char full[4096];
    snprintf(full, sizeof full, "command: '/bin/true'\n%s", text);
    JobPolicy *p = load(full);
    struct sbx_err err = {0};
    if (sbx_policy_validate(p, ROOTFS, spec, &err) < 0)
        fail_msg("validate <<%s>>: %s", text, err.msg);
    return p;
}

static void invalid_full(const char *text, const char *want)
{
    JobPolicy *p = load(text);
    struct sbx_spec spec;
    struct sbx_err err = {0};
    int r = sbx_policy_validate(p, ROOTFS, &spec, &err);
    if (r >= 0)
        fail_msg("validate <<%s>> succeeded, want \"%s\"", text, want);
    if (!strstr(err.msg, want))
        fail_msg("validate <<%s>>: \"%s\" lacks \"%s\"", text, err.msg, want);
    assert_null(spec.argv); /* nothing left to free */
    sbx_policy_free(p);
}

static void invalid(const char *text, const char *want)
{
    char *full;
    if (asprintf(&full, "command: '/bin/true'\n%s", text) < 0)
        fail();
    invalid_full(full, want);
    free(full);
}

static void test_defaults(void **state)
{
    struct sbx_spec s;
    JobPolicy *p = valid("", &s);
    assert_ptr_equal(s.policy, p);
    assert_string_equal(s.command, "/bin/true");
    assert_string_equal(s.argv[0], "/bin/true");
    assert_null(s.argv[1]);
    assert_string_equal(s.envp[0], "PATH=" SBX_DEFAULT_PATH);
    assert_null(s.envp[1]);
    assert_string_equal(s.cwd, "/");
    assert_string_equal(s.hostname, "sandbox");
    assert_int_equal(s.n_layers, 1);
    assert_string_equal(s.layers[0], ROOTFS);
    assert_int_equal(s.rootfs_size, 64 << 20);
    assert_int_equal(s.n_mounts, 0);
    assert_int_equal(s.limits.memory, 0);
    assert_int_equal(s.limits.pids, 0);
    assert_true(s.limits.cpus == 0);
    assert_int_equal(s.limits.cpu_time_ns, 0);
    assert_int_equal(s.limits.wall_time_ns, 0);
    assert_int_equal(s.limits.output, 0);
    assert_int_equal(s.limits.open_files, 1024);
    assert_int_equal(s.limits.stack, 8 << 20);
    assert_int_equal(s.limits.core, 0);
    assert_int_equal(s.limits.cpu_weight, 0);
    assert_null(s.limits.cpuset);
    assert_int_equal(s.monotonic_offset_ns, 0);
    assert_int_equal(s.boottime_offset_ns, 0);
    assert_true(s.loopback);
    assert_string_equal(s.seccomp, "default");
    assert_int_equal(s.uid, 0);
    assert_int_equal(s.gid, 0);
    assert_null(s.stdin_file);
    assert_null(s.stdout_file);
    assert_null(s.stderr_file);
    assert_false(s.capture);
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_full(void **state)
{
    struct sbx_spec s;
    JobPolicy *p = valid("args: ['-c', 'x'] env: ['A=1', 'PATH=/bin', 'B='] cwd: '/work//dir/'\n"
                         "hostname: 'judge-1.example' rootfs { layers: ['/l0', '/l1//'] size: '1G' }\n"
                         "mounts { src: '/src' dst: '/dst/' rw: true }\n"
                         "mounts { type: TMPFS dst: '/tmp' size: '32M' }\n"
                         "mounts { type: BIND src: '/ro' dst: '/ro' }\n"
                         "limits { memory: '256M' pids: 64 cpus: 0.5 cpu_time: '1.5' wall_time: '250ms'\n"
                         "  output: '1M' open_files: 64 stack: '16M' core: '0' cpu_weight: 200 cpuset: '0-3,5' }\n"
                         "time_offsets { clock: MONOTONIC offset: '-3600' }\n"
                         "time_offsets { clock: BOOTTIME offset: '1.5s' }\n"
                         "network: NONE seccomp: '/etc/sbx//strict.json' uid: 1000 gid: 65535\n"
                         "stdio { stdin_file: '/in' stdout_file: '/out' stderr_file: '/err' }",
                         &s);
    assert_string_equal(s.argv[1], "-c");
    assert_string_equal(s.argv[2], "x");
    assert_null(s.argv[3]);
    assert_string_equal(s.envp[1], "PATH=/bin");
    assert_string_equal(s.envp[2], "B=");
    assert_null(s.envp[3]);
    assert_string_equal(s.cwd, "/work/dir");
    assert_string_equal(s.hostname, "judge-1.example");
    assert_int_equal(s.n_layers, 2);
    assert_string_equal(s.layers[1], "/l1");
    assert_int_equal(s.rootfs_size, 1 << 30);
    assert_int_equal(s.n_mounts, 3);
    assert_int_equal(s.mounts[0].type, SBX_MOUNT_BIND);
    assert_string_equal(s.mounts[0].dst, "/dst");
    assert_true(s.mounts[0].rw);
    assert_int_equal(s.mounts[1].type, SBX_MOUNT_TMPFS);
    assert_true(s.mounts[1].rw);
    assert_int_equal(s.mounts[1].size, 32 << 20);
    assert_false(s.mounts[2].rw);
    assert_int_equal(s.limits.memory, 256 << 20);
    assert_int_equal(s.limits.pids, 64);
    assert_true(s.limits.cpus == 0.5);
    assert_int_equal(s.limits.cpu_time_ns, 1500000000);
    assert_int_equal(s.limits.wall_time_ns, 250000000);
    assert_int_equal(s.limits.output, 1 << 20);
    assert_int_equal(s.limits.open_files, 64);
    assert_int_equal(s.limits.stack, 16 << 20);
    assert_int_equal(s.limits.cpu_weight, 200);
    assert_string_equal(s.limits.cpuset, "0-3,5");
    assert_true(s.monotonic_offset_ns == -3600000000000LL);
    assert_true(s.boottime_offset_ns == 1500000000LL);
    assert_false(s.loopback);
    assert_string_equal(s.seccomp, "/etc/sbx/strict.json");
    assert_int_equal(s.uid, 1000);
    assert_int_equal(s.gid, 65535);
    assert_string_equal(s.stdin_file, "/in");
    sbx_spec_free(&s);
    sbx_policy_free(p);

    p = valid("stdio { capture: true stdin_data: 'abc' } mounts { type: TMPFS dst: '/t' rw: true }\n"
              "network: LOOPBACK seccomp: 'strict'", &s);
    assert_true(s.capture);
    assert_true(s.loopback);
    assert_string_equal(s.seccomp, "strict");
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_bare_command(void **state)
{
    struct sbx_spec s;
    JobPolicy *p = load("command: 'python3' args: 'x.py'");
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), 0);
    assert_string_equal(s.command, "python3");
    assert_string_equal(s.argv[1], "x.py");
    sbx_spec_free(&s);
    sbx_policy_free(p);
    p = load("command: '/usr//bin/env/'");
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), 0);
    assert_string_equal(s.command, "/usr/bin/env");
    assert_string_equal(s.argv[0], "/usr/bin/env");
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_command_rules(void **state)
{
    invalid_full("", "command: required");
    invalid_full("command: ''", "command: must not be empty");
    invalid_full("command: 'bin/sh'", "command: \"bin/sh\" must be an absolute path or a bare name");
    invalid_full("command: './a.out'", "must be an absolute path or a bare name");
    invalid_full("command: '/bin/../sh'", "command: \"/bin/../sh\" has a '..' component");
    invalid_full("command: '..'", "command: \"..\" is not a program name");
}

static void test_count_bounds(void **state)
{
    size_t n = SBX_MAX_ARGS + 1;
    JobPolicy *p = load("command: '/bin/true'");
    p->n_args = n;
    p->args = calloc(n, sizeof *p->args);
    for (size_t i = 0; i < n; i++)
        p->args[i] = strdup("a");
    struct sbx_spec s;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), -E2BIG);
    assert_non_null(strstr(err.msg, "args: 4097 given, at most 4096"));
    free(p->args[--p->n_args]);
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), 0);
    sbx_spec_free(&s);

    n = SBX_MAX_ENV + 1;
    p->n_env = n;
    p->env = calloc(n, sizeof *p->env);
    for (size_t i = 0; i < n; i++)
        if (asprintf(&p->env[i], "K%zu=v", i) < 0)
            fail();
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), -E2BIG);
    assert_non_null(strstr(err.msg, "env: 4097 given"));
    sbx_policy_free(p);

    char *text = malloc(300 * 40), *t = text;
    t += sprintf(t, "command: '/x' rootfs { ");
    for (int i = 0; i <= SBX_MAX_LAYERS; i++)
        t += sprintf(t, "layers: '/l%d' ", i);
    t += sprintf(t, "}");
    invalid_full(text, "rootfs.layers: 161 given, at most 160");
    t = text;
    t += sprintf(t, "command: '/x' ");
    for (int i = 0; i <= SBX_MAX_MOUNTS; i++)
        t += sprintf(t, "mounts { type: TMPFS dst: '/m%d' } ", i);
    invalid_full(text, "mounts: 257 given, at most 256");
    free(text);
}

static void test_env_rules(void **state)
{
    /* An image is the front-end's to resolve; one left over is refused. */
    invalid("image: 'gcc:13'", "image: \"gcc:13\" was not resolved");
    invalid("env: ['A=1', 'FOO']", "env[1]: \"FOO\" is not KEY=VALUE");
    invalid("env: '=x'", "env[0]: \"=x\" has an empty KEY");
    invalid("env: ['A=1', 'B=2', 'A=3']", "env[2]: A is already set by env[0]");
    invalid("env: ['PATH=/a', 'PATH=/b']", "env[1]: PATH is already set");
}

static void test_path_rules(void **state)
{
    invalid("cwd: 'work'", "cwd: \"work\" must be absolute");
    invalid("cwd: ''", "cwd: must not be empty");
    invalid("cwd: '/a/./b'", "cwd: \"/a/./b\" has a '.' component");
    invalid("cwd: '/a/..'", "has a '..' component");
    invalid("rootfs { layers: ['/ok', 'rel'] }", "rootfs.layers[1]: \"rel\" must be absolute");
    invalid("mounts { src: '/a' dst: '/b' } mounts { src: '/a' dst: '/c' } mounts { src: '/a' dst: 'd' }",
            "mounts[2].dst: \"d\" must be absolute");
    invalid("mounts { src: 'a' dst: '/b' }", "mounts[0].src: \"a\" must be absolute");
    invalid("mounts { src: '/a/../etc' dst: '/b' }", "mounts[0].src: \"/a/../etc\" has a '..' component");
    invalid("stdio { stdin_file: 'in' }", "stdio.stdin_file: \"in\" must be absolute");
    invalid("stdio { stdout_file: '/x/../y' }", "stdio.stdout_file");
    invalid("stdio { stderr_file: '' }", "stdio.stderr_file: must not be empty");
    invalid("seccomp: 'profile.json'", "seccomp: \"profile.json\" is not default, strict, none or an absolute path");
    invalid("seccomp: '/a/./p'", "seccomp: \"/a/./p\" has a '.' component");

    char *text = malloc(SBX_MAX_PATH + 64);
    strcpy(text, "cwd: '");
    size_t n = strlen(text);
    for (size_t i = 0; i < SBX_MAX_PATH; i += 2)
        text[n++] = '/', text[n++] = 'a';
    strcpy(text + n, "'");
    invalid(text, "cwd: longer than 4095 bytes");
    free(text);
}

static void test_mount_rules(void **state)
{
    invalid("mounts { src: '/a' dst: '/' }", "mounts[0].dst: must not be \"/\"");
    invalid("mounts { src: '/a' dst: '//' }", "mounts[0].dst: must not be \"/\"");
    invalid("mounts { src: '/a' }", "mounts[0].dst: required");
    invalid("mounts { src: '/a' dst: '/x' } mounts { type: TMPFS dst: '/x/' }",
            "mounts[1].dst: \"/x\" is also mounts[0].dst");
    invalid("mounts { dst: '/x' }", "mounts[0].src: required for a BIND mount");
    invalid("mounts { type: TMPFS src: '/a' dst: '/x' }", "mounts[0].src: not allowed for a TMPFS mount");
    invalid("mounts { type: TMPFS dst: '/x' rw: false }", "mounts[0].rw: a TMPFS mount is always read-write");
    invalid("mounts { type: TMPFS dst: '/x' size: '0' }", "mounts[0].size: must be greater than 0");
    invalid("mounts { type: TMPFS dst: '/x' size: 'big' }", "mounts[0].size: \"big\" is not a size");
    invalid("mounts { src: '/a' dst: '/x' size: '1M' }", "mounts[0].size: only for TMPFS mounts");
}

static void test_hostname_rules(void **state)
{
    invalid("hostname: ''", "hostname: must be 1 to 64 characters");
    invalid("hostname: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
            "hostname: must be 1 to 64 characters");
    invalid("hostname: 'a_b'", "hostname: \"a_b\" may hold only letters, digits, '-' and '.'");
    invalid("hostname: 'a b'", "may hold only");
    invalid("hostname: '-ab'", "hostname: \"-ab\" must not start or end with '-' or '.'");
    invalid("hostname: 'ab.'", "must not start or end");
    struct sbx_spec s;
    JobPolicy *p = valid("hostname: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", &s);
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_limit_rules(void **state)
{
    invalid("rootfs { size: '0' }", "rootfs.size: must be greater than 0");
    invalid("rootfs { size: '1.5G' }", "rootfs.size: \"1.5G\" is not a size");
    invalid("limits { memory: 'banana' }", "limits.memory: \"banana\" is not a size");
    invalid("limits { memory: '0' }", "limits.memory: must be greater than 0");
    invalid("limits { memory: '64' }", "limits.memory (--memory): \"64\" is below 2M, the least a job needs for its setup");
    invalid("limits { memory: '100K' }", "limits.memory (--memory): \"100K\" is below 2M, the least a job needs for its setup");
    invalid("limits { memory: '99999999999999999999' }", "limits.memory: \"99999999999999999999\" is too large");
    invalid("limits { pids: 0 }", "limits.pids: 0 is not within 1..4194304");
    invalid("limits { pids: 4194305 }", "limits.pids: 4194305 is not within");
    invalid("limits { cpus: 0 }", "limits.cpus: 0 is not within");
    invalid("limits { cpus: -1 }", "limits.cpus");
    invalid("limits { cpus: inf }", "limits.cpus: inf is not within");
    invalid("limits { cpus: nan }", "limits.cpus");
    invalid("limits { cpus: 4097 }", "limits.cpus");
    invalid("limits { cpu_time: '0' }", "limits.cpu_time: must be greater than 0");
    invalid("limits { cpu_time: '-1' }", "limits.cpu_time: \"-1\" is not a duration");
    invalid("limits { wall_time: 'soon' }", "limits.wall_time: \"soon\" is not a duration");
    invalid("limits { wall_time: '0ms' }", "limits.wall_time: must be greater than 0");
    invalid("limits { wall_time: '9999999999999' }", "limits.wall_time: \"9999999999999\" is out of range");
    invalid("limits { output: '0' }", "limits.output: must be greater than 0");
    invalid("limits { output: '1Q' }", "limits.output: \"1Q\" is not a size");
    invalid("limits { open_files: 0 }", "limits.open_files: 0 is not within 1..1048576");
    invalid("limits { open_files: 1048577 }", "limits.open_files");
    invalid("limits { stack: '0' }", "limits.stack: must be greater than 0");
    invalid("limits { core: 'x' }", "limits.core: \"x\" is not a size");
    invalid("limits { cpu_weight: 0 }", "limits.cpu_weight: 0 is not within 1..10000");
    invalid("limits { cpu_weight: 10001 }", "limits.cpu_weight: 10001");
    const char *bad_cpusets[] = {"", "a", "1-", "-1", "3-1", "1,,2", "1,", " 1", "1 ", "0-8192", "1;2", "+1"};
    for (size_t i = 0; i < sizeof bad_cpusets / sizeof bad_cpusets[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "limits { cpuset: '%s' }", bad_cpusets[i]);
        invalid(text, "limits.cpuset");
    }
    struct sbx_spec s;
    JobPolicy *p = valid("limits { cpuset: '0,2,4-7,8191' core: '1M' }", &s);
    assert_int_equal(s.limits.core, 1 << 20);
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_time_offset_rules(void **state)
{
    invalid("time_offsets { offset: '1' }", "time_offsets[0].clock: required");
    invalid("time_offsets { clock: MONOTONIC }", "time_offsets[0].offset: required");
    invalid("time_offsets { clock: MONOTONIC offset: '1' } time_offsets { clock: MONOTONIC offset: '2' }",
            "time_offsets[1].clock: MONOTONIC given more than once");
    invalid("time_offsets { clock: BOOTTIME offset: 'x' }", "time_offsets[0].offset: \"x\" is not a duration");
    invalid("time_offsets { clock: BOOTTIME offset: '4611686018427387905ns' }",
            "time_offsets[0].offset: \"4611686018427387905ns\" is out of range");
    invalid("time_offsets { clock: BOOTTIME offset: '-9999999999999' }", "is out of range");
    struct sbx_spec s;
    JobPolicy *p = valid("time_offsets { clock: BOOTTIME offset: '-4611686018427387904ns' }", &s);
    assert_true(s.boottime_offset_ns == -(INT64_C(1) << 62));
    sbx_spec_free(&s);
    sbx_policy_free(p);
}

static void test_misc_rules(void **state)
{
    invalid("uid: 65536", "uid: 65536 is outside the job's ids 0..65535");
    invalid("gid: 4294967295", "gid: 4294967295 is outside");
    invalid("seccomp: 'Default'", "seccomp: \"Default\" is not");
    invalid("seccomp: ''", "seccomp: \"\" is not");
    invalid("stdio { stdin_file: '/in' stdin_data: 'x' }", "stdio.stdin_data: conflicts with stdio.stdin_file");
    invalid("stdio { stdout_file: '/out' capture: true }", "stdio.capture: conflicts with stdio.stdout_file");
    invalid("stdio { stderr_file: '/err' capture: true }", "stdio.capture: conflicts with stdio.stderr_file");

    /* enum numbers the text loader refuses can still arrive on the wire */
    JobPolicy *p = load("command: '/x'");
    p->has_network = true;
    p->network = 7;
    struct sbx_spec s;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_validate(p, ROOTFS, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "network: 7 is not LOOPBACK or NONE"));
    sbx_policy_free(p);

    p = load("command: '/x'");
    assert_int_equal(sbx_policy_validate(p, NULL, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "rootfs.layers: none given and no default rootfs"));
    sbx_policy_free(p);
}

static void test_quoting(void **state)
{
    /* values in errors stay on one line and bounded */
    invalid("env: 'a\\nb'", "env[0]: \"a?b\" is not KEY=VALUE");
    char text[512] = "env: '";
    memset(text + 6, 'x', 300);
    strcpy(text + 306, "'");
    JobPolicy *p;
    char full[600];
    snprintf(full, sizeof full, "command: '/x' %s", text);
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_load_text(full, strlen(full), &p, &err), 0);
    struct sbx_spec s;
    assert_true(sbx_policy_validate(p, ROOTFS, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "...\" is not KEY=VALUE"));
    assert_true(strlen(err.msg) < 200);
    sbx_policy_free(p);
}

static void test_binary(void **state)
{
    JobPolicy *p = load("command: '/bin/sh' args: ['-c', 'x'] limits { pids: 3 } mounts { src: '/a' dst: '/b' }");
    size_t n = protobuf_c_message_get_packed_size(&p->base);
    uint8_t *buf = malloc(n + 16);
    protobuf_c_message_pack(&p->base, buf);
    JobPolicy *q;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_load_binary(buf, n, &q, &err), 0);
    assert_string_equal(q->command, "/bin/sh");
    assert_int_equal(q->limits->pids, 3);
    sbx_policy_free(q);

    /* an unknown field (number 99, varint) at the top and inside limits */
    uint8_t unk[] = {0x98, 0x06, 0x01};
    memcpy(buf + n, unk, sizeof unk);
    assert_int_equal(sbx_policy_load_binary(buf, n + 3, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "field number 99: unknown field in sbx.v1.JobPolicy"));
    uint8_t unk_limits[] = {0x42, 0x02, 0x78, 0x01}; /* limits { 15: 1 } */
    assert_int_equal(sbx_policy_load_binary(unk_limits, 4, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "limits.field number 15: unknown field in sbx.v1.Limits"));

    uint8_t nul[] = {0x0a, 0x03, 'a', 0, 'b'};
    assert_int_equal(sbx_policy_load_binary(nul, sizeof nul, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "command: NUL byte in a string field"));
    uint8_t bad_utf8[] = {0x12, 0x01, 0xff};
    assert_int_equal(sbx_policy_load_binary(bad_utf8, sizeof bad_utf8, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "args: invalid UTF-8"));
    uint8_t twice[] = {0x0a, 0x01, 'a', 0x0a, 0x01, 'b'};
    assert_int_equal(sbx_policy_load_binary(twice, sizeof twice, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "command: given more than once"));
    uint8_t trunc[] = {0x0a, 0x05, 'a'};
    assert_int_equal(sbx_policy_load_binary(trunc, sizeof trunc, &q, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "command: truncated"));
    uint8_t stdin_nul[] = {0x72, 0x03, 0x22, 0x01, 0x00}; /* stdio { stdin_data: "\0" } is fine */
    assert_int_equal(sbx_policy_load_binary(stdin_nul, sizeof stdin_nul, &q, &err), 0);
    assert_int_equal(q->stdio->stdin_data.len, 1);
    sbx_policy_free(q);
    assert_int_equal(sbx_policy_load_binary(NULL, 0, &q, &err), 0);
    sbx_policy_free(q);

    free(buf);
    sbx_policy_free(p);
}

static void test_load_file(void **state)
{
    JobPolicy *p;
    struct sbx_err err = {0};
    assert_int_equal(sbx_policy_load_file("/nonexistent/policy.pb.txt", &p, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/policy.pb.txt: cannot open"));
    assert_int_equal(sbx_policy_load_file("/", &p, &err), -EISDIR);
    char path[] = "/tmp/sbx-policy-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "command: '/x'\nbogus: 1\n";
    assert_int_equal(write(fd, text, sizeof text - 1), sizeof text - 1);
    close(fd);
    assert_int_equal(sbx_policy_load_file(path, &p, &err), -EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s: line 2: bogus: unknown field in sbx.v1.JobPolicy", path);
    assert_string_equal(err.msg, want);
    unlink(path);
    p = sbx_policy_new();
    assert_non_null(p);
    sbx_policy_free(p);
    sbx_policy_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_bare_command),
        cmocka_unit_test(test_command_rules),
        cmocka_unit_test(test_count_bounds),
        cmocka_unit_test(test_env_rules),
        cmocka_unit_test(test_path_rules),
        cmocka_unit_test(test_mount_rules),
        cmocka_unit_test(test_hostname_rules),
        cmocka_unit_test(test_limit_rules),
        cmocka_unit_test(test_time_offset_rules),
        cmocka_unit_test(test_misc_rules),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
