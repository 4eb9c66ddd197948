/* Unit tests for src/proxy/config_compat.c: the original's flags and variables rewritten
 * into ours (values kept, fixed values for boolean flags, variables before flags so a flag
 * wins), the ones without a meaning here collected for the one warning, and the result
 * accepted by our own parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/config_compat.h"

#include <stdlib.h>
#include <string.h>

static void assert_argv(const hr_compat_args *a, const char *const *want, int n)
{
    assert_int_equal(a->argc, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(a->argv[i], want[i]);
    assert_null(a->argv[n]);
}

static void flags_are_rewritten(void **state)
{
    (void)state;
    char *argv[] = {"proxy", "-p", "9000", "--stateless", "--budget", "5", "--mode=cost_savings",
                    "--request-timeout-seconds", "30", "--no-cache", "--host", "127.0.0.1",
                    "--min-bytes", "100"};
    hr_compat_args a;
    char err[128];
    assert_int_equal(hr_proxy_compat_args(14, argv, &a, err, sizeof err), 0);
    const char *want[] = {"proxy", "--port", "9000", "--ccr-backend", "memory", "--mode",
                          "cost_savings", "--upstream-timeout", "30", "--host", "127.0.0.1",
                          "--min-bytes", "100"};
    assert_argv(&a, want, 13);
    assert_string_equal(a.ignored, "--budget, --no-cache");
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_proxy_config_from_args(&c, a.argc, a.argv, err, sizeof err), 0);
    assert_int_equal(c.port, 9000);
    assert_int_equal(c.upstream_timeout_ms, 30000);
    assert_int_equal(c.pipeline.mode, HR_MODE_CACHE);
    assert_int_equal(c.pipeline.min_bytes, 100);
    hr_proxy_compat_free(&a);
}

static void variables_come_first_and_switched_off_booleans_are_quiet(void **state)
{
    (void)state;
    setenv("HEADROOM_CCR_TTL_SECONDS", "60", 1);
    setenv("HEADROOM_NO_CCR_MARKER", "false", 1); /* off: the default, nothing to say */
    setenv("HEADROOM_RPM", "10", 1);
    char *argv[] = {"proxy", "--ccr-ttl", "90"};
    hr_compat_args a;
    char err[128];
    assert_int_equal(hr_proxy_compat_args(3, argv, &a, err, sizeof err), 0);
    const char *want[] = {"proxy", "--ccr-ttl", "60", "--ccr-ttl", "90"};
    assert_argv(&a, want, 5);
    assert_string_equal(a.ignored, "HEADROOM_RPM");
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_proxy_config_from_args(&c, a.argc, a.argv, err, sizeof err), 0);
    assert_int_equal(c.ccr.ttl_seconds, 90); /* the flag wins */
    hr_proxy_compat_free(&a);
    unsetenv("HEADROOM_CCR_TTL_SECONDS");
    unsetenv("HEADROOM_NO_CCR_MARKER");
    unsetenv("HEADROOM_RPM");
}

/* A variable one of our setting rows reads under the same name (HEADROOM_PORT, and
 * HEADROOM_MAX_ITEMS since it became --max-items's variable) is left to that row: it is not
 * turned into a flag, which would beat the environment's place under the flags. */
static void variables_our_rows_read_are_left_to_them(void **state)
{
    (void)state;
    setenv("HEADROOM_PORT", "9001", 1);
    setenv("HEADROOM_MAX_ITEMS", "5", 1);
    setenv("HEADROOM_RETRY_MAX_ATTEMPTS", "2", 1); /* the original's only: mapped */
    char *argv[] = {"proxy", "--max-items", "6"};
    hr_compat_args a;
    char err[128];
    assert_int_equal(hr_proxy_compat_args(3, argv, &a, err, sizeof err), 0);
    const char *want[] = {"proxy", "--retry-attempts", "2", "--max-items", "6"};
    assert_argv(&a, want, 5);
    hr_proxy_compat_free(&a);
    unsetenv("HEADROOM_PORT");
    unsetenv("HEADROOM_MAX_ITEMS");
    unsetenv("HEADROOM_RETRY_MAX_ATTEMPTS");
}

/* The "ours" column names rows of the setting tables, so renaming a flag breaks here. */
static void every_mapped_name_is_a_setting_row(void **state)
{
    (void)state;
    char err[256] = "";
    if (hr_proxy_compat_check(err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_null(hr_proxy_setting_named("--no-such-flag"));
    assert_non_null(hr_proxy_setting_named("HEADROOM_MAX_ITEMS"));
}

static void a_value_flag_without_its_value_is_an_error(void **state)
{
    (void)state;
    char *argv[] = {"proxy", "--budget"};
    hr_compat_args a;
    char err[128];
    assert_int_equal(hr_proxy_compat_args(2, argv, &a, err, sizeof err), -1);
    assert_string_equal(err, "--budget needs a value");
    assert_null(a.argv);
    hr_proxy_compat_free(&a); /* safe after a failure */
}

static void unknown_flags_are_left_for_our_parser(void **state)
{
    (void)state;
    char *argv[] = {"proxy", "--no-such-flag", "--budget-periodX"};
    hr_compat_args a;
    char err[128];
    assert_int_equal(hr_proxy_compat_args(3, argv, &a, err, sizeof err), 0);
    assert_argv(&a, (const char *const[]){"proxy", "--no-such-flag", "--budget-periodX"}, 3);
    assert_null(a.ignored);
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_proxy_config_from_args(&c, a.argc, a.argv, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown option '--no-such-flag'"));
    hr_proxy_compat_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flags_are_rewritten),
        cmocka_unit_test(variables_come_first_and_switched_off_booleans_are_quiet),
        cmocka_unit_test(variables_our_rows_read_are_left_to_them),
        cmocka_unit_test(every_mapped_name_is_a_setting_row),
        cmocka_unit_test(a_value_flag_without_its_value_is_an_error),
        cmocka_unit_test(unknown_flags_are_left_for_our_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
