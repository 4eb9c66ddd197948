/* JSON layer: validation (RFC 8259), validate-only mode, spans, accessors and foreach,
 * limits, writer, splice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json/json.h"

#include <stdlib.h>
#include <string.h>

static int parses(const char *s)
{
    hr_json_doc d;
    hr_json_error e;
    int rc = hr_json_parse(&d, s, strlen(s), NULL, &e);
    hr_json_doc_free(&d);
    return rc == 0;
}

static void accepts_valid_documents(void **state)
{
    (void)state;
    const char *ok[] = {
        "0", "-0", "1.5e+10", "-12.25E-3", "true", "false", "null", "\"\"", " [ ] ", "{}",
        "[1,[2,[3]],{\"a\":{\"b\":[]}}]", "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"",
        "{\"a\":1,\"a\":2}", "12345678901234567890123", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
        "\t\r\n{\"k\" : [ true , false , null ] }\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_true(parses(ok[i]));
}

static void rejects_invalid_documents(void **state)
{
    (void)state;
    const char *bad[] = {
        "", " ", "[", "]", "{", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
        "01", "1.", ".5", "-", "1e", "+1", "[1 2]", "tru", "nul", "\"abc", "\"\\x\"",
        "\"\\u12g4\"", "\"a\nb\"", "[1]x", "{}{}", "'a'", "NaN", "[\x01]", "\"\\",
        "{\"a\" 1}", "[\"a\",\"b\"", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hr_json_doc d;
        hr_json_error e = {0};
        assert_int_equal(hr_json_parse(&d, bad[i], strlen(bad[i]), NULL, &e), -1);
        assert_true(strlen(e.msg) > 0);
        assert_null(d.nodes);
    }
}

static void error_says_where_and_what(void **state)
{
    (void)state;
    const char *s = "{\"a\": [1, 2,, 3]}";
    hr_json_doc d;
    hr_json_error e;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, &e), -1);
    assert_int_equal(e.offset, 12);
    assert_non_null(strstr(e.msg, "unexpected character ','"));
    assert_non_null(strstr(e.msg, "byte 12"));
}

static void spans_cover_exact_source_text(void **state)
{
    (void)state;
    const char *s = "{ \"msgs\" : [ {\"role\":\"tool\",\"content\":\"x\\\"y\"}, 12.50e1 ] }";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    assert_int_equal(d.nodes[0].type, HR_JSON_OBJECT);
    assert_int_equal(d.nodes[0].start, 0);
    assert_int_equal(d.nodes[0].end, strlen(s));
    uint32_t msgs = hr_json_get(&d, 0, "msgs");
    assert_int_equal(d.nodes[msgs].type, HR_JSON_ARRAY);
    assert_int_equal(d.nodes[msgs].count, 2);
    assert_memory_equal(s + d.nodes[msgs].key_start, "\"msgs\"", 6);
    uint32_t num = hr_json_index(&d, msgs, 1);
    assert_int_equal(d.nodes[num].end - d.nodes[num].start, 7);
    assert_memory_equal(s + d.nodes[num].start, "12.50e1", 7);
    double v;
    assert_int_equal(hr_json_double(&d, num, &v), 0);
    assert_true(v == 125.0);
    uint32_t m0 = hr_json_index(&d, msgs, 0);
    assert_true(hr_json_string_eq(&d, hr_json_get(&d, m0, "role"), "tool"));
    uint32_t content = hr_json_get(&d, m0, "content");
    assert_true(d.nodes[content].flags & HR_JSON_F_ESCAPED);
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_json_string(&d, content, &b), 0);
    assert_string_equal(b.data, "x\"y");
    assert_int_equal(d.nodes[content].parent, m0);
    assert_int_equal(hr_json_index(&d, msgs, 2), HR_JSON_NONE);
    assert_int_equal(hr_json_get(&d, m0, "missing"), HR_JSON_NONE);
    hr_buf_free(&b);
    hr_json_doc_free(&d);
}

static void duplicate_keys_last_wins_and_escaped_keys_match(void **state)
{
    (void)state;
    const char *s = "{\"a\":1,\"\\u0061\":2,\"b\\n\":3}";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    int64_t v;
    assert_int_equal(hr_json_int64(&d, hr_json_get(&d, 0, "a"), &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(hr_json_int64(&d, hr_json_get(&d, 0, "b\n"), &v), 0);
    assert_int_equal(v, 3);
    hr_json_doc_free(&d);
}

static void huge_numbers_keep_their_text(void **state)
{
    (void)state;
    const char *s = "[12345678901234567890123,-0.000000000000000000001,1e400]";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    int64_t i;
    double x;
    assert_int_equal(hr_json_int64(&d, hr_json_index(&d, 0, 0), &i), -1);
    assert_int_equal(hr_json_double(&d, hr_json_index(&d, 0, 2), &x), -1);
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_json_write_minified(&b, &d, 0), 0);
    assert_string_equal(b.data, s);
    hr_buf_free(&b);
    hr_json_doc_free(&d);
}

static void deep_nesting_is_a_clear_error(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *s = malloc(depth * 2 + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[depth * 2] = '\0';
    hr_json_doc d;
    hr_json_error e;
    assert_int_equal(hr_json_parse(&d, s, depth * 2, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "nesting deeper than 512"));
    assert_int_equal(e.offset, 512);
    /* Exactly at the limit is fine. */
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_depth = 512;
    assert_int_equal(hr_json_parse(&d, s + depth - 512, 1024, &lim, &e), 0);
    assert_int_equal(d.n, 512);
    hr_json_doc_free(&d);
    free(s);
}

static void invalid_utf8_is_flagged_not_fatal(void **state)
{
    (void)state;
    const char s[] = "{\"ok\":\"caf\xc3\xa9\",\"bad\":\"a\xff\xfe z\",\"sur\":\"\xed\xa0\x80\"}";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, sizeof s - 1, NULL, NULL), 0);
    assert_true(d.bad_utf8);
    assert_false(d.nodes[hr_json_get(&d, 0, "ok")].flags & HR_JSON_F_BAD_UTF8);
    assert_true(d.nodes[hr_json_get(&d, 0, "bad")].flags & HR_JSON_F_BAD_UTF8);
    assert_true(d.nodes[hr_json_get(&d, 0, "sur")].flags & HR_JSON_F_BAD_UTF8);
    hr_json_doc_free(&d);
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.reject_bad_utf8 = 1;
    hr_json_error e;
    assert_int_equal(hr_json_parse(&d, s, sizeof s - 1, &lim, &e), -1);
    assert_non_null(strstr(e.msg, "invalid UTF-8"));
    /* Unpaired surrogate escapes cannot round-trip through UTF-8: flagged the same way;
     * a proper pair is fine. */
    const char *sur = "[\"\\ud800x\",\"\\udc00\",\"\\ud83d\\ude00\",\"\\ud83d\\u0041\"]";
    assert_int_equal(hr_json_parse(&d, sur, strlen(sur), NULL, NULL), 0);
    assert_true(d.nodes[hr_json_index(&d, 0, 0)].flags & HR_JSON_F_BAD_UTF8);
    assert_true(d.nodes[hr_json_index(&d, 0, 1)].flags & HR_JSON_F_BAD_UTF8);
    assert_false(d.nodes[hr_json_index(&d, 0, 2)].flags & HR_JSON_F_BAD_UTF8);
    assert_true(d.nodes[hr_json_index(&d, 0, 3)].flags & HR_JSON_F_BAD_UTF8);
    hr_json_doc_free(&d);
    assert_int_equal(hr_json_parse(&d, sur, strlen(sur), &lim, &e), -1);
    assert_non_null(strstr(e.msg, "unpaired surrogate escape"));
    /* Outside strings it is always a syntax error. */
    assert_int_equal(hr_json_parse(&d, "[1,\xff]", 5, NULL, &e), -1);
}

static void string_length_limit(void **state)
{
    (void)state;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_string = 4;
    hr_json_doc d;
    hr_json_error e;
    assert_int_equal(hr_json_parse(&d, "[\"abcd\"]", 8, &lim, &e), 0);
    hr_json_doc_free(&d);
    assert_int_equal(hr_json_parse(&d, "[\"abcde\"]", 9, &lim, &e), -1);
    assert_non_null(strstr(e.msg, "longer than the limit"));
    /* A limit is not a syntax error: callers must be able to say which it was. */
    assert_int_equal(e.kind, HR_JSON_ERR_LIMIT);
    assert_int_equal(hr_json_parse(&d, "[\"abcde\",]", 10, NULL, &e), -1);
    assert_int_equal(e.kind, HR_JSON_ERR_SYNTAX);
    lim = (hr_json_limits)HR_JSON_LIMITS_DEFAULT;
    lim.max_depth = 2;
    assert_int_equal(hr_json_parse(&d, "[[[1]]]", 7, &lim, &e), -1);
    assert_int_equal(e.kind, HR_JSON_ERR_LIMIT);
    lim = (hr_json_limits)HR_JSON_LIMITS_DEFAULT;
    lim.max_nodes = 2;
    assert_int_equal(hr_json_parse(&d, "[1,2,3]", 7, &lim, &e), -1);
    assert_int_equal(e.kind, HR_JSON_ERR_LIMIT);
}

static void writer_escapes_and_round_trips(void **state)
{
    (void)state;
    const char raw[] = "q\"b\\s/\n\r\t\b\f\x01\x1f \xc3\xa9";
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_json_write_string(&b, raw, sizeof raw - 1), 0);
    assert_string_equal(b.data, "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f \xc3\xa9\"");
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, b.data, b.len, NULL, NULL), 0);
    hr_buf back = HR_BUF_INIT;
    assert_int_equal(hr_json_string(&d, 0, &back), 0);
    assert_int_equal(back.len, sizeof raw - 1);
    assert_memory_equal(back.data, raw, back.len);
    hr_json_doc_free(&d);
    hr_buf_free(&b);
    hr_buf_free(&back);
}

static void unescape_handles_surrogates(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    const char *esc = "\\ud83d\\ude00|\\ud800x|\\u20ac";
    assert_int_equal(hr_json_unescape(esc, strlen(esc), &b), 0);
    assert_string_equal(b.data, "\xf0\x9f\x98\x80|\xef\xbf\xbdx|\xe2\x82\xac");
    hr_buf_free(&b);
}

static void minified_keeps_strings_intact(void **state)
{
    (void)state;
    const char *s = "{ \"a b\" : [ 1 , \"x \\\" y\" ,\n\t{ } ] }";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_json_write_minified(&b, &d, 0), 0);
    assert_string_equal(b.data, "{\"a b\":[1,\"x \\\" y\",{}]}");
    hr_buf_free(&b);
    hr_json_doc_free(&d);
}

static void splice_replaces_only_the_spans(void **state)
{
    (void)state;
    const char *s = "{\"a\":\"one\",\"b\":\"two\",\"c\":3}";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    uint32_t a = hr_json_get(&d, 0, "a"), b = hr_json_get(&d, 0, "b");
    hr_json_edit edits[] = {
        {d.nodes[b].start, d.nodes[b].end, "\"TWO!\"", 6},
        {d.nodes[a].start, d.nodes[a].end, "1", 1},
    };
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_json_splice(s, strlen(s), edits, 2, &out), 0);
    assert_string_equal(out.data, "{\"a\":1,\"b\":\"TWO!\",\"c\":3}");
    hr_buf_reset(&out);
    hr_json_edit overlap[] = {{1, 5, "x", 1}, {4, 6, "y", 1}};
    assert_int_equal(hr_json_splice(s, strlen(s), overlap, 2, &out), -1);
    hr_json_edit past[] = {{1, 500, "x", 1}};
    assert_int_equal(hr_json_splice(s, strlen(s), past, 1, &out), -1);
    hr_buf_free(&out);
    hr_json_doc_free(&d);
}

static void truncations_of_a_valid_body_all_fail_cleanly(void **state)
{
    (void)state;
    const char *s = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9\"},"
                    "{\"role\":\"tool\",\"content\":[1,2.5,-3e2,true,false,null]}]}";
    size_t n = strlen(s);
    for (size_t cut = 0; cut < n; cut++) {
        hr_json_doc d;
        hr_json_error e;
        assert_int_equal(hr_json_parse(&d, s, cut, NULL, &e), -1);
    }
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, n, NULL, NULL), 0);
    hr_json_doc_free(&d);
}

/* Validate-only mode answers as the parser does on every document above, and with an end
 * pointer stops right after the first value. */
static int validates(const char *s)
{
    hr_json_error e = {0};
    int rc = hr_json_validate(s, strlen(s), NULL, NULL, &e);
    if (rc != 0)
        assert_true(strlen(e.msg) > 0);
    return rc == 0;
}

static void validate_only_agrees_with_parse(void **state)
{
    (void)state;
    const char *docs[] = {
        "0", "[1,[2,[3]],{\"a\":{\"b\":[]}}]", "\"\\ud800\"", "{\"a\":1,}", "[1]x",
        "\"\\u12g4\"", "\"\xff\"", "\xef\xbb\xbf{}", "", " {\"k\" : [ true , null ] }\n",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_int_equal(validates(docs[i]), parses(docs[i]));
    /* limits apply the same way: depth 3 refuses four levels, with the limit's kind */
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    lim.max_depth = 3;
    hr_json_error e;
    assert_int_equal(hr_json_validate("[[[1]]]", 7, &lim, NULL, &e), 0);
    assert_int_equal(hr_json_validate("[[[[1]]]]", 9, &lim, NULL, &e), -1);
    assert_int_equal(e.kind, HR_JSON_ERR_LIMIT);
}

static void validate_stops_after_the_first_value(void **state)
{
    (void)state;
    size_t end = 0;
    const char *a = "{\"a\":[1,\"}\"]} and then prose";
    assert_int_equal(hr_json_validate(a, strlen(a), NULL, &end, NULL), 0);
    assert_int_equal(end, strlen("{\"a\":[1,\"}\"]}"));
    const char *b = "  [1, 2]\n{not json";
    assert_int_equal(hr_json_validate(b, strlen(b), NULL, &end, NULL), 0);
    assert_int_equal(end, 8);
    const char *c = "[1, 2\n] trailing";
    assert_int_equal(hr_json_validate(c, 5, NULL, &end, NULL), -1); /* cut before the ] */
    assert_int_equal(hr_json_validate(c, strlen(c), NULL, NULL, NULL), -1); /* whole: no */
    const char *d = "{\"a\" 1} x";
    assert_int_equal(hr_json_validate(d, strlen(d), NULL, &end, NULL), -1);
}

static void foreach_and_typed_accessors(void **state)
{
    (void)state;
    const char *s = "{\"n\":3,\"list\":[10,\"x\",{\"k\":\"v\"}],\"obj\":{\"a\":1,\"b\":2},\"s\":\"t\"}";
    hr_json_doc d;
    assert_int_equal(hr_json_parse(&d, s, strlen(s), NULL, NULL), 0);
    uint32_t list = hr_json_get_arr(&d, 0, "list");
    assert_int_not_equal(list, HR_JSON_NONE);
    assert_int_equal(hr_json_len(&d, list), 3);
    uint32_t i = 0;
    HR_JSON_ARR_FOREACH(&d, list, it) {
        assert_int_equal(it, hr_json_index(&d, list, i));
        i++;
    }
    assert_int_equal(i, 3);
    const char *keys[] = {"a", "b"};
    i = 0;
    HR_JSON_OBJ_FOREACH(&d, hr_json_get_obj(&d, 0, "obj"), m)
        assert_true(hr_json_key_eq(&d, m, keys[i++]));
    assert_int_equal(i, 2);
    /* the typed forms make no pass over the other container type, NONE or a scalar */
    HR_JSON_OBJ_FOREACH(&d, list, it) fail();
    HR_JSON_ARR_FOREACH(&d, HR_JSON_NONE, it) fail();
    HR_JSON_FOREACH(&d, hr_json_get(&d, 0, "n"), it) fail();
    /* typed lookups: the wrong type and a missing link are both NONE, and chain */
    assert_int_equal(hr_json_get_str(&d, 0, "n"), HR_JSON_NONE);
    assert_int_equal(hr_json_get_arr(&d, 0, "obj"), HR_JSON_NONE);
    assert_true(hr_json_string_eq(&d, hr_json_get_str(&d, 0, "s"), "t"));
    assert_int_equal(hr_json_get_str(&d, hr_json_get_obj(&d, 0, "missing"), "k"), HR_JSON_NONE);
    uint32_t inner = hr_json_index(&d, list, 2);
    assert_true(hr_json_string_eq(&d, hr_json_get_str(&d, inner, "k"), "v"));
    assert_int_equal(hr_json_type_of(&d, HR_JSON_NONE), -1);
    assert_int_equal(hr_json_type_of(&d, d.n), -1);
    assert_int_equal(hr_json_len(&d, hr_json_get(&d, 0, "n")), 0);
    assert_int_equal(hr_json_len(&d, HR_JSON_NONE), 0);
    assert_true(hr_json_is(&d, 0, HR_JSON_OBJECT));
    hr_json_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_valid_documents),
        cmocka_unit_test(rejects_invalid_documents),
        cmocka_unit_test(error_says_where_and_what),
        cmocka_unit_test(spans_cover_exact_source_text),
        cmocka_unit_test(duplicate_keys_last_wins_and_escaped_keys_match),
        cmocka_unit_test(huge_numbers_keep_their_text),
        cmocka_unit_test(deep_nesting_is_a_clear_error),
        cmocka_unit_test(invalid_utf8_is_flagged_not_fatal),
        cmocka_unit_test(string_length_limit),
        cmocka_unit_test(writer_escapes_and_round_trips),
        cmocka_unit_test(unescape_handles_surrogates),
        cmocka_unit_test(minified_keeps_strings_intact),
        cmocka_unit_test(splice_replaces_only_the_spans),
        cmocka_unit_test(truncations_of_a_valid_body_all_fail_cleanly),
        cmocka_unit_test(validate_only_agrees_with_parse),
        cmocka_unit_test(validate_stops_after_the_first_value),
        cmocka_unit_test(foreach_and_typed_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
