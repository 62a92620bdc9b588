/* sbx run (through sandboxd) and sbx submit. `sbx --socket PATH run` keeps
 * local `sbx run`'s contract: the same flags (client/flags.c), the caller's
 * own stdio handed to the job over the socket, the same result JSON and the
 * same exit status. It submits, then waits, so that it knows the job id and
 * can pass SIGINT/SIGTERM/SIGHUP on to the job as local runs do. `sbx
 * session run` is the same path with JobRequest.session_id set. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "policy/json.h"
#include "executor/launcher/exec.h"
#include "commands_internal.h"
#include "flags.h"

int sbx_cmd_connect(struct remote *rm, struct sbx_err *err)
{
    return sbx_client_connect(sbx_client_socket_path(rm->socket), &rm->cl, err);
}

void sbx_cmd_write_result(const char *path, const JobResult *r)
{
    if (!path)
        return;
    struct sbx_err err = {0};
    if (sbx_json_write_file(&r->base, path, &err) < 0)
        fprintf(stderr, "sbx: %s\n", err.msg);
}

static void write_out(struct sbx_outfile *out, const JobResult *r)
{
    struct sbx_err err = {0};
    if (out->dirfd >= 0 && sbx_json_write_out(&r->base, out, &err) < 0)
        fprintf(stderr, "sbx: %s\n", err.msg);
    sbx_outfile_close(out);
}

/* As local `sbx run` does for a job that never started: one line on
 * stderr, a SETUP_FAILED result, status 125. */
static int fail_setup(struct sbx_outfile *out, const struct sbx_err *err)
{
    fprintf(stderr, "sbx: %s\n", err->msg);
    struct sbx_result res;
    sbx_result_init(&res);
    sbx_result_setup_failed(&res, err);
    write_out(out, &res.msg);
    return 125;
}

/* The caller's stdio streams to hand to the job, as SCM_RIGHTS carries
 * them: those that are open, except stdin when the policy brings its own
 * bytes and stdout/stderr when the policy captures them (the daemon then
 * owns those streams). */
static unsigned attach_stdio(const JobPolicy *p, int fds[3], size_t *n)
{
    const Sbx__V1__Stdio *io = p->stdio;
    unsigned skip = (io && io->has_stdin_data ? 1u : 0) | (io && io->capture ? 6u : 0);
    unsigned bits = 0;
    *n = 0;
    for (int i = 0; i < 3; i++)
        if (!(skip & (1u << i)) && fcntl(i, F_GETFD) >= 0) {
            bits |= 1u << i;
            fds[(*n)++] = i;
        }
    return bits;
}

static void write_all(int fd, const ProtobufCBinaryData *b)
{
    for (size_t off = 0; off < b->len;) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

int sbx_cmd_wait_job(struct remote *rm, uint64_t id, bool remove, int sigfd, Response **out,
                     struct sbx_err *err)
{
    Request req = SBX__V1__REQUEST__INIT;
    Sbx__V1__WaitRequest w = SBX__V1__WAIT_REQUEST__INIT;
    w.has_job_id = w.has_remove = true;
    w.job_id = id;
    w.remove = remove;
    req.op_case = SBX__V1__REQUEST__OP_WAIT;
    req.wait = &w;
    int r = sbx_client_send(&rm->cl, &req, NULL, 0, err);
    if (r < 0)
        return r;
    for (;;) {
        Response *resp;
        r = sbx_client_recv(&rm->cl, sigfd, &resp, err);
        if (r == -EINTR) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                Request k = SBX__V1__REQUEST__INIT;
                Sbx__V1__KillRequest kr = SBX__V1__KILL_REQUEST__INIT;
                kr.has_job_id = kr.has_signal = true;
                kr.job_id = id;
                kr.signal = si.ssi_signo;
                k.op_case = SBX__V1__REQUEST__OP_KILL;
                k.kill = &kr;
                if (sbx_client_send(&rm->cl, &k, NULL, 0, err) < 0)
                    return -EIO;
            }
            continue;
        }
        if (r < 0)
            return r;
        if (resp->id != req.id && resp->id != 0) {
            sbx_response_free(resp); /* a kill's answer */
            continue;
        }
        *out = resp;
        if (resp->error)
            return sbx_err_set(err, EREMOTEIO, "%s", resp->error->message);
        if (resp->body_case != SBX__V1__RESPONSE__BODY_JOB || !resp->job->result)
            return sbx_err_set(err, EPROTO, "sandboxd answered the wait without a result");
        return 0;
    }
}

static int submit_job(struct remote *rm, JobPolicy *policy, bool detached, bool attach,
                      const char *name, const char *pool, uint64_t session_id, uint64_t *id,
                      struct sbx_err *err)
{
    int fds[3];
    size_t nfds = 0;
    Sbx__V1__JobRequest jr = SBX__V1__JOB_REQUEST__INIT;
    jr.policy = policy;
    jr.has_detached = jr.has_stdio_fds = true;
    jr.detached = detached;
    jr.stdio_fds = attach ? attach_stdio(policy, fds, &nfds) : 0;
    jr.name = (char *)name;
    jr.pool = (char *)pool;
    jr.has_session_id = session_id != 0;
    jr.session_id = session_id;
    Request req = SBX__V1__REQUEST__INIT;
    req.op_case = SBX__V1__REQUEST__OP_SUBMIT;
    req.submit = &jr;
    _cleanup_resp_ Response *resp = NULL;
    int r = sbx_client_call(&rm->cl, &req, fds, nfds, &resp, err);
    if (r < 0)
        return r;
    if (resp->body_case != SBX__V1__RESPONSE__BODY_JOB)
        return sbx_err_set(err, EPROTO, "sandboxd answered the submit without a job");
    *id = resp->job->job_id;
    return 0;
}

static int forward_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static const char submit_usage[] =
    "usage: sbx [--socket PATH] submit [--detach] [--name NAME] [RUN OPTIONS] [--] COMMAND "
    "[ARG...]\n"
    "\n"
    "Starts a job on sandboxd and prints its id on stdout. Without --detach the\n"
    "job gets this process's stdin, stdout and stderr, and sbx stays until the\n"
    "job ends (exiting as `sbx run` would; the job dies if sbx is killed). With\n"
    "--detach sbx exits at once and the job outlives it, its stdio /dev/null\n"
    "unless the policy captures it (collect it with sbx wait ID --json).\n"
    "--name labels the job in sbx ps (at most 64 bytes).\n"
    "RUN OPTIONS are those of sbx run --help.\n";

static int run_job(struct remote *rm, int argc, char **argv, bool submit, uint64_t session_id);

int sbx_cmd_run_or_submit(struct remote *rm, int argc, char **argv, bool submit)
{
    return run_job(rm, argc, argv, submit, 0);
}

/* A session run is a run with session_id set and only the per-run flags:
 * everything after the parsing (stdio, signals, result, exit status) is
 * run's own path, so the contract cannot drift between the two. */
int sbx_cmd_session_run(struct remote *rm, int argc, char **argv, uint64_t session_id)
{
    return run_job(rm, argc, argv, false, session_id);
}

static int run_job(struct remote *rm, int argc, char **argv, bool submit, uint64_t session_id)
{
    bool detach = false;
    const char *name = NULL;
    int i = 0;
    if (submit) {
        for (; i < argc; i++) {
            if (!strcmp(argv[i], "--detach") || !strcmp(argv[i], "-d"))
                detach = true;
            else if (!strcmp(argv[i], "--name") && i + 1 < argc)
                name = argv[++i];
            else if (!strcmp(argv[i], "--help")) {
                fputs(submit_usage, stdout);
                return 0;
            } else
                break;
        }
    }
    struct sbx_err err = {0};
    struct sbx_run_opts opts = {0};
    struct sbx_outfile out = {.dirfd = -1};
    int perr = sbx_run_parse_flags_mode(argc - i, argv + i,
                                        session_id ? SBX_FLAGS_SESSION_RUN : SBX_FLAGS_RUN, &opts, &err);
    /* Pinned before the job can run: a job writing in the result's
     * directory cannot redirect the write (common/hostfile.h). */
    if (opts.result_json && sbx_outfile_prepare(&out, "--result-json", opts.result_json, &err) < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        sbx_outfile_close(&out);
        sbx_run_opts_free(&opts);
        return 125;
    }
    if (perr < 0) {
        int r = fail_setup(&out, &err);
        sbx_run_opts_free(&opts);
        return r;
    }
    if (opts.help) {
        fputs(session_id ? sbx_session_run_usage : submit ? submit_usage : sbx_run_usage, stdout);
        sbx_outfile_close(&out);
        sbx_run_opts_free(&opts);
        return 0;
    }
    _cleanup_close_ int sigfd = detach ? -1 : forward_signals();
    uint64_t id = 0;
    int r = sbx_cmd_connect(rm, &err);
    if (r == 0)
        r = submit_job(rm, opts.policy, detach, !detach, name, opts.pool, session_id, &id, &err);
    if (r < 0) {
        r = fail_setup(&out, &err);
        sbx_run_opts_free(&opts);
        return r;
    }
    if (submit) {
        printf("%" PRIu64 "\n", id);
        fflush(stdout);
    }
    if (detach) {
        sbx_outfile_close(&out);
        sbx_run_opts_free(&opts);
        return 0;
    }
    _cleanup_resp_ Response *resp = NULL;
    r = sbx_cmd_wait_job(rm, id, true, sigfd, &resp, &err);
    if (r < 0) {
        r = fail_setup(&out, &err);
        sbx_run_opts_free(&opts);
        return r;
    }
    const JobResult *res = resp->job->result;
    /* Captured output is shown where the job would have written it. */
    if (res->has_stdout)
        write_all(STDOUT_FILENO, &res->stdout);
    if (res->has_stderr)
        write_all(STDERR_FILENO, &res->stderr);
    if (res->status == SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED)
        fprintf(stderr, "sbx: %s\n", res->error);
    write_out(&out, res);
    sbx_run_opts_free(&opts);
    return resp->job->has_exit_status ? resp->job->exit_status : sbx_result_exit_status(res);
}
