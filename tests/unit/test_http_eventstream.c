/* Unit tests for src/http/eventstream.c against AWS's own codec: the messages in
 * eventstream_vectors.h were encoded by @smithy/eventstream-codec (tests/node/
 * eventstream_vectors.mjs). The decoder must read them in any chunking, refuse corrupted
 * or oversized frames for good, and the encoder must write the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/eventstream.h"
#include "unit/eventstream_vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

typedef struct seen {
    size_t n;
    char payloads[8][512];
    char types[8][32];
    size_t n_headers[8];
} seen;

static void record(void *user, const hr_es_message *m)
{
    seen *s = user;
    if (s->n >= 8)
        return;
    snprintf(s->payloads[s->n], sizeof s->payloads[0], "%.*s", (int)m->payload_len,
             (const char *)m->payload);
    size_t k;
    const char *t = hr_es_header_string(m, ":message-type", &k);
    snprintf(s->types[s->n], sizeof s->types[0], "%.*s", t ? (int)k : 4, t ? t : "none");
    s->n_headers[s->n] = m->n_headers;
    s->n++;
}

/* All vectors back to back, fed in pieces of every size from 1 to 64 bytes. */
static void test_decode_any_chunking(void **state)
{
    (void)state;
    size_t nv = sizeof ES_VECTORS / sizeof ES_VECTORS[0];
    uint8_t *all = malloc(8192);
    size_t len = 0;
    for (size_t i = 0; i < nv; i++)
        len += unhex(ES_VECTORS[i].hex, all + len);
    for (size_t piece = 1; piece <= 64; piece++) {
        seen s = {0};
        hr_es_decoder d;
        hr_es_decoder_init(&d, record, &s, 0);
        for (size_t i = 0; i < len; i += piece)
            assert_int_equal(hr_es_feed(&d, all + i, len - i < piece ? len - i : piece), 0);
        assert_int_equal(s.n, nv);
        for (size_t i = 0; i < nv; i++) {
            assert_string_equal(s.payloads[i], ES_VECTORS[i].payload);
            assert_string_equal(s.types[i], ES_VECTORS[i].message_type ? ES_VECTORS[i].message_type : "none");
            assert_int_equal(s.n_headers[i], (size_t)ES_VECTORS[i].n_headers);
        }
        assert_int_equal(d.pending.len, 0);
        hr_es_decoder_free(&d);
    }
    free(all);
}

static void test_event_type_header(void **state)
{
    (void)state;
    uint8_t b[2048];
    for (size_t i = 0; i < sizeof ES_VECTORS / sizeof ES_VECTORS[0]; i++) {
        size_t n = unhex(ES_VECTORS[i].hex, b);
        hr_es_message m;
        assert_int_equal(hr_es_parse_message(b, n, &m), 0);
        size_t k;
        const char *t = hr_es_header_string(&m, ":event-type", &k);
        if (!ES_VECTORS[i].event_type) {
            assert_null(t);
            continue;
        }
        assert_int_equal(k, strlen(ES_VECTORS[i].event_type));
        assert_memory_equal(t, ES_VECTORS[i].event_type, k);
    }
}

static void test_corruption_stops_decoding(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t n = unhex(ES_VECTORS[0].hex, b);
    size_t flips[] = {2, 9, 20, n - 10, n - 1}; /* prelude, prelude CRC, header, payload, CRC */
    for (size_t f = 0; f < sizeof flips / sizeof flips[0]; f++) {
        uint8_t c[2048];
        memcpy(c, b, n);
        c[flips[f]] ^= 0x40;
        seen s = {0};
        hr_es_decoder d;
        hr_es_decoder_init(&d, record, &s, 0);
        int rc = hr_es_feed(&d, c, n);
        assert_int_equal(rc, -1);
        assert_int_equal(s.n, 0);
        assert_int_equal(hr_es_feed(&d, b, n), -1); /* latched: a good frame after is not read */
        assert_int_equal(s.n, 0);
        hr_es_decoder_free(&d);
    }
}

static void test_oversize_refused_before_buffering(void **state)
{
    (void)state;
    uint8_t b[2048];
    size_t n = unhex(ES_VECTORS[0].hex, b);
    seen s = {0};
    hr_es_decoder d;
    hr_es_decoder_init(&d, record, &s, n - 1);
    assert_int_equal(hr_es_feed(&d, b, 12), -1); /* the prelude alone says it is too large */
    assert_int_equal(d.pending.cap, 0);
    hr_es_decoder_free(&d);
}

static void test_encode_matches_aws_codec(void **state)
{
    (void)state;
    /* vectors 0..2 have only string headers, in the order written here */
    const hr_es_string_header h0[] = {{":event-type", "chunk"}, {":content-type", "application/json"},
                                      {":message-type", "event"}};
    const hr_es_string_header h1[] = {{":exception-type", "throttlingException"},
                                      {":content-type", "application/json"},
                                      {":message-type", "exception"}};
    const hr_es_string_header h2[] = {{":message-type", "event"}, {":event-type", "messageStop"}};
    const hr_es_string_header *hs[] = {h0, h1, h2};
    size_t ns[] = {3, 3, 2};
    for (size_t i = 0; i < 3; i++) {
        uint8_t want[2048];
        size_t n = unhex(ES_VECTORS[i].hex, want);
        hr_buf out = HR_BUF_INIT;
        assert_int_equal(hr_buf_puts(&out, "prefix"), 0); /* appends, keeps what was there */
        assert_int_equal(hr_es_encode(&out, hs[i], ns[i], ES_VECTORS[i].payload,
                                      strlen(ES_VECTORS[i].payload)), 0);
        assert_int_equal(out.len, n + 6);
        assert_memory_equal(out.data + 6, want, n);
        hr_buf_free(&out);
    }
    hr_buf out = HR_BUF_INIT;
    const hr_es_string_header empty_name[] = {{"", "x"}};
    assert_int_equal(hr_es_encode(&out, empty_name, 1, "", 0), -1);
    hr_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_any_chunking),
        cmocka_unit_test(test_event_type_header),
        cmocka_unit_test(test_corruption_stops_decoding),
        cmocka_unit_test(test_oversize_refused_before_buffering),
        cmocka_unit_test(test_encode_matches_aws_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
