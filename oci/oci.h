/* sbx-oci: the runc command line over the executor library. One process per
 * command, as runc: `create` leaves the container's PID 1 behind (a child
 * of create until create exits, then of the engine's subreaper) and writes
 * the state that every later command reads from --root. */
#ifndef SBX_OCI_OCI_H
#define SBX_OCI_OCI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include <jansson.h>

#include "common/err.h"
#include "executor/procattr.h"
#include "executor/uidpool.h"
#include "policy/policy.h"
#include "sandboxd.pb-c.h"

#define OCI_VERSION "1.0.2"
#define OCI_DEFAULT_ROOT "/run/sbx-oci"
#define OCI_MAX_CGROUPS 8
#define OCI_DEFAULT_CONFIG "/etc/sbx/oci.conf"

/* The operator's configuration (OciConfig), validated: what create may
 * grant beyond sbx's defaults, and the defaults themselves. */
struct oci_opconfig {
    Sbx__V1__OciConfig *msg;     /* owns the strings below */
    bool has_pool;               /* uid_pool or slot_dir given: pool, else the environment's */
    struct sbx_uidpool pool;
    bool allow_host_network;
    bool allow_hooks;
    int hook_timeout_s;          /* for a hook without its own timeout */
    const char *memory;          /* defaults.*: NULL / 0 when unset */
    uint32_t pids;
    double cpus;
    const char *rootfs_size;
    uint64_t allowed_caps;       /* allowed_capabilities, one bit per CAP_* */
};

/* runc's default capabilities without CAP_NET_RAW: the allow-list when the
 * operator names none. */
uint64_t oci_default_allowed_caps(void);
/* "CAP_CHOWN" -> CAP_CHOWN; -1 when it names no capability (libcap-ng's
 * list). */
int oci_cap_from_name(const char *name);
/* Whether this kernel has it (a newer capability an older kernel lacks is
 * dropped, as it could not be granted). */
bool oci_kernel_has_cap(int cap);

/* Reads and validates path (given: named by --config, so it must exist;
 * otherwise an absent file means every default). Errors name the file and
 * the field: "/etc/sbx/oci.conf: defaults.memory: "1x" is not a size". */
int oci_opconfig_load(const char *path, bool given, struct oci_opconfig *c, struct sbx_err *err);
void oci_opconfig_free(struct oci_opconfig *c);

struct oci_globals {
    const char *root;       /* state directory */
    const char *log;        /* NULL: errors go to stderr only */
    bool log_json;          /* --log-format json (the default for --log) */
    bool debug;
    const char *config;     /* --config, or OCI_DEFAULT_CONFIG */
    bool config_given;
    /* Loaded before the commands that apply it (create, run). */
    struct oci_opconfig *conf;
};

/* What a process (config.json's, or exec's --process) gets beyond its job
 * policy: capabilities cut down to the allow-list, additionalGids, rlimits
 * (the executor's sbx_procattr), and its oomScoreAdj. */
struct oci_process {
    struct sbx_procattr attr;
    bool has_oom_score_adj;
    int oom_score_adj;
};

/* Sets pid's oom_score_adj (process.oomScoreAdj); refuses, naming the
 * field, a value below what this runtime may set. */
int oci_set_oom_score_adj(pid_t pid, int value, struct sbx_err *err);

/* A container as config.json asks for it, translated into a job policy for
 * the executor, plus what the executor does not carry itself. */
struct oci_config {
    json_t *root;           /* the parsed config.json */
    JobPolicy *policy;
    char rootfs[4096];      /* absolute */
    bool has_idmap;         /* the spec brings its own user namespace maps */
    uint32_t map_uid, map_gid, map_count;
    char netns[4096];       /* a network namespace to join (path), or "" */
    char ipcns[4096];       /* an IPC namespace to join (a pod's), or "" */
    char utsns[4096];       /* a UTS namespace to join (a pod's), or "" */
    /* Those namespaces, opened once when checked (what was checked is what
     * is joined), or -1. */
    int netns_fd, ipcns_fd, utsns_fd;
    bool terminal;          /* process.terminal: needs --console-socket */
    /* linux.cgroupsPath mapped to the name of the container's cgroup below
     * sbx's parent (its components joined with ':'), or "": the default. */
    char cgroup_name[256];
    /* linux.maskedPaths, linux.readonlyPaths and linux.sysctl ("key=value",
     * namespaced keys only): NULL-terminated, for sbx_exec_opts. */
    char **masked, **readonly, **sysctls;
    /* linux.seccomp compiled (oci_seccomp_compile); len 0: the spec has none. */
    struct sock_fprog seccomp;
    json_t *hooks;          /* oci_hooks_check's copy, or NULL */
    bool readonly_root;     /* root.readonly */
    struct oci_process proc; /* the process's capabilities, groups, rlimits, oomScoreAdj */
    bool mqueue, sysfs;     /* mounts of /dev/mqueue and /sys (own namespaces only) */
};

/* linux.seccomp (NULL or null: none) into a BPF program for the kernel
 * (prog->filter malloc'ed; len 0 when there is none). Refuses, naming the
 * field, what sbx cannot honour exactly: flags, a listener, SCMP_ACT_TRACE
 * and SCMP_ACT_NOTIFY, unknown architectures and operators. */
int oci_seccomp_compile(json_t *sec, struct sock_fprog *prog, struct sbx_err *err);
/* hooks: each kind known, each hook well-formed (hooks.KIND[N].FIELD named
 * in errors), and allowed by the operator (allow_hooks); createContainer and
 * startContainer (which run in the container's namespaces) are refused.
 * *out gets a copy for the state with every hook's timeout resolved, or
 * NULL when there are none. */
int oci_hooks_check(json_t *hooks, const struct oci_opconfig *conf, json_t **out,
                    struct sbx_err *err);
/* Runs hooks.KIND in order, as the spec says: path with args and env, the
 * state JSON (status set to `status`) on stdin, killed after its timeout.
 * Stops at the first failure, which err names. */
int oci_hooks_run(json_t *hooks, const char *kind, json_t *state, const char *status,
                  struct sbx_err *err);
/* The resolved hooks create keeps in the state (start and delete run
 * poststart and poststop from it, not from a bundle that may have changed). */
#define OCI_HOOKS_FILE "hooks.json"
int oci_hooks_save(const struct oci_globals *g, const char *id, json_t *hooks, struct sbx_err *err);
json_t *oci_hooks_load(const struct oci_globals *g, const char *id);

/* The state file create keeps the program in, for exec. */
#define OCI_SECCOMP_FILE "seccomp.bpf"

/* Reads bundle/config.json and checks it against what sbx can grant: a
 * field that asks for more is refused with err naming it, e.g.
 * `linux.namespaces: no "pid" entry (the host's PID namespace) is refused`. */
int oci_config_load(const char *bundle, const struct oci_opconfig *conf, struct oci_config *cfg,
                    struct sbx_err *err);
void oci_config_free(struct oci_config *cfg);
/* config.json's "process" (or exec's --process file) into p: command,
 * args, env, cwd, user; *terminal gets process.terminal (which the caller
 * serves through a console socket); into *out what the policy does not
 * carry: the capabilities (those `allowed` lets through; unknown names and
 * CAP_SYS_ADMIN refused), additionalGids, rlimits (a hard limit above the
 * caller's own that it cannot raise is refused), oomScoreAdj. Runs in the
 * launcher (create's, exec's). */
int oci_process_policy(json_t *proc, JobPolicy *p, bool *terminal, uint64_t allowed,
                       struct oci_process *out, struct sbx_err *err);
/* A unix stream socket connected to path (an engine's --console-socket),
 * or -errno with err filled. Paths beyond sun_path's 108 bytes are reached
 * through their directory. */
int oci_console_connect(const char *path, struct sbx_err *err);

/* cpu.shares (v1, 2..262144) as the executor's weight (1..10000). */
uint32_t oci_shares_to_weight(long long shares);

/* The state of one container, as create wrote it under --root/ID. */
struct oci_state {
    char id[256];
    char bundle[4096];
    char rootfs[4096];
    char created[64];       /* RFC 3339 */
    pid_t pid;              /* the container's PID 1 (host numbering) */
    unsigned long long pid_start; /* its start time (/proc/PID/stat field 22) */
    uint64_t allowed_caps;  /* the operator's allow-list at create, for exec */
    json_t *annotations;
    int n_cgroups;
    char cgroups[OCI_MAX_CGROUPS][4096];
};

enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };
const char *oci_status_name(enum oci_status s);

/* 0 when id is a usable container id (no '/', not "." or "..", printable). */
int oci_check_id(const char *id, struct sbx_err *err);
/* root/id (and root/id/file when file is non-NULL) into buf. */
int oci_path(const struct oci_globals *g, const char *id, const char *file, char *buf, size_t size,
             struct sbx_err *err);
int oci_state_write(const struct oci_globals *g, const struct oci_state *st, struct sbx_err *err);
/* -ENOENT with "container does not exist" when there is no such container. */
int oci_state_read(const struct oci_globals *g, const char *id, struct oci_state *st,
                   struct sbx_err *err);
void oci_state_free(struct oci_state *st);
/* The status from the PID and its start time (a reused PID is not ours). */
enum oci_status oci_state_status(const struct oci_globals *g, const struct oci_state *st);
json_t *oci_state_json(const struct oci_globals *g, const struct oci_state *st);
/* Removes root/id and everything in it. */
int oci_state_remove(const struct oci_globals *g, const char *id, struct sbx_err *err);
/* /proc/pid/stat field 22, or a negative errno. */
int oci_pid_starttime(pid_t pid, unsigned long long *out);
/* The container's command process: the child of init, sbx's PID 1 (which
 * stays out of the time namespace it made for its children). -1 if none. */
pid_t oci_first_process(pid_t init);
/* Writes text to path atomically (a temporary file renamed over it). */
int oci_write_atomic(const char *path, const char *text, size_t len, mode_t mode,
                     struct sbx_err *err);

/* The commands: argv[0] is the command's name. Return the exit status. */
int oci_cmd_create(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_start(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_run(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_state(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_list(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_kill(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_delete(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_pause(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_ps(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_update(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_exec(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_features(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);
int oci_cmd_spec(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err);

/* Command-line helpers shared by the commands: "--name value" and
 * "--name=value". Returns 1 and sets *val when argv[*i] is that option
 * (advancing *i past a separate value), 0 when it is not, -EINVAL (err
 * filled) when its value is missing. */
int oci_opt_value(int argc, char **argv, int *i, const char *name, const char **val,
                  struct sbx_err *err);
/* Whether argv asks for help (-h/--help) anywhere before "--". */
bool oci_wants_help(int argc, char **argv);
void oci_debug(const struct oci_globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
