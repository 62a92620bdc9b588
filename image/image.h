/* The image store: OCI and Docker images imported as read-only layers that
 * stack directly as the job's overlay lowers.
 *
 * Layout below the store's root (default /var/lib/sbx, root's, 0700):
 *   layers/sha256/<diff_id>/  one unpacked layer, named by the sha256 of its
 *                             uncompressed tar, shared by every image with it
 *   images/<name>.json        one image: its name, layers and config
 *   tmp/                      layers being unpacked (never a job's lower)
 *   lock                      flock: imports and jobs resolving an image
 *                             hold it shared, removals (which collect
 *                             unused layers) exclusive
 * Each layer directory is flock()ed shared by the jobs running on it; a
 * removal skips the layers it cannot lock exclusively.
 * A layer appears under layers/ only by rename(2) of a complete, verified
 * tree, and an image only by rename(2) of its record after its layers. */
#ifndef SBX_IMAGE_IMAGE_H
#define SBX_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"

#define SBX_IMAGE_DEFAULT_STORE "/var/lib/sbx"
/* Docker's own bound on layers per image is 127. */
#define SBX_IMAGE_MAX_LAYERS 127

/* $SBX_IMAGE_STORE, else SBX_IMAGE_DEFAULT_STORE. */
const char *sbx_image_store_default(void);

struct sbx_import_opts {
    const char *name;           /* NAME[:TAG] to store it as, or NULL (the archive's) */
    uint64_t max_bytes;         /* file data of the whole image (0: default 16 GiB) */
    uint64_t max_entries;       /* entries per layer (0: default 1,000,000) */
    bool allow_setuid;          /* keep setuid/setgid bits */
};

struct sbx_import_result {
    char name[300];
    char id[72];                /* sha256:<config digest> */
    unsigned layers, layers_new;
    uint64_t bytes;
    uint64_t setuid_stripped, ids_clamped;
    bool replaced;              /* the name was another image's */
};

/* Imports a Docker archive (docker/podman save), an OCI archive, or an OCI
 * image layout directory. Every blob's sha256 is checked against its digest
 * and every layer's against the config's diff_ids before anything enters
 * the store; on any error the store is as it was (but for tmp/). */
int sbx_image_import(const char *store, const char *src, const struct sbx_import_opts *opts,
                     struct sbx_import_result *res, struct sbx_err *err);

/* Removes image name and then every layer no image uses any more (and
 * leftovers of interrupted imports). *freed counts the layers removed,
 * *busy those kept because a job holds them (struct sbx_image_hold). */
int sbx_image_remove(const char *store, const char *name, unsigned *freed, unsigned *busy,
                     struct sbx_err *err);

/* Removes every layer no image uses and no job holds (and leftovers of
 * interrupted imports); *freed counts the layers removed, *busy those kept
 * for jobs still running on them. */
int sbx_image_prune(const char *store, unsigned *freed, unsigned *busy, struct sbx_err *err);

/* A job's claim on its image's layers: a shared flock on each layer's
 * directory, taken with the image resolved and held for the job's life.
 * rm and prune take each unused layer's flock exclusively (never waiting)
 * before it goes, so a layer in use stays until its last job ends, and the
 * kernel drops the claims of a holder that dies. */
struct sbx_image_hold {
    int *fds;
    size_t n;
};

void sbx_image_hold_release(struct sbx_image_hold *h);

/* Calls fn for every image record (a JSON object, as inspect prints it),
 * sorted by name. */
int sbx_image_list(const char *store, int (*fn)(const char *name, const char *json, void *arg),
                   void *arg, struct sbx_err *err);

/* The record of image name, as a malloc'd JSON text. */
int sbx_image_inspect(const char *store, const char *name, char **json, struct sbx_err *err);

/* Checks NAME[:TAG] and writes its canonical form ("docker.io/library/",
 * "docker.io/" and "localhost/" dropped, ":latest" added) into out. */
int sbx_image_ref_normalise(const char *ref, char *out, size_t size, struct sbx_err *err);

/* Resolves p->image in the store: the image's layers go below p's rootfs
 * layers, its Env fills the keys p's env lacks, its WorkingDir and
 * Entrypoint+Cmd apply when p has no cwd or command, its User (numeric, or
 * names resolved in the image's /etc/passwd and /etc/group) when
 * p has no uid/gid. p->image is then cleared (validation refuses a policy
 * whose image was never resolved). A no-op without p->image. With hold,
 * the layers are claimed for the job (released by sbx_image_hold_release,
 * or when the process ends). */
int sbx_image_apply(JobPolicy *p, const char *store, struct sbx_image_hold *hold,
                    struct sbx_err *err);

#endif
