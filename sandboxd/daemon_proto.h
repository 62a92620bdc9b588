/* The sandboxd daemon's side of the protocol: the one place where every
 * field of a request is checked before the daemon acts on it. Shared by the
 * daemon and the fuzz target; clients need only policy/protocol.h. */
#ifndef SBX_SANDBOXD_DAEMON_PROTO_H
#define SBX_SANDBOXD_DAEMON_PROTO_H

#include <stdbool.h>

#include "common/err.h"
#include "daemon_config.h"
#include "image/image.h"
#include "policy/policy.h"
#include "policy/protocol.h"

/* Who is asking, for the checks that depend on it. */
struct sbx_req_ctx {
    const struct sbx_dconfig *cfg;
    bool admin;
    /* A run of a prepared sandbox (JobRequest.pool or .session_id), as the
     * daemon found it: its policy and spec, and its name for errors ("pool
     * judge", "session 12"). NULL: the request names none, or one the
     * daemon does not have. Its policy was checked when it was configured
     * (a pool) or created (a session): only the run's own fields are. */
    const JobPolicy *base;
    const struct sbx_spec *base_spec;
    const char *base_what;
    /* sbx_job_recheck of such a run: its caps only (its paths are the
     * sandbox's). */
    bool caps_only;
};

/* A checked run or submit: the spec to start and the streams to attach. */
struct sbx_job_req {
    struct sbx_spec spec; /* borrows from the request's policy */
    bool have_spec;
    unsigned stdio_fds;     /* bits: stdin, stdout, stderr */
    size_t image_layers;    /* the first rootfs.layers: the image's, from the store */
    struct sbx_image_hold hold; /* the image's layers, claimed for the job */
};

/* Checks every field of req (and, for run and submit, fills the policy's
 * unset capped limits with the caps, then validates it into jr->spec). On
 * error returns a negative errno, *code is the Error.Code to answer with,
 * and err names the field, as policy fields are named in local runs
 * (`limits.memory: 2147483648 bytes is over this client's cap of 1073741824
 * bytes (client_caps.memory)`) and request fields by operation
 * (`kill.job_id: missing`). */
int sbx_request_check(Request *req, const struct sbx_req_ctx *ctx, struct sbx_job_req *jr,
                      Sbx__V1__Error__Code *code, struct sbx_err *err);
void sbx_job_req_free(struct sbx_job_req *jr);

/* The permission checks of a run or submit (shared paths, caps), made again
 * when a queued job starts: a SIGHUP since it arrived may have changed them,
 * or who is an administrator. */
int sbx_job_recheck(const JobPolicy *p, const struct sbx_spec *spec, size_t image_layers,
                    const struct sbx_req_ctx *ctx, Sbx__V1__Error__Code *code,
                    struct sbx_err *err);

#endif
