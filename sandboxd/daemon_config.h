/* sandboxd's configuration: the DaemonConfig message (policy/sandboxd.proto)
 * read from a protobuf text file, validated once, with every default applied,
 * into the plain struct the daemon consults. */
#ifndef SBX_SANDBOXD_DAEMON_CONFIG_H
#define SBX_SANDBOXD_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "executor/uidpool.h"
#include "policy/policy.h"
#include "policy/protocol.h"
#include "sandboxd.pb-c.h"

typedef Sbx__V1__DaemonConfig DaemonConfig;

#define SBX_DAEMON_DEFAULT_QUEUE 64
#define SBX_DAEMON_DEFAULT_MAX_CONNECTIONS 256
#define SBX_DAEMON_DEFAULT_KEEP_STOPPED 1024
#define SBX_DAEMON_DEFAULT_MAX_REQUEST (16u << 20)
#define SBX_DAEMON_DEFAULT_GRACE_NS (10LL * 1000000000)
#define SBX_DAEMON_DEFAULT_STALL_NS (10LL * 1000000000)
#define SBX_DAEMON_DEFAULT_MAX_CONNECTIONS_PER_UID 32
#define SBX_DAEMON_DEFAULT_IDLE_NS (60LL * 1000000000)

/* Per-job caps for non-admin clients; zero means "no cap". The strings are
 * the configured spellings, put into a policy that leaves the limit unset. */
struct sbx_caps {
    uint64_t memory;
    const char *memory_str;
    uint32_t pids;
    double cpus;
    int64_t cpu_time_ns;
    const char *cpu_time_str;
    int64_t wall_time_ns;
    const char *wall_time_str;
    uint64_t output;
    const char *output_str;
    uint32_t max_jobs;
    uint32_t cpu_weight;
    const char *cpuset_str;
    uint64_t cpuset[SBX_CPUSET_WORDS];
    uint32_t pending_signals;
    bool has_pending_signals;
    uint64_t msgqueue;
    const char *msgqueue_str;
    uint64_t rootfs_size;
    const char *rootfs_size_str;
    uint64_t tmpfs_size;
    const char *tmpfs_size_str;
    uint32_t open_files;
};

struct sbx_dconfig {
    DaemonConfig *msg; /* owns every string below */
    const char *socket;
    struct sbx_uidpool pool;
    const char *cgroup_parent; /* NULL: below the daemon's own cgroup */
    uint32_t max_concurrent;
    uint32_t queue_length;
    uint32_t max_connections;
    uint32_t max_connections_per_uid; /* non-admins */
    uint32_t keep_stopped;            /* per owner uid */
    size_t max_request;
    int64_t grace_ns;
    int64_t stall_ns;
    int64_t idle_ns;
    struct sbx_caps caps;
    const char *default_rootfs;
    const char *image_store;   /* for policy.image; default /var/lib/sbx */
    bool share_images;         /* non-admins may use the image store */
    /* Warm pools are cfg->msg->warm_pool (checked here: names, sizes, each
     * policy valid without a command); sessions' bounds: */
    int64_t session_idle_ns, session_lifetime_ns;
    uint32_t max_sessions, max_sessions_per_uid;
};

#define SBX_DAEMON_DEFAULT_SESSION_IDLE_NS (300LL * 1000000000)
#define SBX_DAEMON_DEFAULT_SESSION_LIFETIME_NS (3600LL * 1000000000)
#define SBX_DAEMON_DEFAULT_MAX_SESSIONS 64
#define SBX_DAEMON_DEFAULT_MAX_SESSIONS_PER_UID 8
#define SBX_MAX_POOL_NAME 64
#define SBX_MAX_POOL_SIZE 256
/* What a sandbox built before its command is validated with: its policy
 * must leave the command to each run. */
#define SBX_SANDBOX_PLACEHOLDER_COMMAND "/sbx-no-command"

/* Parses and validates the configuration text (len bytes). An empty text is
 * every default. On error err names the line or field and the reason. */
int sbx_dconfig_parse(const char *text, size_t len, struct sbx_dconfig *cfg, struct sbx_err *err);
/* Loads path, or the defaults when path is NULL. */
int sbx_dconfig_load(const char *path, struct sbx_dconfig *cfg, struct sbx_err *err);
void sbx_dconfig_free(struct sbx_dconfig *cfg);

/* root and the daemon's own uid are always administrators. */
bool sbx_dconfig_is_admin(const struct sbx_dconfig *cfg, uid_t uid);
/* Whether a peer with these credentials may connect at all. */
bool sbx_dconfig_allows(const struct sbx_dconfig *cfg, uid_t uid, gid_t gid);
/* Whether a non-admin may name this host path (bind source, rootfs layer):
 * read-only (shared_paths or shared_paths_rw), or read-write (rw: only
 * shared_paths_rw). */
bool sbx_dconfig_path_shared(const struct sbx_dconfig *cfg, const char *path, bool rw);

/* Whether every directory that holds a component of path, on the way the
 * kernel would walk it (symlinks' targets included), is one only the
 * operator (root, or the daemon's uid) can change: otherwise a client who
 * can write one of them could swap the path for a symlink to a file only
 * root can reach, and the daemon, opening it as root, would hand it that
 * file. Returns 0, or a negative errno with err naming the directory. */
int sbx_dconfig_path_owned(const char *path, struct sbx_err *err);

#endif
