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

/* Bombs stop the moment a bound is crossed: the output never grows much past the point
 * of refusal, whatever the body would decode to. */
static void bombs_stop_at_the_first_bound(void **state)
{
    (void)state;
    size_t n = (size_t)64 << 20; /* 64 MB of zeros */
    char *zeros = calloc(1, n);
    size_t cap = n / 100;
    unsigned char *packed = malloc(cap);
    /* gzip (~1000x): the ratio check fires just past its 1 MiB floor */
    size_t glen = deflate_with(zeros, n, 31, packed, cap);
    hr_decode_limits lim = {(size_t)100 << 20, 100, (size_t)1 << 20, NULL};
    hr_buf out = HR_BUF_INIT;
    assert_int_equal(hr_decode_body_limited("gzip", (char *)packed, glen, &lim, &out), HR_DECODE_RATIO);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= (size_t)4 << 20);
    hr_buf_free(&out);
    /* zstd without a declared size: the same */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    size_t zlen = ZSTD_compress2(cc, packed, cap, zeros, n);
    assert_false(ZSTD_isError(zlen));
    assert_int_equal(hr_decode_body_limited("zstd", (char *)packed, zlen, &lim, &out), HR_DECODE_RATIO);
    assert_true(out.cap <= (size_t)4 << 20);
    hr_buf_free(&out);
    /* ... and with the ratio check off, max_out stops it one step past the limit */
    lim.max_ratio = 0;
    lim.max_out = (size_t)3 << 20;
    assert_int_equal(hr_decode_body_limited("zstd", (char *)packed, zlen, &lim, &out), HR_DECODE_TOO_LARGE);
    assert_true(out.cap <= (size_t)8 << 20);
    hr_buf_free(&out);
    /* a frame that declares its size is refused before any output */
    zlen = ZSTD_compress(packed, cap, zeros, n, 1);
    assert_int_equal(hr_decode_body_limited("zstd", (char *)packed, zlen, &lim, &out), HR_DECODE_TOO_LARGE);
    assert_int_equal(out.cap, 0);
    /* the budget: each step is reserved before it is written; a refusal keeps the total
     * under the limit and ending the lease gives it all back */
    hr_budget b;
    hr_budget_init(&b, (size_t)1 << 20);
    hr_budget_lease lease = HR_BUDGET_LEASE_INIT(&b);
    hr_decode_limits budgeted = {(size_t)100 << 20, 0, 0, &lease};
    assert_int_equal(hr_decode_body_limited("zstd", (char *)packed, zlen, &budgeted, &out),
                     HR_DECODE_BUDGET);
    assert_int_equal(out.len, 0);
    assert_true(hr_budget_used(&b) <= (size_t)1 << 20);
    assert_true(lease.held > 0);
    hr_budget_lease_end(&lease);
    assert_int_equal(hr_budget_used(&b), 0);
    hr_buf_free(&out);
    ZSTD_freeCCtx(cc);
    free(packed);
    free(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(limits_and_errors),
        cmocka_unit_test(bombs_stop_at_the_first_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
