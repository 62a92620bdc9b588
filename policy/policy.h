/* Loading and validating job policies.
 *
 * The data flow is: policy text or bytes -> JobPolicy (sbx_policy_load_*) ->
 * validated struct sbx_spec (sbx_policy_validate, the one place every rule
 * and every default lives) -> the executor's plan. */
#ifndef SBX_POLICY_POLICY_H
#define SBX_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sandbox.pb-c.h"

typedef Sbx__V1__JobPolicy JobPolicy;
typedef Sbx__V1__JobResult JobResult;

/* Defaults, documented in README.md ("Policy reference"). */
#define SBX_DEFAULT_HOSTNAME "sandbox"
#define SBX_DEFAULT_CWD "/"
#define SBX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SBX_DEFAULT_ROOTFS_SIZE (64ULL << 20)
#define SBX_DEFAULT_TMPFS_SIZE (16ULL << 20)
#define SBX_DEFAULT_OUTPUT_LIMIT (1ULL << 20)   /* captured bytes per stream */
#define SBX_MIN_MEMORY (2ULL << 20)            /* limits.memory: what setup needs */
#define SBX_DEFAULT_OPEN_FILES 1024
#define SBX_DEFAULT_STACK (8ULL << 20)
#define SBX_DEFAULT_PENDING_SIGNALS 1024
#define SBX_DEFAULT_MSGQUEUE (800ULL << 10)
#define SBX_DEFAULT_SECCOMP "default"

/* Upper bounds that validation enforces (a policy beyond them is an error,
 * never clamped). */
#define SBX_MAX_ARGS 4096
#define SBX_MAX_ENV 4096
/* An image may have 127 layers (Docker's bound), and rootfs layers stack on
 * top; overlayfs takes up to 500 lowers. */
#define SBX_MAX_LAYERS 160
#define SBX_MAX_MOUNTS 256
#define SBX_MAX_PATH 4095
#define SBX_MAX_HOSTNAME 64
#define SBX_MAX_OPEN_FILES (1U << 20)
#define SBX_MAX_PIDS (1U << 22)
#define SBX_MAX_CPU_WEIGHT 10000
#define SBX_KERNEL_CPU_WEIGHT 100   /* cgroup v2's default cpu.weight */
#define SBX_MAX_PENDING_SIGNALS (1U << 20)

/* Loads a policy in protobuf text format. An empty text is valid (every
 * default). Returns 0 or a negative errno; err names line, field and reason. */
int sbx_policy_load_text(const char *text, size_t len, JobPolicy **out, struct sbx_err *err);
int sbx_policy_load_file(const char *path, JobPolicy **out, struct sbx_err *err);
/* Loads a policy in protobuf binary wire format. */
int sbx_policy_load_binary(const uint8_t *buf, size_t len, JobPolicy **out, struct sbx_err *err);
/* A new empty policy (every field unset), freeable with sbx_policy_free. */
JobPolicy *sbx_policy_new(void);
void sbx_policy_free(JobPolicy *p);

enum sbx_mount_type { SBX_MOUNT_BIND, SBX_MOUNT_TMPFS };

struct sbx_mount {
    enum sbx_mount_type type;
    const char *src;     /* BIND: host path */
    const char *dst;     /* absolute, normalized (no "//", no trailing '/') */
    bool rw;
    uint64_t size;       /* TMPFS */
};

/* A validated policy with every default applied and every string parsed.
 * Strings point into the JobPolicy (or static defaults); the spec owns only
 * its arrays and envp. Zero in a limit means "no limit". */
struct sbx_spec {
    const JobPolicy *policy;
    const char *command;
    char **argv;            /* NULL-terminated: command, args... */
    char **envp;            /* NULL-terminated, PATH added when missing */
    const char *cwd;
    const char *hostname;
    const char **layers;    /* bottom first */
    size_t n_layers;
    uint64_t rootfs_size;
    struct sbx_mount *mounts;
    size_t n_mounts;
    struct {
        uint64_t memory;        /* bytes */
        uint32_t pids;
        double cpus;            /* cores */
        int64_t cpu_time_ns;
        int64_t wall_time_ns;
        uint64_t output;        /* bytes: RLIMIT_FSIZE and capture limit */
        uint64_t open_files;
        uint64_t stack;
        uint64_t core;          /* RLIMIT_CORE as is: 0 means no core files */
        uint32_t cpu_weight;
        const char *cpuset;     /* NULL when unset */
        uint32_t pending_signals; /* RLIMIT_SIGPENDING */
        uint64_t msgqueue;      /* RLIMIT_MSGQUEUE, bytes */
    } limits;
    int64_t monotonic_offset_ns;
    int64_t boottime_offset_ns;
    bool loopback;              /* bring lo up */
    const char *seccomp;        /* "default", "strict", "none" or a path */
    uint32_t uid, gid;
    const char *stdin_file, *stdout_file, *stderr_file;
    bool capture;
    /* Private to validate.c: the normalized copies of paths that were not
     * already normal (e.g. "/a//b/"), freed by sbx_spec_free. */
    char **owned_;
    size_t n_owned_;
};

/* Checks every field of p, applying defaults, into spec. default_rootfs is
 * the layer used when the policy names none. On error returns a negative
 * errno and err names the field and the reason, e.g.
 * `limits.memory: "banana" is not a size`, `mounts[2].dst: must be absolute`.
 * spec borrows from p: keep p alive while spec is used. */
/* A CPU list ("0-3,5") as a bit mask of SBX_CPUSET_WORDS words (CPUs
 * 0..8191). Returns 0 or -EINVAL. */
#define SBX_CPUSET_WORDS 128
int sbx_cpuset_parse(const char *v, uint64_t mask[SBX_CPUSET_WORDS]);

int sbx_policy_validate(const JobPolicy *p, const char *default_rootfs, struct sbx_spec *spec,
                        struct sbx_err *err);
void sbx_spec_free(struct sbx_spec *spec);

#endif
