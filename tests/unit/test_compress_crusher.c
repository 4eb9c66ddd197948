/* test_compress_crusher.c: SmartCrusher on generated arrays (needles survive, output is
 * valid JSON in the original schema with one marker per crushed array) and on bad input
 * (truncated, very deep, huge strings, invalid UTF-8, duplicate keys, huge numbers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ccr/marker.h"
#include "compress/json_table.h"
#include "compress/smart_crusher.h"
#include "compress_scenarios.h"
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

static hr_compress_result crush(const char *in, size_t len, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    hr_compress_result r;
    assert_int_equal(hr_compress_smart_crusher(in, len, &o, &r), 0);
    return r;
}

/* The JSON part of an output (everything before the first marker line; gap markers stand
 * inside it, as JSON strings) must parse. */
static size_t json_part_len(const hr_compress_result *r)
{
    hr_marker m;
    size_t from = 0;
    while (hr_marker_find(r->out.data, r->out.len, from, &m) && m.gap) {
        assert_true(m.start > 0 && r->out.data[m.start - 1] == '"'); /* a JSON string */
        from = m.end;
    }
    assert_true(hr_marker_find(r->out.data, r->out.len, from, &m) && !m.gap);
    assert_true(m.start > 0 && r->out.data[m.start - 1] == '\n');
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, r->out.data, m.start - 1, &lim, &e), 0);
    hr_json_doc_free(&d);
    return m.start - 1;
}

/* Needles are looked up in the output with its tables expanded back to objects
 * (hr_json_table_expand), so "key":value pairs of kept items are found in either form. */
static void assert_contains(const hr_compress_result *r, const char *needle)
{
    if (memmem(r->out.data, r->out.len, needle, strlen(needle)))
        return;
    hr_buf x = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(r->out.data, json_part_len(r), &x), 0);
    int found = memmem(x.data, x.len, needle, strlen(needle)) != NULL;
    hr_buf_free(&x);
    if (!found)
        fail_msg("needle missing: %s", needle);
}

/* The output's schema, with tables expanded back to objects, starts with prefix. */
static void assert_expanded_prefix(const hr_compress_result *r, const char *prefix)
{
    hr_buf x = HR_BUF_INIT;
    assert_int_equal(hr_json_table_expand(r->out.data, json_part_len(r), &x), 0);
    int ok = x.len >= strlen(prefix) && memcmp(x.data, prefix, strlen(prefix)) == 0;
    if (!ok)
        fail_msg("expanded output starts %.60s, want %s", x.data, prefix);
    hr_buf_free(&x);
}

static void needles_search_results(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    scen_code_search(&in, 100, 7);
    hr_compress_result r = crush(in.data, in.len, "where is validate_refresh_token defined?");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "validate_refresh_token");
    assert_contains(&r, "refresh failed");
    assert_contains(&r, "\"query\":\"token refresh\""); /* the wrapper object is kept */
    assert_contains(&r, "src/"); /* first item */
    assert_contains(&r, "_99.c"); /* last item */
    assert_true(r.units_total == 100 && r.units_kept < 30);
    assert_true(r.out.len * 3 < in.len);
    char hash[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(in.data, in.len, hash);
    assert_string_equal(r.hash, hash);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void needles_db_rows(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    scen_db_rows(&in, 200, 11);
    hr_compress_result r = crush(in.data, in.len, "why can't dana.reyes@example.com log in?");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "dana.reyes@example.com"); /* anchor */
    assert_contains(&r, "\"status\":\"failed\"");  /* error word */
    assert_contains(&r, "\"balance\":987654");     /* outlier */
    assert_contains(&r, "\"id\":5000,");           /* first */
    assert_contains(&r, "\"id\":5199,");           /* last */
    assert_true(r.units_kept < 40);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void needles_api_nested(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    scen_api_orders(&in, 120, 3);
    hr_compress_result r =
        crush(in.data, in.len, "status of order 7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b please");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "7f3c9a2e-1b4d-4e8f-9a6b-2c5d8e1f0a3b");
    assert_contains(&r, "\"paging\":{\"next\":null,\"count\":120}");
    assert_expanded_prefix(&r, "{\"data\":{\"orders\":[{");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void needles_metrics(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    scen_metrics(&in, 300, 5);
    hr_compress_result r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "\"latency_ms\":4200"); /* outlier */
    assert_contains(&r, "\"ts\":1764201500,");  /* i = 150, the first sample after the shift */
    assert_true(r.units_kept < 25);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* A varied array keeps more than a repetitive one of the same length. */
static void diversity_adapts(void **state)
{
    (void)state;
    hr_buf rep = HR_BUF_INIT, var = HR_BUF_INIT;
    scen_rng r = {9};
    hr_buf_putc(&rep, '[');
    hr_buf_putc(&var, '[');
    for (int i = 0; i < 80; i++) {
        hr_buf_printf(&rep, "%s\"worker %d heartbeat ok queue depth %d\"", i ? "," : "", i, i % 7);
        hr_buf_printf(&var, "%s\"", i ? "," : "");
        scen_sentence(&var, &r, 10);
        hr_buf_putc(&var, '"');
    }
    hr_buf_putc(&rep, ']');
    hr_buf_putc(&var, ']');
    hr_compress_result a = crush(rep.data, rep.len, NULL), b = crush(var.data, var.len, NULL);
    assert_true(a.compressed && b.compressed);
    assert_true(a.units_kept <= 3);
    assert_true(b.units_kept >= 15);
    assert_true(b.units_kept <= 17);
    hr_compress_result_free(&a);
    hr_compress_result_free(&b);
    hr_buf_free(&rep);
    hr_buf_free(&var);
}

static void small_and_mixed_arrays_pass(void **state)
{
    (void)state;
    const char *small = "[{\"a\":1},{\"a\":2},{\"a\":3},{\"a\":4}]";
    hr_compress_result r = crush(small, strlen(small), NULL);
    assert_false(r.compressed);
    assert_int_equal(r.out.len, 0);
    const char *mixed = "[1,\"a\",{\"b\":2},[3],null,true,4,5,6,7,8]";
    r = crush(mixed, strlen(mixed), NULL);
    assert_false(r.compressed);
    /* arrays of arrays are not crushed, their inner arrays may be */
    hr_buf in = HR_BUF_INIT;
    hr_buf_putc(&in, '[');
    for (int i = 0; i < 30; i++)
        hr_buf_printf(&in, "%s[%d,%d,%d]", i ? "," : "", i, i * 2, i * 3);
    hr_buf_putc(&in, ']');
    r = crush(in.data, in.len, NULL);
    assert_false(r.compressed);
    hr_buf_free(&in);
    const char *text = "plain text, not json at all [1,2,3]";
    r = crush(text, strlen(text), NULL);
    assert_false(r.compressed);
}

static void bad_input_never_compressed(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    scen_db_rows(&in, 50, 1);
    hr_compress_result r = crush(in.data, in.len - 7, NULL); /* truncated */
    assert_false(r.compressed);
    hr_buf_reset(&in);
    for (int i = 0; i < 100000; i++)
        hr_buf_putc(&in, '[');
    for (int i = 0; i < 100000; i++)
        hr_buf_putc(&in, ']');
    r = crush(in.data, in.len, NULL); /* depth 100,000: a parse limit, not a crash */
    assert_false(r.compressed);
    hr_buf_reset(&in);
    hr_buf_puts(&in, "[\"ok\",\"ok2\",\"bad \xff\xfe utf8\",\"ok3\",\"ok4\",\"ok5\",\"ok6\"]");
    r = crush(in.data, in.len, NULL);
    assert_false(r.compressed);
    hr_buf_free(&in);
}

static void huge_string_kept_whole(void **state)
{
    (void)state;
    size_t big = (size_t)50 << 20;
    hr_buf in = HR_BUF_INIT;
    assert_int_equal(hr_buf_reserve(&in, big + 4096), 0);
    hr_buf_puts(&in, "[\"first\",\"");
    memset(in.data + in.len, 'x', big);
    in.len += big;
    hr_buf_puts(&in, "\"");
    for (int i = 0; i < 20; i++)
        hr_buf_printf(&in, ",\"line %d of the same text\"", i);
    hr_buf_puts(&in, "]");
    hr_compress_result r = crush(in.data, in.len, NULL);
    /* the big item is a cluster of its own, so the budget keeps it, byte for byte; the 20
     * near-identical lines shrink to the last one */
    assert_true(r.compressed);
    json_part_len(&r);
    assert_int_equal(r.units_total, 22);
    assert_int_equal(r.units_kept, 3);
    const char *p = memchr(r.out.data, 'x', r.out.len);
    assert_non_null(p);
    size_t run = 0;
    while (p + run < r.out.data + r.out.len && p[run] == 'x')
        run++;
    assert_int_equal(run, big);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Objects with very many keys, and a root object with very many members: handled, valid,
 * every kept item whole. */
static void many_keys(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_putc(&in, '[');
    for (int i = 0; i < 12; i++) {
        hr_buf_printf(&in, "%s{", i ? "," : "");
        for (int k = 0; k < 3000; k++)
            hr_buf_printf(&in, "%s\"k%d\":%d", k ? "," : "", k, (k * 7 + i) % 13);
        hr_buf_putc(&in, '}');
    }
    hr_buf_putc(&in, ']');
    hr_compress_result r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    json_part_len(&r);
    assert_true(r.units_kept < 12);
    assert_expanded_prefix(&r, "[{\"k0\":0,\"k1\":7,");
    hr_compress_result_free(&r);
    hr_buf_reset(&in);
    hr_buf_puts(&in, "{");
    for (int k = 0; k < 100000; k++)
        hr_buf_printf(&in, "%s\"m%d\":[1,2,3]", k ? "," : "", k);
    hr_buf_puts(&in, ",\"rows\":");
    scen_db_rows(&in, 40, 9);
    hr_buf_puts(&in, "}");
    r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    json_part_len(&r);
    assert_int_equal(r.units_total, 40);
    assert_non_null(memmem(r.out.data, r.out.len, "\"m99999\":[1,2,3],\"rows\":", 24));
    assert_contains(&r, "\"m99999\":[1,2,3],\"rows\":[{");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Arrays nested up to max_depth (50) are crushed; deeper ones pass verbatim. */
static void depth_limit(void **state)
{
    (void)state;
    for (int depth = 49; depth <= 52; depth += 3) {
        hr_buf in = HR_BUF_INIT;
        for (int i = 0; i < depth; i++)
            hr_buf_puts(&in, "{\"a\":");
        scen_metrics(&in, 100, 3);
        for (int i = 0; i < depth; i++)
            hr_buf_putc(&in, '}');
        hr_compress_result r = crush(in.data, in.len, NULL);
        if (depth <= 50) {
            assert_true(r.compressed);
            json_part_len(&r);
            assert_int_equal(r.units_total, 100);
        } else {
            assert_false(r.compressed);
        }
        hr_compress_result_free(&r);
        hr_buf_free(&in);
    }
}

static void duplicate_keys_and_huge_numbers_exact(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_putc(&in, '[');
    for (int i = 0; i < 40; i++)
        hr_buf_printf(&in, "%s{\"k\":%d,\"k\":\"dup\",\"n\":12345678901234567890123,"
                           "\"f\":1.50e+300,\"note\":\"%s\"}",
                      i ? "," : "", i, i % 2 ? "alpha beta gamma" : "delta epsilon");
    hr_buf_putc(&in, ']');
    hr_compress_result r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "{\"k\":0,\"k\":\"dup\",\"n\":12345678901234567890123,\"f\":1.50e+300,");
    assert_contains(&r, "{\"k\":39,\"k\":\"dup\"");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Whitespace outside strings goes, whitespace and escapes inside strings stay. */
static void minified_strings_verbatim(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{ \"rows\" : [\n");
    for (int i = 0; i < 30; i++)
        hr_buf_printf(&in, "%s  { \"id\" : %d , \"msg\" : \"a  b\\n\\u00e9 \\\"q\\\" %d\" }\n",
                      i ? "," : "", i, i * 31);
    hr_buf_puts(&in, "] }");
    hr_compress_result r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "{\"rows\":[{\"id\":0,\"msg\":\"a  b\\n\\u00e9 \\\"q\\\" 0\"},");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void deterministic_and_one_closing_marker(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_puts(&in, "{\"a\":");
    scen_metrics(&in, 60, 2);
    hr_buf_puts(&in, ",\"b\":");
    scen_db_rows(&in, 60, 3);
    hr_buf_puts(&in, "}");
    hr_compress_result x = crush(in.data, in.len, "x"), y = crush(in.data, in.len, "x");
    assert_true(x.compressed);
    assert_int_equal(x.out.len, y.out.len);
    assert_memory_equal(x.out.data, y.out.data, x.out.len);
    size_t from = 0, markers = 0;
    hr_marker m;
    while (hr_marker_find(x.out.data, x.out.len, from, &m)) {
        assert_string_equal(m.hash, x.hash);
        if (!m.gap) {
            assert_int_equal(m.total, 120); /* one closing marker sums both arrays */
            markers++;
        }
        from = m.end;
    }
    assert_int_equal(markers, 1);
    assert_int_equal(x.units_total, 120);
    hr_compress_result_free(&x);
    hr_compress_result_free(&y);
    hr_buf_free(&in);
}

/* A one-item blip of a category keeps the blip, not the return to the old value; a run of
 * several items is a regime, and both its start and the return after it are kept. */
static void categorical_blip_and_regime(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_putc(&in, '[');
    for (int i = 0; i < 60; i++) {
        const char *st = i == 30 ? "degraded" : i >= 45 && i < 50 ? "maintenance" : "ok";
        /* the constant region makes the array big enough to cut (a table of 2 KB or less
         * stays whole: lossless before lossy) without adding variety */
        hr_buf_printf(&in, "%s{\"id\":%d,\"zone\":\"a\",\"status\":\"%s\",\"region\":"
                           "\"europe-west4-availability-zone-b\"}", i ? "," : "", i, st);
    }
    hr_buf_putc(&in, ']');
    hr_compress_result r = crush(in.data, in.len, NULL);
    assert_true(r.compressed);
    assert_contains(&r, "{\"id\":30,");
    assert_contains(&r, "{\"id\":45,");
    assert_contains(&r, "{\"id\":50,"); /* back to ok after a 5-item regime */
    assert_null(memmem(r.out.data, r.out.len, "{\"id\":31,", 9));
    assert_int_equal(r.units_kept, 5); /* 0, 30, 45, 50, 59 */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* ---- the adaptive keep count (knee of the unique-bigram curve) ----------------------- */

static hr_compress_result crush_cap(const hr_buf *in, const char *query, unsigned max_items)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = query ? strlen(query) : 0;
    o.max_items = max_items;
    hr_compress_result r;
    assert_int_equal(hr_compress_smart_crusher(in->data, in->len, &o, &r), 0);
    return r;
}

/* A letters-only word unique to (i, k): no digits, so it is not folded into the id symbol. */
static void unique_word(hr_buf *b, unsigned i, unsigned k)
{
    unsigned v = i * 131 + k * 7919 + 100000;
    hr_buf_putc(b, 'q');
    while (v) {
        hr_buf_putc(b, (char)('a' + v % 26));
        v /= 26;
    }
}

/* n objects {"id","host","msg"}; kind 0: every message new words (no knee); kind 1: one
 * template whose words repeat (saturates at once); kind 2: four message families with
 * distinct wording (saturates after a few distinct items). */
static void knee_array(hr_buf *b, int n, int kind)
{
    static const char *const fam[] = {
        "cache warmed for tenant shard after rebalance",
        "scheduled backup uploaded to cold storage bucket",
        "certificate renewal checked with plenty of validity left",
        "autoscaler kept replica count steady under normal load"};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        hr_buf_printf(b, "%s{\"id\":%d,\"host\":\"node-%d\",\"msg\":\"", i ? "," : "", 7000 + i, i % 9);
        if (kind == 0)
            for (unsigned k = 0; k < 8; k++) {
                if (k)
                    hr_buf_putc(b, ' ');
                unique_word(b, (unsigned)i, k);
            }
        else if (kind == 1)
            hr_buf_printf(b, "heartbeat ok queue depth %d lag %dms", i % 7, 3 + i % 5);
        else
            hr_buf_printf(b, "%s (run %d)", fam[(i * 7) % 4], i);
        hr_buf_puts(b, "\"}");
    }
    hr_buf_putc(b, ']');
}

static void knee_varied_array_keeps_the_cap(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    knee_array(&in, 100, 0);
    hr_compress_result r = crush_cap(&in, NULL, 15);
    assert_true(r.compressed);
    assert_int_equal(r.units_kept, 15 + 2); /* no knee: the cap, plus first and last */
    hr_compress_result_free(&r);
    r = crush_cap(&in, NULL, 6);
    assert_true(r.compressed);
    assert_int_equal(r.units_kept, 6 + 2); /* the cap is the setting's */
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

static void knee_repetitive_array_keeps_few(void **state)
{
    (void)state;
    hr_buf rep = HR_BUF_INIT, fam = HR_BUF_INIT;
    knee_array(&rep, 100, 1);
    knee_array(&fam, 100, 2);
    hr_compress_result a = crush_cap(&rep, NULL, 15), b = crush_cap(&fam, NULL, 15);
    assert_true(a.compressed && b.compressed);
    assert_true(a.units_kept <= 3);                    /* first, last, at most one more */
    assert_true(b.units_kept >= 3 && b.units_kept <= 8); /* about one per family */
    assert_true(a.units_kept < b.units_kept);
    /* every family is represented: the knee counts distinct wording, not items */
    for (int f = 0; f < 4; f++) {
        static const char *const w[] = {"cache warmed", "backup uploaded", "certificate renewal",
                                        "autoscaler kept"};
        assert_contains(&b, w[f]);
    }
    hr_compress_result_free(&a);
    hr_compress_result_free(&b);
    hr_buf_free(&rep);
    hr_buf_free(&fam);
}

/* Near-duplicates count once: repeating each item of a varied array three times in a row
 * changes neither the knee nor which kinds of items are kept. */
static void knee_near_duplicates_count_once(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    hr_buf_putc(&in, '[');
    for (int i = 0; i < 40; i++)
        for (int copy = 0; copy < 3; copy++) {
            hr_buf_printf(&in, "%s\"", i || copy ? "," : "");
            for (unsigned k = 0; k < 8; k++) {
                if (k)
                    hr_buf_putc(&in, ' ');
                unique_word(&in, (unsigned)i, k);
            }
            hr_buf_putc(&in, '"');
        }
    hr_buf_putc(&in, ']');
    hr_compress_result r = crush_cap(&in, NULL, 15);
    assert_true(r.compressed);
    assert_int_equal(r.units_total, 120);
    assert_int_equal(r.units_kept, 15 + 2); /* 40 distinct items, no knee: the cap */
    /* no two kept items are copies of each other (the JSON part holds each word once) */
    size_t n = json_part_len(&r);
    hr_buf w = HR_BUF_INIT;
    for (int i = 1; i < 39; i++) {
        hr_buf_reset(&w);
        unique_word(&w, (unsigned)i, 0);
        hr_buf_putc(&w, ' ');
        const char *p = memmem(r.out.data, n, w.data, w.len);
        if (p)
            assert_null(memmem(p + 1, n - (size_t)(p + 1 - r.out.data), w.data, w.len));
    }
    hr_buf_free(&w);
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

/* Relevance fills the budget: the items that share the query's rarer terms are kept even
 * when the knee allows only a few. */
static void knee_relevance_fills_the_budget(void **state)
{
    (void)state;
    hr_buf in = HR_BUF_INIT;
    knee_array(&in, 100, 0);
    /* item 57's words become the query */
    hr_buf q = HR_BUF_INIT, q2 = HR_BUF_INIT;
    for (unsigned k = 0; k < 3; k++) {
        hr_buf_putc(&q, ' ');
        unique_word(&q, 57, k);
        hr_buf_putc(&q2, ' ');
        unique_word(&q2, 23, k);
    }
    hr_buf_append(&q, q2.data, q2.len);
    hr_buf_putc(&q, '\0');
    hr_compress_result r = crush_cap(&in, q.data, 2);
    assert_true(r.compressed);
    assert_contains(&r, "\"id\":7057,");
    assert_contains(&r, "\"id\":7023,");
    hr_compress_result_free(&r);
    hr_buf_free(&q);
    hr_buf_free(&q2);
    hr_buf_free(&in);
}

/* The realistic generators of the savings benchmark: every needle survives. */
static void needles_realistic_shapes(void **state)
{
    (void)state;
    static const int callers[] = {12, 48, 77}, failed[] = {131, 134, 139};
    hr_buf in = HR_BUF_INIT;
    scen_real_code_search(&in, 100, 21, 63, 88, callers, 3);
    hr_compress_result r = crush(in.data, in.len, "where is validate_refresh_token defined, and what calls it?");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "def validate_refresh_token(");
    assert_contains(&r, "refresh failed: upstream rejected grant");
    assert_true(r.units_kept <= 15 + 7);
    hr_compress_result_free(&r);

    hr_buf_reset(&in);
    scen_real_payment_rows(&in, 200, 6, 113, failed, 3, 157);
    r = crush(in.data, in.len, "payments are failing since 03:07; dana.reyes@example.com reports it.");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "dana.reyes@example.com");
    assert_contains(&r, "{\"id\":912531,");
    assert_contains(&r, "{\"id\":912534,");
    assert_contains(&r, "{\"id\":912539,");
    assert_contains(&r, "\"gateway_latency_ms\":30000,");
    assert_true(r.units_kept <= 20);
    hr_compress_result_free(&r);

    hr_buf_reset(&in);
    scen_real_issues(&in, 100, 8, 42);
    r = crush(in.data, in.len, "triage the crash reports: which issue is the startup panic?");
    assert_true(r.compressed);
    json_part_len(&r);
    assert_contains(&r, "Crash on startup: panic in config loader");
    hr_compress_result_free(&r);
    hr_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(needles_search_results),
        cmocka_unit_test(needles_db_rows),
        cmocka_unit_test(needles_api_nested),
        cmocka_unit_test(needles_metrics),
        cmocka_unit_test(diversity_adapts),
        cmocka_unit_test(small_and_mixed_arrays_pass),
        cmocka_unit_test(bad_input_never_compressed),
        cmocka_unit_test(huge_string_kept_whole),
        cmocka_unit_test(many_keys),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(duplicate_keys_and_huge_numbers_exact),
        cmocka_unit_test(minified_strings_verbatim),
        cmocka_unit_test(deterministic_and_one_closing_marker),
        cmocka_unit_test(knee_varied_array_keeps_the_cap),
        cmocka_unit_test(knee_repetitive_array_keeps_few),
        cmocka_unit_test(knee_near_duplicates_count_once),
        cmocka_unit_test(knee_relevance_fills_the_budget),
        cmocka_unit_test(needles_realistic_shapes),
        cmocka_unit_test(categorical_blip_and_regime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
