/* Importing an image: a Docker archive, an OCI archive or an OCI image
 * layout directory. The archive's JSON (manifests, configs) is read first
 * and checked against its digests; then each layer is streamed once
 * through: its blob's sha256, decompression (gzip, zstd or none), the
 * uncompressed tar's sha256 (the diff_id) and, unless the store has it
 * already, the hardened extraction into tmp/. Only when every layer of the
 * image has matched its digests do the layers move into layers/sha256/
 * (rename) and the image's record into images/. Reading the manifests and
 * configs into a plan is manifest.c's. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "extract.h"
#include "image.h"
#include "manifest.h"
#include "store.h"

#define DEFAULT_MAX_BYTES (16ULL << 30)
#define DEFAULT_MAX_ENTRIES 1000000ULL

/* ---- one layer, streamed: blob -> sha256 -> decompress -> sha256 -> tar ---- */

struct raw {
    bool hash;              /* the blob's sha256 is needed */
    int fd;                 /* a layout's blob file or the archive file, or -1 */
    uint64_t off, end;      /* pread window in fd (end 0: read to EOF) */
    struct archive *outer;  /* else the archive positioned at the member */
    const int *stop;        /* set when another layer failed: give up */
    struct sha256_ctx sha;
    uint64_t len, max;
    size_t primed;          /* bytes in buf read ahead to sniff compression */
    const char *why;        /* the reason of a failed read */
    uint8_t buf[BUF_SIZE];
};

/* The blob's next bytes into r->buf, counted and hashed: their number, 0 at
 * the end, -errno. */
static ssize_t raw_fill(struct raw *r)
{
    if (r->stop && __atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        r->why = "cancelled";
        return -ECANCELED;
    }
    ssize_t n;
    do {
        if (r->fd >= 0 && r->end) {
            uint64_t want = r->end - r->off < sizeof r->buf ? r->end - r->off : sizeof r->buf;
            n = want ? pread(r->fd, r->buf, want, (off_t)r->off) : 0;
            if (n == 0 && want)
                errno = EIO; /* the archive shrank since its first pass */
            if (n == 0 && want)
                n = -1;
        } else if (r->fd >= 0) {
            n = read(r->fd, r->buf, sizeof r->buf);
        } else {
            n = archive_read_data(r->outer, r->buf, sizeof r->buf);
            if (n < 0)
                errno = EIO;
        }
    } while (n < 0 && errno == EINTR && r->fd >= 0);
    if (n < 0) {
        r->why = "reading the blob failed";
        return -errno;
    }
    r->off += (uint64_t)n;
    r->len += (uint64_t)n;
    if (r->len > r->max) {
        r->why = "the blob is larger than its descriptor says";
        return -EFBIG;
    }
    if (r->hash)
        sha256_update(&r->sha, (size_t)n, r->buf);
    return n;
}

static la_ssize_t raw_read(struct archive *a, void *arg, const void **out)
{
    struct raw *r = arg;
    ssize_t n;
    if (r->primed) {
        n = (ssize_t)r->primed;
        r->primed = 0;
    } else if ((n = raw_fill(r)) < 0) {
        archive_set_error(a, (int)-n, "%s", r->why);
        return -1;
    }
    *out = r->buf;
    return n;
}

/* gzip, zstd and zstd's skippable frames; anything else is taken as an
 * uncompressed tar, as libarchive's raw format would. */
static bool compressed(const uint8_t *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return true;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return true;
    return n >= 4 && (b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18;
}

struct mid {
    struct archive *dec;    /* the decompressing reader */
    struct sha256_ctx sha;
    uint64_t len, max;
    uint8_t buf[BUF_SIZE];
};

static la_ssize_t mid_read(struct archive *a, void *arg, const void **out)
{
    struct mid *m = arg;
    la_ssize_t n = archive_read_data(m->dec, m->buf, sizeof m->buf);
    if (n < 0) {
        archive_set_error(a, EIO, "decompressing: %s", archive_error_string(m->dec));
        return -1;
    }
    m->len += (uint64_t)n;
    if (m->len > m->max) {
        archive_set_error(a, EFBIG, "the layer decompresses to more than %llu bytes",
                          (unsigned long long)m->max);
        return -1;
    }
    sha256_update(&m->sha, (size_t)n, m->buf);
    *out = m->buf;
    return n;
}

static void archive_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}

/* Where one layer's blob comes from. */
struct blob_src {
    int fd;                 /* -1: outer */
    uint64_t off, size;     /* a span of fd (size 0 with off 0: all of fd) */
    struct archive *outer;
};

static int stream_body(struct raw *raw, struct mid *mid, struct layer *l,
                       const struct blob_src *src, const int *stop, int dirfd,
                       const struct sbx_extract_limits *lim, struct sbx_extract_stats *st,
                       const char *what, struct sbx_err *err)
{
    raw->fd = src->fd;
    raw->off = src->off;
    raw->end = src->size ? src->off + src->size : 0;
    raw->outer = src->outer;
    raw->stop = stop;
    raw->max = l->blob_size >= 0 ? (uint64_t)l->blob_size : UINT64_MAX;
    sha256_init(&raw->sha);
    sha256_init(&mid->sha);
    /* Tar headers and padding on top of the file data. */
    mid->max = lim->max_bytes + (lim->max_entries + 2) * 1536 + (64u << 20);

    /* Sniffed from the first bytes (hashed like the rest): an uncompressed
     * blob is its own diff, so it goes to the tar reader directly and is
     * hashed once, not copied through a decompressor that does nothing. */
    raw->hash = true;
    ssize_t first = raw_fill(raw);
    if (first < 0)
        return sbx_err_sys(err, (int)-first, "%s: %s", what, raw->why);
    raw->primed = (size_t)first;
    bool plain = !compressed(raw->buf, raw->primed);
    if (plain && mid->max < raw->max)
        raw->max = mid->max;
    if (!plain)
        raw->hash = l->blob[0] != '\0';

    _cleanup_(archive_freep) struct archive *dec = plain ? NULL : archive_read_new();
    _cleanup_(archive_freep) struct archive *tar = archive_read_new();
    if ((!plain && !dec) || !tar)
        return sbx_err_set(err, ENOMEM, "out of memory");
    struct archive_entry *e;
    if (!plain) {
        archive_read_support_filter_gzip(dec);
        archive_read_support_filter_zstd(dec);
        archive_read_support_format_raw(dec);
        if (archive_read_open(dec, raw, NULL, raw_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(dec, &e) != ARCHIVE_OK)
            return sbx_err_set(err, EINVAL, "%s: %s", what,
                               archive_error_string(dec) ? archive_error_string(dec) : "empty blob");
        mid->dec = dec;
    } else if (first == 0) {
        return sbx_err_set(err, EINVAL, "%s: empty blob", what);
    }
    /* dirfd < 0: a layer already in the store; its blob is only checked. */
    if (dirfd >= 0) {
        archive_read_support_format_tar(tar);
        int ar = plain ? archive_read_open(tar, raw, NULL, raw_read, NULL)
                       : archive_read_open(tar, mid, NULL, mid_read, NULL);
        if (ar != ARCHIVE_OK)
            return sbx_err_set(err, EINVAL, "%s: %s", what, archive_error_string(tar));
        int r = sbx_layer_extract(tar, dirfd, lim, st, err);
        if (r < 0)
            return sbx_err_wrap(err, "%s", what);
    }
    /* Whatever follows the tar's end still counts for both digests. */
    const void *b;
    la_ssize_t n;
    while (!plain && (n = mid_read(tar, mid, &b)) > 0)
        ;
    if (!plain && n < 0)
        return sbx_err_set(err, EINVAL, "%s: %s", what, archive_error_string(tar));
    if (raw->primed)
        raw->primed = 0;
    while ((n = raw_fill(raw)) > 0)
        ;
    if (n < 0)
        return sbx_err_sys(err, (int)-n, "%s: %s", what, raw->why);
    char got[65];
    if (l->blob[0]) {
        sbx_img_hex_digest(&raw->sha, got);
        if (strcmp(got, l->blob) != 0)
            return sbx_err_set(err, EBADMSG, "%s: blob sha256 is %s, its digest says %s", what,
                               got, l->blob);
        if (l->blob_size >= 0 && raw->len != (uint64_t)l->blob_size)
            return sbx_err_set(err, EBADMSG, "%s: blob is %llu bytes, its descriptor says %lld",
                               what, (unsigned long long)raw->len, (long long)l->blob_size);
    }
    if (plain)
        sbx_img_hex_digest(&raw->sha, got);
    else
        sbx_img_hex_digest(&mid->sha, got);
    if (strcmp(got, l->diff) != 0)
        return sbx_err_set(err, EBADMSG, "%s: uncompressed sha256 is %s, the config's diff_id "
                           "says %s", what, got, l->diff);
    return 0;
}

static int extract_stream(struct layer *l, const struct blob_src *src, const int *stop,
                          int dirfd, const struct sbx_extract_limits *lim,
                          struct sbx_extract_stats *st, const char *what, struct sbx_err *err)
{
    _cleanup_free_ struct raw *raw = calloc(1, sizeof *raw);
    _cleanup_free_ struct mid *mid = calloc(1, sizeof *mid);
    if (!raw || !mid)
        return sbx_err_set(err, ENOMEM, "out of memory");
    int r = stream_body(raw, mid, l, src, stop, dirfd, lim, st, what, err);
    /* Stopped because another layer failed: whatever error the readers
     * made of it is not this layer's. */
    if (r < 0 && raw->why && strcmp(raw->why, "cancelled") == 0)
        return sbx_err_set(err, ECANCELED, "%s: cancelled", what);
    return r;
}

static int stage_dir(int root, struct layer *l, size_t i, struct sbx_err *err)
{
    snprintf(l->tmp, sizeof l->tmp, "tmp/%d.%zu.%.12s", (int)getpid(), i, l->diff);
    (void)sbx_remove_tree(root, l->tmp, err);
    if (mkdirat(root, l->tmp, 0755) < 0)
        return sbx_err_sys(err, errno, "image store: creating %s", l->tmp);
    int fd = openat(root, l->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? sbx_err_sys(err, errno, "image store: opening %s", l->tmp) : fd;
}

static int extract_one(int root, struct plan *p, size_t i, const struct blob_src *src,
                       const int *stop, const struct sbx_extract_limits *lim,
                       struct sbx_extract_stats *st, struct sbx_err *err)
{
    struct layer *l = &p->l[i];
    _cleanup_close_ int dir = l->present ? -1 : stage_dir(root, l, i, err);
    if (dir < 0 && !l->present)
        return dir;
    char what[128];
    snprintf(what, sizeof what, "layer %zu (sha256:%.12s)", i, l->diff);
    int r = extract_stream(l, src, stop, dir, lim, st, what, err);
    if (r == 0)
        l->done = l->present ? false : true;
    l->checked = r == 0;
    return r;
}

/* ---- the layers of an image, in parallel where their blobs allow it ---- */

/* Layers unpack into separate directories and share only the byte budget:
 * with a blob each to read at will (a layout's files, an uncompressed
 * archive's spans), workers take the layers in turn. The first failure
 * stops the others at their next read. */
struct pool {
    int root, file;         /* file: the archive, for spans; or -1 */
    struct source *s;
    struct plan *p;
    const struct sbx_extract_limits *lim;
    size_t next;
    int stop;
    struct sbx_extract_stats *st;   /* one per layer */
    struct sbx_err *errs;           /* one per layer */
    int *rc;
};

static int pool_layer(struct pool *w, size_t i)
{
    struct layer *l = &w->p->l[i];
    struct blob_src src = {.fd = -1};
    _cleanup_close_ int fd = -1;
    if (w->file >= 0) {
        const struct span *sp = sbx_img_find_span(w->s, l->member);
        if (!sp)
            return sbx_err_set(&w->errs[i], ENOENT, "%s: layer %zu: %s is not a file of the archive",
                               w->s->path, i, l->member);
        src = (struct blob_src){.fd = w->file, .off = sp->off, .size = sp->size};
        if (sp->size == 0)
            src = (struct blob_src){.fd = -1}; /* empty: nothing to pread */
    } else {
        fd = sbx_img_openat_beneath(w->s->dirfd, l->member, O_RDONLY | O_NOFOLLOW);
        if (fd < 0)
            return sbx_err_sys(&w->errs[i], -fd, "%s: layer %zu: %s", w->s->path, i, l->member);
        src.fd = fd;
    }
    if (src.fd < 0)
        return sbx_err_set(&w->errs[i], EINVAL, "%s: layer %zu (sha256:%.12s): empty blob",
                           w->s->path, i, l->diff);
    int r = extract_one(w->root, w->p, i, &src, &w->stop, w->lim, &w->st[i], &w->errs[i]);
    return r < 0 ? sbx_err_wrap(&w->errs[i], "%s", w->s->path) : 0;
}

static void *pool_worker(void *arg)
{
    struct pool *w = arg;
    size_t i;
    while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->p->n) {
        if (w->p->l[i].dup)
            continue;
        if (__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
            w->rc[i] = -ECANCELED;
            sbx_err_set(&w->errs[i], ECANCELED, "cancelled");
            continue;
        }
        w->rc[i] = pool_layer(w, i);
        if (w->rc[i] < 0)
            __atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Two workers: the unpacking is mostly the kernel creating files, which
 * scales with cores until the disk does not; more would only contend. */
#define POOL_MAX 4

static int extract_pool(int root, int file, struct source *s, struct plan *p,
                        const struct sbx_extract_limits *lim, struct sbx_extract_stats *st,
                        struct sbx_err *err)
{
    struct sbx_extract_limits shared = *lim;
    uint64_t bytes = 0;
    shared.shared_bytes = &bytes;
    _cleanup_free_ struct sbx_extract_stats *sts = calloc(p->n, sizeof *sts);
    _cleanup_free_ struct sbx_err *errs = calloc(p->n, sizeof *errs);
    _cleanup_free_ int *rc = calloc(p->n, sizeof *rc);
    if (!sts || !errs || !rc)
        return sbx_err_set(err, ENOMEM, "out of memory");
    struct pool w = {.root = root, .file = file, .s = s, .p = p, .lim = &shared,
                     .st = sts, .errs = errs, .rc = rc};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cpus < 1 ? 1 : cpus > POOL_MAX ? POOL_MAX : (size_t)cpus;
    if (n > p->n)
        n = p->n;
    pthread_t th[POOL_MAX];
    size_t started = 0;
    /* The calling thread is a worker too; a thread that cannot start only
     * means fewer workers. */
    for (size_t k = 1; k < n; k++)
        if (pthread_create(&th[started], NULL, pool_worker, &w) == 0)
            started++;
    pool_worker(&w);
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    st->bytes += bytes;
    for (size_t i = 0; i < p->n; i++) {
        st->entries += sts[i].entries;
        st->setuid_stripped += sts[i].setuid_stripped;
        st->ids_clamped += sts[i].ids_clamped;
    }
    /* The first layer that failed of itself, not one cancelled by it. */
    for (size_t i = 0; i < p->n; i++)
        if (rc[i] < 0 && errs[i].code != ECANCELED) {
            *err = errs[i];
            return rc[i];
        }
    for (size_t i = 0; i < p->n; i++)
        if (rc[i] < 0) {
            *err = errs[i];
            return rc[i];
        }
    return 0;
}

static int extract_all(int root, struct source *s, struct plan *p,
                       const struct sbx_extract_limits *lim, struct sbx_extract_stats *st,
                       struct sbx_err *err)
{
    if (s->dirfd >= 0)
        return extract_pool(root, -1, s, p, lim, st, err);
    /* Every layer a span of an uncompressed archive: read them with pread. */
    bool spans = true;
    for (size_t i = 0; i < p->n && spans; i++)
        spans = p->l[i].dup || sbx_img_find_span(s, p->l[i].member);
    if (spans) {
        _cleanup_close_ int file = open(s->path, O_RDONLY | O_CLOEXEC);
        if (file < 0)
            return sbx_err_sys(err, errno, "%s", s->path);
        return extract_pool(root, file, s, p, lim, st, err);
    }
    /* A compressed archive: one stream, its layers in the order they come. */
    _cleanup_(archive_freep) struct archive *a = sbx_img_outer_open(s->path, err);
    if (!a)
        return -err->code;
    struct archive_entry *e;
    int ar;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname(e);
        if (!name || archive_entry_filetype(e) != AE_IFREG)
            continue;
        name = sbx_img_member_name(name);
        for (size_t i = 0; i < p->n; i++)
            if (!p->l[i].dup && !p->l[i].checked && strcmp(p->l[i].member, name) == 0) {
                struct sbx_extract_stats one = {.bytes = st->bytes};
                struct blob_src src = {.fd = -1, .outer = a};
                int r = extract_one(root, p, i, &src, NULL, lim, &one, err);
                st->bytes = one.bytes;
                st->entries += one.entries;
                st->setuid_stripped += one.setuid_stripped;
                st->ids_clamped += one.ids_clamped;
                if (r < 0)
                    return sbx_err_wrap(err, "%s", s->path);
                break;
            }
    }
    if (ar != ARCHIVE_EOF)
        return sbx_err_set(err, EINVAL, "%s: %s", s->path, archive_error_string(a));
    for (size_t i = 0; i < p->n; i++)
        if (!p->l[i].dup && !p->l[i].checked)
            return sbx_err_set(err, ENOENT, "%s: layer %zu: %s is not a file of the archive",
                               s->path, i, p->l[i].member);
    return 0;
}

static json_t *config_subset(json_t *config)
{
    json_t *c = json_object_get(config, "config");
    json_t *out = json_object();
    static const char *const keys[] = {"Env", "Cmd", "Entrypoint", "WorkingDir", "User"};
    for (size_t k = 0; out && k < sizeof keys / sizeof *keys; k++) {
        json_t *v = json_object_get(c, keys[k]);
        if (v && !json_is_null(v))
            json_object_set(out, keys[k], v);
    }
    return out;
}

static int commit(int root, struct plan *p, uint64_t bytes, bool *replaced, struct sbx_err *err)
{
    /* The layers' data reach the disk before any name points to them. */
    if (syncfs(root) < 0)
        return sbx_err_sys(err, errno, "image store: syncfs");
    for (size_t i = 0; i < p->n; i++) {
        struct layer *l = &p->l[i];
        if (!l->done)
            continue;
        char dst[96];
        snprintf(dst, sizeof dst, "layers/sha256/%s", l->diff);
        if (syscall(SYS_renameat2, root, l->tmp, root, dst, RENAME_NOREPLACE) < 0) {
            /* Another import committed the same layer meanwhile: same
             * digest, same content. */
            if (errno != EEXIST && errno != ENOTEMPTY)
                return sbx_err_sys(err, errno, "image store: committing layer %s", l->diff);
            (void)sbx_remove_tree(root, l->tmp, err);
            sbx_err_clear(err);
        }
    }
    json_t *layers = json_array();
    for (size_t i = 0; layers && i < p->n; i++) {
        char d[80];
        snprintf(d, sizeof d, "sha256:%s", p->l[i].diff);
        json_array_append_new(layers, json_string(d));
    }
    char id[80];
    snprintf(id, sizeof id, "sha256:%s", p->config_hex);
    json_t *rec = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "name", p->name, "id", id, "layers",
                            layers, "config", config_subset(p->config), "size", (json_int_t)bytes,
                            "imported", (json_int_t)time(NULL));
    if (!rec)
        return sbx_err_set(err, ENOMEM, "out of memory");
    /* NAME@sha256:HEX finds the image by it, as a registry names it. */
    if (p->manifest_hex[0]) {
        char d[80];
        snprintf(d, sizeof d, "sha256:%s", p->manifest_hex);
        json_object_set_new(rec, "digest", json_string(d));
    }
    char file[600];
    sbx_store_record_file(p->name, file, sizeof file);
    *replaced = faccessat(root, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    int r = sbx_store_record_write(root, p->name, rec, err);
    json_decref(rec);
    return r;
}

static __thread uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    if (flag == FTW_F && S_ISREG(st->st_mode))
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

/* The file data of a layer already in the store (for the record's size). */
static uint64_t stored_layer_bytes(const char *store, const char *hex)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/layers/sha256/%s", store, hex);
    tree_bytes = 0;
    (void)nftw(path, add_size, 16, FTW_PHYS | FTW_MOUNT);
    return tree_bytes;
}

static int import_planned(const char *store, struct source *s, struct plan *p,
                          const struct sbx_extract_limits *lim, struct sbx_import_result *res,
                          struct sbx_err *err)
{
    _cleanup_close_ int root = sbx_store_open(store, true, err);
    if (root < 0)
        return root;
    /* Shared: other imports may run alongside; a removal (which collects
     * layers) waits until this image's record names its layers. Alone in
     * the store, an import first clears what an interrupted one left in
     * tmp/. */
    _cleanup_close_ int lock = sbx_store_lock(root, LOCK_EX | LOCK_NB, err);
    if (lock >= 0) {
        _cleanup_close_ int tmp = openat(root, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct sbx_err ignored = {0};
        if (tmp >= 0)
            (void)sbx_remove_tree_at(tmp, &ignored);
        if (flock(lock, LOCK_SH) < 0)
            return sbx_err_sys(err, errno, "image store: locking");
    } else if (lock == -EWOULDBLOCK) {
        lock = sbx_store_lock(root, LOCK_SH, err);
    }
    if (lock < 0)
        return lock;
    for (size_t i = 0; i < p->n; i++) {
        char path[96];
        snprintf(path, sizeof path, "layers/sha256/%s", p->l[i].diff);
        for (size_t k = 0; k < i && !p->l[i].dup; k++)
            p->l[i].dup = strcmp(p->l[k].diff, p->l[i].diff) == 0;
        p->l[i].present = !p->l[i].dup && faccessat(root, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    }
    struct sbx_extract_stats xs = {0};
    bool replaced = false;
    int r = extract_all(root, s, p, lim, &xs, err);
    uint64_t total = xs.bytes;
    for (size_t i = 0; i < p->n; i++)
        if (p->l[i].present)
            total += stored_layer_bytes(store, p->l[i].diff);
    if (r == 0)
        r = commit(root, p, total, &replaced, err);
    if (r < 0) {
        struct sbx_err ignored = {0};
        for (size_t i = 0; i < p->n; i++)
            if (p->l[i].tmp[0])
                (void)sbx_remove_tree(root, p->l[i].tmp, &ignored);
        return r;
    }
    snprintf(res->name, sizeof res->name, "%s", p->name);
    snprintf(res->id, sizeof res->id, "sha256:%s", p->config_hex);
    res->layers = (unsigned)p->n;
    for (size_t i = 0; i < p->n; i++)
        res->layers_new += p->l[i].done;
    res->bytes = total;
    res->setuid_stripped = xs.setuid_stripped;
    res->ids_clamped = xs.ids_clamped;
    /* A name that moved keeps its old layers in the store: jobs may run on
     * them now. sbx image prune (or rm) collects them. */
    res->replaced = replaced;
    return 0;
}

int sbx_image_import(const char *store, const char *src, const struct sbx_import_opts *opts,
                     struct sbx_import_result *res, struct sbx_err *err)
{
    memset(res, 0, sizeof *res);
    struct sbx_extract_limits lim = {
        .max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES,
        .max_entries = opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES,
        .allow_setuid = opts->allow_setuid,
    };
    struct source s = {.path = src, .dirfd = -1};
    struct plan p = {0};
    struct stat st;
    int r;
    if (stat(src, &st) < 0)
        return sbx_err_sys(err, errno, "%s", src);
    if (S_ISDIR(st.st_mode)) {
        s.dirfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s.dirfd < 0)
            return sbx_err_sys(err, errno, "%s", src);
        r = sbx_img_plan_oci(&s, opts, &p, err);
    } else {
        r = sbx_img_read_small(&s, lim.max_bytes, err);
        const char *d;
        size_t n;
        char *owned;
        if (r == 0)
            r = sbx_img_get_file(&s, "index.json", &d, &n, &owned, err) == 0 ? sbx_img_plan_oci(&s, opts, &p, err)
                : sbx_img_get_file(&s, "manifest.json", &d, &n, &owned, err) == 0
                    ? sbx_img_plan_docker(&s, opts, &p, err)
                    : sbx_err_set(err, EINVAL, "%s: neither an OCI archive (index.json) nor a "
                                  "Docker archive (manifest.json)", src);
    }
    if (r == 0)
        r = import_planned(store, &s, &p, &lim, res, err);
    sbx_img_plan_free(&p);
    sbx_img_source_free(&s);
    return r;
}
