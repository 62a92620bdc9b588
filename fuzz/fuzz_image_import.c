/* The image import path on arbitrary bytes. The first byte picks the
 * target: even, the bytes are an image archive for sbx_image_import (outer
 * tar, JSON, digests, layers) into a store of the fuzzer's own; odd, they
 * are one layer's tar stream for sbx_layer_extract. Either way an error is
 * one line, and an extracted layer holds no device but a whiteout and no
 * setuid file. */
#include <archive.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/extract.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
    rmdir(dir);
}

static int check_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    if ((S_ISCHR(st->st_mode) && st->st_rdev != makedev(0, 0)) || S_ISBLK(st->st_mode) ||
        S_ISSOCK(st->st_mode) || (S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID))))
        abort();
    return 0;
}

static void one_line(const struct sbx_err *err)
{
    if (err->msg[0] == '\0' || strchr(err->msg, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-image.%d", (int)getpid());
        mkdir(dir, 0700);
        atexit(remove_dir);
    }
    int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        abort();
    struct sbx_err err = {0};
    if (data[0] & 1) {
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        archive_read_support_filter_gzip(a);
        struct sbx_extract_limits lim = {.max_bytes = 1 << 20, .max_entries = 1000};
        struct sbx_extract_stats st = {0};
        int layer = mkdirat(root, "layer", 0755) == 0 ? openat(root, "layer", O_RDONLY | O_DIRECTORY) : -1;
        if (layer < 0)
            abort();
        if (archive_read_open_memory(a, data + 1, size - 1) == ARCHIVE_OK &&
            sbx_layer_extract(a, layer, &lim, &st, &err) < 0)
            one_line(&err);
        archive_read_free(a);
        char path[96];
        snprintf(path, sizeof path, "%s/layer", dir);
        nftw(path, check_entry, 16, FTW_PHYS);
        close(layer);
    } else {
        char src[96], store[96];
        snprintf(src, sizeof src, "%s/in.tar", dir);
        snprintf(store, sizeof store, "%s/store", dir);
        FILE *f = fopen(src, "w");
        if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1)
            abort();
        fclose(f);
        struct sbx_import_opts o = {.name = "fuzz:1", .max_bytes = 1 << 20, .max_entries = 1000};
        struct sbx_import_result res;
        if (sbx_image_import(store, src, &o, &res, &err) < 0)
            one_line(&err);
    }
    /* Nothing of one input may be left for the next. */
    if (sbx_remove_tree_at(root, &err) < 0)
        abort();
    close(root);
    return 0;
}
