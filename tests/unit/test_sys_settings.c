/* Unit tests for src/sys/settings.c, the row machinery, on a table of its own: every type
 * through defaults, environment and flags; bounds (also from a bounds hook); custom parsers
 * and their messages; a command's alias of a shared row; --help lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/settings.h"

#include <stdlib.h>
#include <string.h>

typedef struct demo {
    char name[8];
    const char *path;
    int count;
    long big;
    long wait_ms;
    int on;
    int mode;
    unsigned capped;
} demo;

static int parse_mode(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size;
    if (!strcmp(v, "a") || !strcmp(v, "b"))
        return *(int *)field = v[0], 0;
    snprintf(err, errlen, "mode must be a or b, not '%s'", v);
    return -1;
}

static void cap_bounds(long long *min, long long *max)
{
    *min = 2;
    *max = 9;
}

static const hr_setting_row ROWS[] = {
    HR_SETTING_ROW(demo, "name", "--name", "DEMO_NAME", HR_SETTING_STRING, name, 1, 0, "x",
                   "a short name", 0),
    HR_SETTING_ROW(demo, "path", "--path", "DEMO_PATH", HR_SETTING_BORROW, path, 0, 0, NULL,
                   "a borrowed path", 0),
    HR_SETTING_ROW(demo, "count", "--count", "DEMO_COUNT", HR_SETTING_INT, count, 1, 20, "3",
                   "a count", 0),
    HR_SETTING_ROW(demo, "big", NULL, "DEMO_BIG", HR_SETTING_INT, big, 0, 1LL << 40, "0",
                   "a variable-only number", 0),
    HR_SETTING_ROW(demo, "wait", "--wait", "DEMO_WAIT", HR_SETTING_SECONDS_MS, wait_ms, 0, 60,
                   "1.5", "seconds", 0),
    HR_SETTING_ROW(demo, "on", "--on", "DEMO_ON", HR_SETTING_SWITCH, on, 0, 1, "off", "a switch",
                   0),
    HR_SETTING_CUSTOM(demo, "mode", "--mode", "DEMO_MODE", parse_mode, "a or b", mode, "a",
                      "a mode", 0),
    {.name = "capped", .flag = "--capped", .env = "DEMO_CAPPED", .type = HR_SETTING_INT,
     HR_SETTING_FIELD(demo, capped), .bounds = cap_bounds, .help = "bounds from elsewhere"},
};
static const hr_setting_table T = HR_SETTING_TABLE(ROWS);

static void defaults_are_parsed_from_the_rows(void **state)
{
    (void)state;
    demo d;
    memset(&d, 0x5a, sizeof d);
    hr_settings_init(&T, &d, sizeof d);
    assert_string_equal(d.name, "x");
    assert_null(d.path);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.big, 0);
    assert_int_equal(d.wait_ms, 1500);
    assert_int_equal(d.on, 0);
    assert_int_equal(d.mode, 'a');
    assert_int_equal(d.capped, 0);
}

static void environment_then_flags(void **state)
{
    (void)state;
    demo d;
    char err[128];
    hr_settings_init(&T, &d, sizeof d);
    setenv("DEMO_COUNT", "7", 1);
    setenv("DEMO_BIG", "1099511627776", 1); /* 2^40: needs the 8-byte field */
    setenv("DEMO_PATH", "/tmp/x", 1);
    setenv("DEMO_ON", "yes", 1);
    setenv("DEMO_NAME", "", 1); /* empty: unset */
    assert_int_equal(hr_settings_from_env(&T, &d, err, sizeof err), 0);
    assert_int_equal(d.count, 7);
    assert_int_equal(d.big, 1LL << 40);
    assert_string_equal(d.path, "/tmp/x");
    assert_int_equal(d.on, 1);
    assert_string_equal(d.name, "x");
    char *argv[] = {"cmd", "--count=9", "--on", "--wait", "0.25", "--mode", "b", "--name=abc",
                    "--capped", "9", "rest", NULL};
    int i = 1, consumed = 0;
    for (; i < 10; i++)
        consumed += hr_settings_arg(&T, &d, 11, argv, &i, err, sizeof err) == 1;
    assert_int_equal(consumed, 6);
    assert_int_equal(d.count, 9);
    assert_int_equal(d.on, 1);
    assert_int_equal(d.wait_ms, 250);
    assert_int_equal(d.mode, 'b');
    assert_string_equal(d.name, "abc");
    assert_int_equal(d.capped, 9);
    i = 10;
    assert_int_equal(hr_settings_arg(&T, &d, 11, argv, &i, err, sizeof err), 0); /* not ours */
    unsetenv("DEMO_COUNT");
    unsetenv("DEMO_BIG");
    unsetenv("DEMO_PATH");
    unsetenv("DEMO_ON");
    unsetenv("DEMO_NAME");
}

static void refusals_name_the_source(void **state)
{
    (void)state;
    demo d;
    char err[128];
    hr_settings_init(&T, &d, sizeof d);
    const hr_setting_row *count = hr_settings_find(&T, "count");
    assert_int_equal(hr_setting_set(count, &d, "21", "--count", err, sizeof err), -1);
    assert_string_equal(err, "invalid value '21' for --count");
    assert_int_equal(hr_setting_set(count, &d, "3x", "DEMO_COUNT", err, sizeof err), -1);
    assert_string_equal(err, "invalid value '3x' for DEMO_COUNT");
    assert_int_equal(d.count, 3); /* untouched */
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "name"), &d, "toolongname", "--name",
                                    err, sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "name"), &d, "", "--name", err,
                                    sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "wait"), &d, "0", "--wait", err,
                                    sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "wait"), &d, "61", "--wait", err,
                                    sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "capped"), &d, "10", "--capped", err,
                                    sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "capped"), &d, "1", "--capped", err,
                                    sizeof err), -1);
    assert_int_equal(hr_setting_set(hr_settings_find(&T, "mode"), &d, "c", "--mode", err,
                                    sizeof err), -1);
    assert_string_equal(err, "mode must be a or b, not 'c'"); /* the parser's own words */
    /* credentials in a refused value are masked, as in every log line */
    assert_int_equal(hr_setting_set(count, &d, "http://u:secret@h", "--count", err, sizeof err),
                     -1);
    assert_null(strstr(err, "secret"));
    char *dangling[] = {"cmd", "--count", NULL};
    int i = 1;
    assert_int_equal(hr_settings_arg(&T, &d, 2, dangling, &i, err, sizeof err), -1);
    assert_string_equal(err, "--count needs a value");
    char range[32];
    hr_setting_range(count, range, sizeof range);
    assert_string_equal(range, "1..20");
    hr_setting_range(hr_settings_find(&T, "capped"), range, sizeof range);
    assert_string_equal(range, "2..9");
    hr_setting_range(hr_settings_find(&T, "mode"), range, sizeof range);
    assert_string_equal(range, "a or b");
    assert_null(hr_settings_find(&T, "nope"));
}

/* A command's own spelling goes through the row: same parser, its own name in errors. */
static void aliases_use_the_row(void **state)
{
    (void)state;
    demo d;
    char err[128];
    hr_settings_init(&T, &d, sizeof d);
    char *argv[] = {"cmd", "-n", "5", "-n=6", "-nx", "-n", "99", NULL};
    int i = 1;
    assert_int_equal(hr_settings_alias(&T, "count", "-n", &d, 7, argv, &i, err, sizeof err), 1);
    assert_int_equal(i, 2);
    assert_int_equal(d.count, 5);
    i = 3;
    assert_int_equal(hr_settings_alias(&T, "count", "-n", &d, 7, argv, &i, err, sizeof err), 1);
    assert_int_equal(d.count, 6);
    i = 4;
    assert_int_equal(hr_settings_alias(&T, "count", "-n", &d, 7, argv, &i, err, sizeof err), 0);
    i = 5;
    assert_int_equal(hr_settings_alias(&T, "count", "-n", &d, 7, argv, &i, err, sizeof err), -1);
    assert_string_equal(err, "invalid value '99' for -n");
}

static void usage_has_a_line_per_row(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    hr_settings_usage(&T, f);
    fclose(f);
    assert_non_null(strstr(text, "  --count                        DEMO_COUNT"
                                 "                          \n      a count\n"));
    assert_non_null(strstr(text, "  DEMO_BIG\n      a variable-only number\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_parsed_from_the_rows),
        cmocka_unit_test(environment_then_flags),
        cmocka_unit_test(refusals_name_the_source),
        cmocka_unit_test(aliases_use_the_row),
        cmocka_unit_test(usage_has_a_line_per_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
