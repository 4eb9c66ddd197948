/* Unit tests for src/proxy/config.c: defaults, environment, flags (flags win), URL
 * normalisation, invalid values, retry backoff bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/config.h"

#include <stdlib.h>
#include <string.h>

static void defaults_match_the_issue(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8787);
    assert_string_equal(c.openai_url, "https://api.openai.com");
    assert_string_equal(c.anthropic_url, "https://api.anthropic.com");
    assert_int_equal(c.max_body_bytes, 100u << 20);
    assert_int_equal(c.graceful_shutdown_timeout_s, 30);
    assert_int_equal(c.retry_attempts, 3);
    assert_int_equal(c.log_format, HR_LOG_TEXT);
    assert_int_equal(c.log_messages, 0);
    assert_int_equal(c.max_inflight_body_mb, 512);
    assert_int_equal(c.max_decode_ratio, 1000);
    assert_int_equal(c.max_answer_bytes, 64u << 20);
}

/* The memory limits (docs/configuration.md, "Memory limits"): env, then flags; 0 turns the
 * budget and the ratio check off; nonsense is refused with the flag's name. */
static void memory_limits(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    setenv("HEADROOM_MAX_INFLIGHT_BODY_MB", "64", 1);
    setenv("HEADROOM_MAX_ANSWER_BYTES", "1048576", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    unsetenv("HEADROOM_MAX_INFLIGHT_BODY_MB");
    unsetenv("HEADROOM_MAX_ANSWER_BYTES");
    assert_int_equal(c.max_inflight_body_mb, 64);
    assert_int_equal(c.max_answer_bytes, 1048576);
    char *argv[] = {"proxy", "--max-inflight-body-mb", "0", "--max-decode-ratio=0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, argv, err, sizeof err), 0);
    assert_int_equal(c.max_inflight_body_mb, 0);
    assert_int_equal(c.max_decode_ratio, 0);
    char *bad[] = {"proxy", "--max-inflight-body-mb", "-5", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "--max-inflight-body-mb"));
    char *bad2[] = {"proxy", "--max-answer-bytes", "0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad2, err, sizeof err), -1);
}

static void env_then_flags(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    setenv("HEADROOM_HOST", "0.0.0.0", 1);
    setenv("HEADROOM_PORT", "9000", 1);
    setenv("OPENAI_TARGET_API_URL", "http://127.0.0.1:1234/v1/", 1);
    setenv("ANTHROPIC_TARGET_API_URL", "https://example.test/", 1);
    setenv("HEADROOM_LOG_FORMAT", "json", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    assert_string_equal(c.host, "0.0.0.0");
    assert_int_equal(c.port, 9000);
    assert_string_equal(c.openai_url, "http://127.0.0.1:1234");
    assert_string_equal(c.anthropic_url, "https://example.test");
    assert_int_equal(c.log_format, HR_LOG_JSON);
    char *argv[] = {"proxy", "--port", "9100", "--host=127.0.0.2", "--log-messages",
                    "--max-body-bytes", "1000", "--upstream-timeout", "0.25", "--log-level", "debug",
                    "--anthropic-api-url", "http://a.test/v1", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 13, argv, err, sizeof err), 0);
    assert_int_equal(c.port, 9100);
    assert_string_equal(c.host, "127.0.0.2");
    assert_int_equal(c.log_messages, 1);
    assert_int_equal(c.max_body_bytes, 1000);
    assert_int_equal(c.upstream_timeout_ms, 250);
    assert_int_equal(c.log_level, HR_LOG_DEBUG);
    assert_string_equal(c.anthropic_url, "http://a.test");
    /* compression flags go to the pipeline's settings */
    char *comp[] = {"proxy", "--mode", "cache", "--min-bytes=1024", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, comp, err, sizeof err), 0);
    assert_int_equal(c.pipeline.mode, HR_MODE_CACHE);
    assert_int_equal(c.pipeline.min_bytes, 1024);
    unsetenv("HEADROOM_HOST");
    unsetenv("HEADROOM_PORT");
    unsetenv("OPENAI_TARGET_API_URL");
    unsetenv("ANTHROPIC_TARGET_API_URL");
    unsetenv("HEADROOM_LOG_FORMAT");
}

static void invalid_values_are_refused_with_a_message(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    char *bad[][3] = {{"proxy", "--port", "70000"}, {"proxy", "--port", "x"},
                      {"proxy", "--openai-api-url", "ftp://x"}, {"proxy", "--log-format", "xml"},
                      {"proxy", "--retry-attempts", "0"}, {"proxy", "--frobnicate", "1"},
                      {"proxy", "--mode", "fast"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(hr_proxy_config_from_args(&c, 3, bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 5);
    }
    char *missing[] = {"proxy", "--port"};
    assert_int_equal(hr_proxy_config_from_args(&c, 2, missing, err, sizeof err), -1);
    char *help[] = {"proxy", "--help"};
    assert_int_equal(hr_proxy_config_from_args(&c, 2, help, err, sizeof err), 1);
    setenv("HEADROOM_PORT", "-5", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "HEADROOM_PORT"));
    unsetenv("HEADROOM_PORT");
}

static void url_normalisation(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hr_normalize_upstream_url("https://api.openai.com/v1", out, sizeof out), 0);
    assert_string_equal(out, "https://api.openai.com");
    assert_int_equal(hr_normalize_upstream_url("https://h.test/proxy/v1/", out, sizeof out), 0);
    assert_string_equal(out, "https://h.test/proxy");
    assert_int_equal(hr_normalize_upstream_url("http://h.test", out, sizeof out), 0);
    assert_string_equal(out, "http://h.test");
    assert_int_equal(hr_normalize_upstream_url("h.test", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://", out, sizeof out), -1);
    /* a path is appended: a query, fragment, space or backslash in the base would eat it */
    assert_int_equal(hr_normalize_upstream_url("https://h.test/?key=1", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test/#x", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test/a b", out, sizeof out), -1);
    assert_int_equal(hr_normalize_upstream_url("https://h.test\\@evil", out, sizeof out), -1);
    /* user info is kept (it is used upstream, and masked where shown) */
    assert_int_equal(hr_normalize_upstream_url("http://u:p@h.test/v1", out, sizeof out), 0);
    assert_string_equal(out, "http://u:p@h.test");
}

static void client_limits(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    assert_int_equal(c.max_connections_per_address, 1024);
    assert_int_equal(c.client_header_timeout_ms, 10000);
    assert_int_equal(c.client_body_timeout_ms, 120000);
    setenv("HEADROOM_MAX_CONNECTIONS_PER_ADDRESS", "64", 1);
    setenv("HEADROOM_CLIENT_HEADER_TIMEOUT", "2.5", 1);
    setenv("HEADROOM_CLIENT_BODY_TIMEOUT", "30", 1);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    unsetenv("HEADROOM_MAX_CONNECTIONS_PER_ADDRESS");
    unsetenv("HEADROOM_CLIENT_HEADER_TIMEOUT");
    unsetenv("HEADROOM_CLIENT_BODY_TIMEOUT");
    assert_int_equal(c.max_connections_per_address, 64);
    assert_int_equal(c.client_header_timeout_ms, 2500);
    assert_int_equal(c.client_body_timeout_ms, 30000);
    char *argv[] = {"proxy", "--max-connections-per-address", "0", "--client-body-timeout=1", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 4, argv, err, sizeof err), 0);
    assert_int_equal(c.max_connections_per_address, 0);
    assert_int_equal(c.client_body_timeout_ms, 1000);
    char *secret[] = {"proxy", "--openai-api-url", "http://user:pw-s3cret@h.test/?q", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, secret, err, sizeof err), -1);
    assert_null(strstr(err, "s3cret"));
    assert_non_null(strstr(err, "http://***@h.test"));
    char *bad[] = {"proxy", "--client-header-timeout", "0", NULL};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "--client-header-timeout"));
}

static void backoff_doubles_caps_and_jitters(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_retry_delay_ms(&c, 0, 0.0), 500);
    assert_int_equal(hr_retry_delay_ms(&c, 0, 0.999999), 1499);
    assert_int_equal(hr_retry_delay_ms(&c, 1, 0.5), 2000);
    assert_int_equal(hr_retry_delay_ms(&c, 10, 0.5), 30000);
    assert_int_equal(hr_retry_delay_ms(&c, 50, 0.0), 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_issue),
        cmocka_unit_test(memory_limits),
        cmocka_unit_test(env_then_flags),
        cmocka_unit_test(invalid_values_are_refused_with_a_message),
        cmocka_unit_test(url_normalisation),
        cmocka_unit_test(client_limits),
        cmocka_unit_test(backoff_doubles_caps_and_jitters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
