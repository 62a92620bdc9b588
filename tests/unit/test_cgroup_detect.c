/* Layout detection from the text of /proc/self/cgroup and mountinfo, for
 * the layouts this host does not have: v1 with cpu,cpuacct co-mounted, pure
 * v2 under systemd, a container whose cgroup mount shows a subtree, a
 * launcher already in its leaf, SBX_CGROUP_PARENT in both forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "executor/cgroup/cgroup_internal.h"

static int detect(struct cg_host *h, const char *cgroup, const char *mountinfo, const char *env,
                  const char *ctrls, struct sbx_err *err)
{
    FILE *c = fmemopen((void *)cgroup, strlen(cgroup), "r");
    FILE *m = fmemopen((void *)mountinfo, strlen(mountinfo), "r");
    assert_non_null(c);
    assert_non_null(m);
    int r = cg_detect(h, c, m, env, ctrls, err);
    fclose(c);
    fclose(m);
    return r;
}

static const struct cg_hier *hier_of(const struct cg_host *h, int ctrl)
{
    return h->by_ctrl[ctrl] < 0 ? NULL : &h->hier[h->by_ctrl[ctrl]];
}

static const char hybrid_cg[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n"
                                "5:devices:/\n4:memory:/process_api/abc\n3:cpuset:/\n"
                                "2:cpuacct:/\n1:cpu:/\n0::/\n";
static const char hybrid_mi[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_hybrid(void **state)
{
    (void)state;
    struct cg_host h;
    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, NULL, "hugetlb", NULL), 0);
    const struct cg_hier *m = hier_of(&h, CG_MEMORY);
    assert_non_null(m);
    assert_false(m->v2);
    assert_string_equal(m->own, "/sys/fs/cgroup/memory/process_api/abc");
    assert_string_equal(m->parent, "/sys/fs/cgroup/memory/process_api/abc/sbx");
    assert_string_equal(hier_of(&h, CG_PIDS)->parent, "/sys/fs/cgroup/pids/sbx");
    assert_string_equal(hier_of(&h, CG_CPU)->own, "/sys/fs/cgroup/cpu");
    assert_string_equal(hier_of(&h, CG_CPUACCT)->own, "/sys/fs/cgroup/cpuacct");
    assert_string_equal(hier_of(&h, CG_FREEZER)->own, "/sys/fs/cgroup/freezer");
    assert_false(hier_of(&h, CG_CPUSET)->v2);
    /* The unified tree serves none of ours but is there (side-car). */
    assert_true(h.v2 >= 0);
    assert_int_equal(h.hier[h.v2].ctrls, 0);
    assert_string_equal(h.hier[h.v2].parent, "/sys/fs/cgroup/unified/sbx");
}

static void test_v1_comounted(void **state)
{
    (void)state;
    static const char cg[] = "4:cpu,cpuacct:/system.slice/foo.service\n"
                             "3:memory:/system.slice/foo.service\n"
                             "2:pids:/system.slice/foo.service\n"
                             "1:name=systemd:/system.slice/foo.service\n";
    static const char mi[] =
        "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids\n";
    struct cg_host h;
    assert_int_equal(detect(&h, cg, mi, NULL, NULL, NULL), 0);
    assert_int_equal(h.by_ctrl[CG_CPU], h.by_ctrl[CG_CPUACCT]);
    assert_string_equal(hier_of(&h, CG_CPU)->own, "/sys/fs/cgroup/cpu,cpuacct/system.slice/foo.service");
    assert_string_equal(hier_of(&h, CG_MEMORY)->parent, "/sys/fs/cgroup/memory/system.slice/foo.service/sbx");
    assert_null(hier_of(&h, CG_CPUSET));
    assert_null(hier_of(&h, CG_FREEZER));
    assert_int_equal(h.v2, -1);
}

static const char v2_mi[] = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

static void test_v2_service(void **state)
{
    (void)state;
    struct cg_host h;
    assert_int_equal(detect(&h, "0::/system.slice/sbx.service\n", v2_mi, NULL, "cpuset cpu io memory pids\n", NULL), 0);
    for (int c = 0; c < CG_NCTRL; c++)
        assert_int_equal(h.by_ctrl[c], h.v2);
    assert_string_equal(h.hier[h.v2].own, "/sys/fs/cgroup/system.slice/sbx.service");
    assert_string_equal(h.hier[h.v2].parent, "/sys/fs/cgroup/system.slice/sbx.service/sbx");

    /* Not delegated: only the core files stand in. */
    assert_int_equal(detect(&h, "0::/user.slice\n", v2_mi, NULL, "memory\n", NULL), 0);
    assert_int_equal(h.by_ctrl[CG_PIDS], -1);
    assert_int_equal(h.by_ctrl[CG_MEMORY], h.v2);
    assert_int_equal(h.by_ctrl[CG_CPUACCT], h.v2);
    assert_int_equal(h.by_ctrl[CG_FREEZER], h.v2);
}

static void test_launcher_leaf(void **state)
{
    (void)state;
    struct cg_host h;
    assert_int_equal(detect(&h, "0::/a.service/sbx/launcher-1-2-3\n", v2_mi, NULL, "memory pids\n", NULL), 0);
    assert_string_equal(h.hier[h.v2].own, "/sys/fs/cgroup/a.service");
    assert_string_equal(h.hier[h.v2].parent, "/sys/fs/cgroup/a.service/sbx");
    /* Someone else's "launcher-" directory is just a cgroup. */
    assert_int_equal(detect(&h, "0::/a.service/launcher-x\n", v2_mi, NULL, "", NULL), 0);
    assert_string_equal(h.hier[h.v2].own, "/sys/fs/cgroup/a.service/launcher-x");
}

static void test_container_subtree(void **state)
{
    (void)state;
    /* The mount shows the subtree /kubepods/pod1 of the hierarchy. */
    static const char mi[] = "40 30 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    struct cg_host h;
    assert_int_equal(detect(&h, "0::/kubepods/pod1/ctr\n", mi, NULL, "memory\n", NULL), 0);
    assert_string_equal(h.hier[h.v2].own, "/sys/fs/cgroup/ctr");
    /* A cgroup outside what the mount shows cannot be used. */
    assert_int_equal(detect(&h, "0::/kubepods/pod2\n", mi, NULL, "memory\n", NULL), 0);
    assert_int_equal(h.v2, -1);
    assert_int_equal(h.by_ctrl[CG_MEMORY], -1);
    /* Escaped blanks in mount points. */
    static const char esc[] = "40 30 0:26 / /run/my\\040cg rw - cgroup2 cgroup2 rw\n";
    assert_int_equal(detect(&h, "0::/\n", esc, NULL, "", NULL), 0);
    assert_string_equal(h.hier[h.v2].own, "/run/my cg");
}

static void test_env_parent(void **state)
{
    (void)state;
    struct cg_host h;
    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, "/jobs.slice", "", NULL), 0);
    assert_true(h.env_parent);
    assert_string_equal(hier_of(&h, CG_MEMORY)->parent, "/sys/fs/cgroup/memory/jobs.slice");
    assert_string_equal(h.hier[h.v2].parent, "/sys/fs/cgroup/unified/jobs.slice");

    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, "alt", "", NULL), 0);
    assert_false(h.env_parent);
    assert_string_equal(hier_of(&h, CG_MEMORY)->parent, "/sys/fs/cgroup/memory/process_api/abc/alt");
    assert_string_equal(hier_of(&h, CG_PIDS)->parent, "/sys/fs/cgroup/pids/alt");

    struct sbx_err err = {0};
    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, "a/b", "", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "SBX_CGROUP_PARENT"));
    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, "..", "", &err), -EINVAL);
    assert_int_equal(detect(&h, hybrid_cg, hybrid_mi, "job-x", "", &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hybrid),          cmocka_unit_test(test_v1_comounted),
        cmocka_unit_test(test_v2_service),      cmocka_unit_test(test_launcher_leaf),
        cmocka_unit_test(test_container_subtree), cmocka_unit_test(test_env_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
