/* Unpacking one image layer (a tar stream) into a directory of the store, in
 * the form overlayfs stacks directly. The layer is untrusted input: every
 * path is resolved below the layer's directory with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so no entry, link or planted symlink can write
 * outside it. */
#ifndef SBX_IMAGE_EXTRACT_H
#define SBX_IMAGE_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct archive;

struct sbx_extract_limits {
    uint64_t max_bytes;     /* file data of the layer, after decompression */
    uint64_t max_entries;
    bool allow_setuid;      /* keep setuid/setgid bits of files */
    /* When layers are unpacked in parallel, the one budget of max_bytes
     * they share (updated atomically); NULL: st->bytes alone. */
    uint64_t *shared_bytes;
};

struct sbx_extract_stats {
    uint64_t bytes, entries;
    uint64_t setuid_stripped;   /* files whose setuid/setgid bits were dropped */
    uint64_t ids_clamped;       /* entries whose uid or gid was >= 65536 */
};

/* Reads every entry of the tar archive a (opened by the caller) into the
 * directory dirfd, converting OCI whiteouts: ".wh.NAME" becomes a 0/0
 * character device NAME and ".wh..wh..opq" makes its directory opaque
 * (trusted.overlay.opaque and user.overlay.opaque "y"). Refused, with a
 * one-line error naming the entry: ".." components, device nodes and
 * sockets, hard links to anything but a file or symlink of this layer,
 * entries whose parent is a symlink, more than lim's bytes or entries.
 * Absolute paths are taken relative to the layer. xattrs in the archive are
 * never applied (so file capabilities and overlay metadata from an image are
 * dropped). Returns 0 or -errno; on error dirfd holds a partial tree that the
 * caller removes. */
int sbx_layer_extract(struct archive *a, int dirfd, const struct sbx_extract_limits *lim,
                      struct sbx_extract_stats *st, struct sbx_err *err);

/* Removes everything below dirfd (not dirfd itself), never following a
 * symlink. */
int sbx_remove_tree_at(int dirfd, struct sbx_err *err);

/* Removes dir (a name in parent) and everything below it. */
int sbx_remove_tree(int parent, const char *name, struct sbx_err *err);

#endif
