/* Unit tests for src/proxy/codex.c: which upstream URL each Codex request target gets, as
 * the table in codex.h states it (expected URLs written out by hand from that table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/codex.h"
#include "proxy/config.h"

#include <string.h>

static int setup(void **state)
{
    (void)state;
    static hr_proxy_config cfg;
    hr_proxy_config_defaults(&cfg);
    strcpy(cfg.openai_url, "https://oai.test");
    strcpy(cfg.chatgpt_url, "https://chat.test/backend-api/codex");
    hr_proxy_config_set_current(&cfg);
    return 0;
}

static void expect_url(const char *target, const char *account, int rc, const char *want)
{
    hr_buf url = HR_BUF_INIT;
    assert_int_equal(hr_codex_upstream_url(target, account, &url), rc);
    if (want)
        assert_string_equal(url.data, want);
    else
        assert_int_equal(url.len, 0);
    hr_buf_free(&url);
}

static void routing_table(void **state)
{
    (void)state;
    expect_url("/v1/responses", NULL, 0, NULL); /* the caller's default: <openai> + target */
    expect_url("/v1/responses", "", 0, NULL);   /* an empty id is no id */
    expect_url("/v1/responses", "acct", 1, "https://chat.test/backend-api/codex/responses");
    expect_url("/v1/responses?stream=1", "acct", 1,
               "https://chat.test/backend-api/codex/responses?stream=1");
    expect_url("/v1/responses/resp_1/cancel", "acct", 1,
               "https://chat.test/backend-api/codex/responses/resp_1/cancel");
    expect_url("/backend-api/codex/responses", NULL, 1, "https://oai.test/v1/responses");
    expect_url("/v1/codex/responses", NULL, 1, "https://oai.test/v1/responses");
    expect_url("/backend-api/codex/models?client_version=1", NULL, 1,
               "https://oai.test/v1/models?client_version=1");
    expect_url("/backend-api/codex/responses", "acct", 1,
               "https://chat.test/backend-api/codex/responses");
    expect_url("/v1/codex/responses", "acct", 1, "https://chat.test/backend-api/codex/responses");
    /* not Codex: the caller's default, account id or not */
    expect_url("/v1/chat/completions", "acct", 0, NULL);
    expect_url("/v1/responsesX", "acct", 0, NULL);
    expect_url("/backend-api/codexx/responses", NULL, 0, NULL);
    expect_url("/backend-api/%63odex/responses", NULL, 0, NULL); /* encoded: no alias */
}

static void path_predicates(void **state)
{
    (void)state;
    assert_true(hr_codex_is_responses("/v1/responses"));
    assert_true(hr_codex_is_responses("/backend-api/codex/responses"));
    assert_true(hr_codex_is_responses("/v1/codex/responses"));
    assert_false(hr_codex_is_responses("/v1/responses/resp_1"));
    assert_false(hr_codex_is_responses("/backend-api/codex/models"));
    assert_false(hr_codex_is_responses("/v1/chat/completions"));
    assert_true(hr_codex_is_alias("/backend-api/codex"));
    assert_true(hr_codex_is_alias("/v1/codex/anything"));
    assert_false(hr_codex_is_alias("/v1/codexy"));
    assert_false(hr_codex_is_alias("/v1/responses"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(routing_table, setup),
        cmocka_unit_test_setup(path_predicates, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
