/* test_compress_crusher.c: SmartCrusher on generated arrays (needles survive, output is
 * valid JSON in the original schema with one marker per crushed array) and on bad input
 * (truncated, very deep, huge strings, invalid UTF-8, duplicate keys, huge numbers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ccr/marker.h"
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

/* The JSON part of an output (everything before the first marker line) must parse. */
static size_t json_part_len(const hr_compress_result *r)
{
    hr_marker m;
    assert_true(hr_marker_find(r->out.data, r->out.len, 0, &m));
    assert_true(m.start > 0 && r->out.data[m.start - 1] == '\n');
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    assert_int_equal(hr_json_parse(&d, r->out.data, m.start - 1, &lim, &e), 0);
    hr_json_doc_free(&d);
    return m.start - 1;
}

static void assert_contains(const hr_compress_result *r, const char *needle)
{
    if (!memmem(r->out.data, r->out.len, needle, strlen(needle)))
        fail_msg("needle missing: %s", needle);
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
    assert_true(strncmp(r.out.data, "{\"data\":{\"orders\":[{", 20) == 0);
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
    assert_true(strncmp(r.out.data, "[{\"k0\":0,\"k1\":7,", 16) == 0);
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
    assert_non_null(memmem(r.out.data, r.out.len, "\"m99999\":[1,2,3],\"rows\":[{", 26));
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

static void deterministic_and_marker_per_array(void **state)
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
        assert_int_equal(m.total, 60);
        markers++;
        from = m.end;
    }
    assert_int_equal(markers, 2);
    assert_int_equal(x.units_total, 120);
    hr_compress_result_free(&x);
    hr_compress_result_free(&y);
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
        cmocka_unit_test(deterministic_and_marker_per_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
