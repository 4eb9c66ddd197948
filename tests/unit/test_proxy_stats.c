/* Unit tests for the savings accounting: src/proxy/stats_store.c (rows add up, survive a
 * close and reopen, old hours are pruned, nothing is lost when the file cannot be used),
 * src/proxy/pricing.c (longest prefix, the user's file wins, "-" prices, bad lines named,
 * hand-computed dollars) and src/proxy/cache_watch.c (a bust we caused is counted once,
 * with its reason; an edited history is not ours). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/cache_watch.h"
#include "proxy/config.h"
#include "proxy/pricing.h"
#include "proxy/routes.h"
#include "proxy/stats_store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hr-stats-unit-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hr_stats_store_reset();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static hr_stat_key key(long long hour, const char *model)
{
    hr_stat_key k;
    memset(&k, 0, sizeof k);
    k.hour = hour;
    snprintf(k.model, sizeof k.model, "%s", model);
    snprintf(k.provider, sizeof k.provider, "openai");
    snprintf(k.compressor, sizeof k.compressor, "smart_crusher");
    snprintf(k.tenant, sizeof k.tenant, "0123456789abcdef");
    return k;
}

typedef struct sums {
    long long v[HR_STAT_N];
    int rows;
    long long min_hour;
} sums;

static int sum_row(const hr_stat_key *k, const hr_stat_counts *c, void *user)
{
    sums *s = user;
    for (int f = 0; f < HR_STAT_N; f++)
        s->v[f] += c->v[f];
    if (s->rows++ == 0 || k->hour < s->min_hour)
        s->min_hour = k->hour;
    return 0;
}

static sums total(void)
{
    sums s;
    memset(&s, 0, sizeof s);
    hr_stats_store_each(sum_row, &s);
    return s;
}

static void rows_add_up_and_survive_reopen(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(hr_stats_store_open(dir, 30, err, sizeof err), 0);
    long long now = (long long)time(NULL) / 3600;
    hr_stat_counts c = {{0}};
    c.v[HR_STAT_REQUESTS] = 1;
    c.v[HR_STAT_TOKENS_BEFORE] = 1000;
    c.v[HR_STAT_TOKENS_AFTER] = 300;
    hr_stat_key k = key(now, "gpt-4o");
    hr_stats_store_add(&k, &c);
    hr_stats_store_add(&k, &c);
    assert_int_equal(hr_stats_store_flush(), 0);
    hr_stats_store_add(&k, &c); /* pending, same key as a stored row: the reader adds both */
    sums s = total();
    assert_int_equal(s.v[HR_STAT_REQUESTS], 3);
    assert_int_equal(s.v[HR_STAT_TOKENS_BEFORE] - s.v[HR_STAT_TOKENS_AFTER], 2100);
    hr_stats_store_close(); /* flushes the pending one */
    hr_stats_store_reset();
    assert_int_equal(total().v[HR_STAT_REQUESTS], 0);
    assert_int_equal(hr_stats_store_open(dir, 30, err, sizeof err), 0);
    s = total();
    assert_int_equal(s.v[HR_STAT_REQUESTS], 3);
    assert_int_equal(s.rows, 1); /* upserted into one row */
    assert_int_equal(s.v[HR_STAT_TOKENS_AFTER], 900);
}

static void old_hours_are_pruned(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(hr_stats_store_open(dir, 2, err, sizeof err), 0);
    long long now = (long long)time(NULL) / 3600;
    hr_stat_counts c = {{0}};
    c.v[HR_STAT_REQUESTS] = 1;
    hr_stat_key old = key(now - 3 * 24, "old"), recent = key(now - 24, "recent");
    hr_stats_store_add(&old, &c);
    hr_stats_store_add(&recent, &c);
    assert_int_equal(hr_stats_store_flush(), 0);
    sums s = total();
    assert_int_equal(s.rows, 1);
    assert_int_equal(s.min_hour, now - 24);
}

static void a_data_dir_that_cannot_be_used_keeps_counting_in_memory(void **state)
{
    (void)state;
    char err[256] = "", path[300];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(hr_stats_store_open(path, 30, err, sizeof err), -1); /* a file, not a dir */
    assert_true(strlen(err) > 0);
    assert_int_equal(hr_stats_store_persistent(), 0);
    hr_stat_counts c = {{0}};
    c.v[HR_STAT_RETRIEVALS] = 2;
    hr_stat_key k = key(1, "m");
    hr_stats_store_add(&k, &c);
    assert_int_equal(hr_stats_store_flush(), 0);
    assert_int_equal(total().v[HR_STAT_RETRIEVALS], 2);
}

static void *adder(void *arg)
{
    long id = (long)arg;
    hr_stat_counts c = {{0}};
    c.v[HR_STAT_REQUESTS] = 1;
    c.v[HR_STAT_TOKENS_BEFORE] = 10;
    for (int i = 0; i < 5000; i++) {
        hr_stat_key k = key((long long)time(NULL) / 3600, i % 2 ? "even" : "odd");
        k.tenant[0] = (char)('a' + id);
        hr_stats_store_add(&k, &c);
    }
    return NULL;
}

/* Requests keep adding while flushes move rows to the file: nothing is lost or doubled,
 * and a reader in between sees every row exactly once. */
static void adds_during_flushes_are_all_kept(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(hr_stats_store_open(dir, 30, err, sizeof err), 0);
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, (void *)i), 0);
    long long prev = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(hr_stats_store_flush(), 0);
        long long seen = total().v[HR_STAT_REQUESTS];
        /* a row seen twice (pending and stored) or not at all would break monotony */
        assert_true(seen >= prev && seen <= 20000);
        prev = seen;
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(total().v[HR_STAT_REQUESTS], 20000);
    assert_int_equal(hr_stats_store_flush(), 0);
    sums s = total();
    assert_int_equal(s.v[HR_STAT_REQUESTS], 20000);
    assert_int_equal(s.v[HR_STAT_TOKENS_BEFORE], 200000);
    assert_int_equal(s.rows, 8); /* 4 tenants x 2 models, upserted */
}

static void prices_longest_prefix_user_first(void **state)
{
    (void)state;
    char err[256];
    hr_pricing_clear();
    const char *user = "# mine\nclaude-sonnet-4-5\t1\t2\t-\t-\tmy contract\t2026-01-01\n";
    assert_int_equal(hr_pricing_parse(user, strlen(user), "user", err, sizeof err), 0);
    const char *shipped = "claude-sonnet-4\t3\t15\t0.3\t3.75\ts\td\nclaude-sonnet-4-5\t3\t15\t0.3\t3.75\ts\td\n";
    assert_int_equal(hr_pricing_parse(shipped, strlen(shipped), "shipped", err, sizeof err), 0);
    const hr_price *p = hr_pricing_find("claude-sonnet-4-5-20250929");
    assert_non_null(p);
    assert_true(p->input == 1.0); /* the user's row wins over the shipped one */
    assert_string_equal(p->source, "my contract");
    assert_true(hr_pricing_find("claude-sonnet-4-20250514")->input == 3.0);
    assert_null(hr_pricing_find("llama-3"));
    double usd = -1;
    assert_int_equal(hr_pricing_savings_usd("llama-3", 1000, &usd), -1);
    /* 250,000 tokens saved at $3 per million = $0.75 */
    assert_int_equal(hr_pricing_savings_usd("claude-sonnet-4-20250514", 250000, &usd), 0);
    assert_true(fabs(usd - 0.75) < 1e-12);
    /* cache: 1,000,000 read at 0.3 instead of 3 saves 2.7; 100,000 written at 3.75 costs
     * 0.75 per million more than input: 0.075. */
    assert_int_equal(hr_pricing_cache_savings_usd("claude-sonnet-4-1", 1000000, 100000, &usd), 0);
    assert_true(fabs(usd - (2.7 - 0.075)) < 1e-12);
    /* "-": no cache price, so reads cost the input price and save nothing */
    assert_int_equal(hr_pricing_cache_savings_usd("claude-sonnet-4-5", 1000, 0, &usd), 0);
    assert_true(usd == 0.0);
}

static void bad_price_lines_are_named(void **state)
{
    (void)state;
    char err[256] = "";
    hr_pricing_clear();
    const char *bad = "ok\t1\t2\t3\t4\nbroken\tone\t2\t3\t4\n";
    assert_int_equal(hr_pricing_parse(bad, strlen(bad), "prices.tsv", err, sizeof err), -1);
    assert_non_null(strstr(err, "prices.tsv:2"));
    const char *negative = "neg\t-2\t1\t1\t1\n";
    assert_int_equal(hr_pricing_parse(negative, strlen(negative), "p", err, sizeof err), -1);
}

static void shipped_table_loads_and_prices_known_models(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(hr_pricing_load(NULL, err, sizeof err), 0);
    const hr_price *p = hr_pricing_find("gpt-4o-mini-2024-07-18");
    assert_non_null(p);
    assert_string_equal(p->prefix, "gpt-4o-mini"); /* not gpt-4o */
    assert_true(strlen(p->source) > 0 && strlen(p->date) == 10);
    assert_int_equal(hr_pricing_load("/nonexistent/prices.tsv", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/prices.tsv"));
    assert_non_null(hr_pricing_find("gpt-4o")); /* the shipped table still applies */
}

static const char *turn(const char *m2)
{
    static char b[512];
    snprintf(b, sizeof b, "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},%s]}", m2);
    return b;
}

/* One turn through the cache watch as the proxy makes it: the body parsed once, the last
 * message's content replaced by `forwarded` (NULL: forwarded as sent) and a "tools" member
 * added at the front (an edit outside the messages, as the headroom_retrieve tool is). */
static int watch_turn(const char *session, const char *sent, const char *forwarded)
{
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, sent, strlen(sent), &lim, &err), 0);
    uint32_t messages = hr_json_get(&d, 0, "messages");
    hr_json_edits edits = HR_JSON_EDITS_INIT;
    hr_buf fwd = HR_BUF_INIT;
    if (forwarded) {
        uint32_t last = hr_json_index(&d, messages, hr_json_len(&d, messages) - 1);
        uint32_t content = hr_json_get(&d, last, "content");
        assert_int_equal(hr_json_edits_add(&edits, 1, 1, "\"tools\":[],", 11), 0);
        assert_int_equal(hr_json_edits_add(&edits, d.nodes[content].start, d.nodes[content].end,
                                           forwarded, strlen(forwarded)), 0);
        assert_int_equal(hr_json_edits_apply(&edits, sent, strlen(sent), &fwd), 0);
    }
    int bust = hr_cache_watch_turn(session, "r", &d, messages, forwarded ? &edits : NULL,
                                   fwd.data, fwd.len);
    hr_buf_free(&fwd);
    hr_json_edits_free(&edits);
    hr_json_doc_free(&d);
    return bust;
}

static void a_cache_bust_we_caused_is_counted_once_with_its_reason(void **state)
{
    (void)state;
    hr_cache_watch_reset();
    char sent1[512];
    snprintf(sent1, sizeof sent1, "%s", turn("{\"role\":\"tool\",\"content\":\"LONG OUTPUT\"}"));
    assert_int_equal(watch_turn("s1", sent1, "\"SHORT A\""), 0);
    /* same turn again, compressed the same way: a cache hit, no bust */
    assert_int_equal(watch_turn("s1", sent1, "\"SHORT A\""), 0);
    /* the client re-sends message 1 unchanged, but we forward different bytes for it */
    assert_int_equal(watch_turn("s1", sent1, "\"SHORT B\""), 1);
    /* the client edits message 1 itself: their change, not a bust of ours */
    char sent3[512];
    snprintf(sent3, sizeof sent3, "%s", turn("{\"role\":\"tool\",\"content\":\"EDITED\"}"));
    assert_int_equal(watch_turn("s1", sent3, NULL), 0);
    /* no session: nothing tracked */
    assert_int_equal(watch_turn(NULL, sent1, "\"SHORT B\""), 0);
    /* an edit crossing a message's edge is not compared (no bust, even though message 1's
     * bytes differ from the last turn's) */
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, sent1, strlen(sent1), &lim, &err), 0);
    uint32_t messages = hr_json_get(&d, 0, "messages");
    uint32_t m1 = hr_json_index(&d, messages, 1);
    hr_json_edits edits = HR_JSON_EDITS_INIT;
    assert_int_equal(hr_json_edits_add(&edits, d.nodes[m1].start - 1, d.nodes[m1].start + 1, "X", 1), 0);
    hr_buf fwd = HR_BUF_INIT;
    assert_int_equal(hr_json_edits_apply(&edits, sent1, strlen(sent1), &fwd), 0);
    assert_int_equal(hr_cache_watch_turn("s1", "r", &d, messages, &edits, fwd.data, fwd.len), 0);
    hr_buf_free(&fwd);
    hr_json_edits_free(&edits);
    hr_json_doc_free(&d);
    hr_buf o = HR_BUF_INIT;
    assert_int_equal(hr_cache_watch_json(&o), 0);
    assert_non_null(strstr(o.data, "\"busts\":1,\"sessions\""));
    assert_non_null(strstr(o.data, "\"turns\":5"));
    assert_non_null(strstr(o.data, "message 1 compressed differently than last turn"));
    hr_buf_free(&o);
}

int hr_route_dashboard(const hr_request *req, hr_response *res);

/* The configuration as `headroom proxy` reads it from the environment, made current. */
static void configure_from_env(void)
{
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    hr_proxy_config_set_current(&c);
}

/* The page answers loopback clients only, unless HEADROOM_DASHBOARD_PUBLIC=1 (tests never
 * send traffic to a non-loopback address, so the handler is called here directly). */
static void dashboard_is_loopback_only_unless_enabled(void **state)
{
    (void)state;
    hr_request req = {"GET", "/dashboard", "", "", 0, "192.0.2.7", 0, "hr-0", "0", &hr_api_openai_chat, NULL, 0};
    hr_response res = HR_RESPONSE_INIT;
    unsetenv("HEADROOM_DASHBOARD_PUBLIC");
    configure_from_env();
    assert_int_equal(hr_route_dashboard(&req, &res), 0);
    assert_int_equal(res.status, 404);
    assert_non_null(strstr(res.body.data, "only served to loopback clients"));
    hr_response_free(&res);
    setenv("HEADROOM_DASHBOARD_PUBLIC", "1", 1);
    configure_from_env();
    res = (hr_response)HR_RESPONSE_INIT;
    assert_int_equal(hr_route_dashboard(&req, &res), 0);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body.data, "<title>headroom dashboard</title>"));
    assert_null(strstr(res.body.data, "http://")); /* nothing loaded from elsewhere */
    assert_null(strstr(res.body.data, "https://"));
    hr_response_free(&res);
    unsetenv("HEADROOM_DASHBOARD_PUBLIC");
    configure_from_env();
    req.client_is_loopback = 1;
    res = (hr_response)HR_RESPONSE_INIT;
    assert_int_equal(hr_route_dashboard(&req, &res), 0);
    assert_int_equal(res.status, 200);
    hr_response_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows_add_up_and_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(old_hours_are_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(adds_during_flushes_are_all_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(a_data_dir_that_cannot_be_used_keeps_counting_in_memory, setup, teardown),
        cmocka_unit_test(prices_longest_prefix_user_first),
        cmocka_unit_test(bad_price_lines_are_named),
        cmocka_unit_test(shipped_table_loads_and_prices_known_models),
        cmocka_unit_test(a_cache_bust_we_caused_is_counted_once_with_its_reason),
        cmocka_unit_test(dashboard_is_loopback_only_unless_enabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
