/* Shared by the daemon commands (commands.c) and run/submit
 * (commands_run.c); not an interface of its own. */
#ifndef SBX_CLIENT_COMMANDS_INTERNAL_H
#define SBX_CLIENT_COMMANDS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "policy/policy.h"
#include "proto_client.h"

struct remote {
    const char *socket;
    struct sbx_client cl;
};

static inline void sbx_resp_freep(Response **r)
{
    sbx_response_free(*r);
}
#define _cleanup_resp_ _cleanup_(sbx_resp_freep)

/* Connects to the daemon at rm->socket ($SBX_SOCKET, the default). */
int sbx_cmd_connect(struct remote *rm, struct sbx_err *err);

/* Waits for job id to stop, passing the signals sigfd (if >= 0) reports on
 * to it; *out is the answer (with its result). */
int sbx_cmd_wait_job(struct remote *rm, uint64_t id, bool remove, int sigfd, Response **out,
                     struct sbx_err *err);

/* Writes r as JSON to path (if any), reporting a failure on stderr. */
void sbx_cmd_write_result(const char *path, const JobResult *r);

/* sbx run (through the daemon) and sbx submit. */
int sbx_cmd_run_or_submit(struct remote *rm, int argc, char **argv, bool submit);

/* sbx session run: one run in session session_id, with run's contract
 * (flags limited to the per-run ones, same result and exit status). */
int sbx_cmd_session_run(struct remote *rm, int argc, char **argv, uint64_t session_id);
extern const char sbx_session_run_usage[];

/* sbx session create|run|rm (commands_session.c). */
int sbx_cmd_session(struct remote *rm, int argc, char **argv);

/* A job or session id argument of command cmd; prints why on error. */
int sbx_cmd_parse_id(const char *cmd, const char *s, uint64_t *id);

#endif
