/* sbx session create|run|rm: one sandbox on sandboxd serving many runs
 * (policy/sandboxd.proto: session_create, JobRequest.session_id,
 * session_remove). A run goes through run's own code (commands_run.c), so
 * that it keeps `sbx run`'s contract. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands_internal.h"
#include "flags.h"

static const char session_usage[] =
    "usage: sbx [--socket PATH] session create|run|rm ...\n"
    "\n"
    "A session is one sandbox on sandboxd that serves many runs, one at a time:\n"
    "its root filesystem (and /tmp) persists from run to run, nothing else does.\n"
    "Each run gets its own cgroup (its own limits, CPU time, memory peak and OOM\n"
    "count), and every process a run started is gone before the next run\n"
    "starts. A session goes at `session rm`, after its idle timeout without a\n"
    "run, or at its maximum lifetime. ps lists sessions, and inspect and kill\n"
    "take a session's id (kill: SIGKILL tears the session down, another signal\n"
    "goes to the current run's first process).\n"
    "\n"
    "commands:\n"
    "  create [RUN OPTIONS] [--name NAME] [--idle-timeout D] [--max-lifetime D]\n"
    "                       build a session and print its id alone on stdout\n"
    "  run ID [PER-RUN OPTIONS] [--] COMMAND [ARG...]\n"
    "                       run COMMAND in session ID, exactly as sbx run would\n"
    "  rm ID                tear session ID down (a run in progress is killed)\n"
    "Each has --help.\n";

static const char create_usage[] =
    "usage: sbx [--socket PATH] session create [RUN OPTIONS] [--name NAME]\n"
    "                                          [--idle-timeout D] [--max-lifetime D]\n"
    "\n"
    "Builds a session on sandboxd and prints its id alone on stdout, once its\n"
    "sandbox is ready (id=$(sbx session create ...)). RUN OPTIONS are those of\n"
    "sbx run --help without a COMMAND, --arg, --result-json or --pool: they\n"
    "shape the sandbox every run of the session shares; the limits are the\n"
    "most any run may have (a run may only narrow them).\n"
    "\n"
    "  --name NAME          a label for sbx ps (at most 64 bytes)\n"
    "  --idle-timeout D     remove the session after D without a run (duration;\n"
    "                       default and maximum: the daemon's sessions.idle_timeout)\n"
    "  --max-lifetime D     remove the session D after it was created, running or\n"
    "                       not (default and maximum: sessions.max_lifetime)\n"
    "\n"
    "Exit status: 0 with the id printed; 1 when sandboxd refused (one line on\n"
    "stderr names the field and why); 2 for a wrong flag or argument.\n";

const char sbx_session_run_usage[] =
    "usage: sbx [--socket PATH] session run ID [OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Runs COMMAND in session ID (sbx session create) and waits for it, with sbx\n"
    "run's contract: its stdin, stdout and stderr are handed to the run,\n"
    "SIGINT, SIGTERM and SIGHUP are passed on, and the statuses, the result\n"
    "JSON and the exit status are sbx run's (docs/cli-contract.md). Runs of one\n"
    "session are serialised: a run asked for while another runs waits for it.\n"
    "Only what may differ per run is accepted (any other flag is an error\n"
    "naming it); limits may only narrow the session's.\n"
    "\n"
    "Options:\n"
    "  --time-limit SECONDS      CPU time limit of this run\n"
    "  --wall-time-limit SECONDS wall-clock limit of this run\n"
    "  --memory SIZE             memory limit of this run\n"
    "  --pids N                  most processes and threads of this run\n"
    "  --output-limit SIZE       most bytes each of stdout and stderr may carry\n"
    "  --env KEY=VALUE           repeatable; this run's environment\n"
    "  --cwd DIR                 working directory inside\n"
    "  --arg ARG                 append ARG to the arguments; repeatable\n"
    "  --policy FILE             a policy holding only per-run fields (command,\n"
    "                            args, env, cwd, stdio, limits)\n"
    "  --result-json FILE        write this run's result as one JSON object to FILE\n"
    "  -q, --quiet               no notes on stderr, only errors\n"
    "  -h, --help                print this help\n"
    "\n"
    "Exit status: as sbx run's (the job's exit code, 128+N, 125, 126, 127); a\n"
    "session that does not exist (or is not yours) is 125 with a SETUP_FAILED\n"
    "result.\n";

static const char rm_usage[] =
    "usage: sbx [--socket PATH] session rm ID\n"
    "\n"
    "Tears session ID down: a run in progress is killed (its sbx session run\n"
    "gets its result), then the sandbox and its files go.\n"
    "Exit status: 0 done; 1 sandboxd refused (e.g. no such session); 2 usage.\n";

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static int session_create(struct remote *rm, int argc, char **argv)
{
    struct sbx_err err = {0};
    struct sbx_run_opts opts = {0};
    if (sbx_run_parse_flags_mode(argc, argv, SBX_FLAGS_SESSION_CREATE, &opts, &err) < 0) {
        fprintf(stderr, "sbx session create: %s\n", err.msg);
        sbx_run_opts_free(&opts);
        return 2;
    }
    if (opts.help) {
        fputs(create_usage, stdout);
        sbx_run_opts_free(&opts);
        return 0;
    }
    Sbx__V1__SessionRequest sr = SBX__V1__SESSION_REQUEST__INIT;
    sr.policy = opts.policy;
    sr.name = (char *)opts.name;
    sr.idle_timeout = (char *)opts.idle_timeout;
    sr.max_lifetime = (char *)opts.max_lifetime;
    Request req = SBX__V1__REQUEST__INIT;
    req.op_case = SBX__V1__REQUEST__OP_SESSION_CREATE;
    req.session_create = &sr;
    _cleanup_resp_ Response *resp = NULL;
    int r = sbx_cmd_connect(rm, &err);
    if (r == 0)
        r = sbx_client_call(&rm->cl, &req, NULL, 0, &resp, &err);
    sbx_run_opts_free(&opts);
    if (r < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        return 1;
    }
    if (resp->body_case != SBX__V1__RESPONSE__BODY_JOB || !resp->job->job_id) {
        fprintf(stderr, "sbx: sandboxd answered session create without a session id\n");
        return 1;
    }
    printf("%" PRIu64 "\n", resp->job->job_id);
    return 0;
}

static int session_run(struct remote *rm, int argc, char **argv)
{
    if (argc < 1 || is_help(argv[0])) {
        fputs(sbx_session_run_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 125 : 0;
    }
    uint64_t id;
    if (sbx_cmd_parse_id("session run", argv[0], &id) < 0)
        return 125;
    return sbx_cmd_session_run(rm, argc - 1, argv + 1, id);
}

static int session_rm(struct remote *rm, int argc, char **argv)
{
    if (argc >= 1 && is_help(argv[0])) {
        fputs(rm_usage, stdout);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "sbx session rm: %s (see sbx session rm --help)\n",
                argc ? "takes one session ID" : "missing the session ID");
        return 2;
    }
    uint64_t id;
    if (sbx_cmd_parse_id("session rm", argv[0], &id) < 0)
        return 2;
    Sbx__V1__JobRef ref = SBX__V1__JOB_REF__INIT;
    ref.has_job_id = true;
    ref.job_id = id;
    Request req = SBX__V1__REQUEST__INIT;
    req.op_case = SBX__V1__REQUEST__OP_SESSION_REMOVE;
    req.session_remove = &ref;
    struct sbx_err err = {0};
    _cleanup_resp_ Response *resp = NULL;
    if (sbx_cmd_connect(rm, &err) < 0 || sbx_client_call(&rm->cl, &req, NULL, 0, &resp, &err) < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int sbx_cmd_session(struct remote *rm, int argc, char **argv)
{
    if (argc < 1) {
        fputs(session_usage, stderr);
        return 2;
    }
    if (is_help(argv[0])) {
        fputs(session_usage, stdout);
        return 0;
    }
    if (!strcmp(argv[0], "create"))
        return session_create(rm, argc - 1, argv + 1);
    if (!strcmp(argv[0], "run"))
        return session_run(rm, argc - 1, argv + 1);
    if (!strcmp(argv[0], "rm"))
        return session_rm(rm, argc - 1, argv + 1);
    fprintf(stderr, "sbx session: unknown command \"%s\" (see sbx session --help)\n", argv[0]);
    return 2;
}
