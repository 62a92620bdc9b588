/* sbx: the command-line client. `sbx run` runs a job here, with no daemon
 * (../shared/spec/cli-contract.md is its contract); the other commands talk
 * to sandboxd or inspect the host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../policy/json.h"
#include "../policy/policy.h"
#include "../sandboxd/exec.h"
#include "doctor.h"
#include "flags.h"

static const char usage[] =
    "usage: sbx [--socket PATH] COMMAND [ARGS...]\n"
    "\n"
    "Runs untrusted programs in a sandbox: new user, PID, network, mount, UTS,\n"
    "IPC, cgroup and time namespaces, cgroup quotas, a read-only overlay root,\n"
    "no capabilities, no_new_privs and seccomp.\n"
    "\n"
    "commands:\n"
    "  run [OPTIONS] [--] COMMAND [ARG...]   run a job and wait for it (sbx run --help)\n"
    "  doctor [--json]                       check whether this host can run jobs, and how well\n"
    "\n"
    "options:\n"
    "  --socket PATH   talk to the sandboxd listening on PATH\n"
    "  --help          this text\n"
    "  --version       the version\n";

/* Writes the result JSON if asked; a failure to write it is reported but
 * does not change the job's exit status. */
static void write_result(const char *path, const struct sbx_result *res)
{
    if (!path)
        return;
    struct sbx_err err = {0};
    if (sbx_json_write_file(&res->msg.base, path, &err) < 0)
        fprintf(stderr, "sbx: --result-json: %s\n", err.msg);
}

static int fail_setup(const char *result_json, const struct sbx_err *err)
{
    fprintf(stderr, "sbx: %s\n", err->msg);
    struct sbx_result res;
    sbx_result_init(&res);
    sbx_result_setup_failed(&res, err);
    write_result(result_json, &res);
    return 125;
}

static int cmd_run(int argc, char **argv)
{
    struct sbx_err err = {0};
    struct sbx_run_opts opts = {0};
    if (sbx_run_parse_flags(argc, argv, &opts, &err) < 0) {
        int r = fail_setup(opts.result_json, &err);
        sbx_run_opts_free(&opts);
        return r;
    }
    if (opts.help) {
        fputs(sbx_run_usage, stdout);
        sbx_run_opts_free(&opts);
        return 0;
    }
    struct sbx_spec spec;
    if (sbx_policy_validate(opts.policy, sbx_default_rootfs(), &spec, &err) < 0) {
        int r = fail_setup(opts.result_json, &err);
        sbx_run_opts_free(&opts);
        return r;
    }

    struct sbx_exec_opts eo = {.stdio = {-1, -1, -1}, .forward_signals = true};
    struct sbx_result res;
    sbx_result_init(&res);
    int status = sbx_job_run(&spec, &eo, &res);
    if (res.msg.status == SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED)
        fprintf(stderr, "sbx: %s\n", res.error);
    write_result(opts.result_json, &res);
    sbx_spec_free(&spec);
    sbx_run_opts_free(&opts);
    return status;
}

int main(int argc, char **argv)
{
    /* Nothing may ptrace the launcher or read its memory. Rootless, the
     * launcher is the caller's own process, and it must stay dumpable for
     * /proc/<child>/uid_map to be writable by it. */
    if (geteuid() == 0 && prctl(PR_SET_DUMPABLE, 0) < 0) {
        perror("sbx: making the launcher non-dumpable");
        return 125;
    }

    int i = 1;
    const char *socket_path = NULL;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("sbx %s\n", SBX_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            socket_path = argv[i] + 9;
        } else {
            fprintf(stderr, "sbx: unknown option %s (see sbx --help)\n", argv[i]);
            return 125;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 125;
    }
    const char *cmd = argv[i++];
    if (!strcmp(cmd, "run")) {
        if (socket_path) {
            fprintf(stderr, "sbx: --socket: sandboxd is not available in this build yet\n");
            return 125;
        }
        return cmd_run(argc - i, argv + i);
    }
    if (!strcmp(cmd, "doctor"))
        return sbx_doctor_main(argc - i + 1, argv + i - 1);
    fprintf(stderr, "sbx: unknown command \"%s\" (see sbx --help)\n", cmd);
    return 125;
}
