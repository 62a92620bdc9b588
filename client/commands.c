/* sbx's daemon commands: wait, ps, inspect, kill, pause, resume, rm, stats,
 * and the dispatch (run and submit are in commands_run.c, session in
 * commands_session.c). */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/safeprint.h"
#include "policy/json.h"
#include "commands_internal.h"

const char sbx_remote_usage[] =
    "  submit [--detach] [--name NAME] [RUN OPTIONS] [--] COMMAND [ARG...]\n"
    "                                        start a job on sandboxd, print its id\n"
    "  wait ID [--json] [--result-json FILE] wait for a job, print its result\n"
    "  ps [--all] [--json]                   list jobs\n"
    "  inspect ID [--json]                   a job's state, policy and resource use\n"
    "  kill ID [--signal SIG]                kill a job (or signal its first process)\n"
    "  pause ID | resume ID                  freeze or thaw every process of a job\n"
    "  rm ID                                 forget a stopped job\n"
    "  stats [--json]                        sandboxd's health and counters\n"
    "  run --pool NAME [RUN OPTIONS] [--] COMMAND [ARG...]\n"
    "                                        run in a ready sandbox of a warm pool\n"
    "  session create|run|rm ...             one sandbox, many runs (sbx session --help)\n";

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "?";
}

static const char *state_name(Sbx__V1__JobState s)
{
    return enum_name(&sbx__v1__job_state__descriptor, s);
}

static const char *status_name(const JobResult *r)
{
    return enum_name(&sbx__v1__job_result__status__descriptor, r->status);
}

static void print_json(const ProtobufCMessage *m)
{
    _cleanup_free_ char *s = sbx_json_format(m);
    if (s)
        puts(s);
}

int sbx_cmd_parse_id(const char *cmd, const char *s, uint64_t *id)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v == 0 || s[0] == '-') {
        fprintf(stderr, "sbx %s: \"%s\" is not a job id (see sbx %s --help)\n", cmd, s ? s : "",
                cmd);
        return -EINVAL;
    }
    *id = v;
    return 0;
}

struct cmd_flags {
    bool json, all;
    const char *result_json;
    const char *signal;
    const char *id;
};

/* Parses the few flags the small commands take; which ones each accepts is
 * in its usage text. Returns -1 (after printing why) on a bad argument. */
static int parse_small(const char *cmd, const char *usage, int argc, char **argv,
                       struct cmd_flags *f, bool want_id, bool *help)
{
    memset(f, 0, sizeof *f);
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json") && strstr(usage, "--json")) {
            f->json = true;
        } else if (!strcmp(a, "--all") && strstr(usage, "--all")) {
            f->all = true;
        } else if (!strcmp(a, "--result-json") && strstr(usage, "--result-json") && i + 1 < argc) {
            f->result_json = argv[++i];
        } else if (!strcmp(a, "--signal") && strstr(usage, "--signal") && i + 1 < argc) {
            f->signal = argv[++i];
        } else if (a[0] != '-' && want_id && !f->id) {
            f->id = a;
        } else {
            fprintf(stderr, "sbx %s: unexpected argument \"%s\" (see sbx %s --help)\n", cmd, a,
                    cmd);
            return -1;
        }
    }
    if (want_id && !f->id) {
        fprintf(stderr, "sbx %s: missing the job ID (see sbx %s --help)\n", cmd, cmd);
        return -1;
    }
    return 0;
}

static int call_simple(struct remote *rm, Request *req, Response **resp)
{
    struct sbx_err err = {0};
    if (sbx_cmd_connect(rm, &err) < 0 || sbx_client_call(&rm->cl, req, NULL, 0, resp, &err) < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static const char wait_usage[] =
    "usage: sbx [--socket PATH] wait ID [--json] [--result-json FILE]\n"
    "\n"
    "Waits until job ID stops and prints its result: one line, or with --json\n"
    "the job as JSON (result, captured output in base64). Exits as `sbx run`\n"
    "would have for this job.\n";

static int cmd_wait(struct remote *rm, int argc, char **argv)
{
    struct cmd_flags f;
    bool help;
    uint64_t id;
    if (parse_small("wait", wait_usage, argc, argv, &f, true, &help) < 0)
        return 2;
    if (help)
        return 0;
    if (sbx_cmd_parse_id("wait", f.id, &id) < 0)
        return 2;
    struct sbx_err err = {0};
    _cleanup_resp_ Response *resp = NULL;
    if (sbx_cmd_connect(rm, &err) < 0 || sbx_cmd_wait_job(rm, id, false, -1, &resp, &err) < 0) {
        fprintf(stderr, "sbx: %s\n", err.msg);
        return 1;
    }
    const JobInfo *j = resp->job;
    sbx_cmd_write_result(f.result_json, j->result);
    if (f.json) {
        print_json(&j->base);
    } else {
        printf("job %" PRIu64 ": %s exit_code %d signal %d wall %" PRIu64 " ms cpu %" PRIu64
               " ms%s%s\n",
               j->job_id, status_name(j->result), j->result->exit_code, j->result->signal,
               j->result->wall_time_ms, j->result->cpu_time_ms,
               j->result->error && *j->result->error ? ": " : "",
               SBX_SAFE(j->result->error));
    }
    return j->exit_status;
}

static const char ps_usage[] =
    "usage: sbx [--socket PATH] ps [--all] [--json]\n"
    "\n"
    "Lists your jobs on sandboxd (--all: every user's, for administrators):\n"
    "a table, or with --json one JSON object {\"jobs\": [...]}. A session is\n"
    "listed as \"[session, N runs]\" in place of a command, a run of one with\n"
    "\"[session ID]\" after its command, a job of a warm pool with \"[pool NAME]\"\n"
    "(\"[pool NAME, cold]\" when the pool was empty).\n";

static void fmt_age(uint64_t since_ms, char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    uint64_t s = now > since_ms ? (now - since_ms) / 1000 : 0;
    if (s < 120)
        snprintf(buf, len, "%" PRIu64 "s", s);
    else if (s < 7200)
        snprintf(buf, len, "%" PRIu64 "m", s / 60);
    else
        snprintf(buf, len, "%" PRIu64 "h", s / 3600);
}

/* What sets a session, a session's run or a pooled job apart in ps (empty
 * for any other job, whose line stays as it always was). */
static void describe_kind(const JobInfo *j, char *buf, size_t len)
{
    if (j->session)
        snprintf(buf, len, "[session, %u run%s]", j->runs, j->runs == 1 ? "" : "s");
    else if (j->has_session_id && j->session_id)
        snprintf(buf, len, "[session %" PRIu64 "]", j->session_id);
    else if (j->pool && *j->pool)
        snprintf(buf, len, "[pool %s%s]", SBX_SAFE(j->pool), j->has_warm && !j->warm ? ", cold" : "");
}

static int cmd_ps(struct remote *rm, int argc, char **argv)
{
    struct cmd_flags f;
    bool help;
    if (parse_small("ps", ps_usage, argc, argv, &f, false, &help) < 0)
        return 2;
    if (help)
        return 0;
    Request req = SBX__V1__REQUEST__INIT;
    Sbx__V1__ListRequest l = SBX__V1__LIST_REQUEST__INIT;
    l.has_all_users = true;
    l.all_users = f.all;
    req.op_case = SBX__V1__REQUEST__OP_LIST;
    req.list = &l;
    _cleanup_resp_ Response *resp = NULL;
    if (call_simple(rm, &req, &resp))
        return 1;
    if (f.json) {
        print_json(&resp->jobs->base);
        return 0;
    }
    printf("%-8s %-8s %-6s %-6s %-16s %s\n", "JOB", "STATE", "UID", "AGE", "NAME", "COMMAND");
    for (size_t i = 0; i < resp->jobs->n_jobs; i++) {
        const JobInfo *j = resp->jobs->jobs[i];
        char age[32];
        fmt_age(j->created_unix_ms, age, sizeof age);
        char what[128] = "";
        describe_kind(j, what, sizeof what);
        if (j->session)
            printf("%-8" PRIu64 " %-8s %-6u %-6s %-16s %s\n", j->job_id, state_name(j->state),
                   j->owner_uid, age, j->name && *j->name ? SBX_SAFE(j->name) : "-", what);
        else
            printf("%-8" PRIu64 " %-8s %-6u %-6s %-16s %s%s%s\n", j->job_id, state_name(j->state),
                   j->owner_uid, age, j->name && *j->name ? SBX_SAFE(j->name) : "-",
                   SBX_SAFE(j->command), *what ? " " : "", what);
    }
    return 0;
}

static const char inspect_usage[] =
    "usage: sbx [--socket PATH] inspect ID [--json]\n"
    "\n"
    "Shows job ID: its state, owner, policy and resource use so far (and its\n"
    "result once stopped). --json prints the whole JobInfo as JSON. ID may be a\n"
    "session's (its runs so far, when it goes idle and when it expires); a run\n"
    "of a session names it, a job of a warm pool its pool.\n";

/* A deadline as UTC time and how far away it is. */
static const char *fmt_time(uint64_t unix_ms, char *buf, size_t len)
{
    if (!unix_ms) {
        snprintf(buf, len, "-");
        return buf;
    }
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    snprintf(buf, len, "%s (in %" PRId64 " s)", when, ((int64_t)unix_ms - now) / 1000);
    return buf;
}

static int cmd_inspect(struct remote *rm, int argc, char **argv)
{
    struct cmd_flags f;
    bool help;
    uint64_t id;
    if (parse_small("inspect", inspect_usage, argc, argv, &f, true, &help) < 0)
        return 2;
    if (help)
        return 0;
    if (sbx_cmd_parse_id("inspect", f.id, &id) < 0)
        return 2;
    Request req = SBX__V1__REQUEST__INIT;
    Sbx__V1__JobRef ref = SBX__V1__JOB_REF__INIT;
    ref.has_job_id = true;
    ref.job_id = id;
    req.op_case = SBX__V1__REQUEST__OP_INSPECT;
    req.inspect = &ref;
    _cleanup_resp_ Response *resp = NULL;
    if (call_simple(rm, &req, &resp))
        return 1;
    const JobInfo *j = resp->job;
    if (f.json) {
        print_json(&j->base);
        return 0;
    }
    printf("job:       %" PRIu64 "\n", j->job_id);
    printf("state:     %s\n", state_name(j->state));
    printf("owner:     uid %u gid %u%s\n", j->owner_uid, j->owner_gid,
           j->detached ? " (detached)" : "");
    printf("name:      %s\n", j->name && *j->name ? SBX_SAFE(j->name) : "-");
    printf("command:   %s\n", SBX_SAFE(j->command));
    if (j->session) {
        char idle[128], exp[80];
        /* No idle deadline while a run is in progress: it is not idle. */
        if (j->idle_deadline_unix_ms)
            snprintf(idle, sizeof idle, "removed when idle at %s",
                     fmt_time(j->idle_deadline_unix_ms, (char[80]){0}, 80));
        else
            snprintf(idle, sizeof idle, "a run in progress");
        printf("session:   %u run%s, %s, at the latest at %s\n", j->runs, j->runs == 1 ? "" : "s", idle,
               fmt_time(j->expires_unix_ms, exp, sizeof exp));
    }
    if (j->has_session_id && j->session_id)
        printf("run of:    session %" PRIu64 "\n", j->session_id);
    if (j->pool && *j->pool)
        printf("pool:      %s (%s)\n", SBX_SAFE(j->pool),
               j->has_warm && !j->warm ? "cold start: the pool was empty" : "a ready sandbox");
    if (j->usage)
        printf("usage:     wall %" PRIu64 " ms, cpu %" PRIu64 " ms, memory peak %" PRIu64
               " bytes\n",
               j->usage->wall_time_ms, j->usage->cpu_time_ms, j->usage->memory_peak_bytes);
    if (j->result)
        printf("result:    %s exit_code %d signal %d%s%s\n", status_name(j->result),
               j->result->exit_code, j->result->signal,
               j->result->error && *j->result->error ? ": " : "",
               SBX_SAFE(j->result->error));
    if (j->policy) {
        _cleanup_free_ char *p = sbx_json_format(&j->policy->base);
        printf("policy:    %s\n", p ? p : "?");
    }
    return 0;
}

static const struct {
    const char *name;
    int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
               {"STOP", SIGSTOP}, {"ALRM", SIGALRM}};

static int parse_signal(const char *s)
{
    if (!s)
        return SIGKILL;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end)
        return v >= 1 && v <= 64 ? (int)v : -1;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (!strcasecmp(s, signals[i].name))
            return signals[i].sig;
    return -1;
}

static const char kill_usage[] =
    "usage: sbx [--socket PATH] kill ID [--signal SIG]\n"
    "\n"
    "Kills every process of job ID (a queued job never starts). With --signal\n"
    "(a number or a name such as TERM) other than KILL, sends that signal to\n"
    "the job's first process instead. ID may be a session's: KILL tears the\n"
    "session down (as sbx session rm), another signal goes to the first\n"
    "process of its current run.\n";
static const char pause_usage[] =
    "usage: sbx [--socket PATH] pause ID\n\nFreezes every process of job ID (cgroup freezer).\n";
static const char resume_usage[] =
    "usage: sbx [--socket PATH] resume ID\n\nThaws job ID after sbx pause.\n";
static const char rm_usage[] =
    "usage: sbx [--socket PATH] rm ID\n\nForgets stopped job ID and its result.\n";

static int cmd_control(struct remote *rm, const char *cmd, int argc, char **argv)
{
    const char *usage = !strcmp(cmd, "kill")     ? kill_usage
                        : !strcmp(cmd, "pause")  ? pause_usage
                        : !strcmp(cmd, "resume") ? resume_usage
                                                 : rm_usage;
    struct cmd_flags f;
    bool help;
    uint64_t id;
    if (parse_small(cmd, usage, argc, argv, &f, true, &help) < 0)
        return 2;
    if (help)
        return 0;
    if (sbx_cmd_parse_id(cmd, f.id, &id) < 0)
        return 2;
    Request req = SBX__V1__REQUEST__INIT;
    Sbx__V1__JobRef ref = SBX__V1__JOB_REF__INIT;
    Sbx__V1__KillRequest kr = SBX__V1__KILL_REQUEST__INIT;
    ref.has_job_id = kr.has_job_id = true;
    ref.job_id = kr.job_id = id;
    if (!strcmp(cmd, "kill")) {
        int sig = parse_signal(f.signal);
        if (sig < 0) {
            fprintf(stderr, "sbx kill: --signal: \"%s\" is not a signal\n", f.signal);
            return 2;
        }
        kr.has_signal = true;
        kr.signal = (uint32_t)sig;
        req.op_case = SBX__V1__REQUEST__OP_KILL;
        req.kill = &kr;
    } else if (!strcmp(cmd, "pause")) {
        req.op_case = SBX__V1__REQUEST__OP_PAUSE;
        req.pause = &ref;
    } else if (!strcmp(cmd, "resume")) {
        req.op_case = SBX__V1__REQUEST__OP_RESUME;
        req.resume = &ref;
    } else {
        req.op_case = SBX__V1__REQUEST__OP_REMOVE;
        req.remove = &ref;
    }
    _cleanup_resp_ Response *resp = NULL;
    return call_simple(rm, &req, &resp);
}

static const char stats_usage[] =
    "usage: sbx [--socket PATH] stats [--json]\n"
    "\n"
    "sandboxd's health: jobs queued, running and kept, limits, connections,\n"
    "and counters since it started; sessions alive, and for each warm pool its\n"
    "ready sandboxes, jobs it served (taken) or could not (cold starts: the\n"
    "pool was empty), its builds, and its own CPU time and memory.\n";

static int cmd_stats(struct remote *rm, int argc, char **argv)
{
    struct cmd_flags f;
    bool help;
    if (parse_small("stats", stats_usage, argc, argv, &f, false, &help) < 0)
        return 2;
    if (help)
        return 0;
    Request req = SBX__V1__REQUEST__INIT;
    Sbx__V1__HealthRequest h = SBX__V1__HEALTH_REQUEST__INIT;
    req.op_case = SBX__V1__REQUEST__OP_HEALTH;
    req.health = &h;
    _cleanup_resp_ Response *resp = NULL;
    if (call_simple(rm, &req, &resp))
        return 1;
    const Sbx__V1__Health *s = resp->health;
    if (f.json) {
        print_json(&s->base);
        return 0;
    }
    printf("sandboxd %s (protocol %u), up %" PRIu64 " s%s\n", s->version ? SBX_SAFE(s->version) : "?",
           s->protocol, s->uptime_ms / 1000, s->draining ? ", draining" : "");
    printf("jobs:        %u running (max %u), %u queued (max %u), %u stopped\n", s->jobs_running,
           s->max_concurrent, s->jobs_created, s->queue_length, s->jobs_stopped);
    printf("connections: %u open, %" PRIu64 " total\n", s->connections, s->connections_total);
    printf("counters:    %" PRIu64 " submitted, %" PRIu64 " finished, %" PRIu64
           " setup failed, %" PRIu64 " rejected\n",
           s->submitted, s->finished, s->setup_failed, s->rejected);
    printf("requests:    %" PRIu64 ", protocol errors %" PRIu64 ", open fds %u\n", s->requests,
           s->protocol_errors, s->open_fds);
    if (s->has_sessions)
        printf("sessions:    %u alive\n", s->sessions);
    for (size_t i = 0; i < s->n_pools; i++) {
        const Sbx__V1__PoolStats *p = s->pools[i];
        printf("pool %s: %u ready of %u, %u building; %" PRIu64 " taken, %" PRIu64
               " cold starts; %" PRIu64 " built, %" PRIu64 " failed; setup cpu %" PRIu64
               " ms; memory %" PRIu64 " bytes (%" PRIu64 " per sandbox)\n",
               SBX_SAFE(p->name), p->ready, p->size, p->building, p->taken, p->cold_starts, p->built,
               p->build_failed, p->setup_cpu_ms, p->memory_bytes, p->memory_per_sandbox_bytes);
    }
    return 0;
}

static const char *const remote_cmds[] = {"run",  "submit", "wait", "ps",    "inspect", "kill",
                                          "pause", "resume", "rm",   "stats", "session"};

bool sbx_is_remote_command(const char *cmd)
{
    for (size_t i = 0; i < sizeof remote_cmds / sizeof remote_cmds[0]; i++)
        if (!strcmp(cmd, remote_cmds[i]))
            return true;
    return false;
}

int sbx_remote_command(const char *socket, const char *cmd, int argc, char **argv)
{
    struct remote rm = {.socket = socket, .cl = {.fd = -1}};
    int r;
    if (!strcmp(cmd, "run") || !strcmp(cmd, "submit"))
        r = sbx_cmd_run_or_submit(&rm, argc, argv, !strcmp(cmd, "submit"));
    else if (!strcmp(cmd, "wait"))
        r = cmd_wait(&rm, argc, argv);
    else if (!strcmp(cmd, "ps"))
        r = cmd_ps(&rm, argc, argv);
    else if (!strcmp(cmd, "inspect"))
        r = cmd_inspect(&rm, argc, argv);
    else if (!strcmp(cmd, "stats"))
        r = cmd_stats(&rm, argc, argv);
    else if (!strcmp(cmd, "session"))
        r = sbx_cmd_session(&rm, argc, argv);
    else if (sbx_is_remote_command(cmd))
        r = cmd_control(&rm, cmd, argc, argv);
    else {
        fprintf(stderr, "sbx: unknown command \"%s\" (see sbx --help)\n", cmd);
        r = 125;
    }
    sbx_client_close(&rm.cl);
    return r;
}
