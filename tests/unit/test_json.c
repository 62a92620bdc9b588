#include <errno.h>
#include <locale.h>
#include <math.h>
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

#include "alltypes.pb-c.h"
#include "policy/json.h"
#include "policy/policy.h"
#include "policy/textformat.h"

typedef Sbx__Test__AllTypes AllTypes;

static void json_is(const ProtobufCMessage *m, const char *want)
{
    char *got = sbx_json_format(m);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("json\n got: %s\nwant: %s", got, want);
    free(got);
}

static AllTypes *parse(const char *text)
{
    ProtobufCMessage *m;
    struct sbx_err err = {0};
    if (sbx_text_parse(&sbx__test__all_types__descriptor, text, strlen(text), &m, &err) < 0)
        fail_msg("%s", err.msg);
    return (AllTypes *)m;
}

static void test_defaults(void **state)
{
    AllTypes m = SBX__TEST__ALL_TYPES__INIT;
    json_is(&m.base, "{\"i32\":0,\"s32\":0,\"sf32\":0,\"i64\":0,\"s64\":0,\"sf64\":0,\"u32\":0,\"f32\":0,\"u64\":0,"
                     "\"f64\":0,\"b\":false,\"fl\":0,\"d\":0,\"s\":\"\",\"by\":\"\",\"color\":\"RED\","
                     "\"with_default\":\"dflt\",\"i32_default\":42}");
}

static void test_values(void **state)
{
    AllTypes *m = parse("i32: -1 i64: -9223372036854775808 u64: 18446744073709551615 b: true fl: 0.1 d: 0.1\n"
                        "s: 'a\"b\\\\c\\n\\x01\\x7f\\u00e9' by: 'hello' color: BLUE child { u32: 5 }\n"
                        "r_s: ['x', 'y'] r_child: [{}, {b: true}] r_color: [GREEN, 2] r_d: [inf, -inf, nan, 1e300]\n"
                        "o_u: 9 with_default: 'w'");
    json_is(&m->base,
            "{\"i32\":-1,\"s32\":0,\"sf32\":0,\"i64\":-9223372036854775808,\"s64\":0,\"sf64\":0,\"u32\":0,"
            "\"f32\":0,\"u64\":18446744073709551615,\"f64\":0,\"b\":true,\"fl\":0.1,\"d\":0.1,"
            "\"s\":\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\",\"by\":\"aGVsbG8=\",\"color\":\"BLUE\","
            "\"child\":{\"i32\":0,\"s32\":0,\"sf32\":0,\"i64\":0,\"s64\":0,\"sf64\":0,\"u32\":5,\"f32\":0,\"u64\":0,"
            "\"f64\":0,\"b\":false,\"fl\":0,\"d\":0,\"s\":\"\",\"by\":\"\",\"color\":\"RED\",\"with_default\":\"dflt\","
            "\"i32_default\":42},"
            "\"r_s\":[\"x\",\"y\"],\"r_child\":[{\"i32\":0,\"s32\":0,\"sf32\":0,\"i64\":0,\"s64\":0,\"sf64\":0,"
            "\"u32\":0,\"f32\":0,\"u64\":0,\"f64\":0,\"b\":false,\"fl\":0,\"d\":0,\"s\":\"\",\"by\":\"\","
            "\"color\":\"RED\",\"with_default\":\"dflt\",\"i32_default\":42},{\"i32\":0,\"s32\":0,\"sf32\":0,"
            "\"i64\":0,\"s64\":0,\"sf64\":0,\"u32\":0,\"f32\":0,\"u64\":0,\"f64\":0,\"b\":true,\"fl\":0,\"d\":0,"
            "\"s\":\"\",\"by\":\"\",\"color\":\"RED\",\"with_default\":\"dflt\",\"i32_default\":42}],"
            "\"r_color\":[\"GREEN\",\"GREEN\"],\"r_d\":[\"Infinity\",\"-Infinity\",\"NaN\",1e+300],"
            "\"o_u\":9,\"with_default\":\"w\",\"i32_default\":42}");
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_base64(void **state)
{
    const char *cases[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
                              {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"\xff\xfe\x00", "//4A"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        JobResult r = SBX__V1__JOB_RESULT__INIT;
        r.has_stdout = true;
        r.stdout.data = (uint8_t *)cases[i][0];
        r.stdout.len = i == 7 ? 3 : strlen(cases[i][0]);
        char *j = sbx_json_format(&r.base);
        char want[64];
        snprintf(want, sizeof want, "\"stdout\":\"%s\"", cases[i][1]);
        if (!strstr(j, want))
            fail_msg("%s lacks %s", j, want);
        free(j);
    }
}

static void test_invalid_utf8(void **state)
{
    JobResult r = SBX__V1__JOB_RESULT__INIT;
    r.error = "bad \xff\xc3 \xe2\x82 ok \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\x80";
    char *j = sbx_json_format(&r.base);
    const char *want = "\"error\":\"bad \\ufffd\\ufffd \\ufffd\\ufffd ok \xf0\x9f\x98\x80 "
                       "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"";
    if (!strstr(j, want))
        fail_msg("%s lacks %s", j, want);
    free(j);
}

static void test_locale(void **state)
{
    /* A decimal-comma locale must not leak into the JSON; skip quietly when
     * the machine has no such locale. */
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
        return;
    Sbx__V1__Limits l = SBX__V1__LIMITS__INIT;
    l.has_cpus = true;
    l.cpus = 0.5;
    char *j = sbx_json_format(&l.base);
    setlocale(LC_NUMERIC, "C");
    assert_non_null(strstr(j, "\"cpus\":0.5"));
    free(j);
}

static void test_job_result_contract(void **state)
{
    JobResult r = SBX__V1__JOB_RESULT__INIT;
    r.has_status = true;
    r.status = SBX__V1__JOB_RESULT__STATUS__SETUP_FAILED;
    r.error = "mount /x: No such file or directory";
    r.has_wall_time_ms = true;
    r.wall_time_ms = 12;
    char *j = sbx_json_format(&r.base);
    const char *fields[] = {"\"status\":\"SETUP_FAILED\"", "\"exit_code\":0", "\"signal\":0", "\"wall_time_ms\":12",
                            "\"cpu_time_ms\":0", "\"memory_peak_bytes\":0", "\"syscall\":\"\"",
                            "\"error\":\"mount /x: No such file or directory\""};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strstr(j, fields[i]))
            fail_msg("%s lacks %s", j, fields[i]);
    assert_int_equal(j[0], '{');
    assert_int_equal(j[strlen(j) - 1], '}');
    assert_null(strchr(j, '\n'));
    assert_null(strstr(j, "\"pressure\"")); /* unset sub-message */
    free(j);

    JobResult u = SBX__V1__JOB_RESULT__INIT;
    j = sbx_json_format(&u.base);
    assert_non_null(strstr(j, "\"status\":\"STATUS_UNSPECIFIED\""));
    free(j);
}

static void test_write_file(void **state)
{
    char dir[] = "/tmp/sbx-json-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/result.json", dir);
    JobResult r = SBX__V1__JOB_RESULT__INIT;
    r.has_exit_code = true;
    r.exit_code = 3;
    struct sbx_err err = {0};
    assert_int_equal(sbx_json_write_file(&r.base, path, &err), 0);
    /* truncates an existing, longer file */
    assert_int_equal(sbx_json_write_file(&r.base, path, &err), 0);
    FILE *f = fopen(path, "r");
    char buf[1024] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *j = sbx_json_format(&r.base);
    assert_int_equal(n, strlen(j) + 1);
    assert_memory_equal(buf, j, strlen(j));
    assert_int_equal(buf[n - 1], '\n');
    free(j);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644 & ~umask(022));
    unlink(path);

    snprintf(path, sizeof path, "%s/missing/result.json", dir);
    assert_int_equal(sbx_json_write_file(&r.base, path, &err), -ENOENT);
    assert_non_null(strstr(err.msg, path));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_locale),
        cmocka_unit_test(test_job_result_contract),
        cmocka_unit_test(test_write_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
