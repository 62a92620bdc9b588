/* Image references, and a policy's image resolved into its layers and
 * defaults. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* "uid", "uid:gid": numeric only; a name would need the image's
 * /etc/passwd. */
static int parse_user(const char *u, const char *image, uint32_t *uid, uint32_t *gid, bool *has_gid,
                      struct sbx_err *err)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(u, &end, 10);
    if (end == u || errno || v > UINT32_MAX || (*end && *end != ':'))
        goto bad;
    *uid = (uint32_t)v;
    *has_gid = false;
    if (*end == ':') {
        const char *g = end + 1;
        v = strtoul(g, &end, 10);
        if (end == g || errno || v > UINT32_MAX || *end)
            goto bad;
        *gid = (uint32_t)v;
        *has_gid = true;
    }
    return 0;
bad:
    return sbx_err_set(err, EINVAL,
                       "image %s: its User \"%.64s\" is not numeric (uid[:gid]); give uid and gid "
                       "in the policy (--uid, --gid)",
                       image, u);
}

static int oom(struct sbx_err *err)
{
    return sbx_err_set(err, ENOMEM, "out of memory");
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
    int r = 0;
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root < 0)
        return sbx_err_wrap(err, "image %.200s", p->image);
    _cleanup_close_ int lock = -1;
    if (hold) {
        struct sbx_err lerr = {0};
        lock = sbx_store_lock(root, LOCK_SH, &lerr);
        if (lock < 0 && lock != -EROFS)
            return sbx_err_set(err, -lock, "image %s: %s", canon, lerr.msg);
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
        bool has_gid;
        if ((r = parse_user(user, canon, &uid, &gid, &has_gid, err)) < 0) {
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
