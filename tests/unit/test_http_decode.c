/* Unit tests for src/http/decode.c: gzip, deflate (zlib + raw), zstd, limits, corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/decode.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static char *sample(size_t n)
{
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)("{\"messages\":[\"log line 42\"]}"[i % 27] + (i / 1000 % 3));
    return s;
}

/* window_bits: 31 gzip, 15 zlib, -15 raw deflate */
static size_t deflate_with(const char *in, size_t n, int window_bits, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

static void round_trips(void **state)
{
    (void)state;
    size_t n = 300000;
    char *plain = sample(n);
    size_t cap = n + 1024;
    unsigned char *packed = malloc(cap);
    struct { const char *enc; int wbits; } cases[] = {{"gzip", 31}, {"x-gzip", 31}, {"deflate", 15}, {"DEFLATE", -15}};
    for (size_t i = 0; i < 4; i++) {
        size_t len = deflate_with(plain, n, cases[i].wbits, packed, cap);
        hr_buf out = HR_BUF_INIT;
        assert_int_equal(hr_decode_body(cases[i].enc, (char *)packed, len, n, &out), HR_DECODE_OK);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, plain, n);
        hr_buf_free(&out);
    }
    size_t zlen = ZSTD_compress(packed, cap, plain, n, 3);
    assert_false(ZSTD_isError(zlen));
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_decode_body("zstd", (char *)packed, zlen, n, &out), HR_DECODE_OK);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, plain, n);
    hr_buf_free(&out);
    free(packed);
    free(plain);
}

static void limits_and_errors(void **state)
{
    (void)state;
    size_t n = 200000;
    char *plain = sample(n);
    unsigned char *packed = malloc(n);
    size_t len = deflate_with(plain, n, 31, packed, n);
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_decode_body("gzip", (char *)packed, len, n - 1, &out), HR_DECODE_TOO_LARGE);
    assert_int_equal(out.len, 0);
    assert_int_equal(hr_decode_body("gzip", (char *)packed, len / 2, n, &out), HR_DECODE_CORRUPT);
    assert_int_equal(hr_decode_body("gzip", "plain text", 10, n, &out), HR_DECODE_CORRUPT);
    size_t zlen = ZSTD_compress(packed, n, plain, n, 1);
    assert_int_equal(hr_decode_body("zstd", (char *)packed, zlen, 1000, &out), HR_DECODE_TOO_LARGE);
    assert_int_equal(hr_decode_body("zstd", (char *)packed, zlen - 5, n, &out), HR_DECODE_CORRUPT);
    assert_int_equal(hr_decode_body("zstd", "nope", 4, n, &out), HR_DECODE_CORRUPT);
    assert_int_equal(hr_decode_body("br", "x", 1, n, &out), HR_DECODE_UNSUPPORTED);
    assert_int_equal(hr_decode_body(NULL, "x", 1, n, &out), HR_DECODE_IDENTITY);
    assert_int_equal(hr_decode_body("identity", "x", 1, n, &out), HR_DECODE_IDENTITY);
    assert_int_equal(out.len, 0);
    hr_buf_free(&out);
    free(packed);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(limits_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
