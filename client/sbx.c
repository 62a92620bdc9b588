/* sbx: the command-line client. `sbx run` runs a job here, with no daemon
 * (docs/cli-contract.md is its contract); the other commands talk
 * to sandboxd or inspect the host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/stdfds.h"
#include "policy/json.h"
#include "policy/policy.h"
#include "executor/launcher/exec.h"
#include "commands.h"
#include "doctor.h"
#include "flags.h"
#include "image/image.h"
#include "image_cmd.h"

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
    "  image import|ls|inspect|rm|prune ...  the image store (sbx image --help)\n";
static const char usage_options[] =
    "\n"
    "With --socket, run goes through sandboxd, with the same flags, result and\n"
    "exit status. The other commands always do (and so does run --pool): at\n"
    "--socket PATH, else $SBX_SOCKET, else /run/sbx/sandboxd.sock.\n"
    "\n"
    "options:\n"
    "  --socket PATH   talk to the sandboxd listening on PATH\n"
    "  --help          this text\n"
    "  --version       the version\n";

/* Writes the result JSON if asked; a failure to write it is reported but
 * does not change the job's exit status. */
static void write_result(struct sbx_outfile *out, const struct sbx_result *res)
{
    if (out->dirfd < 0)
        return;
    struct sbx_err err = {0};
    if (sbx_json_write_out(&res->msg.base, out, &err) < 0)
        fprintf(stderr, "sbx: %s\n", err.msg);
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

static int fail_setup(struct sbx_outfile *out, const struct sbx_err *err)
{
    fprintf(stderr, "sbx: %s\n", err->msg);
    struct sbx_result res;
    sbx_result_init(&res);
    sbx_result_setup_failed(&res, err);
    write_result(out, &res);
    sbx_outfile_close(out);
    return 125;
}

/* The result file's directory is pinned before the job can run, so that a
 * job writing there cannot redirect the write (common/hostfile.h). */
static int prepare_result(const char *path, struct sbx_outfile *out)
{
    struct sbx_err err = {0};
    if (!path) {
        *out = (struct sbx_outfile){.dirfd = -1};
        return 0;
    }
    if (sbx_outfile_prepare(out, "--result-json", path, &err) < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        sbx_outfile_close(out);
        return -1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    struct sbx_err err = {0};
    struct sbx_run_opts opts = {0};
    struct sbx_outfile out;
    int perr = sbx_run_parse_flags(argc, argv, &opts, &err);
    /* A warm pool lives in sandboxd: --pool always goes there, at the
     * socket the other daemon commands use by default. */
    if (opts.pool && !opts.help) {
        sbx_run_opts_free(&opts);
        return sbx_remote_command(NULL, "run", argc, argv);
    }
    if (prepare_result(opts.result_json, &out) < 0) {
        sbx_run_opts_free(&opts);
        return 125;
    }
    if (perr < 0) {
        int r = fail_setup(&out, &err);
        sbx_run_opts_free(&opts);
        return r;
    }
    if (opts.help) {
        fputs(sbx_run_usage, stdout);
        sbx_outfile_close(&out);
        sbx_run_opts_free(&opts);
        return 0;
    }
    struct sbx_spec spec;
    /* Held until the job has ended: sbx image rm and prune leave its layers. */
    struct sbx_image_hold hold = {0};
    if (sbx_image_apply(opts.policy, sbx_image_store_default(), &hold, &err) < 0 ||
        sbx_policy_validate(opts.policy, sbx_default_rootfs(), &spec, &err) < 0) {
        int r = fail_setup(&out, &err);
        sbx_image_hold_release(&hold);
        sbx_run_opts_free(&opts);
        return r;
    }

    /* Rootless is a weaker sandbox, and nothing else would say so. */
    if (geteuid() != 0 && !opts.quiet)
        fprintf(stderr, "sbx: rootless mode (not root): the job runs as your own uid, without cgroup "
                        "limits or accounting, idmapped layers or dropped supplementary groups "
                        "(SECURITY.md; --quiet hides this)\n");
    struct sbx_exec_opts eo = {.stdio = {-1, -1, -1}, .forward_signals = true};
    struct sbx_result res;
    struct sbx_jobio io;
    sbx_result_init(&res);
    int status = sbx_job_run(&spec, &eo, &io, &res);
    if (res.msg.status == SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED)
        fprintf(stderr, "sbx: %s\n", res.error);
    /* Captured output goes into the result, and then to our own stdout and
     * stderr, as `sbx --socket PATH run` does. */
    if (spec.capture) {
        write_all(STDOUT_FILENO, res.msg.stdout.data, res.msg.stdout.len);
        write_all(STDERR_FILENO, res.msg.stderr.data, res.msg.stderr.len);
    }
    write_result(&out, &res);
    sbx_outfile_close(&out);
    sbx_jobio_close(&io);
    sbx_spec_free(&spec);
    sbx_image_hold_release(&hold);
    sbx_run_opts_free(&opts);
    return status;
}

int main(int argc, char **argv)
{
    if (sbx_ensure_std_fds() < 0)
        return 125;
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
            printf("%s%s%s", usage, sbx_remote_usage, usage_options);
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
        fprintf(stderr, "%s%s%s", usage, sbx_remote_usage, usage_options);
        return 125;
    }
    const char *cmd = argv[i++];
    if (!strcmp(cmd, "run") && !socket_path)
        return cmd_run(argc - i, argv + i);
    if (!strcmp(cmd, "image"))
        return sbx_image_main(argc - i, argv + i);
    if (!strcmp(cmd, "doctor"))
        return sbx_doctor_main(argc - i + 1, argv + i - 1);
    if (sbx_is_remote_command(cmd))
        return sbx_remote_command(socket_path, cmd, argc - i, argv + i);
    fprintf(stderr, "sbx: unknown command \"%s\" (see sbx --help)\n", cmd);
    return 125;
}
