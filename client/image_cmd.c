/* sbx image: import, ls, inspect and rm on the image store (image/). Runs
 * here, as root, on the store at --store, $SBX_IMAGE_STORE or
 * /var/lib/sbx. */
#include "image_cmd.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"
#include "policy/units.h"

static const char usage[] =
    "usage: sbx image [--store DIR] COMMAND ...\n"
    "\n"
    "The image store (default $SBX_IMAGE_STORE, else " SBX_IMAGE_DEFAULT_STORE "): container\n"
    "images unpacked once into read-only layers that jobs stack as their root\n"
    "(sbx run --image NAME[:TAG]).\n"
    "\n"
    "commands:\n"
    "  import [--name NAME[:TAG]] [--max-size SIZE] [--allow-setuid] FILE|DIR\n"
    "        import a Docker archive (docker/podman save), an OCI archive, or an\n"
    "        OCI image layout directory (skopeo copy ... oci:DIR). Every blob is\n"
    "        checked against its sha256 digest before anything enters the store.\n"
    "        --name: the name to store it as (default: the archive's own);\n"
    "        --max-size: most file data the image may unpack to (default 16G);\n"
    "        --allow-setuid: keep setuid/setgid bits (default: dropped)\n"
    "  ls [--json]            list the images\n"
    "  inspect IMAGE          print an image's record (layers, config) as JSON\n"
    "  rm IMAGE               remove an image, and the layers no other image uses\n"
    "  prune                  remove the layers no image uses (those of an image\n"
    "                         whose name a later import took)\n"
    "IMAGE: NAME[:TAG]; NAME[:TAG]@sha256:HEX, the image of NAME whose id or\n"
    "manifest digest is HEX; or an id: sha256:HEX with 4 or more digits, or\n"
    "12 or more bare ones (as ls shows it), when no image has that name.\n"
    "Layers that running jobs use stay until those jobs end (rm and prune say\n"
    "how many); a later prune removes them. Imports never remove anything.\n";

/* On stderr: stdout stays the one line scripts read. */
static void kept_in_use(unsigned busy)
{
    fflush(stdout);
    if (busy)
        fprintf(stderr, "sbx image: kept %u layers that running jobs use; sbx image prune "
                        "removes them once those jobs end\n", busy);
}

static int fail(const struct sbx_err *err)
{
    fprintf(stderr, "sbx image: %s\n", err->msg);
    return 1;
}

static int cmd_import(const char *store, int argc, char **argv)
{
    struct sbx_import_opts o = {0};
    struct sbx_err err = {0};
    const char *src = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--name") && i + 1 < argc) {
            o.name = argv[++i];
        } else if (!strcmp(a, "--max-size") && i + 1 < argc) {
            const char *v = argv[++i];
            if (sbx_parse_size(v, &o.max_bytes) < 0 || o.max_bytes == 0) {
                fprintf(stderr, "sbx image: --max-size: \"%s\" is not a size\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--allow-setuid")) {
            o.allow_setuid = true;
        } else if (a[0] == '-' || src) {
            fprintf(stderr, "sbx image import: unexpected argument \"%s\" (see sbx image --help)\n", a);
            return 2;
        } else {
            src = a;
        }
    }
    if (!src) {
        fprintf(stderr, "sbx image import: FILE or DIR required (see sbx image --help)\n");
        return 2;
    }
    struct sbx_import_result res;
    if (sbx_image_import(store, src, &o, &res, &err) < 0)
        return fail(&err);
    printf("%s %s: %u layers (%u new), %" PRIu64 " bytes\n", res.name, res.id, res.layers,
           res.layers_new, res.bytes);
    if (res.setuid_stripped)
        fprintf(stderr, "sbx image: dropped setuid/setgid bits of %" PRIu64
                        " files (--allow-setuid keeps them)\n", res.setuid_stripped);
    if (res.replaced)
        fprintf(stderr, "sbx image: %s named another image before: its layers stay until sbx image "
                        "prune\n", res.name);
    if (res.ids_clamped)
        fprintf(stderr, "sbx image: %" PRIu64 " files had a uid or gid over 65535: now 65534\n",
                res.ids_clamped);
    return 0;
}

static int print_line(const char *name, const char *json, void *arg)
{
    if (*(bool *)arg) {
        json_t *j = json_loads(json, 0, NULL);
        char *c = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (c)
            puts(c);
        free(c);
        json_decref(j);
        return 0;
    }
    json_t *j = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    printf("%-40s %-19.19s %6zu %12" PRIu64 "\n", name, id ? id : "", json_array_size(json_object_get(j, "layers")),
           (uint64_t)json_integer_value(json_object_get(j, "size")));
    json_decref(j);
    return 0;
}

int sbx_image_main(int argc, char **argv)
{
    const char *store = sbx_image_store_default();
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            store = argv[++i];
        } else if (!strncmp(argv[i], "--store=", 8)) {
            store = argv[i] + 8;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "sbx image: unknown option %s (see sbx image --help)\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    struct sbx_err err = {0};
    if (!strcmp(cmd, "import"))
        return cmd_import(store, argc - i, argv + i);
    if (!strcmp(cmd, "ls")) {
        bool json = i < argc && !strcmp(argv[i], "--json");
        if (!json && i < argc) {
            fprintf(stderr, "sbx image ls: unexpected argument \"%s\"\n", argv[i]);
            return 2;
        }
        if (!json)
            printf("%-40s %-19s %6s %12s\n", "NAME", "ID", "LAYERS", "SIZE");
        return sbx_image_list(store, print_line, &json, &err) < 0 ? fail(&err) : 0;
    }
    if (!strcmp(cmd, "prune")) {
        unsigned freed, busy;
        if (i < argc) {
            fprintf(stderr, "sbx image prune: unexpected argument \"%s\"\n", argv[i]);
            return 2;
        }
        if (sbx_image_prune(store, &freed, &busy, &err) < 0)
            return fail(&err);
        printf("%u layers freed\n", freed);
        kept_in_use(busy);
        return 0;
    }
    if ((!strcmp(cmd, "inspect") || !strcmp(cmd, "rm")) && argc - i != 1) {
        fprintf(stderr, "sbx image %s: IMAGE required (see sbx image --help)\n", cmd);
        return 2;
    }
    if (!strcmp(cmd, "inspect")) {
        char *json;
        if (sbx_image_inspect(store, argv[i], &json, &err) < 0)
            return fail(&err);
        puts(json);
        free(json);
        return 0;
    }
    if (!strcmp(cmd, "rm")) {
        unsigned freed, busy;
        if (sbx_image_remove(store, argv[i], &freed, &busy, &err) < 0)
            return fail(&err);
        printf("removed %s (%u layers freed)\n", argv[i], freed);
        kept_in_use(busy);
        return 0;
    }
    fprintf(stderr, "sbx image: unknown command \"%s\" (see sbx image --help)\n", cmd);
    return 2;
}
