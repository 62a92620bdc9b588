/* The store on disk: its directories, lock, image records, listing, removal
 * and the collection of layers no image uses. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/hostfile.h"
#include "extract.h"
#include "image.h"

/* A record is small: names, a layer list and a config's few fields. */
#define RECORD_MAX (4u << 20)

const char *sbx_image_store_default(void)
{
    const char *s = getenv("SBX_IMAGE_STORE");
    return s && *s ? s : SBX_IMAGE_DEFAULT_STORE;
}

int sbx_store_open(const char *store, bool create, struct sbx_err *err)
{
    if (!store || store[0] != '/')
        return sbx_err_set(err, EINVAL, "image store: \"%s\" must be an absolute path",
                           store ? store : "");
    if (create) {
        int r = sbx_mkdir_p(store, 0700);
        if (r < 0)
            return sbx_err_sys(err, -r, "image store %s: creating it", store);
    }
    _cleanup_close_ int fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return sbx_err_set(err, ENOENT, "image store %s: does not exist (no image imported yet)",
                               store);
        return sbx_err_sys(err, errno, "image store %s", store);
    }
    if (create) {
        /* The layers hold files of any owner and mode: no host user may reach
         * them. */
        if (fchmod(fd, 0700) < 0)
            return sbx_err_sys(err, errno, "image store %s: chmod", store);
        static const char *const dirs[] = {"layers", "layers/sha256", "images", "tmp"};
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            if (mkdirat(fd, dirs[i], 0700) < 0 && errno != EEXIST)
                return sbx_err_sys(err, errno, "image store %s: creating %s", store, dirs[i]);
    }
    return take_fd(fd);
}

int sbx_store_lock(int rootfd, int op, struct sbx_err *err)
{
    _cleanup_close_ int fd = openat(rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sbx_err_sys(err, errno, "image store: opening its lock");
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? -EWOULDBLOCK
                                        : sbx_err_sys(err, errno, "image store: locking");
    return take_fd(fd);
}

void sbx_store_record_file(const char *name, char *out, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(out, size, "images/");
    for (const char *p = name; *p && o + 6 < size; p++)
        out[o++] = *p == '/' ? '+' : *p;
    snprintf(out + o, size - o, ".json");
}

bool sbx_is_sha256_hex(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static int check_record(json_t *rec, const char *file, struct sbx_err *err)
{
    json_t *layers = json_object_get(rec, "layers");
    if (!json_is_string(json_object_get(rec, "name")) || !json_is_array(layers) ||
        json_array_size(layers) == 0 || json_array_size(layers) > SBX_IMAGE_MAX_LAYERS)
        return sbx_err_set(err, EINVAL, "image store: %s is not an image record", file);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *s = json_string_value(l);
        if (!s || strncmp(s, "sha256:", 7) != 0 || !sbx_is_sha256_hex(s + 7))
            return sbx_err_set(err, EINVAL, "image store: %s: layers[%zu] is not a sha256 digest",
                               file, i);
    }
    return 0;
}

static int load_file(int rootfd, const char *file, json_t **out, struct sbx_err *err)
{
    _cleanup_close_ int fd = openat(rootfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX)
        return sbx_err_set(err, EINVAL, "image store: %s is not an image record", file);
    /* Whole, in one read: jansson reads an fd a byte per call, on every
     * job's start-up path. */
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return sbx_err_set(err, ENOMEM, "out of memory");
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    json_error_t je;
    json_t *rec = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &je);
    if (!rec)
        return sbx_err_set(err, EINVAL, "image store: %s: %s", file, je.text);
    int r = check_record(rec, file, err);
    if (r < 0) {
        json_decref(rec);
        return r;
    }
    *out = rec;
    return 0;
}

int sbx_store_record_load(int rootfd, const char *name, json_t **out, struct sbx_err *err)
{
    char file[600];
    sbx_store_record_file(name, file, sizeof file);
    int r = load_file(rootfd, file, out, err);
    if (r == -ENOENT)
        return sbx_err_set(err, ENOENT, "image %s: not in the store (see sbx image ls)", name);
    if (r < 0 && err->code == 0)
        return sbx_err_sys(err, -r, "image %s", name);
    return r;
}

int sbx_store_record_write(int rootfd, const char *name, json_t *rec, struct sbx_err *err)
{
    char file[600], tmp[700];
    sbx_store_record_file(name, file, sizeof file);
    snprintf(tmp, sizeof tmp, "tmp/record.%d", (int)getpid());
    _cleanup_free_ char *text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return sbx_err_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd =
        openat(rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return sbx_err_sys(err, errno, "image store: writing the record of %s", name);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
        return sbx_err_sys(err, errno ? errno : EIO, "image store: writing the record of %s", name);
    if (renameat(rootfd, tmp, rootfd, file) < 0)
        return sbx_err_sys(err, errno, "image store: committing the record of %s", name);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records' file names, sorted. */
static int record_files(int rootfd, char ***out, size_t *n, struct sbx_err *err)
{
    *out = NULL;
    *n = 0;
    int fd = openat(rootfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : sbx_err_sys(err, errno, "image store: images/");
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return sbx_err_sys(err, errno, "image store: images/");
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char **na = realloc(*out, (*n + 1) * sizeof *na);
        char *s = na ? malloc(len + 8) : NULL;
        if (!s) {
            free(na ? na : *out);
            *out = NULL;
            return sbx_err_set(err, ENOMEM, "out of memory");
        }
        snprintf(s, len + 8, "images/%s", de->d_name);
        *out = na;
        na[(*n)++] = s;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The repository of a canonical NAME:TAG: all but the tag (a tag has no
 * '/', so the last ':' starts it). */
static size_t repo_len(const char *canon)
{
    const char *c = strrchr(canon, ':');
    return c ? (size_t)(c - canon) : strlen(canon);
}

/* An image id or a prefix of one: "sha256:" and 4 to 64 hex digits, or 12
 * to 64 bare ones (as `sbx image ls` shows 12). Returns the hex part. */
static const char *id_prefix(const char *ref)
{
    size_t min = 12;
    if (strncmp(ref, "sha256:", 7) == 0) {
        ref += 7;
        min = 4;
    }
    size_t n = strspn(ref, "0123456789abcdef");
    return n >= min && n <= 64 && !ref[n] ? ref : NULL;
}

struct match {
    const char *name_repo;  /* NAME@: its repository, and its tag unless any_tag */
    size_t repo_n;
    bool any_tag;
    const char *hex;        /* the digest or id prefix */
    bool prefix;
};

static bool record_matches(json_t *rec, const struct match *m)
{
    const char *name = json_string_value(json_object_get(rec, "name"));
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *dig = json_string_value(json_object_get(rec, "digest"));
    if (m->name_repo) {
        if (m->any_tag ? repo_len(name) != m->repo_n || strncmp(name, m->name_repo, m->repo_n) != 0
                       : strcmp(name, m->name_repo) != 0)
            return false;
    }
    size_t hn = strlen(m->hex);
    bool id_ok = id && strncmp(id, "sha256:", 7) == 0 &&
                 (m->prefix ? strncmp(id + 7, m->hex, hn) == 0 : strcmp(id + 7, m->hex) == 0);
    bool dig_ok = !m->prefix && dig && strncmp(dig, "sha256:", 7) == 0 && strcmp(dig + 7, m->hex) == 0;
    return id_ok || dig_ok;
}

static int find_by(int rootfd, const char *ref, const struct match *m, bool unique, char *canon,
                   json_t **out, struct sbx_err *err)
{
    char **files;
    size_t n;
    int r = record_files(rootfd, &files, &n, err);
    if (r < 0)
        return r;
    json_t *found = NULL;
    const char *first_id = NULL;
    size_t names = 0;
    bool ids_differ = false;
    for (size_t i = 0; i < n; i++) {
        json_t *rec;
        struct sbx_err ignored = {0};
        if (load_file(rootfd, files[i], &rec, &ignored) < 0)
            continue;
        if (!record_matches(rec, m)) {
            json_decref(rec);
            continue;
        }
        names++;
        const char *id = json_string_value(json_object_get(rec, "id"));
        if (!found) {
            found = rec;
            first_id = id;
        } else {
            ids_differ |= !id || !first_id || strcmp(id, first_id) != 0;
            json_decref(rec);
        }
    }
    free_strv(files, n);
    if (!found)
        return sbx_err_set(err, ENOENT, "image %.200s: not in the store (see sbx image ls)", ref);
    const char *name = json_string_value(json_object_get(found, "name"));
    if (ids_differ)
        r = sbx_err_set(err, EINVAL, "image %.200s: the ids of %zu images begin with it; give more "
                        "digits", ref, names);
    else if (unique && names > 1)
        r = sbx_err_set(err, EINVAL, "image %.200s: %zu names have it (%s, ...); remove them by "
                        "name", ref, names, name);
    if (r < 0) {
        json_decref(found);
        return r;
    }
    snprintf(canon, 300, "%s", name);
    *out = found;
    return 0;
}

int sbx_store_find(int rootfd, const char *ref, bool unique, char *canon, json_t **out,
                   struct sbx_err *err)
{
    const char *at = ref ? strchr(ref, '@') : NULL;
    if (at) {
        char name[300], want[300];
        if ((size_t)(at - ref) >= sizeof name)
            return sbx_err_set(err, ENAMETOOLONG, "image: longer than 255 bytes");
        snprintf(name, sizeof name, "%.*s", (int)(at - ref), ref);
        if (strncmp(at + 1, "sha256:", 7) != 0 || !sbx_is_sha256_hex(at + 8))
            return sbx_err_set(err, EINVAL, "image: \"%.200s\": a digest reference is "
                               "NAME[:TAG]@sha256:<64 hex digits>", ref);
        int r = sbx_image_ref_normalise(name, want, sizeof want, err);
        if (r < 0)
            return r;
        /* Tagged when the last ':' of what was given follows its last '/'. */
        const char *colon = strrchr(name, ':'), *slash = strrchr(name, '/');
        struct match m = {.name_repo = want, .repo_n = repo_len(want),
                          .any_tag = !colon || (slash && colon < slash), .hex = at + 8};
        return find_by(rootfd, ref, &m, unique, canon, out, err);
    }
    struct sbx_err nerr = {0};
    int r = sbx_image_ref_normalise(ref, canon, 300, &nerr);
    if (r == 0) {
        r = sbx_store_record_load(rootfd, canon, out, &nerr);
        if (r == 0)
            return 0;
    }
    const char *hex = ref && r == -ENOENT ? id_prefix(ref) : NULL;
    if (!hex && ref && strncmp(ref, "sha256:", 7) == 0)
        hex = id_prefix(ref);
    if (!hex) {
        *err = nerr;
        return r;
    }
    struct match m = {.hex = hex, .prefix = true};
    return find_by(rootfd, ref, &m, unique, canon, out, err);
}

int sbx_image_list(const char *store, int (*fn)(const char *name, const char *json, void *arg),
                   void *arg, struct sbx_err *err)
{
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root == -ENOENT)
        return 0;
    if (root < 0)
        return root;
    char **files;
    size_t n;
    int r = record_files(root, &files, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        json_t *rec;
        if (load_file(root, files[i], &rec, err) < 0)
            continue; /* removed meanwhile, or not ours */
        char *text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
        r = text ? fn(json_string_value(json_object_get(rec, "name")), text, arg)
                 : sbx_err_set(err, ENOMEM, "out of memory");
        free(text);
        json_decref(rec);
    }
    free_strv(files, n);
    return r;
}

int sbx_image_inspect(const char *store, const char *name, char **json, struct sbx_err *err)
{
    char canon[300];
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root < 0)
        return root;
    json_t *rec;
    int r = sbx_store_find(root, name, false, canon, &rec, err);
    if (r < 0)
        return r;
    *json = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(rec);
    return *json ? 0 : sbx_err_set(err, ENOMEM, "out of memory");
}

/* Whether hex is among the layers some record names. */
static bool referenced(json_t *const *recs, size_t n, const char *hex)
{
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *l;
        json_array_foreach(json_object_get(recs[i], "layers"), k, l)
            if (strcmp(json_string_value(l) + 7, hex) == 0)
                return true;
    }
    return false;
}

int sbx_store_gc(int rootfd, unsigned *freed, unsigned *busy, struct sbx_err *err)
{
    *freed = *busy = 0;
    char **files;
    size_t n;
    int r = record_files(rootfd, &files, &n, err);
    if (r < 0)
        return r;
    json_t **recs = calloc(n + 1, sizeof *recs);
    if (!recs) {
        free_strv(files, n);
        return sbx_err_set(err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        r = load_file(rootfd, files[i], &recs[i], err);
        if (r < 0 && err->code == 0)
            sbx_err_sys(err, -r, "image store: %s", files[i]);
    }
    /* An unreadable record must not cost its image its layers. */
    _cleanup_close_ int layers =
        r < 0 ? -1 : openat(rootfd, "layers/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (r == 0 && layers < 0)
        r = sbx_err_sys(err, errno, "image store: layers/sha256");
    DIR *d = layers >= 0 ? fdopendir(dup(layers)) : NULL;
    struct dirent *de;
    while (r == 0 && d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || referenced(recs, n, de->d_name))
            continue;
        /* A job still running on it (its image removed or renamed since)
         * holds it shared. Jobs claim layers under the store's lock, which
         * this side holds exclusively: no claim can come in between. */
        _cleanup_close_ int held =
            openat(layers, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (held >= 0 && flock(held, LOCK_EX | LOCK_NB) < 0) {
            if (errno == EWOULDBLOCK)
                (*busy)++;
            else
                r = sbx_err_sys(err, errno, "image store: locking layer %s", de->d_name);
            continue;
        }
        char trash[128];
        snprintf(trash, sizeof trash, "tmp/gc-%.64s", de->d_name);
        /* Out of layers/ first, in one step: a job resolving the image now
         * finds the layer whole or not at all. */
        if (renameat(layers, de->d_name, rootfd, trash) < 0)
            r = sbx_err_sys(err, errno, "image store: removing layer %s", de->d_name);
        else
            (*freed)++;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        json_decref(recs[i]);
    free(recs);
    free_strv(files, n);
    if (r < 0)
        return r;
    /* Nothing else holds the lock: whatever is in tmp/ is garbage (removed
     * layers, interrupted imports). */
    _cleanup_close_ int tmp = openat(rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (tmp < 0)
        return errno == ENOENT ? 0 : sbx_err_sys(err, errno, "image store: tmp/");
    return sbx_remove_tree_at(tmp, err);
}

int sbx_image_prune(const char *store, unsigned *freed, unsigned *busy, struct sbx_err *err)
{
    *freed = *busy = 0;
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root < 0)
        return root;
    _cleanup_close_ int lock = sbx_store_lock(root, LOCK_EX, err);
    if (lock < 0)
        return lock;
    return sbx_store_gc(root, freed, busy, err);
}

int sbx_image_remove(const char *store, const char *name, unsigned *freed, unsigned *busy,
                     struct sbx_err *err)
{
    *freed = *busy = 0;
    char canon[300], file[600];
    _cleanup_close_ int root = sbx_store_open(store, false, err);
    if (root < 0)
        return root;
    _cleanup_close_ int lock = sbx_store_lock(root, LOCK_EX, err);
    if (lock < 0)
        return lock;
    json_t *rec;
    int r = sbx_store_find(root, name, true, canon, &rec, err);
    if (r < 0)
        return r;
    json_decref(rec);
    sbx_store_record_file(canon, file, sizeof file);
    if (unlinkat(root, file, 0) < 0) {
        if (errno == ENOENT)
            return sbx_err_set(err, ENOENT, "image %s: not in the store (see sbx image ls)", canon);
        return sbx_err_sys(err, errno, "image %s: removing its record", canon);
    }
    return sbx_store_gc(root, freed, busy, err);
}
