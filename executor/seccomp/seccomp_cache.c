/* A cache of compiled seccomp programs: libseccomp's compile (db build,
 * tree optimisation, BPF generation) took 0.6-0.7 ms of every launch, for a
 * program that only changes when the profile does.
 *
 * The key is the profile itself, serialised (every field that reaches
 * libseccomp: actions, numbers, argument conditions) together with
 * libseccomp's version and the kernel API level it detected. An entry holds
 * that serialisation and the program; a hit needs the whole serialisation to
 * be equal byte for byte (the file name's hash only finds the file), so two
 * profiles can never share a program.
 *
 *  - in memory, per process: the last few programs (sandboxd compiles once
 *    per profile);
 *  - on disk, for one-shot launchers (sbx run), as root only: /run/sbx/bpf
 *    (0700, root's; /run is a tmpfs, emptied at boot, so a kernel or
 *    libseccomp change also starts afresh). Entries are written to a
 *    temporary file and renamed into place, so a reader sees a whole entry
 *    or none; one that is not root's, is writable by others, or does not
 *    parse is ignored and compiled afresh. SBX_SECCOMP_CACHE=0 turns the
 *    disk cache off. The kernel still checks every program it is given. */
#include "seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

#define CACHE_DIR "/run/sbx/bpf"
#define MAGIC "sbxbpf2\n"
#define MEM_SLOTS 8

struct key {
    unsigned char *data;
    size_t len;
    uint64_t hash;
};

static void put(unsigned char **p, size_t *len, size_t *cap, const void *v, size_t n)
{
    if (!*p && *cap)
        return; /* an earlier allocation failed */
    if (*len + n > *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        while (c < *len + n)
            c *= 2;
        unsigned char *q = realloc(*p, c);
        if (!q) {
            free(*p);
            *p = NULL;
            *cap = 1;
            return;
        }
        *p = q;
        *cap = c;
    }
    memcpy(*p + *len, v, n);
    *len += n;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *d = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ d[i]) * 1099511628211ULL;
    return h;
}
#define FNV_INIT 1469598103934665603ULL

static int make_key(const struct sbx_sc_profile *p, struct key *k)
{
    unsigned char *d = NULL;
    size_t len = 0, cap = 0;
    const struct scmp_version *v = seccomp_version();
    uint32_t hdr[6] = {v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0,
                       seccomp_api_get(), p->def_action, p->badarch_action};
    put(&d, &len, &cap, hdr, sizeof hdr);
    uint64_t n = p->n;
    put(&d, &len, &cap, &n, sizeof n);
    for (size_t i = 0; i < p->n; i++) {
        const struct sbx_sc_rule *r = &p->rules[i];
        int32_t nr = r->nr;
        uint32_t a[2] = {r->action, r->ncond};
        put(&d, &len, &cap, &nr, sizeof nr);
        put(&d, &len, &cap, a, sizeof a);
        for (unsigned c = 0; c < r->ncond && c < SBX_SC_MAX_COND; c++) {
            uint32_t ao[2] = {r->cond[c].arg, (uint32_t)r->cond[c].op};
            uint64_t ab[2] = {r->cond[c].a, r->cond[c].b};
            put(&d, &len, &cap, ao, sizeof ao);
            put(&d, &len, &cap, ab, sizeof ab);
        }
    }
    if (!d)
        return -ENOMEM;
    *k = (struct key){.data = d, .len = len, .hash = fnv(FNV_INIT, d, len)};
    return 0;
}

static struct {
    struct key key;
    struct sock_filter *filter;
    unsigned short len;
} g_mem[MEM_SLOTS];
static unsigned g_mem_next;
static pthread_mutex_t g_mem_lock = PTHREAD_MUTEX_INITIALIZER;

static int copy_prog(const struct sock_filter *f, unsigned short len, struct sock_filter **out)
{
    *out = malloc((size_t)len * sizeof *f);
    if (!*out)
        return -ENOMEM;
    memcpy(*out, f, (size_t)len * sizeof *f);
    return 0;
}

static bool mem_get(const struct key *k, struct sock_filter **filter, unsigned short *len)
{
    bool hit = false;
    pthread_mutex_lock(&g_mem_lock);
    for (unsigned i = 0; i < MEM_SLOTS && !hit; i++) {
        if (g_mem[i].filter && g_mem[i].key.len == k->len &&
            memcmp(g_mem[i].key.data, k->data, k->len) == 0 &&
            copy_prog(g_mem[i].filter, g_mem[i].len, filter) == 0) {
            *len = g_mem[i].len;
            hit = true;
        }
    }
    pthread_mutex_unlock(&g_mem_lock);
    return hit;
}

static void mem_put(const struct key *k, const struct sock_filter *filter, unsigned short len)
{
    struct sock_filter *f;
    unsigned char *d = malloc(k->len);
    if (!d || copy_prog(filter, len, &f) < 0) {
        free(d);
        return;
    }
    memcpy(d, k->data, k->len);
    pthread_mutex_lock(&g_mem_lock);
    unsigned i = g_mem_next++ % MEM_SLOTS;
    free(g_mem[i].key.data);
    free(g_mem[i].filter);
    g_mem[i].key = (struct key){.data = d, .len = k->len, .hash = k->hash};
    g_mem[i].filter = f;
    g_mem[i].len = len;
    pthread_mutex_unlock(&g_mem_lock);
}

static bool disk_on(void)
{
    const char *e = getenv("SBX_SECCOMP_CACHE");
    return geteuid() == 0 && !(e && strcmp(e, "0") == 0);
}

static void entry_name(const struct key *k, char *buf, size_t size)
{
    snprintf(buf, size, "%016" PRIx64 ".bpf", k->hash);
}

/* Entry: MAGIC, u64 key length, u64 program length (instructions), u64
 * FNV-1a of key and program (against damage; the directory is root's), key,
 * program. */
static bool disk_get(const struct key *k, struct sock_filter **filter, unsigned short *len)
{
    char name[64];
    entry_name(k, name, sizeof name);
    _cleanup_close_ int dir = open(CACHE_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        return false;
    struct stat st;
    if (fstat(dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0077))
        return false;
    _cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022))
        return false;
    uint64_t hdr[3];
    size_t head = sizeof MAGIC - 1 + sizeof hdr;
    if (st.st_size < (off_t)head || st.st_size > (1 << 20))
        return false;
    _cleanup_free_ unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
        return false;
    memcpy(hdr, buf + sizeof MAGIC - 1, sizeof hdr);
    if (memcmp(buf, MAGIC, sizeof MAGIC - 1) != 0 || hdr[0] != k->len || hdr[1] == 0 ||
        hdr[1] > BPF_MAXINSNS || (uint64_t)st.st_size != head + hdr[0] + hdr[1] * sizeof **filter ||
        memcmp(buf + head, k->data, k->len) != 0 ||
        fnv(FNV_INIT, buf + head, (size_t)st.st_size - head) != hdr[2])
        return false;
    if (copy_prog((const struct sock_filter *)(buf + head + k->len), (unsigned short)hdr[1], filter) < 0)
        return false;
    *len = (unsigned short)hdr[1];
    return true;
}

static void disk_put(const struct key *k, const struct sock_filter *filter, unsigned short len)
{
    if (mkdir("/run/sbx", 0755) < 0 && errno != EEXIST)
        return;
    if (mkdir(CACHE_DIR, 0700) < 0 && errno != EEXIST)
        return;
    _cleanup_close_ int dir = open(CACHE_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dir < 0 || fstat(dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0077))
        return;
    char name[64], tmp[96];
    entry_name(k, name, sizeof name);
    snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    uint64_t hdr[3] = {k->len, len, fnv(fnv(FNV_INIT, k->data, k->len), filter,
                                        (size_t)len * sizeof *filter)};
    size_t total = sizeof MAGIC - 1 + sizeof hdr + k->len + (size_t)len * sizeof *filter;
    _cleanup_free_ unsigned char *buf = malloc(total);
    bool ok = buf != NULL;
    if (ok) {
        size_t o = 0;
        memcpy(buf + o, MAGIC, sizeof MAGIC - 1), o += sizeof MAGIC - 1;
        memcpy(buf + o, hdr, sizeof hdr), o += sizeof hdr;
        memcpy(buf + o, k->data, k->len), o += k->len;
        memcpy(buf + o, filter, (size_t)len * sizeof *filter);
        ok = write(fd, buf, total) == (ssize_t)total;
    }
    close(fd);
    if (!ok || renameat(dir, tmp, dir, name) < 0)
        unlinkat(dir, tmp, 0);
}

int sbx_sc_to_bpf_cached(const struct sbx_sc_profile *p, const char *what,
                         struct sock_filter **filter, unsigned short *len, struct sbx_err *err)
{
    struct key k;
    if (make_key(p, &k) < 0)
        return sbx_sc_to_bpf(p, what, filter, len, err);
    int r = 0;
    if (mem_get(&k, filter, len))
        goto out;
    if (disk_on() && disk_get(&k, filter, len)) {
        mem_put(&k, *filter, *len);
        goto out;
    }
    r = sbx_sc_to_bpf(p, what, filter, len, err);
    if (r == 0) {
        mem_put(&k, *filter, *len);
        if (disk_on())
            disk_put(&k, *filter, *len);
    }
out:
    free(k.data);
    return r;
}
