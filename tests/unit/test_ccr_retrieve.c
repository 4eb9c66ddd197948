/* Retrieval: whole original byte-exact, BM25 selection over JSON items and lines (top 20,
 * original order, exact item text), ranking properties of BM25, and the status mapping
 * (unknown, malformed) the routes and tools rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/retrieve.h"
#include "sys/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *T = "anonymous";

static hr_ccr_store *memory_store(void)
{
    hr_ccr_config c;
    hr_ccr_config_default(&c);
    c.backend = HR_CCR_BACKEND_MEMORY;
    char err[128];
    hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
    assert_non_null(s);
    return s;
}

static void store_text(hr_ccr_store *s, const char *text, char hash[HR_CONTENT_HASH_HEX + 1])
{
    hr_content_hash(text, strlen(text), hash);
    assert_int_equal(hr_ccr_put(s, T, hash, text, strlen(text), 0), 0);
}

static void whole_original_without_query(void **state)
{
    (void)state;
    hr_ccr_store *s = memory_store();
    const char *text = "[{\"a\": 1},\n {\"b\": \"x\\u0041\"}]";
    char h[HR_CONTENT_HASH_HEX + 1];
    store_text(s, text, h);
    hr_ccr_retrieval r;
    assert_int_equal(hr_ccr_retrieve(s, T, h, 24, NULL, 0, &r), HR_CCR_FOUND);
    assert_int_equal(r.queried, 0);
    assert_string_equal(r.content.data, text);
    hr_ccr_retrieval_free(&r);
    /* A query without any word is no query. */
    assert_int_equal(hr_ccr_retrieve(s, T, h, 24, "?!", 2, &r), HR_CCR_FOUND);
    assert_string_equal(r.content.data, text);
    hr_buf js = HR_BUF_INIT;
    assert_int_equal(hr_ccr_retrieval_json(&r, h, NULL, 0, &js), 0);
    assert_non_null(strstr(js.data, "\"content\":\"[{\\\"a\\\": 1},\\n {\\\"b\\\": \\\"x\\\\u0041\\\"}]\""));
    hr_buf_free(&js);
    hr_ccr_retrieval_free(&r);
    hr_ccr_store_close(s);
}

static void unknown_and_malformed(void **state)
{
    (void)state;
    hr_ccr_store *s = memory_store();
    hr_ccr_retrieval r;
    assert_int_equal(hr_ccr_retrieve(s, T, "0123456789abcdef01234567", 24, "q", 1, &r),
                     HR_CCR_NOT_FOUND);
    hr_buf txt = HR_BUF_INIT;
    hr_ccr_retrieval_text(&r, "0123456789abcdef01234567", 24, &txt);
    assert_non_null(strstr(txt.data, "unknown or expired"));
    hr_ccr_retrieval_free(&r);
    /* 25 chars given but a 24-char prefix must not be accepted as the hash. */
    assert_int_equal(hr_ccr_retrieve(s, T, "0123456789abcdef012345678", 25, NULL, 0, &r),
                     HR_CCR_INVALID);
    assert_int_equal(hr_ccr_retrieve(s, T, "0123456789abcdef0123456g", 24, NULL, 0, &r),
                     HR_CCR_INVALID);
    hr_buf_reset(&txt);
    hr_ccr_retrieval_text(&r, "x", 1, &txt);
    assert_non_null(strstr(txt.data, "malformed"));
    hr_buf_free(&txt);
    hr_ccr_store_close(s);
}

/* 100 JSON items; every 7th mentions "timeout". The query returns those (15 of them, under
 * the cap of 20) in original order, each item's exact source text, as a JSON array. */
static void query_selects_json_items_in_order(void **state)
{
    (void)state;
    hr_ccr_store *s = memory_store();
    hr_buf orig = HR_BUF_INIT, expect = HR_BUF_INIT;
    hr_buf_putc(&orig, '[');
    hr_buf_putc(&expect, '[');
    int first = 1;
    for (int i = 0; i < 100; i++) {
        char item[128];
        if (i % 7 == 0)
            snprintf(item, sizeof item, "{\"id\": %d, \"msg\": \"upstream Timeout after %d ms\"}", i, i * 10);
        else
            snprintf(item, sizeof item, "{\"id\": %d, \"msg\": \"ok\"}", i);
        if (i)
            hr_buf_puts(&orig, ", ");
        hr_buf_puts(&orig, item);
        if (i % 7 == 0) {
            if (!first)
                hr_buf_putc(&expect, ',');
            hr_buf_puts(&expect, item);
            first = 0;
        }
    }
    hr_buf_putc(&orig, ']');
    hr_buf_putc(&expect, ']');
    char h[HR_CONTENT_HASH_HEX + 1];
    store_text(s, orig.data, h);
    hr_ccr_retrieval r;
    assert_int_equal(hr_ccr_retrieve(s, T, h, 24, "why the timeout?", 16, &r), HR_CCR_FOUND);
    assert_int_equal(r.json_items, 1);
    assert_int_equal(r.items_total, 100);
    assert_int_equal(r.items_returned, 15);
    assert_string_equal(r.content.data, expect.data);
    hr_ccr_retrieval_free(&r);
    hr_buf_free(&orig);
    hr_buf_free(&expect);
    hr_ccr_store_close(s);
}

/* A JSON object wrapping its rows ({"total": N, "results": [...]}, the common API shape):
 * the elements of its outermost arrays are the items, and the members of a map of records
 * (package-lock's "packages") are items too, each returned as a one-member object. */
static void query_uses_the_arrays_and_maps_of_an_object(void **state)
{
    (void)state;
    const char *text = "{\"total\":4,\"tags\":[\"a\",\"b\"],\"results\":[{\"id\":1,\"s\":\"ok\"},"
                       "{\"id\":2,\"s\":\"OOM killed\"},{\"id\":3,\"s\":\"ok\"},{\"id\":4,\"s\":\"oom\"}]}";
    hr_ccr_retrieval r;
    memset(&r, 0, sizeof r);
    assert_int_equal(hr_ccr_select(text, strlen(text), "oom", 3, HR_CCR_TOP_K, &r), 0);
    assert_int_equal(r.json_items, 1);
    assert_int_equal(r.items_total, 6); /* 2 tags + 4 results */
    assert_string_equal(r.content.data, "[{\"id\":2,\"s\":\"OOM killed\"},{\"id\":4,\"s\":\"oom\"}]");
    hr_ccr_retrieval_free(&r);
    memset(&r, 0, sizeof r);
    const char *lock = "{\"name\":\"app\",\"packages\":{\"node_modules/a\":{\"version\":\"1.0.0\"},"
                       "\"node_modules/leftpad\": {\"version\":\"2.0.1\"},\"node_modules/c\":{\"version\":\"3.0.0\"}}}";
    assert_int_equal(hr_ccr_select(lock, strlen(lock), "leftpad", 7, HR_CCR_TOP_K, &r), 0);
    assert_int_equal(r.items_total, 3);
    assert_string_equal(r.content.data, "[{\"node_modules/leftpad\": {\"version\":\"2.0.1\"}}]");
    hr_ccr_retrieval_free(&r);
    memset(&r, 0, sizeof r);
    /* An object without arrays or maps falls back to lines. */
    assert_int_equal(hr_ccr_select("{\"a\":1}\n{\"b\":2}", 15, "b", 1, HR_CCR_TOP_K, &r), 0);
    assert_int_equal(r.json_items, 0);
    hr_ccr_retrieval_free(&r);
}

/* 60 matching lines, 20 of which mention the term twice in a short line: exactly those
 * 20 come back (capped), in original order. */
static void query_caps_lines_at_top_20(void **state)
{
    (void)state;
    hr_buf orig = HR_BUF_INIT;
    for (int i = 0; i < 120; i++) {
        if (i % 6 == 0)
            hr_buf_printf(&orig, "line %d disk disk\n", i);
        else if (i % 2 == 0)
            hr_buf_printf(&orig, "line %d disk is fine and nothing else happened here\n", i);
        else
            hr_buf_printf(&orig, "line %d all good\n", i);
    }
    hr_ccr_retrieval r;
    memset(&r, 0, sizeof r);
    assert_int_equal(hr_ccr_select(orig.data, orig.len, "DISK", 4, HR_CCR_TOP_K, &r), 0);
    assert_int_equal(r.json_items, 0);
    assert_int_equal(r.items_returned, 20);
    char *save, *line = strtok_r(r.content.data, "\n", &save);
    int expect = 0, count = 0;
    for (; line; line = strtok_r(NULL, "\n", &save), count++, expect += 6) {
        char want[64];
        snprintf(want, sizeof want, "line %d disk disk", expect);
        assert_string_equal(line, want);
    }
    assert_int_equal(count, 20);
    hr_ccr_retrieval_free(&r);
    hr_buf_free(&orig);
}

/* BM25 properties: a rare term outweighs a common one; length normalisation prefers the
 * shorter of two items with the same term count. */
static void bm25_ranks_rare_terms_and_short_items_first(void **state)
{
    (void)state;
    const char *text = "alpha beta\nalpha gamma\nalpha delta\nbeta beta alpha words words words words\n";
    hr_ccr_retrieval r;
    memset(&r, 0, sizeof r);
    /* "gamma" occurs once (rare), "alpha" in every line: the gamma line wins. */
    assert_int_equal(hr_ccr_select(text, strlen(text), "alpha gamma", 11, 1, &r), 0);
    assert_string_equal(r.content.data, "alpha gamma");
    hr_ccr_retrieval_free(&r);
    memset(&r, 0, sizeof r);
    /* "beta": line 1 (tf 1, 2 terms) vs line 4 (tf 2, 7 terms), avgdl 13/4: with k1=1.5,
     * b=0.75 the short line scores 2.5/(1+1.5*(0.25+0.75*2/3.25)) = 1.209 per idf, the long
     * one 5/(2+1.5*(0.25+0.75*7/3.25)) = 1.042: length normalisation wins. Without b (plain
     * tf) the long line would win, so this pins the formula. */
    assert_int_equal(hr_ccr_select(text, strlen(text), "beta", 4, 1, &r), 0);
    assert_string_equal(r.content.data, "alpha beta");
    hr_ccr_retrieval_free(&r);
    memset(&r, 0, sizeof r);
    assert_int_equal(hr_ccr_select(text, strlen(text), "zeta", 4, 20, &r), 0);
    assert_int_equal(r.items_returned, 0);
    hr_buf txt = HR_BUF_INIT;
    hr_ccr_retrieval_text(&r, "0123456789abcdef01234567", 24, &txt);
    assert_non_null(strstr(txt.data, "No items"));
    hr_buf_free(&txt);
    hr_ccr_retrieval_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_original_without_query),
        cmocka_unit_test(unknown_and_malformed),
        cmocka_unit_test(query_selects_json_items_in_order),
        cmocka_unit_test(query_caps_lines_at_top_20),
        cmocka_unit_test(query_uses_the_arrays_and_maps_of_an_object),
        cmocka_unit_test(bm25_ranks_rare_terms_and_short_items_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
