#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alltypes.pb-c.h"
#include "policy/policy.h"
#include "policy/textformat.h"

typedef Sbx__Test__AllTypes AllTypes;

static AllTypes *parse_len(const char *text, size_t len)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    struct sbx_err err = {0};
    int r = sbx_text_parse(&sbx__test__all_types__descriptor, text, len, &m, &err);
    if (r != 0)
        fail_msg("parse of <<%s>> failed: %s", text, err.msg);
    return (AllTypes *)m;
}

static AllTypes *parse(const char *text)
{
    return parse_len(text, strlen(text));
}

static void done(AllTypes *m)
{
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void err_len(const ProtobufCMessageDescriptor *d, const char *text, size_t len, const char *want)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    struct sbx_err err = {0};
    int r = sbx_text_parse(d, text, len, &m, &err);
    if (r >= 0)
        fail_msg("parse of <<%s>> succeeded, want error containing \"%s\"", text, want);
    assert_null(m);
    assert_int_not_equal(err.code, 0);
    if (!strstr(err.msg, want))
        fail_msg("parse of <<%s>>: error \"%s\" lacks \"%s\"", text, err.msg, want);
    if (strchr(err.msg, '\n'))
        fail_msg("error is not one line: %s", err.msg);
}

static void perr(const char *text, const char *want)
{
    err_len(&sbx__test__all_types__descriptor, text, strlen(text), want);
}

static void policy_err(const char *text, const char *want)
{
    err_len(&sbx__v1__job_policy__descriptor, text, strlen(text), want);
}

static void test_empty(void **state)
{
    AllTypes *m = parse("");
    assert_false(m->has_i32);
    assert_null(m->s);
    assert_null(m->child);
    assert_string_equal(m->with_default, "dflt");
    assert_int_equal(m->i32_default, 42);
    done(m);
    m = parse("  # only a comment\n\n# another\n");
    done(m);
    m = parse_len(NULL, 0);
    done(m);
}

static void test_all_scalars(void **state)
{
    AllTypes *m = parse("i32: -5 s32: -6 sf32: -7 i64: -8 s64: -9 sf64: -10\n"
                        "u32: 7 f32: 8 u64: 9 f64: 10 b: true fl: 1.5 d: -2.25\n"
                        "s: \"hi\" by: 'x\\0y' color: GREEN with_default: \"mine\"\n");
    assert_true(m->has_i32 && m->i32 == -5);
    assert_true(m->has_s32 && m->s32 == -6);
    assert_true(m->has_sf32 && m->sf32 == -7);
    assert_true(m->has_i64 && m->i64 == -8);
    assert_true(m->has_s64 && m->s64 == -9);
    assert_true(m->has_sf64 && m->sf64 == -10);
    assert_true(m->has_u32 && m->u32 == 7);
    assert_true(m->has_f32 && m->f32 == 8);
    assert_true(m->has_u64 && m->u64 == 9);
    assert_true(m->has_f64 && m->f64 == 10);
    assert_true(m->has_b && m->b);
    assert_true(m->has_fl && m->fl == 1.5f);
    assert_true(m->has_d && m->d == -2.25);
    assert_string_equal(m->s, "hi");
    assert_true(m->has_by && m->by.len == 3 && memcmp(m->by.data, "x\0y", 3) == 0);
    assert_true(m->has_color && m->color == SBX__TEST__ALL_TYPES__COLOR__GREEN);
    assert_string_equal(m->with_default, "mine");
    done(m);
}

static void test_message_syntax(void **state)
{
    AllTypes *m = parse("child { i32: 1 }");
    assert_non_null(m->child);
    assert_int_equal(m->child->i32, 1);
    done(m);
    m = parse("child: { i32: 2, u32: 3; }");
    assert_int_equal(m->child->u32, 3);
    done(m);
    m = parse("child < child < s: 'deep' > >");
    assert_string_equal(m->child->child->s, "deep");
    done(m);
    m = parse("child {}");
    assert_non_null(m->child);
    assert_false(m->child->has_i32);
    done(m);
    m = parse("i32: 1, u32: 2; s: 'x'");
    assert_int_equal(m->u32, 2);
    done(m);
}

static void test_repeated(void **state)
{
    AllTypes *m = parse("r_s: 'a' r_s: \"b\" r_s: ['c', 'd'] r_s: []\n"
                        "r_i32: [1, -2, 0x3] r_child { i32: 1 } r_child: [{i32: 2}, <i32: 3>]\n"
                        "r_color: [RED, 2, BLUE] r_by: ['\\x00', 'z'] r_d: [1, inf]");
    assert_int_equal(m->n_r_s, 4);
    assert_string_equal(m->r_s[0], "a");
    assert_string_equal(m->r_s[3], "d");
    assert_int_equal(m->n_r_i32, 3);
    assert_int_equal(m->r_i32[1], -2);
    assert_int_equal(m->r_i32[2], 3);
    assert_int_equal(m->n_r_child, 3);
    assert_int_equal(m->r_child[2]->i32, 3);
    assert_int_equal(m->n_r_color, 3);
    assert_int_equal(m->r_color[2], -3);
    assert_int_equal(m->n_r_by, 2);
    assert_int_equal(m->r_by[0].len, 1);
    assert_true(isinf(m->r_d[1]));
    done(m);

    /* Many elements: the array grows by doubling. */
    char *text = malloc(16 * 1000 + 1), *p = text;
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "r_i32: %d\n", i);
    m = parse(text);
    free(text);
    assert_int_equal(m->n_r_i32, 1000);
    assert_int_equal(m->r_i32[999], 999);
    done(m);
}

static void test_integers(void **state)
{
    AllTypes *m = parse("i32: 0x7fffffff s32: -2147483648 sf32: 017 u32: 4294967295 f32: 0xFFFFFFFF\n"
                        "i64: -9223372036854775808 s64: 9223372036854775807 u64: 18446744073709551615\n"
                        "f64: 0xffffffffffffffff sf64: -0x10");
    assert_int_equal(m->i32, INT32_MAX);
    assert_int_equal(m->s32, INT32_MIN);
    assert_int_equal(m->sf32, 15);
    assert_int_equal(m->u32, UINT32_MAX);
    assert_int_equal(m->f32, UINT32_MAX);
    assert_true(m->i64 == INT64_MIN);
    assert_true(m->s64 == INT64_MAX);
    assert_true(m->u64 == UINT64_MAX);
    assert_true(m->f64 == UINT64_MAX);
    assert_true(m->sf64 == -16);
    done(m);

    perr("i32: 2147483648", "line 1: i32: 2147483648 is out of range for int32");
    perr("s32: -2147483649", "out of range for sint32");
    perr("sf32: 0x80000000", "out of range for sfixed32");
    perr("u32: 4294967296", "out of range for uint32");
    perr("u32: -1", "out of range for uint32");
    m = parse("f32: -0 u64: -0");
    assert_int_equal(m->f32, 0);
    done(m);
    perr("u64: 18446744073709551616", "out of range for uint64");
    perr("f64: -1", "out of range for fixed64");
    perr("i64: 9223372036854775808", "out of range for int64");
    perr("i64: -9223372036854775809", "out of range for int64");
    perr("s64: 99999999999999999999999", "out of range for sint64");
    perr("i32: 1.5", "is not an integer");
    perr("i32: 08", "is not an integer");
    perr("i32: 1e3", "is not an integer");
    perr("i32: 0x", "is not an integer");
    perr("i32: 12abc", "is not an integer");
    perr("i32: --1", "is not an integer");
    perr("i32: +1", "unexpected character '+'");
    perr("d: +1.5", "unexpected character '+'");
    perr("i32: \"1\"", "expected an integer");
    perr("i32: abc", "expected an integer");
    perr("i32: {", "expected an integer");
}

static void test_bools(void **state)
{
    const char *yes[] = {"true", "True", "t", "1"}, *no[] = {"false", "False", "f", "0"};
    char text[32];
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "b: %s", yes[i]);
        AllTypes *m = parse(text);
        assert_true(m->has_b && m->b == 1);
        done(m);
        snprintf(text, sizeof text, "b: %s", no[i]);
        m = parse(text);
        assert_true(m->has_b && m->b == 0);
        done(m);
    }
    perr("b: 2", "is not a bool");
    perr("b: yes", "is not a bool");
    perr("b: TRUE", "is not a bool");
    perr("b: 'true'", "is not a bool");
}

static void test_floats(void **state)
{
    AllTypes *m = parse("d: 1e10 fl: -2.5e-3");
    assert_true(m->d == 1e10);
    assert_true(m->fl == -2.5e-3f);
    done(m);
    m = parse("d: -inf fl: inf");
    assert_true(isinf(m->d) && m->d < 0);
    assert_true(isinf(m->fl) && m->fl > 0);
    done(m);
    m = parse("d: nan fl: NaN");
    assert_true(isnan(m->d) && isnan(m->fl));
    done(m);
    m = parse("d: 3 fl: 1.5f");
    assert_true(m->d == 3.0 && m->fl == 1.5f);
    done(m);
    m = parse("d: Infinity fl: -infinity");
    assert_true(isinf(m->d) && isinf(m->fl));
    done(m);
    m = parse("d: 0.1 fl: .5");
    assert_true(m->d == 0.1 && m->fl == 0.5f);
    done(m);
    perr("d: 1e999", "is out of range for double");
    perr("fl: 1e39", "is out of range for float");
    perr("d: 0x10", "is not a number");
    perr("d: abc", "is not a number");
    perr("d: 1.5.5", "is not a number");
    perr("d: '1'", "expected a number");
    perr("d: 1e", "is not a number");
}

static void test_enums(void **state)
{
    AllTypes *m = parse("color: BLUE");
    assert_int_equal(m->color, -3);
    done(m);
    m = parse("color: 2");
    assert_int_equal(m->color, 2);
    done(m);
    m = parse("color: -3");
    assert_int_equal(m->color, -3);
    done(m);
    perr("color: 5", "'5' is not a value of sbx.test.AllTypes.Color");
    perr("color: 0", "is not a value of");
    perr("color: PURPLE", "'PURPLE' is not a value of sbx.test.AllTypes.Color");
    perr("color: red", "is not a value of");
    perr("color: 'RED'", "expected a sbx.test.AllTypes.Color name");
    perr("color: 99999999999999999999", "is not a value of");
}

static void test_strings(void **state)
{
    AllTypes *m = parse("s: 'a\\n\\t\\\\\\'\\\"\\x41\\101\\u00e9\\U0001F600\\ud83d\\ude00\\r\\a\\b\\f\\v\\?'");
    assert_string_equal(m->s, "a\n\t\\'\"AA\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80\r\a\b\f\v?");
    done(m);
    m = parse("s: 'con' \"cat\"\n 'enated'");
    assert_string_equal(m->s, "concatenated");
    done(m);
    m = parse("r_s: ['a' 'b', 'c']");
    assert_int_equal(m->n_r_s, 2);
    assert_string_equal(m->r_s[0], "ab");
    done(m);
    m = parse("s: '' r_s: \"it's\" r_s: 'say \"hi\"'");
    assert_string_equal(m->s, "");
    assert_string_equal(m->r_s[0], "it's");
    assert_string_equal(m->r_s[1], "say \"hi\"");
    done(m);
    m = parse("s: 'h\xc3\xa9llo \xe2\x82\xac'");
    assert_string_equal(m->s, "h\xc3\xa9llo \xe2\x82\xac");
    done(m);
    /* bytes fields take any byte, NUL included */
    m = parse("by: '\\0\\xff\\377' 'a'");
    assert_int_equal(m->by.len, 4);
    assert_memory_equal(m->by.data, "\0\xff\xff" "a", 4);
    done(m);
    m = parse("by: ''");
    assert_true(m->has_by);
    assert_int_equal(m->by.len, 0);
    done(m);

    perr("s: 'a\\0b'", "line 1: s: NUL byte in a string field");
    perr("s: 'a\\x00'", "NUL byte");
    perr("s: '\\xff'", "invalid UTF-8");
    perr("s: '\xc3'", "invalid UTF-8");
    perr("s: '\xc0\x80'", "invalid UTF-8");
    perr("s: '\xed\xa0\x80'", "invalid UTF-8");
    perr("s: '\\ud800'", "not a Unicode scalar value");
    perr("s: '\\U00110000'", "not a Unicode scalar value");
    perr("s: 'abc", "line 1: s: unterminated string");
    perr("s: \"abc'", "unterminated string");
    perr("s: 'ab\ncd'", "unterminated string");
    perr("s: 'ab\\", "unterminated string");
    perr("s: '\\q'", "unknown escape \\q");
    perr("s: '\\x'", "\\x needs a hex digit");
    perr("s: '\\u12'", "\\u needs 4 hex digits");
    perr("s: '\\777'", "larger than a byte");
    perr("s: 5", "expected a string");
    perr("s: abc", "expected a string");
    perr("by: 5", "expected a string");
}

static void test_structure_errors(void **state)
{
    policy_err("command: '/bin/true'\nlimts { }", "line 2: limts: unknown field in sbx.v1.JobPolicy");
    policy_err("limits {\n  memory: '1G'\n  pids: 99999999999\n}", "line 3: limits.pids: 99999999999 is out of range for uint32");
    policy_err("limits { bogus: 1 }", "line 1: limits.bogus: unknown field in sbx.v1.Limits");
    policy_err("mounts { dst: '/a' }\nmounts {\n dst: 5 }", "line 3: mounts[1].dst: expected a string");
    policy_err("command: '/a'\ncommand: '/b'", "line 2: command: given more than once");
    policy_err("limits { pids: 1 }\nlimits { memory: '1M' }", "line 2: limits: given more than once");
    policy_err("limits { pids: 1 pids: 2 }", "limits.pids: given more than once");
    policy_err("network: LOOPBACK network: NONE", "network: given more than once");
    perr("i32 1", "expected ':' after the field name");
    perr("i32:", "i32: missing value");
    perr("child { i32: 1", "line 1: child: unterminated message");
    perr("child {\n i32: 1\n child <\n", "line 3: child.child: unterminated message");
    perr("child { i32: 1 >", "expected a field name");
    perr("r_s: ['a', 'b'", "r_s: unterminated list");
    perr("r_s: ['a' 5]", "expected ',' or ']'");
    perr("r_s: ['a'; 'b']", "expected ',' or ']'");
    perr("i32: [1]", "i32: a list for a field that is not repeated");
    perr("child: 5", "expected '{' or '<'");
    perr("}", "expected a field name");
    perr("5: 1", "expected a field name");
    perr("i32: 1 @", "unexpected character '@'");
    perr("[ext]: 1", "expected a field name");
    err_len(&sbx__test__all_types__descriptor, "i32: 1\0", 7, "unexpected character 0x00");
    perr("r_child { i32: 1 } r_child { u32: x }", "line 1: r_child[1].u32: expected an integer");
    perr("o_s: 'a' o_u: 1", "o_u: conflicts with o_s");
    perr("child { child { o_u: 1 } child {} }", "child.child: given more than once");
    perr(",", "expected a field name");
}

static void test_oneof(void **state)
{
    AllTypes *m = parse("o_u: 7");
    assert_int_equal(m->choice_case, SBX__TEST__ALL_TYPES__CHOICE_O_U);
    assert_int_equal(m->o_u, 7);
    done(m);
    m = parse("o_s: 'x'");
    assert_int_equal(m->choice_case, SBX__TEST__ALL_TYPES__CHOICE_O_S);
    assert_string_equal(m->o_s, "x");
    done(m);
}

static void test_required(void **state)
{
    AllTypes *m = parse("req { x: 1 }");
    assert_int_equal(m->req->x, 1);
    done(m);
    perr("req { y: 1 }", "line 1: req.x: required field missing in sbx.test.WithRequired");
    perr("req {\n}", "line 2: req.x: required field missing");
    err_len(&sbx__test__with_required__descriptor, "y: 2", 4, "line 1: x: required field missing");
}

static void test_bounds(void **state)
{
    char deep[1024] = "", *p = deep;
    for (int i = 0; i < 32; i++)
        p += sprintf(p, "child {");
    for (int i = 0; i < 32; i++)
        p += sprintf(p, "}");
    AllTypes *m = parse(deep);
    done(m);
    p = deep;
    for (int i = 0; i < 33; i++)
        p += sprintf(p, "child {");
    for (int i = 0; i < 33; i++)
        p += sprintf(p, "}");
    perr(deep, "nested deeper than 32");

    size_t big = (4u << 20) + 1;
    char *text = malloc(big);
    memset(text, ' ', big);
    err_len(&sbx__test__all_types__descriptor, text, big, "more than the 4194304 allowed");
    m = parse_len(text, big - 1);
    done(m);
    free(text);
}

/* Every error half-way through a message must free what was built; ASan or
 * valgrind catches leaks here. */
static void test_error_paths_free(void **state)
{
    perr("r_s: 'a' r_s: 'b' child { r_child { s: 'x' by: 'y' } r_child { i32: 'bad' } }", "expected an integer");
    perr("r_child: [{s: 'a'}, {r_s: ['b', 'c'] by: '\\x01'}, {i32: z}]", "expected an integer");
    perr("with_default: 'x' s: 'y' by: 'z' child { with_default: 'w' } r_by: ['a'] bad: 1", "unknown field");
    perr("r_s: ['ok', 'bad\\0']", "NUL byte");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_all_scalars),
        cmocka_unit_test(test_message_syntax),
        cmocka_unit_test(test_repeated),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_oneof),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_error_paths_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
