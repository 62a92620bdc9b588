/* Image names: the canonical form every front-end stores and looks up, and
 * the refusals; and a policy's image applied as defaults under its own
 * fields. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "image/extract.h"
#include "image/image.h"
#include "image/store.h"

static void canon(const char *in, const char *want)
{
    char out[300];
    struct sbx_err err = {0};
    if (sbx_image_ref_normalise(in, out, sizeof out, &err) < 0)
        fail_msg("\"%s\": %s", in, err.msg);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, out, want);
}

static void bad(const char *in, const char *msg)
{
    char out[300];
    struct sbx_err err = {0};
    if (sbx_image_ref_normalise(in, out, sizeof out, &err) == 0)
        fail_msg("\"%s\" accepted as \"%s\"", in, out);
    if (!strstr(err.msg, msg) || strchr(err.msg, '\n'))
        fail_msg("\"%s\": \"%s\" lacks \"%s\"", in, err.msg, msg);
}

static void test_names(void **state)
{
    canon("gcc", "gcc:latest");
    canon("gcc:13", "gcc:13");
    canon("docker.io/library/python:3.12-slim", "python:3.12-slim");
    canon("docker.io/me/tool:v1.0_rc", "me/tool:v1.0_rc");
    canon("localhost/demo", "demo:latest");
    canon("registry.example:5000/team/img", "registry.example:5000/team/img:latest");
    canon("registry.example:5000/team/img:2", "registry.example:5000/team/img:2");
    bad("", "must not be empty");
    bad("Gcc:13", "is not NAME[:TAG]");
    bad("gcc:", "is not NAME[:TAG]");
    bad("gcc:-x", "is not NAME[:TAG]");
    bad("a//b", "is not NAME[:TAG]");
    bad("/abs", "is not NAME[:TAG]");
    bad("../x", "is not NAME[:TAG]");
    bad("a/../b", "is not NAME[:TAG]");
    bad("gcc:1 3", "is not NAME[:TAG]");
    bad("a:b:c", "is not NAME[:TAG]");
    bad("gcc@sha256:abcd", "a digest is not part of a name");
}

/* A store with one record, written by hand. */
static char store[64];

static void write_record(const char *json)
{
    char path[128];
    snprintf(path, sizeof path, "%s/images/demo:1.json", store);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
}

static void test_apply(void **state)
{
    snprintf(store, sizeof store, "/tmp/sbx-unit-image.%d", (int)getpid());
    char sub[128];
    mkdir(store, 0700);
    snprintf(sub, sizeof sub, "%s/images", store);
    mkdir(sub, 0700);
    const char *hex = "1111111111111111111111111111111111111111111111111111111111111111";
    char rec[1024];
    snprintf(rec, sizeof rec,
             "{\"name\":\"demo:1\",\"layers\":[\"sha256:%s\"],\"config\":{\"Env\":[\"A=img\","
             "\"B=img\"],\"Cmd\":[\"run\",\"x\"],\"Entrypoint\":[\"/ep\"],\"WorkingDir\":\"/w\","
             "\"User\":\"1000\"}}",
             hex);
    write_record(rec);

    JobPolicy *p = sbx_policy_new();
    struct sbx_err err = {0};
    p->image = strdup("localhost/demo:1");
    p->env = calloc(1, sizeof *p->env);
    p->env[0] = strdup("A=policy");
    p->n_env = 1;
    assert_int_equal(sbx_image_apply(p, store, NULL, &err), 0);
    assert_null(p->image);
    assert_int_equal(p->rootfs->n_layers, 1);
    char want[256];
    snprintf(want, sizeof want, "%s/layers/sha256/%s", store, hex);
    assert_string_equal(p->rootfs->layers[0], want);
    assert_int_equal(p->n_env, 2);
    assert_string_equal(p->env[0], "A=policy");
    assert_string_equal(p->env[1], "B=img");
    assert_string_equal(p->command, "/ep");
    assert_int_equal(p->n_args, 2);
    assert_string_equal(p->args[0], "run");
    assert_string_equal(p->cwd, "/w");
    assert_true(p->has_uid && p->uid == 1000 && p->has_gid && p->gid == 0);
    sbx_policy_free(p);

    /* A command of the policy replaces Entrypoint and Cmd both; a named
     * User the image cannot resolve needs the policy's uid. */
    snprintf(rec, sizeof rec, "{\"name\":\"demo:1\",\"layers\":[\"sha256:%s\"],\"config\":"
             "{\"Cmd\":[\"x\"],\"User\":\"www\"}}", hex);
    write_record(rec);
    p = sbx_policy_new();
    p->image = strdup("demo:1");
    p->command = strdup("/bin/true");
    assert_int_equal(sbx_image_apply(p, store, NULL, &err), -ENOENT);
    /* (looked up in the image's /etc/passwd: this store has no layers) */
    assert_non_null(strstr(err.msg, "its User \"www\""));
    p->has_uid = true;
    assert_int_equal(sbx_image_apply(p, store, NULL, &err), 0);
    assert_string_equal(p->command, "/bin/true");
    assert_int_equal(p->n_args, 0);
    sbx_policy_free(p);

    /* A record that is not one is refused, not trusted. */
    write_record("{\"name\":\"demo:1\",\"layers\":[\"sha256:../../etc\"]}");
    p = sbx_policy_new();
    p->image = strdup("demo:1");
    assert_int_equal(sbx_image_apply(p, store, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "layers[0] is not a sha256 digest"));
    sbx_policy_free(p);

    assert_int_equal(sbx_remove_tree(AT_FDCWD, store, &err), 0);
}

/* References by digest and by id, against a store of three records: a:1
 * and a:2 are one image (same id), b:1 another whose id shares a:1's first
 * 4 hex digits; b:1 has a manifest digest too. */
static void put(const char *dir, const char *file, const char *name, const char *id,
                const char *digest)
{
    char path[160];
    snprintf(path, sizeof path, "%s/images/%s", dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"name\":\"%s\",\"id\":\"sha256:%s\",%s%s%s\"layers\":[\"sha256:%064d\"]}",
            name, id, digest ? "\"digest\":\"sha256:" : "", digest ? digest : "",
            digest ? "\"," : "", 1);
    fclose(f);
}

static void found(int root, const char *ref, bool unique, const char *want)
{
    char canon[300];
    json_t *rec = NULL;
    struct sbx_err err = {0};
    if (sbx_store_find(root, ref, unique, canon, &rec, &err) < 0)
        fail_msg("\"%s\": %s", ref, err.msg);
    if (strcmp(canon, want) != 0)
        fail_msg("\"%s\" found \"%s\", want \"%s\"", ref, canon, want);
    json_decref(rec);
}

static void not_found(int root, const char *ref, bool unique, const char *msg)
{
    char canon[300];
    json_t *rec = NULL;
    struct sbx_err err = {0};
    if (sbx_store_find(root, ref, unique, canon, &rec, &err) == 0)
        fail_msg("\"%s\" found \"%s\"", ref, canon);
    if (!strstr(err.msg, msg) || strchr(err.msg, '\n'))
        fail_msg("\"%s\": \"%s\" lacks \"%s\"", ref, err.msg, msg);
}

static void test_find(void **state)
{
    char dir[64], sub[96];
    snprintf(dir, sizeof dir, "/tmp/sbx-unit-find.%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(sub, sizeof sub, "%s/images", dir);
    mkdir(sub, 0700);
    const char *ida = "abcd111111111111111111111111111111111111111111111111111111111111";
    const char *idb = "abcd222222222222222222222222222222222222222222222222222222222222";
    const char *digb = "9999999999999999999999999999999999999999999999999999999999999999";
    put(dir, "a:1.json", "a:1", ida, NULL);
    put(dir, "a:2.json", "a:2", ida, NULL);
    put(dir, "b:1.json", "b:1", idb, digb);
    int root = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(root >= 0);
    char ref[200];

    found(root, "a:2", true, "a:2");
    /* NAME@sha256: by id or manifest digest; the tag, when given, counts. */
    snprintf(ref, sizeof ref, "b@sha256:%s", idb);
    found(root, ref, true, "b:1");
    snprintf(ref, sizeof ref, "docker.io/library/b@sha256:%s", digb);
    found(root, ref, true, "b:1");
    snprintf(ref, sizeof ref, "a:2@sha256:%s", ida);
    found(root, ref, true, "a:2");
    snprintf(ref, sizeof ref, "a@sha256:%s", ida);
    found(root, ref, false, "a:1");
    not_found(root, ref, true, "2 names have it (a:1, ...); remove them by name");
    snprintf(ref, sizeof ref, "a@sha256:%s", idb);
    not_found(root, ref, false, "not in the store");
    snprintf(ref, sizeof ref, "b:2@sha256:%s", idb);
    not_found(root, ref, false, "not in the store");
    not_found(root, "b@sha256:abcd", false, "NAME[:TAG]@sha256:<64 hex digits>");
    snprintf(ref, sizeof ref, "b@sha256:%.63sX", idb);
    not_found(root, ref, false, "NAME[:TAG]@sha256:<64 hex digits>");
    /* An id, or a prefix of one that only one image has. */
    found(root, "abcd22222222", false, "b:1");
    snprintf(ref, sizeof ref, "sha256:%s", idb);
    found(root, ref, true, "b:1");
    found(root, "sha256:abcd1", false, "a:1");
    not_found(root, "sha256:abcd", false, "the ids of 3 images begin with it");
    not_found(root, "abcd1111", false, "not in the store"); /* under 12 bare digits: a name */
    not_found(root, "sha256:abc", false, "not in the store"); /* a name: sha256, tag abc */
    not_found(root, "sha256:abcd3", false, "not in the store");
    /* A name wins over an id prefix it looks like. */
    put(dir, "abcd22222222:latest.json", "abcd22222222:latest", ida, NULL);
    found(root, "abcd22222222", false, "abcd22222222:latest");
    close(root);
    struct sbx_err err = {0};
    assert_int_equal(sbx_remove_tree(AT_FDCWD, dir, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
