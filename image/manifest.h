/* Reading an image's source (a Docker archive, an OCI archive or an OCI
 * layout directory) into a plan: its config and layers, every JSON blob
 * checked against its digest. Shared by manifest.c and import.c; not an
 * interface of its own. */
#ifndef SBX_IMAGE_MANIFEST_H
#define SBX_IMAGE_MANIFEST_H

#include <jansson.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image.h"

struct archive;

/* JSON members of an archive (index, manifests, configs) are small; only
 * members up to this size are read in the first pass. */
#define SMALL_MAX (4u << 20)
#define SMALL_TOTAL_MAX (64u << 20)
#define OUTER_MAX_ENTRIES 100000
#define BUF_SIZE (128u << 10)

struct member {
    char *name;
    char *data;
    size_t len;
};

/* Where a member's data lie in an uncompressed archive file, so that its
 * layers can be read (and unpacked) in parallel with pread. */
struct span {
    char *name;
    uint64_t off, size;
};

struct source {
    const char *path;
    int dirfd;              /* an OCI layout directory, or -1 */
    struct member *m;       /* an archive's small members */
    size_t n_m, total;
    struct span *sp;        /* an uncompressed archive's regular members */
    size_t n_sp;
};

struct layer {
    char diff[65];          /* expected sha256 of the uncompressed tar */
    char blob[65];          /* expected sha256 of the blob, "" if unknown */
    int64_t blob_size;      /* expected size, -1 if unknown */
    char *member;           /* blobs/sha256/<hex>, or a Docker archive's path */
    bool present;           /* in the store already: only checked */
    bool dup;               /* the same diff_id as an earlier layer */
    bool done;              /* unpacked into tmp */
    bool checked;           /* its blob matched its digests */
    char tmp[64];           /* its staging directory in tmp/ */
};

struct plan {
    json_t *config;         /* the image config */
    char config_hex[65];
    char manifest_hex[65];  /* the manifest's digest, "" for a Docker archive */
    char name[300];
    struct layer *l;
    size_t n;
};

void sbx_img_source_free(struct source *s);
void sbx_img_plan_free(struct plan *p);
void sbx_img_hex_digest(struct sha256_ctx *c, char out[65]);
/* A member name as the manifests spell it: no leading "./" or "/". */
const char *sbx_img_member_name(const char *s);
/* openat2(RESOLVE_BENEATH): a path of a layout directory, never outside. */
int sbx_img_openat_beneath(int dirfd, const char *path, int flags);
/* The archive at path, opened for reading (tar, maybe gzip or zstd). */
struct archive *sbx_img_outer_open(const char *path, struct sbx_err *err);
/* First pass over an archive: its small members, in memory, and where
 * every regular member lies when the archive is not compressed. */
int sbx_img_read_small(struct source *s, uint64_t max_bytes, struct sbx_err *err);
/* A whole small file of the source; -ENOENT when it has none. */
/* Where member name lies in the archive file; NULL when the archive is
 * compressed or has no such member. */
const struct span *sbx_img_find_span(const struct source *s, const char *name);
int sbx_img_get_file(struct source *s, const char *name, const char **data, size_t *len,
                     char **owned, struct sbx_err *err);
/* The plan of a Docker archive (manifest.json) or an OCI layout
 * (oci-layout, index.json). */
int sbx_img_plan_docker(struct source *s, const struct sbx_import_opts *o, struct plan *p,
                        struct sbx_err *err);
int sbx_img_plan_oci(struct source *s, const struct sbx_import_opts *o, struct plan *p,
                     struct sbx_err *err);

#endif
