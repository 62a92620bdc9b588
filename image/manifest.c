/* An image's source read into a plan: the Docker archive's manifest.json
 * or the OCI layout's index, manifest and config, each checked against its
 * sha256 digest before it is parsed for more, and the config's fields that
 * become policy fields checked as such. */
#include "manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "store.h"

void sbx_img_source_free(struct source *s)
{
    for (size_t i = 0; i < s->n_m; i++) {
        free(s->m[i].name);
        free(s->m[i].data);
    }
    free(s->m);
    for (size_t i = 0; i < s->n_sp; i++)
        free(s->sp[i].name);
    free(s->sp);
    if (s->dirfd >= 0)
        close(s->dirfd);
}

void sbx_img_plan_free(struct plan *p)
{
    json_decref(p->config);
    for (size_t i = 0; i < p->n; i++)
        free(p->l[i].member);
    free(p->l);
}

void sbx_img_hex_digest(struct sha256_ctx *c, char out[65])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(c, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    sbx_img_hex_digest(&c, out);
}

/* A member name as the manifests spell it: no leading "./" or "/". */
const char *sbx_img_member_name(const char *s)
{
    for (;;) {
        if (s[0] == '/')
            s++;
        else if (s[0] == '.' && s[1] == '/')
            s += 2;
        else
            return s;
    }
}

int sbx_img_openat_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : fd;
}

struct archive *sbx_img_outer_open(const char *path, struct sbx_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        sbx_err_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    if (archive_read_open_filename(a, path, BUF_SIZE) != ARCHIVE_OK) {
        sbx_err_set(err, EINVAL, "%s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* With no compression filter, the tar reader has consumed the member's
 * headers when it returns one: the client's position is where the data
 * begin. Nothing trusts this blindly: what is read from there is checked
 * against the layer's digests like any stream. Sparse members are left to
 * the stream. */
static int add_span(struct source *s, struct archive *a, struct archive_entry *e,
                    const char *name, la_int64_t size, struct sbx_err *err)
{
    if (archive_filter_count(a) != 1 || archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE ||
        archive_entry_filetype(e) != AE_IFREG || !name || size < 0 ||
        archive_entry_sparse_count(e) != 0)
        return 0;
    la_int64_t off = archive_filter_bytes(a, 0);
    if (off < 0)
        return 0;
    struct span *n = realloc(s->sp, (s->n_sp + 1) * sizeof *n);
    if (!n)
        return sbx_err_set(err, ENOMEM, "out of memory");
    s->sp = n;
    if (!(n[s->n_sp].name = strdup(sbx_img_member_name(name))))
        return sbx_err_set(err, ENOMEM, "out of memory");
    n[s->n_sp].off = (uint64_t)off;
    n[s->n_sp].size = (uint64_t)size;
    s->n_sp++;
    return 0;
}

const struct span *sbx_img_find_span(const struct source *s, const char *name)
{
    /* The first member of a name, as in the streaming pass. */
    for (size_t i = 0; i < s->n_sp; i++)
        if (strcmp(s->sp[i].name, name) == 0)
            return &s->sp[i];
    return NULL;
}

/* First pass over an archive: the small regular members, in memory. The
 * members' sizes together are bounded too (four times the image's budget:
 * layers are tars of its files, or smaller): skipping a member of a
 * compressed archive means decompressing it. */
int sbx_img_read_small(struct source *s, uint64_t max_bytes, struct sbx_err *err)
{
    struct archive *a = sbx_img_outer_open(s->path, err);
    if (!a)
        return -err->code;
    int r = 0;
    size_t count = 0;
    uint64_t all = 0;
    struct archive_entry *e;
    int ar;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
        if (++count > OUTER_MAX_ENTRIES) {
            r = sbx_err_set(err, E2BIG, "%s: more than %d members", s->path, OUTER_MAX_ENTRIES);
            break;
        }
        la_int64_t size = archive_entry_size(e);
        all += size > 0 ? (uint64_t)size : 0;
        if (size < 0 || all > 4 * max_bytes) {
            uint64_t bound = 4 * max_bytes;
            r = sbx_err_set(err, EFBIG, "%s: members of more than %" PRIu64 " bytes in all (4 x --max-size)",
                            s->path, bound);
            break;
        }
        const char *name = archive_entry_pathname(e);
        if ((r = add_span(s, a, e, name, size, err)) < 0)
            break;
        if (archive_entry_filetype(e) != AE_IFREG || !name || size < 0 || size > SMALL_MAX ||
            s->total + (size_t)size > SMALL_TOTAL_MAX)
            continue;
        struct member *nm = realloc(s->m, (s->n_m + 1) * sizeof *nm);
        if (!nm) {
            r = sbx_err_set(err, ENOMEM, "out of memory");
            break;
        }
        s->m = nm;
        struct member *m = &s->m[s->n_m];
        m->name = strdup(sbx_img_member_name(name));
        m->data = malloc((size_t)size + 1);
        m->len = 0;
        if (!m->name || !m->data) {
            free(m->name);
            free(m->data);
            r = sbx_err_set(err, ENOMEM, "out of memory");
            break;
        }
        s->n_m++;
        la_ssize_t n;
        while (m->len < (size_t)size &&
               (n = archive_read_data(a, m->data + m->len, (size_t)size - m->len)) > 0)
            m->len += (size_t)n;
        if (m->len != (size_t)size) {
            r = sbx_err_set(err, EIO, "%s: member %s: %s", s->path, m->name,
                            archive_error_string(a) ? archive_error_string(a) : "truncated");
            break;
        }
        m->data[m->len] = '\0';
        s->total += m->len;
    }
    if (r == 0 && ar != ARCHIVE_EOF)
        r = sbx_err_set(err, EINVAL, "%s: not a valid archive: %s", s->path, archive_error_string(a));
    archive_read_free(a);
    return r;
}

/* A whole small file of the source: an archive member or a file of the
 * layout directory. Borrowed (archive) or malloc'd into *owned (directory). */
int sbx_img_get_file(struct source *s, const char *name, const char **data, size_t *len,
                    char **owned, struct sbx_err *err)
{
    *owned = NULL;
    if (s->dirfd < 0) {
        for (size_t i = 0; i < s->n_m; i++)
            if (strcmp(s->m[i].name, name) == 0) {
                *data = s->m[i].data;
                *len = s->m[i].len;
                return 0;
            }
        return -ENOENT;
    }
    _cleanup_close_ int fd = sbx_img_openat_beneath(s->dirfd, name, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return fd == -ENOENT ? -ENOENT : sbx_err_sys(err, -fd, "%s/%s", s->path, name);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SMALL_MAX)
        return sbx_err_set(err, EINVAL, "%s/%s: not a regular file of at most %u bytes", s->path,
                           name, SMALL_MAX);
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    *data = *owned = buf;
    *len = got;
    return 0;
}

/* Loads JSON file name of the source; when hex is given, its sha256 must
 * be hex (and size, when >= 0, its size). */
static int load_json(struct source *s, const char *name, const char *hex, int64_t size,
                     json_t **out, struct sbx_err *err)
{
    const char *data;
    size_t len;
    _cleanup_free_ char *owned = NULL;
    int r = sbx_img_get_file(s, name, &data, &len, &owned, err);
    if (r == -ENOENT)
        return sbx_err_set(err, ENOENT, "%s: %s is missing", s->path, name);
    if (r < 0)
        return r;
    if (hex) {
        char got[65];
        sha256_hex(data, len, got);
        if (strcmp(got, hex) != 0)
            return sbx_err_set(err, EBADMSG, "%s: %s: sha256 is %s, its digest says %s", s->path,
                               name, got, hex);
        if (size >= 0 && (size_t)size != len)
            return sbx_err_set(err, EBADMSG, "%s: %s: %zu bytes, its descriptor says %lld", s->path,
                               name, len, (long long)size);
    }
    json_error_t je;
    *out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return sbx_err_set(err, EINVAL, "%s: %s: invalid JSON: %s (line %d)", s->path, name,
                           je.text, je.line);
    return 0;
}

/* "sha256:<hex>" into hex; other algorithms are refused. */
static int digest_hex(const char *d, char out[65], const char *what, struct sbx_err *err)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || !sbx_is_sha256_hex(d + 7))
        return sbx_err_set(err, EINVAL, "%s: digest \"%.80s\" is not sha256:<64 hex digits>", what,
                           d ? d : "(missing)");
    memcpy(out, d + 7, 65);
    return 0;
}

static const char *runtime_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#else
    return NULL;
#endif
}

/* The config's fields a job uses, checked: they become policy fields. */
static int check_config(json_t *config, const char *src, struct sbx_err *err)
{
    const char *os = json_string_value(json_object_get(config, "os"));
    const char *arch = json_string_value(json_object_get(config, "architecture"));
    if (os && strcmp(os, "linux") != 0)
        return sbx_err_set(err, EINVAL, "%s: the image is for %.32s, not linux", src, os);
    if (arch && runtime_arch() && strcmp(arch, runtime_arch()) != 0)
        return sbx_err_set(err, EINVAL, "%s: the image is for %.32s, this host runs %s", src, arch,
                           runtime_arch());
    json_t *c = json_object_get(config, "config");
    if (c && !json_is_object(c) && !json_is_null(c))
        return sbx_err_set(err, EINVAL, "%s: config.config is not an object", src);
    static const char *const arrays[] = {"Env", "Cmd", "Entrypoint"};
    for (size_t k = 0; k < 3; k++) {
        json_t *a = json_object_get(c, arrays[k]);
        if (!a || json_is_null(a))
            continue;
        if (!json_is_array(a) || json_array_size(a) > SBX_MAX_ENV)
            return sbx_err_set(err, EINVAL, "%s: config.%s is not a list of at most %d strings",
                               src, arrays[k], SBX_MAX_ENV);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v))
                return sbx_err_set(err, EINVAL, "%s: config.%s[%zu] is not a string", src,
                                   arrays[k], i);
            if (k == 0 && !strchr(json_string_value(v), '='))
                return sbx_err_set(err, EINVAL, "%s: config.Env[%zu] is not KEY=VALUE", src, i);
        }
    }
    static const char *const strings[] = {"WorkingDir", "User"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(c, strings[k]);
        if (v && !json_is_string(v) && !json_is_null(v))
            return sbx_err_set(err, EINVAL, "%s: config.%s is not a string", src, strings[k]);
    }
    return 0;
}

/* The layers from the config's diff_ids, with the blobs a manifest names. */
static int plan_layers(struct plan *p, json_t *blobs, bool oci, const char *src, struct sbx_err *err)
{
    json_t *diffs = json_object_get(json_object_get(p->config, "rootfs"), "diff_ids");
    size_t n = json_array_size(diffs);
    if (!json_is_array(diffs) || n == 0)
        return sbx_err_set(err, EINVAL, "%s: the config has no rootfs.diff_ids", src);
    if (n > SBX_IMAGE_MAX_LAYERS)
        return sbx_err_set(err, E2BIG, "%s: %zu layers, more than the %d allowed", src, n,
                           SBX_IMAGE_MAX_LAYERS);
    if (json_array_size(blobs) != n)
        return sbx_err_set(err, EINVAL, "%s: the manifest lists %zu layers, the config %zu", src,
                           json_array_size(blobs), n);
    p->l = calloc(n, sizeof *p->l);
    if (!p->l)
        return sbx_err_set(err, ENOMEM, "out of memory");
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        struct layer *l = &p->l[i];
        char what[64];
        snprintf(what, sizeof what, "%s: layer %zu", src, i);
        int r = digest_hex(json_string_value(json_array_get(diffs, i)), l->diff, what, err);
        if (r < 0)
            return r;
        json_t *b = json_array_get(blobs, i);
        l->blob_size = -1;
        if (oci) {
            const char *mt = json_string_value(json_object_get(b, "mediaType"));
            static const char *const ok[] = {
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.diff.tar",
            };
            bool known = false;
            for (size_t k = 0; mt && k < sizeof ok / sizeof *ok; k++)
                known |= strcmp(mt, ok[k]) == 0;
            if (!known)
                return sbx_err_set(err, EINVAL, "%s: media type \"%.100s\" is not a layer sbx reads",
                                   what, mt ? mt : "(missing)");
            if ((r = digest_hex(json_string_value(json_object_get(b, "digest")), l->blob, what,
                                err)) < 0)
                return r;
            json_t *sz = json_object_get(b, "size");
            if (!json_is_integer(sz) || json_integer_value(sz) < 0)
                return sbx_err_set(err, EINVAL, "%s: no valid size", what);
            l->blob_size = json_integer_value(sz);
            if (asprintf(&l->member, "blobs/sha256/%s", l->blob) < 0)
                return sbx_err_set(err, ENOMEM, "out of memory");
        } else {
            const char *path = json_string_value(b);
            if (!path || !*path)
                return sbx_err_set(err, EINVAL, "%s: no path in manifest.json", what);
            if (!(l->member = strdup(sbx_img_member_name(path))))
                return sbx_err_set(err, ENOMEM, "out of memory");
            /* Newer Docker archives name layers by their blob digest. */
            if (strncmp(l->member, "blobs/sha256/", 13) == 0 && sbx_is_sha256_hex(l->member + 13))
                memcpy(l->blob, l->member + 13, 65);
        }
    }
    return 0;
}

static int set_name(struct plan *p, const struct sbx_import_opts *o, const char *found,
                    const char *src, struct sbx_err *err)
{
    const char *n = o->name ? o->name : found;
    if (!n)
        return sbx_err_set(err, EINVAL, "%s: the image has no name; give one with --name NAME[:TAG]",
                           src);
    int r = sbx_image_ref_normalise(n, p->name, sizeof p->name, err);
    return r < 0 ? sbx_err_wrap(err, "%s", o->name ? "--name" : src) : 0;
}

static bool ref_matches(const char *ref, const char *want_canon)
{
    char c[300];
    struct sbx_err e = {0};
    return ref && sbx_image_ref_normalise(ref, c, sizeof c, &e) == 0 && strcmp(c, want_canon) == 0;
}

int sbx_img_plan_docker(struct source *s, const struct sbx_import_opts *o, struct plan *p,
                       struct sbx_err *err)
{
    json_t *man;
    int r = load_json(s, "manifest.json", NULL, -1, &man, err);
    if (r < 0)
        return r;
    char want[300] = "";
    if (o->name && (r = sbx_image_ref_normalise(o->name, want, sizeof want, err)) < 0) {
        json_decref(man);
        return sbx_err_wrap(err, "--name");
    }
    json_t *entry = NULL;
    size_t n = json_array_size(man);
    if (n == 1) {
        entry = json_array_get(man, 0);
    } else {
        for (size_t i = 0; i < n && !entry; i++) {
            size_t k;
            json_t *t;
            json_array_foreach(json_object_get(json_array_get(man, i), "RepoTags"), k, t)
                if (ref_matches(json_string_value(t), want))
                    entry = json_array_get(man, i);
        }
    }
    if (!entry || !json_is_object(entry)) {
        json_decref(man);
        return sbx_err_set(err, EINVAL, "%s: manifest.json lists %zu images%s", s->path, n,
                           n > 1 ? "; choose one with --name NAME:TAG" : "");
    }
    const char *cfg = json_string_value(json_object_get(entry, "Config"));
    const char *base = cfg ? strrchr(cfg, '/') : NULL;
    base = base ? base + 1 : cfg;
    char hex[65] = "";
    if (base && strlen(base) >= 64)
        snprintf(hex, sizeof hex, "%.64s", base);
    if (!sbx_is_sha256_hex(hex) || (strlen(base) != 64 && strcmp(base + 64, ".json") != 0)) {
        r = sbx_err_set(err, EINVAL, "%s: manifest.json: Config \"%.100s\" does not carry its "
                        "sha256", s->path, cfg ? cfg : "(missing)");
        json_decref(man);
        return r;
    }
    memcpy(p->config_hex, hex, 65);
    r = load_json(s, sbx_img_member_name(cfg), hex, -1, &p->config, err);
    if (r == 0)
        r = check_config(p->config, s->path, err);
    if (r == 0)
        r = plan_layers(p, json_object_get(entry, "Layers"), false, s->path, err);
    if (r == 0)
        r = set_name(p, o, json_string_value(json_array_get(json_object_get(entry, "RepoTags"), 0)),
                     s->path, err);
    json_decref(man);
    return r;
}

static const char *ref_annotation(json_t *desc)
{
    json_t *a = json_object_get(desc, "annotations");
    const char *n = json_string_value(json_object_get(a, "io.containerd.image.name"));
    return n ? n : json_string_value(json_object_get(a, "org.opencontainers.image.ref.name"));
}

/* The manifest descriptor to import from an index: the one named by --name
 * (its full name or its tag), else the only one; an image index nested in
 * it picks this host's platform. *out is a new reference. */
static int pick_manifest(struct source *s, json_t *index, const char *want, int depth, json_t **out,
                         const char **ref, struct sbx_err *err)
{
    json_t *ms = json_object_get(index, "manifests");
    size_t n = json_array_size(ms);
    json_t *pick = NULL;
    if (n == 1)
        pick = json_array_get(ms, 0);
    for (size_t i = 0; i < n && !pick && depth == 0; i++) {
        const char *r = ref_annotation(json_array_get(ms, i));
        const char *tag = strrchr(want, ':');
        if (r && (ref_matches(r, want) || (tag && strcmp(r, tag + 1) == 0)))
            pick = json_array_get(ms, i);
    }
    for (size_t i = 0; i < n && !pick && depth > 0; i++) {
        json_t *pl = json_object_get(json_array_get(ms, i), "platform");
        const char *os = json_string_value(json_object_get(pl, "os"));
        const char *arch = json_string_value(json_object_get(pl, "architecture"));
        if (os && arch && runtime_arch() && !strcmp(os, "linux") && !strcmp(arch, runtime_arch()))
            pick = json_array_get(ms, i);
    }
    if (!pick)
        return sbx_err_set(err, EINVAL, "%s: the index lists %zu images%s", s->path, n,
                           n > 1 && depth == 0 ? "; choose one with --name NAME:TAG" : " (none for this platform)");
    if (depth == 0)
        *ref = ref_annotation(pick);
    const char *mt = json_string_value(json_object_get(pick, "mediaType"));
    if (mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
               !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"))) {
        if (depth > 0)
            return sbx_err_set(err, EINVAL, "%s: image indexes nested too deep", s->path);
        char hex[65], path[80];
        int r = digest_hex(json_string_value(json_object_get(pick, "digest")), hex, s->path, err);
        if (r < 0)
            return r;
        snprintf(path, sizeof path, "blobs/sha256/%s", hex);
        json_t *sub;
        json_t *sz = json_object_get(pick, "size");
        if ((r = load_json(s, path, hex, json_is_integer(sz) ? json_integer_value(sz) : -1, &sub,
                           err)) < 0)
            return r;
        r = pick_manifest(s, sub, want, depth + 1, out, ref, err);
        json_decref(sub); /* *out holds its own reference */
        return r;
    }
    *out = json_incref(pick);
    return 0;
}

int sbx_img_plan_oci(struct source *s, const struct sbx_import_opts *o, struct plan *p,
                    struct sbx_err *err)
{
    json_t *layout, *index;
    int r = load_json(s, "oci-layout", NULL, -1, &layout, err);
    if (r < 0)
        return r;
    const char *ver = json_string_value(json_object_get(layout, "imageLayoutVersion"));
    bool ok = ver && strcmp(ver, "1.0.0") == 0;
    json_decref(layout);
    if (!ok)
        return sbx_err_set(err, EINVAL, "%s: oci-layout: imageLayoutVersion is not 1.0.0", s->path);
    if ((r = load_json(s, "index.json", NULL, -1, &index, err)) < 0)
        return r;
    char want[300] = "";
    if (o->name && (r = sbx_image_ref_normalise(o->name, want, sizeof want, err)) < 0) {
        json_decref(index);
        return sbx_err_wrap(err, "--name");
    }
    json_t *desc = NULL;
    const char *ref = NULL;
    json_t *man = NULL;
    char hex[65], path[80];
    r = pick_manifest(s, index, want, 0, &desc, &ref, err);
    if (r == 0)
        r = digest_hex(json_string_value(json_object_get(desc, "digest")), hex, s->path, err);
    if (r == 0) {
        json_t *sz = json_object_get(desc, "size");
        snprintf(path, sizeof path, "blobs/sha256/%s", hex);
        r = load_json(s, path, hex, json_is_integer(sz) ? json_integer_value(sz) : -1, &man, err);
    }
    if (r == 0)
        memcpy(p->manifest_hex, hex, sizeof hex);
    json_t *cd = json_object_get(man, "config");
    if (r == 0)
        r = digest_hex(json_string_value(json_object_get(cd, "digest")), p->config_hex, s->path, err);
    if (r == 0) {
        json_t *sz = json_object_get(cd, "size");
        snprintf(path, sizeof path, "blobs/sha256/%s", p->config_hex);
        r = load_json(s, path, p->config_hex, json_is_integer(sz) ? json_integer_value(sz) : -1,
                      &p->config, err);
    }
    if (r == 0)
        r = check_config(p->config, s->path, err);
    if (r == 0)
        r = plan_layers(p, json_object_get(man, "layers"), true, s->path, err);
    /* A bare tag (skopeo's oci:DIR:TAG) is not a name. */
    if (r == 0)
        r = set_name(p, o, ref && strpbrk(ref, ":/") ? ref : NULL, s->path, err);
    json_decref(man);
    if (desc)
        json_decref(desc);
    json_decref(index);
    return r;
}
