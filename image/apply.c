/* Image references, and a policy's image resolved into its layers and
 * defaults. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "image.h"
#include "store.h"

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int sbx_image_ref_normalise(const char *ref, char *out, size_t size, struct sbx_err *err)
{
    if (!ref || !*ref)
        return sbx_err_set(err, EINVAL, "image: must not be empty");
    size_t len = strlen(ref);
    if (len > 255)
        return sbx_err_set(err, ENAMETOOLONG, "image: longer than 255 bytes");
    if (strchr(ref, '@'))
        return sbx_err_set(err, EINVAL, "image: \"%.100s\": a digest is not part of a name; "
                           "NAME@sha256:HEX finds an image, names one only NAME[:TAG]", ref);
    static const char *const prefixes[] = {"docker.io/library/", "docker.io/", "localhost/"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(ref, prefixes[i], strlen(prefixes[i])) == 0 && ref[strlen(prefixes[i])]) {
            ref += strlen(prefixes[i]);
            break;
        }
    const char *colon = strrchr(ref, ':');
    const char *slash = strrchr(ref, '/');
    if (colon && slash && colon < slash)
        colon = NULL; /* a registry's port, not a tag */
    size_t nlen = colon ? (size_t)(colon - ref) : strlen(ref);
    const char *tag = colon ? colon + 1 : "latest";
    /* NAME: components of [a-z0-9._-] starting with a letter or digit,
     * separated by single '/' (a registry host may carry ":port"). */
    bool start = true, first = true;
    for (size_t i = 0; i < nlen; i++) {
        char c = ref[i];
        if (c == '/') {
            if (start)
                goto bad;
            start = true;
            first = false;
            continue;
        }
        if (start && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            goto bad;
        /* ':' only in a registry host's ":port", before the first '/'. */
        if (!name_char(c) && !(c == ':' && first && memchr(ref + i, '/', nlen - i)))
            goto bad;
        start = false;
    }
    if (start || nlen == 0)
        goto bad;
    if (!*tag || strlen(tag) > 128 || tag[0] == '.' || tag[0] == '-')
        goto bad;
    for (const char *t = tag; *t; t++)
        if (!tag_char(*t))
            goto bad;
    if (snprintf(out, size, "%.*s:%s", (int)nlen, ref, tag) >= (int)size)
        return sbx_err_set(err, ENAMETOOLONG, "image: too long");
    return 0;
bad:
    return sbx_err_set(err, EINVAL,
                       "image: \"%.100s\" is not NAME[:TAG] (NAME: lowercase letters, digits, "
                       "'.', '_', '-' and '/'; TAG: letters, digits, '.', '_', '-')",
                       ref);
}

static char *dup_json_str(json_t *v)
{
    const char *s = json_string_value(v);
    return s ? strdup(s) : NULL;
}

static bool env_has_key(const JobPolicy *p, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < p->n_env; i++)
        if (strncmp(p->env[i], kv, klen) == 0 && p->env[i][klen] == '=')
            return true;
    return false;
}

static int oom(struct sbx_err *err)
{
    return sbx_err_set(err, ENOMEM, "out of memory");
}

/* ---- a named User, from the image's own /etc/passwd and /etc/group ---- */

/* Those files of real images are a few KiB. */
#define ETC_FILE_MAX (1u << 20)

static int open_strict(int dirfd, const char *name, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    return fd < 0 ? -errno : fd;
}

static bool opaque(int dirfd)
{
    char v;
    return (fgetxattr(dirfd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') ||
           (fgetxattr(dirfd, "user.overlay.opaque", &v, 1) == 1 && v == 'y');
}

/* etc/<file> as the job sees it through the image's layers (the store's
 * files, written by the import): the top layer's first; a whiteout, or an
 * etc that is not a directory, hides the layers below, and so does an
 * opaque etc. Never through a symlink: the store is the host's, and the
 * image's symlinks mean the job's root. *out is malloc'd, NULL when absent. */
static int stack_read(int root, json_t *layers, const char *file, const char *what, char **out,
                      struct sbx_err *err)
{
    *out = NULL;
    for (size_t i = json_array_size(layers); i-- > 0;) {
        char path[96];
        snprintf(path, sizeof path, "layers/sha256/%.64s",
                 json_string_value(json_array_get(layers, i)) + 7);
        _cleanup_close_ int layer = open_strict(root, path, O_RDONLY | O_DIRECTORY);
        if (layer < 0)
            return sbx_err_sys(err, -layer, "%s: layer %zu", what, i);
        struct stat st;
        if (fstatat(layer, "etc", &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return sbx_err_sys(err, errno, "%s: layer %zu: /etc", what, i);
        }
        if (S_ISLNK(st.st_mode))
            return sbx_err_set(err, ELOOP, "%s: /etc is a symlink in layer %zu", what, i);
        if (!S_ISDIR(st.st_mode))
            return 0;
        _cleanup_close_ int etc = open_strict(layer, "etc", O_RDONLY | O_DIRECTORY);
        if (etc < 0)
            return sbx_err_sys(err, -etc, "%s: layer %zu: /etc", what, i);
        if (fstatat(etc, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return sbx_err_sys(err, errno, "%s: layer %zu: /etc/%s", what, i, file);
            if (opaque(etc))
                return 0;
            continue;
        }
        if (S_ISLNK(st.st_mode))
            return sbx_err_set(err, ELOOP, "%s: /etc/%s is a symlink in layer %zu", what, file, i);
        if (!S_ISREG(st.st_mode))
            return 0; /* a whiteout (or a directory): no such file */
        if (st.st_size > ETC_FILE_MAX)
            return sbx_err_set(err, EFBIG, "%s: /etc/%s is over %u bytes", what, file,
                               ETC_FILE_MAX);
        _cleanup_close_ int fd = open_strict(etc, file, O_RDONLY);
        if (fd < 0)
            return sbx_err_sys(err, -fd, "%s: layer %zu: /etc/%s", what, i, file);
        char *buf = malloc(ETC_FILE_MAX + 1);
        if (!buf)
            return oom(err);
        size_t got = 0;
        ssize_t n;
        while (got < ETC_FILE_MAX && (n = read(fd, buf + got, ETC_FILE_MAX - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        *out = buf;
        return 0;
    }
    return 0;
}

/* A decimal id of the whole of s[0..n). */
static bool parse_id(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The id fields (third, and fourth when gid) of the line of text whose
 * first field is name[0..n). */
static bool lookup(const char *text, const char *name, size_t n, uint32_t *id, uint32_t *gid)
{
    for (const char *l = text, *next; *l; l = next) {
        size_t len = strcspn(l, "\n");
        next = l[len] ? l + len + 1 : l + len;
        if (len <= n || strncmp(l, name, n) != 0 || l[n] != ':')
            continue;
        const char *f[4] = {l};
        size_t k = 1;
        for (const char *c = l; c < l + len && k < 4; c++)
            if (*c == ':')
                f[k++] = c + 1;
        if (k < 3)
            return false;
        size_t l2 = strcspn(f[2], ":\n");
        if (!parse_id(f[2], l2, id))
            return false;
        if (gid && (k < 4 || !parse_id(f[3], strcspn(f[3], ":\n"), gid)))
            return false;
        return true;
    }
    return false;
}

/* User: "uid", "uid:gid", or with names for either part, looked up in the
 * image's /etc/passwd (a user's primary group when no group is given) and
 * /etc/group. A numeric uid alone gets gid 0, as Docker does for a uid not
 * in /etc/passwd. */
static int resolve_user(int root, json_t *layers, const char *u, const char *image,
                        uint32_t *uid, uint32_t *gid, bool *has_gid, struct sbx_err *err)
{
    char what[400];
    snprintf(what, sizeof what, "image %s: its User \"%.64s\"", image, u);
    if (strchr(u, '\n'))
        return sbx_err_set(err, EINVAL, "%s is not a user", what);
    const char *colon = strchr(u, ':');
    size_t un = colon ? (size_t)(colon - u) : strlen(u);
    const char *g = colon ? colon + 1 : NULL;
    *has_gid = false;
    if (!parse_id(u, un, uid)) {
        _cleanup_free_ char *passwd = NULL;
        int r = stack_read(root, layers, "passwd", what, &passwd, err);
        if (r < 0)
            return r;
        if (!passwd)
            return sbx_err_set(err, ENOENT, "%s: the image has no /etc/passwd", what);
        if (!lookup(passwd, u, un, uid, gid))
            return sbx_err_set(err, ENOENT, "%s: no such user in the image's /etc/passwd", what);
        *has_gid = true;
    }
    if (g) {
        if (!parse_id(g, strlen(g), gid)) {
            _cleanup_free_ char *group = NULL;
            int r = stack_read(root, layers, "group", what, &group, err);
            if (r < 0)
                return r;
            if (!group)
                return sbx_err_set(err, ENOENT, "%s: the image has no /etc/group", what);
            if (!*g || !lookup(group, g, strlen(g), gid, NULL))
                return sbx_err_set(err, ENOENT, "%s: no such group in the image's /etc/group",
                                   what);
        }
        *has_gid = true;
    }
    return 0;
}

void sbx_image_hold_release(struct sbx_image_hold *h)
{
    for (size_t i = 0; i < h->n; i++)
        close(h->fds[i]);
    free(h->fds);
    h->fds = NULL;
    h->n = 0;
}

/* Claims the record's layers: rm and prune collect layers under the
 * store's lock held exclusively, so with it shared here the record just
 * read and its layers cannot part in between. A read-only store has no
 * lock to take, and no one removes anything from it. */
static int hold_layers(int root, const char *canon, json_t *layers, struct sbx_image_hold *h,
                       struct sbx_err *err)
{
    size_t nl = json_array_size(layers);
    if (!(h->fds = calloc(nl ? nl : 1, sizeof *h->fds)))
        return oom(err);
    for (size_t i = 0; i < nl; i++) {
        char path[96];
        snprintf(path, sizeof path, "layers/sha256/%.64s",
                 json_string_value(json_array_get(layers, i)) + 7);
        int fd = openat(root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            sbx_image_hold_release(h);
            return sbx_err_sys(err, e, "image %s: layer %zu (sha256:%.12s)", canon, i, path + 14);
        }
        h->fds[h->n++] = fd;
        if (flock(fd, LOCK_SH) < 0) {
            int e = errno;
            sbx_image_hold_release(h);
            return sbx_err_sys(err, e, "image %s: claiming layer %zu", canon, i);
        }
    }
    return 0;
}

int sbx_image_apply(JobPolicy *p, const char *store, struct sbx_image_hold *hold,
                    struct sbx_err *err)
{
    if (!p->image)
        return 0;
    char canon[300];
    /* A malformed reference is the policy's error, whatever the store. */
    size_t nl0 = strcspn(p->image, "@");
    char name[300];
    snprintf(name, sizeof name, "%.*s", (int)(nl0 < 299 ? nl0 : 299), p->image);
    int r = strncmp(name, "sha256:", 7) == 0 ? 0 : sbx_image_ref_normalise(name, canon, sizeof canon, err);
    if (r < 0)
        return r;
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root < 0)
        return sbx_err_wrap(err, "image %.200s", p->image);
    _cleanup_close_ int lock = -1;
    if (hold) {
        struct sbx_err lerr = {0};
        lock = sbx_store_lock(root, LOCK_SH, &lerr);
        if (lock < 0 && lock != -EROFS)
            return sbx_err_set(err, -lock, "image %.200s: %s", p->image, lerr.msg);
    }
    json_t *rec;
    if ((r = sbx_store_find(root, p->image, false, canon, &rec, err)) < 0)
        return r;
    json_t *layers = json_object_get(rec, "layers");
    if (lock >= 0 && (r = hold_layers(root, canon, layers, hold, err)) < 0) {
        json_decref(rec);
        return r;
    }
    json_t *cfg = json_object_get(rec, "config");
    size_t nl = json_array_size(layers);
    size_t have = p->rootfs ? p->rootfs->n_layers : 0;
    if (nl + have > SBX_MAX_LAYERS) {
        json_decref(rec);
        if (hold)
            sbx_image_hold_release(hold);
        return sbx_err_set(err, E2BIG, "rootfs.layers: image %s has %zu layers, with %zu more "
                           "given that is over the %d allowed", canon, nl, have, SBX_MAX_LAYERS);
    }

    /* The image's layers, then the policy's on top of them. */
    if (!p->rootfs) {
        if (!(p->rootfs = malloc(sizeof *p->rootfs)))
            goto nomem;
        sbx__v1__root_fs__init(p->rootfs);
    }
    char **nv = calloc(nl + have + 1, sizeof *nv);
    if (!nv)
        goto nomem;
    for (size_t i = 0; i < nl; i++)
        if (asprintf(&nv[i], "%s/layers/sha256/%s", store,
                     json_string_value(json_array_get(layers, i)) + 7) < 0) {
            nv[i] = NULL;
            for (size_t k = 0; k < i; k++)
                free(nv[k]);
            free(nv);
            goto nomem;
        }
    for (size_t i = 0; i < have; i++)
        nv[nl + i] = p->rootfs->layers[i];
    free(p->rootfs->layers);
    p->rootfs->layers = nv;
    p->rootfs->n_layers = nl + have;

    /* Env: the image's for every KEY the policy leaves unset. */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(cfg, "Env"), i, v)
    {
        const char *kv = json_string_value(v);
        if (!kv || !strchr(kv, '=') || env_has_key(p, kv))
            continue;
        char **ne = realloc(p->env, (p->n_env + 1) * sizeof *ne);
        if (!ne)
            goto nomem;
        p->env = ne;
        if (!(ne[p->n_env] = strdup(kv)))
            goto nomem;
        p->n_env++;
    }
    const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
    if (!p->cwd && wd && *wd && !(p->cwd = strdup(wd)))
        goto nomem;

    /* A command given replaces Entrypoint and Cmd both. */
    if (!p->command) {
        json_t *argv = json_array();
        if (!argv)
            goto nomem;
        json_array_extend(argv, json_object_get(cfg, "Entrypoint"));
        json_array_extend(argv, json_object_get(cfg, "Cmd"));
        size_t n = json_array_size(argv);
        if (n > 0) {
            p->command = dup_json_str(json_array_get(argv, 0));
            p->args = calloc(n, sizeof *p->args);
            for (size_t k = 1; p->args && k < n; k++)
                if ((p->args[k - 1] = dup_json_str(json_array_get(argv, k))))
                    p->n_args++;
            if (!p->command || !p->args || p->n_args != n - 1) {
                json_decref(argv);
                goto nomem;
            }
        }
        json_decref(argv);
    }
    const char *user = json_string_value(json_object_get(cfg, "User"));
    if (user && *user && !p->has_uid) {
        uint32_t uid = 0, gid = 0;
        bool has_gid = false;
        if ((r = resolve_user(root, layers, user, canon, &uid, &gid, &has_gid, err)) < 0) {
            json_decref(rec);
            if (hold)
                sbx_image_hold_release(hold);
            return r;
        }
        p->has_uid = true;
        p->uid = uid;
        if (!p->has_gid) {
            p->has_gid = true;
            p->gid = has_gid ? gid : 0; /* as Docker does for a uid not in /etc/passwd */
        }
    }
    json_decref(rec);
    free(p->image);
    p->image = NULL;
    return 0;
nomem:
    json_decref(rec);
    if (hold)
        sbx_image_hold_release(hold);
    return oom(err);
}
