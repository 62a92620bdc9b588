/* `sbx doctor` on the real host: flags, the JSON form, and that probing
 * leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/doctor.h"

/* Runs sbx_doctor_main with stdout captured into buf. */
static int run(char **argv, int argc, char *buf, size_t size)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(1);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fileno(tmp), 1), 1);
    int rc = sbx_doctor_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, size - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return rc;
}

static void test_flags(void **state)
{
    (void)state;
    static char out[8192];
    char *help[] = {"doctor", "--help", NULL};
    assert_int_equal(run(help, 2, out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: sbx doctor"));
    char *bad[] = {"doctor", "--nope", NULL};
    assert_int_equal(run(bad, 2, out, sizeof out), 125);
}

static void test_json(void **state)
{
    (void)state;
    static char out[32768];
    char *argv[] = {"doctor", "--json", NULL};
    int rc = run(argv, 2, out, sizeof out);
    print_message("%s", out);
    assert_true(rc == 0 || rc == 1);
    assert_memory_equal(out, "{\"can_run\":", 11);
    assert_non_null(strstr(out, rc == 0 ? "\"can_run\":true" : "\"can_run\":false"));
    assert_non_null(strstr(out, "\"name\":\"cgroup memory\""));
    assert_non_null(strstr(out, "\"name\":\"seccomp\""));
    /* One line, closed. */
    assert_string_equal(out + strlen(out) - 3, "]}\n");
    if (geteuid() == 0) /* this host runs jobs: anything else is a regression */
        assert_int_equal(rc, 0);
    glob_t g;
    assert_int_not_equal(glob("/tmp/sbx-doctor-*", 0, NULL, &g), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
