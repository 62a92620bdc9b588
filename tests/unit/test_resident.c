/* Resident sandboxes through the executor's own interface, on the real host
 * (as root): runs get the job contract (status, exit code, accounting of
 * their own), the root's files persist between runs, nothing else does
 * (processes, SysV IPC, abstract sockets), a run killed for a limit leaves
 * the sandbox usable, and nothing is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "executor/launcher/exec.h"
#include "policy/policy.h"

struct fx {
    JobPolicy *policy;
    struct sbx_spec spec;
    struct sbx_job *sb;
    char *probes;
    bool net_ahead; /* the last run_argv's run joined a network namespace made ahead */
};

/* Steps job until pred holds or it ends; 0 when pred held. */
static int drive(struct sbx_job *job, bool (*pred)(const struct sbx_job *))
{
    for (int i = 0; i < 20000; i++) {
        if (pred && pred(job))
            return 0;
        struct pollfd p[SBX_JOB_MAX_POLLFDS];
        int n = sbx_job_pollfds(job, p);
        poll(p, (nfds_t)n, 10);
        if (sbx_job_step(job, p))
            return pred && pred(job) ? 0 : 1;
    }
    return -1;
}

/* Prepares the sandbox's next run and waits until it is ready. */
static struct sbx_job *prepare(struct fx *f)
{
    struct sbx_err err = {0};
    struct sbx_job *run;
    if (sbx_sandbox_prepare(f->sb, &run, &err) < 0) {
        fprintf(stderr, "prepare: %s\n", err.msg);
        return NULL;
    }
    if (drive(run, sbx_run_prepared) != 0) {
        struct sbx_result r;
        sbx_result_init(&r);
        sbx_job_finish(run, &r);
        fprintf(stderr, "run not ready: %s\n", r.error);
        return NULL;
    }
    return run;
}

static bool started(const struct sbx_job *j)
{
    return sbx_job_started(j);
}

static const char *memory_limit = "256M";
static const char *seccomp_profile = "default";

static int setup(void **state)
{
    if (geteuid() != 0)
        return -1;
    struct fx *f = calloc(1, sizeof *f);
    *state = f;
    const char *probes = getenv("SBX_PROBES");
    char text[1024];
    /* The probes are static programs: bound in at /probes. */
    snprintf(text, sizeof text,
             "command: \"/bin/true\"\n"
             "limits { memory: \"%s\" pids: 64 }\n"
             "seccomp: \"%s\"\n"
             "%s%s%s",
             memory_limit, seccomp_profile, probes ? "mounts { src: \"" : "", probes ? probes : "",
             probes ? "\" dst: \"/probes\" }\n" : "");
    f->probes = probes ? strdup(probes) : NULL;
    struct sbx_err err = {0};
    if (sbx_policy_load_text(text, strlen(text), &f->policy, &err) < 0 ||
        sbx_policy_validate(f->policy, sbx_default_rootfs(), &f->spec, &err) < 0) {
        fprintf(stderr, "policy: %s\n", err.msg);
        return -1;
    }
    struct sbx_exec_opts o = {.stdio = {-1, -1, -1}, .resident = true, .start_fd = -1,
                              .netns_fd = -1, .ipcns_fd = -1, .utsns_fd = -1,
                              .console_fd = -1};
    struct sbx_result res;
    sbx_result_init(&res);
    int es;
    if (sbx_job_spawn(&f->spec, &o, &f->sb, &res, &es, &err) < 0) {
        fprintf(stderr, "spawn: %s\n", err.msg);
        return -1;
    }
    if (drive(f->sb, started) != 0) {
        fprintf(stderr, "sandbox did not get ready\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->sb)
        sbx_job_finish(f->sb, NULL);
    sbx_spec_free(&f->spec);
    sbx__v1__job_policy__free_unpacked(f->policy, NULL);
    free(f->probes);
    free(f);
    return 0;
}

/* One run of "sh -c SCRIPT" with the given limits; its result, and what it
 * wrote to stdout (through a pipe) in out. */
static void run_sh_out(struct fx *f, const char *script, int64_t cpu_ns, uint64_t memory,
                       uint64_t output, struct sbx_result *res, char *out, size_t outsz);

static void run_sh(struct fx *f, const char *script, int64_t cpu_ns, uint64_t memory,
                   struct sbx_result *res, char *out, size_t outsz)
{
    run_sh_out(f, script, cpu_ns, memory, 0, res, out, outsz);
}

static void run_argv(struct fx *f, char **argv, int64_t cpu_ns, uint64_t memory,
                     uint64_t output, struct sbx_result *res, char *out, size_t outsz);

static void run_sh_out(struct fx *f, const char *script, int64_t cpu_ns, uint64_t memory,
                       uint64_t output, struct sbx_result *res, char *out, size_t outsz)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    run_argv(f, argv, cpu_ns, memory, output, res, out, outsz);
}

static void run_argv(struct fx *f, char **argv, int64_t cpu_ns, uint64_t memory,
                     uint64_t output, struct sbx_result *res, char *out, size_t outsz)
{
    struct sbx_err err = {0};
    struct sbx_job *run = prepare(f);
    assert_non_null(run);
    f->net_ahead = sbx_run_net_ahead(run);
    struct sbx_spec s = f->spec;
    s.command = argv[0];
    s.argv = argv;
    s.limits.cpu_time_ns = cpu_ns;
    s.limits.memory = memory;
    if (output)
        s.limits.output = output;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    int stdio[3] = {-1, p[1], -1};
    assert_int_equal(sbx_run_start(run, &s, stdio, &err), 0);
    close(p[1]);
    drive(run, NULL);
    sbx_result_init(res);
    sbx_job_collect(run, res);
    sbx_job_release(run);
    if (res->msg.status == SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED)
        fprintf(stderr, "run: setup failed: %s\n", res->error);
    ssize_t n = read(p[0], out, outsz - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
}

static void test_runs(void **state)
{
    struct fx *f = *state;
    struct sbx_result r;
    char out[4096];
    run_sh(f, "echo one > /tmp/f; sleep 1000 & echo $$; exit 3", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_int_equal(r.msg.exit_code, 3);
    /* The run is PID 1's child in a PID namespace of its own. */
    assert_string_equal(out, "2\n");
    run_sh(f, "cat /tmp/f; ps -o pid,comm 2>/dev/null | grep -c sleep; ls /proc | grep -c '^[0-9]'",
           0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_int_equal(r.msg.exit_code, 0);
    /* The file stays; the sleeper is gone; /proc shows the run's own
     * processes only (its init, sh, ls, grep... never the sandbox's). */
    assert_true(strncmp(out, "one\n0\n", 6) == 0);
    int procs = atoi(out + 6);
    assert_true(procs >= 2 && procs <= 6);
}

/* From the third run on, a run joins a network namespace the sandbox's
 * PID 1 made while the run before was being made (the first has the
 * sandbox's, the second makes its own): each still one of its own, with lo
 * up (the policy's loopback) and no socket in it. */
static void test_net_ahead(void **state)
{
    struct fx *f = *state;
    struct sbx_result r;
    char out[4][256];
    bool ahead[4];
    for (int i = 0; i < 4; i++) {
        run_sh(f, "readlink /proc/self/ns/net; ip link show dev lo | grep -c ',UP'; "
                  "tail -n +2 /proc/net/unix | wc -l",
               0, 0, &r, out[i], sizeof out[i]);
        assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
        ahead[i] = f->net_ahead;
        assert_true(strncmp(out[i], "net:[", 5) == 0);
        assert_string_equal(strchr(out[i], '\n') + 1, "1\n0\n");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(out[i], out[j]);
    }
    assert_false(ahead[0]);
    assert_false(ahead[1]);
    assert_true(ahead[2]);
    assert_true(ahead[3]);
}

static void test_limits(void **state)
{
    struct fx *f = *state;
    struct sbx_result r;
    char out[256];
    run_sh(f, "while :; do :; done", 200 * 1000000LL, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__TIME_LIMIT_EXCEEDED);
    assert_true(r.msg.cpu_time_ms >= 200);
    /* The sandbox goes on; a fresh run's accounting is its own. */
    run_sh(f, "true", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_true(r.msg.cpu_time_ms < 150);
    /* A memory limit of the run's own, below the sandbox's. */
    run_sh(f, "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done", 0, 32ull << 20, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__OOM_KILLED);
    run_sh(f, "echo ok", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_string_equal(out, "ok\n");
}

/* A file at the output limit is the run's that wrote it, not a later
 * run's (the files stay). */
static void test_output_file(void **state)
{
    struct fx *f = *state;
    struct sbx_result r;
    char out[256];
    run_sh_out(f, "head -c 100000 /dev/zero > /tmp/big", 0, 0, 65536, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__OUTPUT_LIMIT_EXCEEDED);
    run_sh_out(f, "ls -l /tmp/big >/dev/null", 0, 0, 65536, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_int_equal(r.msg.exit_code, 0);
}

/* What a run's command runs under when its PID 1 set part of it up ahead
 * (the bounding set, and the default filter, installed once): the same as
 * a job's command. Read from inside (busybox's cat makes calls strict
 * kills: only under default), and tried. */
static void check_confined(struct fx *f, bool held)
{
    struct sbx_result r;
    char out[4096];
    char *status[] = {"/bin/cat", "/proc/self/status", NULL};
    if (!held)
        goto tried;
    run_argv(f, status, 0, 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_non_null(strstr(out, "CapEff:\t0000000000000000\n"));
    assert_non_null(strstr(out, "CapPrm:\t0000000000000000\n"));
    assert_non_null(strstr(out, "CapBnd:\t0000000000000000\n"));
    assert_non_null(strstr(out, "CapAmb:\t0000000000000000\n"));
    assert_non_null(strstr(out, "NoNewPrivs:\t1\n"));
    assert_non_null(strstr(out, "Seccomp:\t2\n"));
    /* One filter: PID 1's, or the command's own, never both. */
    assert_non_null(strstr(out, "Seccomp_filters:\t1\n"));
tried:
    if (!f->probes) {
        print_message("SBX_PROBES unset: the filter's answers not tried\n");
        return;
    }
    if (held) {
        /* The default filter's answers (unconfined, keyctl works), and
         * its kill rule through the listener PID 1 held: a 32-bit call. */
        char *denied[] = {"/probes/sysprobe", "keyctl", "userfaultfd", "getpid", NULL};
        run_argv(f, denied, 0, 0, 0, &r, out, sizeof out);
        assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
        assert_non_null(strstr(out, "keyctl: EPERM\n"));
        assert_non_null(strstr(out, "userfaultfd: EPERM\n"));
        assert_non_null(strstr(out, "getpid: ok\n"));
        char *abi32[] = {"/probes/abi32", NULL};
        run_argv(f, abi32, 0, 0, 0, &r, out, sizeof out);
        assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__SECCOMP_VIOLATION);
        assert_non_null(strstr(r.msg.syscall, "i386"));
    } else {
        char *killed[] = {"/probes/sysprobe", "getpid", "socket-inet", NULL};
        run_argv(f, killed, 0, 0, 0, &r, out, sizeof out);
        assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__SECCOMP_VIOLATION);
        assert_string_equal(r.msg.syscall, "socket");
    }
    /* The sandbox goes on after a run killed by the filter. */
    char *again[] = {"/probes/sysprobe", "getpid", NULL};
    run_argv(f, again, 0, 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_string_equal(out, "getpid: ok\n");
}

static void test_confined(void **state)
{
    check_confined(*state, true);
}

/* setup with one of its settings changed for this fixture only. */
static int setup_with(void **state, const char **knob, const char *value)
{
    const char *old = *knob;
    *knob = value;
    int r = setup(state);
    *knob = old;
    return r;
}

static int setup_strict(void **state)
{
    return setup_with(state, &seccomp_profile, "strict");
}

/* strict is not held by PID 1 (it allows none of PID 1's calls): the
 * command's process installs it last, as a job's does. */
static void test_confined_strict(void **state)
{
    check_confined(*state, false);
}

static int setup_small(void **state)
{
    return setup_with(state, &memory_limit, "48M");
}

/* The sandbox's memory is shared by its PID 1, the next run and the files
 * earlier runs left: a run over what is left is the one OOM-killed (and
 * told so), never the sandbox. */
static void test_oom_leaves_sandbox(void **state)
{
    struct fx *f = *state;
    struct sbx_result r;
    char out[256];
    run_sh(f, "head -c 30000000 /dev/zero > /tmp/fill", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    run_sh(f, "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__OOM_KILLED);
    run_sh(f, "ls -l /tmp/fill | wc -l", 0, 0, &r, out, sizeof out);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__EXITED);
    assert_string_equal(out, "1\n");
}

static void test_exec_failure(void **state)
{
    struct fx *f = *state;
    struct sbx_err err = {0};
    struct sbx_job *run = prepare(f);
    assert_non_null(run);
    struct sbx_spec s = f->spec;
    char *argv[] = {"/nonexistent", NULL};
    s.command = "/nonexistent";
    s.argv = argv;
    assert_int_equal(sbx_run_start(run, &s, NULL, &err), 0);
    drive(run, NULL);
    struct sbx_result r;
    sbx_result_init(&r);
    sbx_job_collect(run, &r);
    sbx_job_release(run);
    assert_int_equal(r.msg.status, SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED);
    assert_int_equal(r.msg.exit_code, 127);
    /* An unused prepared run is let go of cleanly. */
    run = prepare(f);
    assert_non_null(run);
    sbx_job_finish(run, NULL);
    char out[64];
    run_sh(f, "echo again", 0, 0, &r, out, sizeof out);
    assert_string_equal(out, "again\n");
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_resident: needs root, skipped\n");
        return 77;
    }
    /* Orphans of the sandboxes come back to us, not to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_leaves_sandbox, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_confined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confined_strict, setup_strict, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
