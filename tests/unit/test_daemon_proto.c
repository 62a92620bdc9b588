/* sandboxd's config and request checks: every refusal names its field, caps
 * refuse rather than lower, host paths need shared_paths, and an unset
 * capped limit gets the cap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/textformat.h"
#include "sandboxd/daemon_proto.h"

#define E(c) SBX__V1__ERROR__CODE__##c

static const char config[] =
    "allowed_uids: 1000\n"
    "allowed_gids: 2000\n"
    "admin_uids: 3000\n"
    "client_caps { memory: \"256M\" pids: 64 cpus: 1.5 wall_time: \"20s\" output: \"1M\"\n"
    "  cpu_weight: 200 cpuset: \"1-2\" pending_signals: 512 msgqueue: \"64K\" }\n"
    "shared_paths: \"/srv/data\"\n"
    "shared_paths_rw: \"/srv/scratch\"\n"
    "default_rootfs: \"/opt/sbx/rootfs\"\n"
    "image_store: \"/nonexistent/sbx-image-store\"\n";

static struct sbx_dconfig cfg;

static int setup(void **state)
{
    struct sbx_err err = {0};
    if (sbx_dconfig_parse(config, strlen(config), &cfg, &err) < 0)
        fail_msg("config: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    sbx_dconfig_free(&cfg);
    return 0;
}

static void config_bad(const char *text, const char *want)
{
    struct sbx_dconfig c;
    struct sbx_err err = {0};
    if (sbx_dconfig_parse(text, strlen(text), &c, &err) == 0) {
        sbx_dconfig_free(&c);
        fail_msg("config <<%s>> was accepted", text);
    }
    if (!strstr(err.msg, want))
        fail_msg("config <<%s>>: \"%s\" lacks \"%s\"", text, err.msg, want);
}

static void test_config_defaults(void **state)
{
    struct sbx_dconfig c;
    struct sbx_err err = {0};
    assert_int_equal(sbx_dconfig_parse("", 0, &c, &err), 0);
    assert_string_equal(c.socket, SBX_DAEMON_DEFAULT_SOCKET);
    assert_int_equal(c.queue_length, SBX_DAEMON_DEFAULT_QUEUE);
    assert_true(c.max_concurrent >= 1);
    assert_int_equal(c.pool.first, SBX_UIDPOOL_DEFAULT_FIRST);
    assert_int_equal(c.max_request, SBX_DAEMON_DEFAULT_MAX_REQUEST);
    assert_int_equal(c.caps.memory, 0);
    sbx_dconfig_free(&c);
}

static void test_config_errors(void **state)
{
    config_bad("max_concurrent: 0", "max_concurrent");
    config_bad("uid_pool { first: 0 }", "uid_pool.first");
    config_bad("uid_pool { first: 4294900000 range: 65536 slots: 2 }", "uid_pool");
    config_bad("client_caps { memory: \"banana\" }",
               "client_caps.memory: \"banana\" is not a size");
    config_bad("client_caps { wall_time: \"0\" }", "client_caps.wall_time");
    config_bad("client_caps { cpus: -1 }", "client_caps.cpus");
    config_bad("shared_paths: \"srv\"", "shared_paths[0]");
    config_bad("shared_paths: \"/srv/../etc\"", "shared_paths[0]");
    config_bad("shared_paths_rw: \"srv\"", "shared_paths_rw[0]");
    config_bad("client_caps { cpuset: \"1-\" }", "client_caps.cpuset");
    config_bad("client_caps { cpu_weight: 0 }", "client_caps.cpu_weight");
    config_bad("client_caps { msgqueue: \"much\" }", "client_caps.msgqueue");
    config_bad("socket: "
               "\"/tmp/"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaa\"",
               "socket");
    config_bad("grace_period: \"soon\"", "grace_period");
    config_bad("max_request_bytes: \"1\"", "max_request_bytes");
    config_bad("no_such_field: 1", "no_such_field");
    /* Warm pools and sessions. */
    config_bad("warm_pool { name: \"a b\" size: 1 policy { } }", "warm_pool[0].name");
    config_bad("warm_pool { name: \"p\" size: 0 policy { } }", "warm_pool[0].size");
    config_bad("warm_pool { name: \"p\" size: 1 }", "warm_pool[0].policy: missing");
    config_bad("warm_pool { name: \"p\" size: 1 policy { command: \"/bin/true\" } }",
               "warm_pool[0].policy.command");
    config_bad("warm_pool { name: \"p\" size: 1 policy { limits { memory: \"x\" } } }",
               "warm_pool[0].policy.limits.memory");
    config_bad("warm_pool { name: \"p\" size: 1 policy { } } "
               "warm_pool { name: \"p\" size: 1 policy { } }", "warm_pool[1].name");
    /* Each ready sandbox holds a uid slot: they and max_concurrent must fit. */
    config_bad("max_concurrent: 2 uid_pool { first: 1879048192 range: 65536 slots: 4 } "
               "warm_pool { name: \"p\" size: 3 policy { } }", "uid_pool.slots");
    config_bad("sessions { idle_timeout: \"soon\" }", "sessions.idle_timeout");
}

static void test_who(void **state)
{
    assert_true(sbx_dconfig_is_admin(&cfg, 0));
    assert_true(sbx_dconfig_is_admin(&cfg, 3000));
    assert_false(sbx_dconfig_is_admin(&cfg, 1000));
    assert_true(sbx_dconfig_allows(&cfg, 1000, 1));
    assert_true(sbx_dconfig_allows(&cfg, 1001, 2000));
    assert_true(sbx_dconfig_allows(&cfg, 3000, 1));
    assert_false(sbx_dconfig_allows(&cfg, 1001, 1));
    assert_true(sbx_dconfig_path_shared(&cfg, "/srv/data", false));
    assert_false(sbx_dconfig_path_shared(&cfg, "/srv/data", true));
    assert_true(sbx_dconfig_path_shared(&cfg, "/srv/scratch", false));
    assert_true(sbx_dconfig_path_shared(&cfg, "/srv/scratch", true));
    assert_false(sbx_dconfig_path_shared(&cfg, "/srv/data/x", false));
    assert_false(sbx_dconfig_path_shared(&cfg, "/srv", false));
}

static void test_frame_header(void **state)
{
    uint8_t h[SBX_FRAME_HEADER];
    sbx_frame_header(h, 0x01020304);
    assert_int_equal(h[0], 1);
    assert_int_equal(h[3], 4);
    assert_int_equal(sbx_frame_length(h), 0x01020304);
}

static Request *req_text(const char *text)
{
    ProtobufCMessage *m;
    struct sbx_err err = {0};
    if (sbx_text_parse(&sbx__v1__request__descriptor, text, strlen(text), &m, &err) < 0)
        fail_msg("request <<%s>>: %s", text, err.msg);
    /* Through the wire, as the daemon gets it. */
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    Request *req;
    assert_int_equal(sbx_request_decode(buf, len, &req, &err), 0);
    free(buf);
    return req;
}

/* Checks text as a client (admin or not); returns the code, 0 for OK, and
 * the message in msg. */
static int check(const char *text, bool admin, char *msg, size_t len, Request **keep)
{
    Request *req = req_text(text);
    struct sbx_req_ctx ctx = {.cfg = &cfg, .admin = admin};
    struct sbx_job_req jr;
    Sbx__V1__Error__Code code = 0;
    struct sbx_err err = {0};
    int r = sbx_request_check(req, &ctx, &jr, &code, &err);
    snprintf(msg, len, "%s", err.msg);
    if (r == 0)
        sbx_job_req_free(&jr);
    if (keep)
        *keep = req;
    else
        sbx_request_free(req);
    return r == 0 ? 0 : (int)code;
}

static void refused(const char *text, bool admin, Sbx__V1__Error__Code want, const char *field)
{
    char msg[SBX_ERR_MSG_MAX];
    int code = check(text, admin, msg, sizeof msg, NULL);
    if (code != (int)want)
        fail_msg("<<%s>>: code %d, want %d (%s)", text, code, want, msg);
    if (!strstr(msg, field))
        fail_msg("<<%s>>: \"%s\" does not name \"%s\"", text, msg, field);
}

static void accepted(const char *text, bool admin)
{
    char msg[SBX_ERR_MSG_MAX];
    int code = check(text, admin, msg, sizeof msg, NULL);
    if (code)
        fail_msg("<<%s>> refused: %d %s", text, code, msg);
}

static void test_operations(void **state)
{
    accepted("id: 1 health {}", false);
    accepted("id: 1 list {}", false);
    accepted("id: 1 list { all_users: true }", true);
    accepted("id: 1 kill { job_id: 3 signal: 15 }", false);
    accepted("id: 1 run { policy { command: '/bin/true' } stdio_fds: 7 }", false);
    refused("id: 1", false, E(UNIMPLEMENTED), "unknown or missing operation");
    refused("id: 1 version: 2 health {}", false, E(UNIMPLEMENTED), "version: 2");
    refused("id: 1 wait {}", false, E(INVALID_ARGUMENT), "wait.job_id: missing");
    refused("id: 1 inspect { job_id: 0 }", false, E(INVALID_ARGUMENT), "inspect.job_id");
    refused("id: 1 kill { job_id: 1 signal: 65 }", false, E(INVALID_ARGUMENT), "kill.signal");
    refused("id: 1 list { all_users: true }", false, E(PERMISSION_DENIED), "list.all_users");
    refused("id: 1 run {}", false, E(INVALID_ARGUMENT), "run.policy: missing");
    refused("id: 1 submit { policy { command: '/bin/true' } stdio_fds: 8 }", false,
            E(INVALID_ARGUMENT), "submit.stdio_fds");
    refused("id: 1 run { policy { command: '/bin/true' } name: 'a\\nb' }", false,
            E(INVALID_ARGUMENT), "run.name");
    refused("id: 1 run { policy { command: '' } }", false, E(INVALID_ARGUMENT), "command");
}

static void test_stdio(void **state)
{
    refused("run { policy { command: '/bin/cat' stdio { stdin_data: 'x' } } stdio_fds: 1 }", false,
            E(INVALID_ARGUMENT), "stdio.stdin_data");
    refused("run { policy { command: '/bin/cat' stdio { capture: true } } stdio_fds: 2 }", false,
            E(INVALID_ARGUMENT), "stdio.capture");
    refused("run { policy { command: '/bin/true' stdio { stdout_file: '/tmp/x' } } }", true,
            E(PERMISSION_DENIED), "stdio.stdout_file");
    refused("run { policy { command: '/bin/true' stdio { stdin_file: '/etc/shadow' } } }", false,
            E(PERMISSION_DENIED), "stdio.stdin_file");
    accepted("run { policy { command: '/bin/cat' stdio { stdin_data: 'x' capture: true } } }",
             false);
}

static void test_host_paths(void **state)
{
    refused("run { policy { command: '/bin/true' mounts { src: '/etc' dst: '/mnt' } } }", false,
            E(PERMISSION_DENIED), "mounts[0].src: \"/etc\"");
    accepted("run { policy { command: '/bin/true' mounts { src: '/etc' dst: '/mnt' } } }", true);
    accepted("run { policy { command: '/bin/true' mounts { src: '/srv/data' dst: '/d' } } }",
             false);
    /* Shared read-only unless listed in shared_paths_rw. */
    refused("run { policy { command: '/bin/true' mounts { src: '/srv/data' dst: '/d' rw: true } } }",
            false, E(PERMISSION_DENIED), "mounts[0].rw: \"/srv/data\" is shared read-only");
    accepted("run { policy { command: '/bin/true' mounts { src: '/srv/data' dst: '/d' rw: true } } }",
             true);
    accepted("run { policy { command: '/bin/true' mounts { src: '/srv/scratch' dst: '/d' rw: true } } }",
             false);
    refused("run { policy { command: '/bin/true' rootfs { layers: '/' } } }", false,
            E(PERMISSION_DENIED), "rootfs.layers[0]");
    refused("run { policy { command: '/bin/true' seccomp: '/etc/my.profile' } }", false,
            E(PERMISSION_DENIED), "seccomp");
    accepted("run { policy { command: '/bin/true' seccomp: 'strict' } }", false);
    /* Lowering the filter is the operator's decision (off by default). */
    refused("run { policy { command: '/bin/true' seccomp: 'none' } }", false,
            E(PERMISSION_DENIED), "seccomp: \"none\" lowers the filter");
    accepted("run { policy { command: '/bin/true' seccomp: 'none' } }", true);
    accepted("run { policy { command: '/bin/true' seccomp: 'default' } }", false);
    accepted("run { policy { command: '/bin/true' mounts { type: TMPFS dst: '/t' } } }", false);
    /* The image store is the daemon's: non-admins only when shared, and an
     * image not in it is an invalid field, not a permission matter. */
    refused("run { policy { command: '/bin/true' image: 'gcc:13' } }", false,
            E(PERMISSION_DENIED), "image: only administrators");
    refused("run { policy { command: '/bin/true' image: 'gcc:13' } }", true,
            E(INVALID_ARGUMENT), "image gcc:13: image store /nonexistent/sbx-image-store: does not exist");
    refused("run { policy { command: '/bin/true' image: 'Bad Name' } }", true,
            E(INVALID_ARGUMENT), "image: \"Bad Name\" is not NAME[:TAG]");
}

static void test_caps(void **state)
{
    refused("run { policy { command: '/bin/true' limits { memory: '1G' } } }", false, E(OVER_CAP),
            "limits.memory: 1073741824 bytes is over this client's cap of 268435456 bytes "
            "(client_caps.memory)");
    refused("run { policy { command: '/bin/true' limits { pids: 65 } } }", false, E(OVER_CAP),
            "client_caps.pids");
    refused("run { policy { command: '/bin/true' limits { cpus: 2 } } }", false, E(OVER_CAP),
            "client_caps.cpus");
    refused("run { policy { command: '/bin/true' limits { wall_time: '20.5s' } } }", false,
            E(OVER_CAP), "client_caps.wall_time");
    refused("run { policy { command: '/bin/true' limits { output: '2M' } } }", false, E(OVER_CAP),
            "client_caps.output");
    refused("run { policy { command: '/bin/true' limits { cpu_weight: 201 } } }", false,
            E(OVER_CAP), "limits.cpu_weight: 201 is over this client's cap of 200");
    refused("run { policy { command: '/bin/true' limits { cpuset: '0-1' } } }", false,
            E(OVER_CAP), "limits.cpuset: \"0-1\" is not within this client's CPUs \"1-2\"");
    accepted("run { policy { command: '/bin/true' limits { cpuset: '2' } } }", false);
    refused("run { policy { command: '/bin/true' limits { pending_signals: 513 } } }", false,
            E(OVER_CAP), "client_caps.pending_signals");
    refused("run { policy { command: '/bin/true' limits { msgqueue: '1M' } } }", false,
            E(OVER_CAP), "client_caps.msgqueue");
    /* Administrators are not capped. */
    accepted("run { policy { command: '/bin/true' limits { memory: '1G' } } }", true);
    accepted("run { policy { command: '/bin/true' limits { memory: '256M' pids: 64 } } }", false);

    /* Unset capped limits get the caps, as the configured strings. */
    char msg[SBX_ERR_MSG_MAX];
    Request *req;
    assert_int_equal(check("run { policy { command: '/bin/true' limits { memory: '64M' } } }",
                           false, msg, sizeof msg, &req),
                     0);
    const Sbx__V1__Limits *l = req->run->policy->limits;
    assert_string_equal(l->memory, "64M");
    assert_true(l->has_pids);
    assert_int_equal(l->pids, 64);
    assert_string_equal(l->wall_time, "20s");
    assert_string_equal(l->output, "1M");
    assert_null(l->cpu_time);
    assert_string_equal(l->cpuset, "1-2");
    assert_int_equal(l->pending_signals, 512);
    assert_string_equal(l->msgqueue, "64K");
    assert_false(l->has_cpu_weight); /* the kernel's 100 is under the cap */
    sbx_request_free(req);
}

static void test_garbage(void **state)
{
    Request *req;
    struct sbx_err err = {0};
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(sbx_request_decode(junk, sizeof junk, &req, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "not a valid sbx.v1.Request"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_who),
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_operations),
        cmocka_unit_test(test_stdio),
        cmocka_unit_test(test_host_paths),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
