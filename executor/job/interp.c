#include "interp.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The command's file as the job's process looked for it: a path with a
 * slash from the job's cwd, else the first regular file along its PATH. */
static bool resolve(const struct sbx_spec *s, char *out, size_t n)
{
    if (strchr(s->command, '/')) {
        if (s->command[0] == '/')
            snprintf(out, n, "%s", s->command);
        else
            snprintf(out, n, "%s/%s", s->cwd, s->command);
        return is_file(out);
    }
    const char *path = "";
    for (size_t i = 0; s->envp[i]; i++)
        if (strncmp(s->envp[i], "PATH=", 5) == 0)
            path = s->envp[i] + 5;
    for (const char *p = path;;) {
        const char *colon = strchrnul(p, ':');
        int dlen = (int)(colon - p);
        if (dlen == 0)
            snprintf(out, n, "%s/%s", s->cwd, s->command);
        else if (p[0] == '/')
            snprintf(out, n, "%.*s/%s", dlen, p, s->command);
        else
            snprintf(out, n, "%s/%.*s/%s", s->cwd, dlen, p, s->command);
        if (is_file(out))
            return true;
        if (!*colon)
            return false;
        p = colon + 1;
    }
}

/* PT_INTERP of an ELF file of either class. */
static bool elf_interp(int fd, const unsigned char *hdr, size_t len, char *out, size_t n)
{
    bool is64 = hdr[EI_CLASS] == ELFCLASS64;
    if (len < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
        return false;
    uint64_t phoff;
    unsigned phnum, phentsize;
    if (is64) {
        const Elf64_Ehdr *e = (const void *)hdr;
        phoff = e->e_phoff, phnum = e->e_phnum, phentsize = e->e_phentsize;
    } else {
        const Elf32_Ehdr *e = (const void *)hdr;
        phoff = e->e_phoff, phnum = e->e_phnum, phentsize = e->e_phentsize;
    }
    if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum > 256)
        return false;
    for (unsigned i = 0; i < phnum; i++) {
        unsigned char ph[sizeof(Elf64_Phdr)];
        if (pread(fd, ph, phentsize < sizeof ph ? phentsize : sizeof ph,
                  (off_t)(phoff + (uint64_t)i * phentsize)) <= 0)
            return false;
        uint64_t type, off, size;
        if (is64) {
            const Elf64_Phdr *p = (const void *)ph;
            type = p->p_type, off = p->p_offset, size = p->p_filesz;
        } else {
            const Elf32_Phdr *p = (const void *)ph;
            type = p->p_type, off = p->p_offset, size = p->p_filesz;
        }
        if (type != PT_INTERP)
            continue;
        if (size == 0 || size >= n)
            return false;
        ssize_t got = pread(fd, out, size, (off_t)off);
        if (got <= 0)
            return false;
        out[got] = '\0';
        out[strcspn(out, "\n")] = '\0';
        return out[0] != '\0';
    }
    return false;
}

bool sbx_missing_interpreter(const struct sbx_spec *spec, char *out, size_t n)
{
    char path[4096];
    if (!resolve(spec, path, sizeof path))
        return false;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char hdr[256];
    ssize_t len = pread(fd, hdr, sizeof hdr - 1, 0);
    if (len < 4)
        return false;
    bool found = false;
    if (memcmp(hdr, ELFMAG, SELFMAG) == 0) {
        found = elf_interp(fd, hdr, (size_t)len, out, n);
    } else if (hdr[0] == '#' && hdr[1] == '!') {
        hdr[len] = '\0';
        const char *p = (const char *)hdr + 2;
        p += strspn(p, " \t");
        size_t l = strcspn(p, " \t\n");
        if (l && l < n) {
            memcpy(out, p, l);
            out[l] = '\0';
            found = true;
        }
    }
    if (!found)
        return false;
    char abs[4096];
    if (out[0] != '/')
        snprintf(abs, sizeof abs, "%s/%s", spec->cwd, out);
    return access(out[0] == '/' ? out : abs, F_OK) != 0;
}
