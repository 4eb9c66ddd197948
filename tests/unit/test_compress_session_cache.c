/* test_compress_session_cache.c: the replay cache's bounds (entries and bytes per
 * session, bytes over all sessions, number of sessions), LRU order, round trips of
 * decisions, texts and original put times, and cache mode's per-session prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compress/session_cache.h"

#include <stdio.h>
#include <string.h>

static void hash_of(int i, char out[HR_CONTENT_HASH_HEX + 1])
{
    snprintf(out, HR_CONTENT_HASH_HEX + 1, "%024x", (unsigned)i);
}

static void put_text(hr_session_cache *c, const char *sess, int i, size_t len)
{
    char h[HR_CONTENT_HASH_HEX + 1], text[4096];
    hash_of(i, h);
    memset(text, 'a' + i % 26, sizeof text);
    hr_span_decision d = {1, 100 + i, 10 + i, "smart_crusher", 50, 5};
    assert_int_equal(hr_session_cache_put(c, sess, h, &d, text, len, 1000 + i), 0);
}

static int has(hr_session_cache *c, const char *sess, int i)
{
    char h[HR_CONTENT_HASH_HEX + 1];
    hash_of(i, h);
    hr_span_decision d;
    hr_buf t = HR_BUF_INIT;
    int rc = hr_session_cache_get(c, sess, h, &d, &t, NULL);
    hr_buf_free(&t);
    return rc;
}

static void round_trip(void **state)
{
    (void)state;
    hr_session_cache *c = hr_session_cache_new(4, 16, 0, 0);
    put_text(c, "s", 3, 100);
    char h[HR_CONTENT_HASH_HEX + 1];
    hash_of(3, h);
    hr_span_decision d;
    hr_buf t = HR_BUF_INIT;
    long long stored = 0;
    assert_int_equal(hr_session_cache_get(c, "s", h, &d, &t, &stored), 1);
    assert_true(d.compressed);
    assert_int_equal(stored, 1003);
    /* a replay that stored the original again moves its put time; unknown entries no-op */
    hr_session_cache_mark_stored(c, "s", h, 5000);
    hr_session_cache_mark_stored(c, "other", h, 9000);
    hr_buf_reset(&t);
    assert_int_equal(hr_session_cache_get(c, "s", h, &d, &t, &stored), 1);
    assert_int_equal(stored, 5000);
    assert_int_equal(t.len, 100);
    assert_int_equal(d.tokens_before, 103);
    assert_int_equal(d.tokens_after, 13);
    assert_string_equal(d.compressor, "smart_crusher");
    assert_int_equal(t.len, 100);
    assert_int_equal(t.data[0], 'd');
    /* another session does not see it; a "left as is" decision carries no text */
    assert_int_equal(has(c, "other", 3), 0);
    hr_span_decision keep = {0, 7, 7, NULL, 0, 0};
    assert_int_equal(hr_session_cache_put(c, "s", h, &keep, "ignored", 7, 0), 0);
    hr_buf_reset(&t);
    assert_int_equal(hr_session_cache_get(c, "s", h, &d, &t, NULL), 1);
    assert_false(d.compressed);
    assert_int_equal(t.len, 0);
    hr_buf_free(&t);
    /* prefix per session */
    assert_int_equal(hr_session_cache_prefix(c, "s"), 0);
    hr_session_cache_set_prefix(c, "s", 12);
    assert_int_equal(hr_session_cache_prefix(c, "s"), 12);
    assert_int_equal(hr_session_cache_prefix(c, "other"), 0);
    hr_session_cache_free(c);
}

static void entry_and_byte_bounds_are_lru(void **state)
{
    (void)state;
    hr_session_cache *c = hr_session_cache_new(4, 3, 1000, 0);
    put_text(c, "s", 1, 10);
    put_text(c, "s", 2, 10);
    put_text(c, "s", 3, 10);
    assert_int_equal(has(c, "s", 1), 1); /* touch 1: 2 is now the oldest */
    put_text(c, "s", 4, 10);
    assert_int_equal(has(c, "s", 2), 0);
    assert_int_equal(has(c, "s", 1), 1);
    assert_int_equal(has(c, "s", 4), 1);
    /* bytes: a 900-byte text pushes out older ones until the session is under 1000 */
    put_text(c, "s", 5, 900);
    size_t sessions, entries, bytes;
    hr_session_cache_counts(c, &sessions, &entries, &bytes);
    assert_true(bytes <= 1000);
    assert_int_equal(has(c, "s", 5), 1);
    /* a text larger than the session bound is not remembered at all */
    put_text(c, "s", 6, 1001);
    assert_int_equal(has(c, "s", 6), 0);
    hr_session_cache_free(c);
}

static void total_bytes_and_session_count_bounded(void **state)
{
    (void)state;
    hr_session_cache *c = hr_session_cache_new(3, 100, 4096, 5000);
    char sess[16];
    for (int i = 0; i < 6; i++) {
        snprintf(sess, sizeof sess, "s%d", i);
        put_text(c, sess, i, 2000);
        size_t sessions, entries, bytes;
        hr_session_cache_counts(c, &sessions, &entries, &bytes);
        assert_true(bytes <= 5000);
        assert_true(sessions <= 3);
    }
    assert_int_equal(has(c, "s5", 5), 1); /* the newest survives */
    assert_int_equal(has(c, "s4", 4), 1);
    assert_int_equal(has(c, "s0", 0), 0); /* the oldest went */
    hr_session_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(entry_and_byte_bounds_are_lru),
        cmocka_unit_test(total_bytes_and_session_count_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
