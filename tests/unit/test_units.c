#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy/units.h"

static void size_ok(const char *s, uint64_t want)
{
    uint64_t v = 12345;
    int r = sbx_parse_size(s, &v);
    if (r != 0 || v != want)
        fail_msg("sbx_parse_size(\"%s\") = %d, %llu; want %llu", s, r, (unsigned long long)v,
                 (unsigned long long)want);
}

static void size_err(const char *s, int want)
{
    uint64_t v = 12345;
    int r = sbx_parse_size(s, &v);
    if (r != want)
        fail_msg("sbx_parse_size(\"%s\") = %d; want %d", s, r, want);
    assert_int_equal(v, 12345);
}

static void test_sizes(void **state)
{
    size_ok("0", 0);
    size_ok("4096", 4096);
    size_ok("007", 7);
    size_ok("64K", 64ULL << 10);
    size_ok("64M", 64ULL << 20);
    size_ok("1G", 1ULL << 30);
    size_ok("2T", 2ULL << 40);
    size_ok("1P", 1ULL << 50);
    size_ok("15E", 15ULL << 60);
    size_ok("64MiB", 64ULL << 20);
    size_ok("64MB", 64ULL << 20);
    size_ok("100B", 100);
    size_ok("18446744073709551615", UINT64_MAX);
}

static void test_size_errors(void **state)
{
    size_err("", -EINVAL);
    size_err(NULL, -EINVAL);
    size_err(" 1", -EINVAL);
    size_err("1 ", -EINVAL);
    size_err("1 M", -EINVAL);
    size_err("-1", -EINVAL);
    size_err("+1", -EINVAL);
    size_err("1.5M", -EINVAL);
    size_err(".5", -EINVAL);
    size_err("M", -EINVAL);
    size_err("1X", -EINVAL);
    size_err("1Mi", -EINVAL);
    size_err("1MiBB", -EINVAL);
    size_err("1iB", -EINVAL);
    size_err("banana", -EINVAL);
    size_err("0x10", -EINVAL);
    size_err("18446744073709551616", -ERANGE);
    size_err("99999999999999999999999", -ERANGE);
    size_err("16E", -ERANGE);
    size_err("17179869184G", -ERANGE);
    size_err("99999999999999999999999x", -EINVAL);
}

static void dur_ok(const char *s, bool neg, int64_t want)
{
    int64_t v = 12345;
    int r = sbx_parse_duration_ns(s, neg, &v);
    if (r != 0 || v != want)
        fail_msg("sbx_parse_duration_ns(\"%s\") = %d, %lld; want %lld", s, r, (long long)v, (long long)want);
}

static void dur_err(const char *s, bool neg, int want)
{
    int64_t v = 12345;
    int r = sbx_parse_duration_ns(s, neg, &v);
    if (r != want)
        fail_msg("sbx_parse_duration_ns(\"%s\") = %d; want %d", s, r, want);
    assert_int_equal(v, 12345);
}

static void test_durations(void **state)
{
    dur_ok("1", false, 1000000000);
    dur_ok("0", false, 0);
    dur_ok("1.5", false, 1500000000);
    dur_ok("0.1", false, 100000000);
    dur_ok("0.25s", false, 250000000);
    dur_ok("250ms", false, 250000000);
    dur_ok("100us", false, 100000);
    dur_ok("7ns", false, 7);
    dur_ok("2m", false, 120000000000);
    dur_ok("1h", false, 3600000000000);
    dur_ok("1.5h", false, 5400000000000);
    dur_ok("0.000000001", false, 1);
    dur_ok("1.500000000000000000000", false, 1500000000);
    dur_ok("1.5us", false, 1500);
    dur_ok("-1.5s", true, -1500000000);
    dur_ok("+3600", true, 3600000000000);
    dur_ok("9223372036854775807ns", false, INT64_MAX);
    dur_ok("-9223372036854775808ns", true, INT64_MIN);
    dur_ok("9223372036.854775807", false, INT64_MAX);
}

static void test_duration_errors(void **state)
{
    dur_err("", false, -EINVAL);
    dur_err(NULL, false, -EINVAL);
    dur_err("-1", false, -EINVAL);
    dur_err("+1", false, -EINVAL);
    dur_err("--1", true, -EINVAL);
    dur_err(" 1", false, -EINVAL);
    dur_err("1 ", false, -EINVAL);
    dur_err("1 s", false, -EINVAL);
    dur_err("1.", false, -EINVAL);
    dur_err(".5", false, -EINVAL);
    dur_err("1.5.5", false, -EINVAL);
    dur_err("1d", false, -EINVAL);
    dur_err("1S", false, -EINVAL);
    dur_err("1sec", false, -EINVAL);
    dur_err("1.5ns", false, -EINVAL);
    dur_err("0.0000000001", false, -EINVAL);
    dur_err("1e3", false, -EINVAL);
    dur_err("inf", false, -EINVAL);
    dur_err("nan", true, -EINVAL);
    dur_err("9223372036854775808ns", false, -ERANGE);
    dur_err("9223372037", false, -ERANGE);
    dur_err("99999999999999999999999", false, -ERANGE);
    dur_err("-9223372036854775809ns", true, -ERANGE);
    dur_err("3000000h", false, -ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_duration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
