/* `sbx run` flags, per docs/cli-contract.md: each flag overrides
 * the same field of --policy. Sizes and durations go through policy/units.c,
 * so a flag and a policy field accept exactly the same spellings. */
#ifndef SBX_CLIENT_FLAGS_H
#define SBX_CLIENT_FLAGS_H

#include <stdbool.h>

#include "common/err.h"
#include "policy/policy.h"

struct sbx_run_opts {
    JobPolicy *policy;        /* --policy (or empty) with every flag applied; owned */
    const char *policy_path;  /* --policy FILE, or NULL */
    const char *result_json;  /* --result-json FILE, or NULL */
    bool help;                /* --help was given: print usage, run nothing */
    bool quiet;               /* --quiet: no notes on stderr, only errors */
    const char *pool;         /* --pool NAME: a warm pool of sandboxd, or NULL */
    /* sbx session create only: --name, --idle-timeout, --max-lifetime. */
    const char *name;
    const char *idle_timeout;
    const char *max_lifetime;
};

/* Which command's flags: sbx run (and submit), sbx session create (every
 * run flag that shapes the sandbox, no command), sbx session run (only
 * what may differ per run: policy/sandboxd.proto, JobRequest.session_id). */
enum sbx_flag_mode {
    SBX_FLAGS_RUN,
    SBX_FLAGS_SESSION_CREATE,
    SBX_FLAGS_SESSION_RUN,
};

/* Parses argv[0..argc) (argv[0] is the first argument after "run"). Flags
 * stop at "--" or at the first argument that is not a flag; the rest is
 * COMMAND [ARG...] and replaces the policy's command and args when present;
 * --arg values are appended after them (or after the policy's args).
 *
 * Repeatable flags merge with the policy's list by key, so that a flag
 * overrides "the same field": --env by KEY, --bind/--bind-rw/--tmpfs by
 * destination, --time-offset by clock; --rootfs replaces the whole layer
 * stack (the layers are one field).
 *
 * On error returns a negative errno and err is one line naming the flag and
 * the reason (`--memory: "banana" is not a size`). result_json is filled as
 * soon as it is seen, so the caller can still write a SETUP_FAILED result.
 * Release with sbx_run_opts_free. */
int sbx_run_parse_flags(int argc, char **argv, struct sbx_run_opts *opts, struct sbx_err *err);
/* The same for the given command: a flag that command does not take is an
 * error naming it, and sbx session create takes no COMMAND. */
int sbx_run_parse_flags_mode(int argc, char **argv, enum sbx_flag_mode mode, struct sbx_run_opts *opts,
                             struct sbx_err *err);
void sbx_run_opts_free(struct sbx_run_opts *opts);

/* The text of `sbx run --help`. */
extern const char sbx_run_usage[];

#endif
