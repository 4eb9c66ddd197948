/* kernels_avx512.c: the int8-weight matmul for CPUs with AVX-512 VNNI (the only kernel that
 * differs from the AVX2 table; kernels.c builds that table from the AVX2 one).
 *
 * Why a third path: vpdpwssd multiplies 32 int16 activation/weight pairs and accumulates
 * into int32 in one instruction, where AVX2 needs madd + add for 16. Same panel scheme as
 * kernels_avx2.c (int8 weights widened once per group of 4 output features, reused by
 * every activation row), 4 x 4 tiles in 16 of the 32 zmm registers. The sums are exact, so
 * results stay bit-identical to the scalar and AVX2 paths (tests/unit/test_ml_kernels.c).
 * Compiled with target attributes; called only after kernels.c checked the CPU.
 */
#include "ml/kernels_internal.h"

#ifdef HR_HAVE_AVX512_KERNELS

#include <immintrin.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

#define PANEL_K_MAX 2048

/* {sum a, sum b, sum c, sum d} with unpack + add only: those have EVEX forms, so the
 * accumulators may live in zmm16-31 (vphaddd is VEX-only; using it made GCC copy all 16
 * accumulators into the low registers on every loop iteration). */
VNNI static inline __m256i fold256(__m512i a)
{
    return _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
}

VNNI static inline __m128i hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m256i a8 = fold256(a), b8 = fold256(b), c8 = fold256(c), d8 = fold256(d);
    __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a8, b8), _mm256_unpackhi_epi32(a8, b8));
    __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c8, d8), _mm256_unpackhi_epi32(c8, d8));
    __m256i s = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

static int32_t dot_tail(const int16_t *a, const int8_t *w, int from, int k)
{
    int32_t acc = 0;
    for (int i = from; i < k; i++)
        acc += (int32_t)a[i] * (int32_t)w[i];
    return acc;
}

/* y[n..n+4) for one row: the operations of hr_q8_finish, four at a time. */
VNNI static inline void finish4(__m128i acc, float xs, const hr_qlinear *W, int n, float *y)
{
    __m128 s = _mm_mul_ps(_mm_set1_ps(xs), _mm_loadu_ps(W->w_scale + n));
    __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(acc), s);
    if (W->bias)
        v = _mm_add_ps(v, _mm_loadu_ps(W->bias + n));
    _mm_storeu_ps(y, v);
}

/* Rows r .. r+3 (clamped to m by repeating the last row) against one 4-feature panel. */
VNNI static void tile_4x4(const int16_t *xq, int m, int r, int k, int kv, const int16_t *panel,
                          const int8_t *w0, const float *xs, const hr_qlinear *W, int n, float *y)
{
    const int16_t *a[4];
    for (int q = 0; q < 4; q++)
        a[q] = xq + (size_t)(r + q < m ? r + q : m - 1) * k;
    const int16_t *p0 = panel, *p1 = p0 + kv, *p2 = p1 + kv, *p3 = p2 + kv;
    const int16_t *x0 = a[0], *x1 = a[1], *x2 = a[2], *x3 = a[3];
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
            c31 = c00, c32 = c00, c33 = c00;
    for (int i = 0; i < kv; i += 32) {
        __m512i w_0 = _mm512_load_si512(p0 + i), w_1 = _mm512_load_si512(p1 + i);
        __m512i w_2 = _mm512_load_si512(p2 + i), w_3 = _mm512_load_si512(p3 + i);
        __m512i y0 = _mm512_loadu_si512(x0 + i), y1 = _mm512_loadu_si512(x1 + i);
        __m512i y2 = _mm512_loadu_si512(x2 + i), y3 = _mm512_loadu_si512(x3 + i);
        /* Explicit asm: GCC 12 otherwise copies the tied accumulators between registers
         * on every iteration (measured: 27 moves per 16 vpdpwssd). Two blocks because
         * an asm statement takes at most 30 operands. */
#define HR_DPWSSD_2ROWS(ca0, ca1, ca2, ca3, cb0, cb1, cb2, cb3, ya, yb)                  \
        __asm__("vpdpwssd %[w0], %[xa], %[a0]\n\t"                                      \
                "vpdpwssd %[w1], %[xa], %[a1]\n\t"                                      \
                "vpdpwssd %[w2], %[xa], %[a2]\n\t"                                      \
                "vpdpwssd %[w3], %[xa], %[a3]\n\t"                                      \
                "vpdpwssd %[w0], %[xb], %[b0]\n\t"                                      \
                "vpdpwssd %[w1], %[xb], %[b1]\n\t"                                      \
                "vpdpwssd %[w2], %[xb], %[b2]\n\t"                                      \
                "vpdpwssd %[w3], %[xb], %[b3]"                                            \
                : [a0] "+v"(ca0), [a1] "+v"(ca1), [a2] "+v"(ca2), [a3] "+v"(ca3),         \
                  [b0] "+v"(cb0), [b1] "+v"(cb1), [b2] "+v"(cb2), [b3] "+v"(cb3)          \
                : [w0] "v"(w_0), [w1] "v"(w_1), [w2] "v"(w_2), [w3] "v"(w_3), [xa] "v"(ya), \
                  [xb] "v"(yb))
        HR_DPWSSD_2ROWS(c00, c01, c02, c03, c10, c11, c12, c13, y0, y1);
        HR_DPWSSD_2ROWS(c20, c21, c22, c23, c30, c31, c32, c33, y2, y3);
#undef HR_DPWSSD_2ROWS
    }
    __m128i s[4] = {hsum4_epi32(c00, c01, c02, c03), hsum4_epi32(c10, c11, c12, c13),
                    hsum4_epi32(c20, c21, c22, c23), hsum4_epi32(c30, c31, c32, c33)};
    for (int q = 0; q < 4 && r + q < m; q++) {
        if (kv < k) {
            int32_t t[4];
            for (int u = 0; u < 4; u++)
                t[u] = dot_tail(a[q], w0 + (size_t)u * k, kv, k);
            s[q] = _mm_add_epi32(s[q], _mm_loadu_si128((const __m128i *)(const void *)t));
        }
        finish4(s[q], xs[r + q], W, n, y + (size_t)(r + q) * W->rows + n);
    }
}

VNNI void hr_matmul_cols_avx512vnni(const int16_t *xq, const float *xs, int m, const hr_qlinear *W,
                                    int n0, int n1, float *y)
{
    const int k = W->cols, kv = k / 32 * 32;
    if (k > PANEL_K_MAX || kv == 0) {
        hr_kernel_ops_avx2.matmul_cols(xq, xs, m, W, n0, n1, y);
        return;
    }
    _Alignas(64) int16_t panel[4 * PANEL_K_MAX];
    const int n4 = n0 + (n1 - n0) / 4 * 4;
    for (int n = n0; n < n4; n += 4) {
        const int8_t *w0 = W->w + (size_t)n * k;
        for (int u = 0; u < 4; u++)
            for (int i = 0; i < kv; i += 32)
                _mm512_store_si512(panel + u * kv + i,
                                   _mm512_cvtepi8_epi16(_mm256_loadu_si256(
                                       (const __m256i *)(const void *)(w0 + (size_t)u * k + i))));
        for (int r = 0; r < m; r += 4)
            tile_4x4(xq, m, r, k, kv, panel, w0, xs, W, n, y);
    }
    if (n4 < n1) /* fewer than 4 features left */
        hr_kernel_ops_avx2.matmul_cols(xq, xs, m, W, n4, n1, y);
}

/* ---- uint8 activations: vpdpbusd ---------------------------------------------------- */

static int32_t dot_tail_u8(const uint8_t *a, const int8_t *w, int from, int k)
{
    int32_t acc = 0;
    for (int i = from; i < k; i++)
        acc += (int32_t)a[i] * (int32_t)w[i];
    return acc;
}

/* Sums of the 4 weight rows at w0 (stride k), for the zero-point correction. */
VNNI static __m128i row_sums4(const int8_t *w0, int k, int kv)
{
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i a[4];
    for (int u = 0; u < 4; u++) {
        const int8_t *w = w0 + (size_t)u * k;
        a[u] = _mm512_setzero_si512();
        for (int i = 0; i < kv; i += 64)
            a[u] = _mm512_dpbusd_epi32(a[u], ones, _mm512_loadu_si512(w + i));
    }
    __m128i s = hsum4_epi32(a[0], a[1], a[2], a[3]);
    if (kv < k) {
        int32_t t[4];
        for (int u = 0; u < 4; u++) {
            t[u] = 0;
            for (int i = kv; i < k; i++)
                t[u] += w0[(size_t)u * k + i];
        }
        s = _mm_add_epi32(s, _mm_loadu_si128((const __m128i *)(const void *)t));
    }
    return s;
}

/* Rows r .. r+3 (clamped to m by repeating the last row) against 4 weight rows read
 * straight from the mapping: vpdpbusd takes int8 weights as they are, so unlike the int16
 * path there is no widened panel to build (which cost short sequences up to half their
 * matmul time). */
VNNI static void tile_u8_4x4(const uint8_t *xu, const int32_t *zp, int m, int r, int k, int kv,
                             const int8_t *w0, __m128i wsum, const float *xs, const hr_qlinear *W,
                             int n, float *y)
{
    const uint8_t *a[4];
    for (int q = 0; q < 4; q++)
        a[q] = xu + (size_t)(r + q < m ? r + q : m - 1) * k;
    const int8_t *p0 = w0, *p1 = p0 + k, *p2 = p1 + k, *p3 = p2 + k;
    const uint8_t *x0 = a[0], *x1 = a[1], *x2 = a[2], *x3 = a[3];
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
            c31 = c00, c32 = c00, c33 = c00;
    for (int i = 0; i < kv; i += 64) {
        __m512i w_0 = _mm512_loadu_si512(p0 + i), w_1 = _mm512_loadu_si512(p1 + i);
        __m512i w_2 = _mm512_loadu_si512(p2 + i), w_3 = _mm512_loadu_si512(p3 + i);
        __m512i y0 = _mm512_loadu_si512(x0 + i), y1 = _mm512_loadu_si512(x1 + i);
        __m512i y2 = _mm512_loadu_si512(x2 + i), y3 = _mm512_loadu_si512(x3 + i);
        /* asm for the same reason as tile_4x4; AT&T order: weights (signed), activations
         * (unsigned), accumulator */
#define HR_DPBUSD_2ROWS(ca0, ca1, ca2, ca3, cb0, cb1, cb2, cb3, ya, yb)                  \
        __asm__("vpdpbusd %[w0], %[xa], %[a0]\n\t"                                      \
                "vpdpbusd %[w1], %[xa], %[a1]\n\t"                                      \
                "vpdpbusd %[w2], %[xa], %[a2]\n\t"                                      \
                "vpdpbusd %[w3], %[xa], %[a3]\n\t"                                      \
                "vpdpbusd %[w0], %[xb], %[b0]\n\t"                                      \
                "vpdpbusd %[w1], %[xb], %[b1]\n\t"                                      \
                "vpdpbusd %[w2], %[xb], %[b2]\n\t"                                      \
                "vpdpbusd %[w3], %[xb], %[b3]"                                            \
                : [a0] "+v"(ca0), [a1] "+v"(ca1), [a2] "+v"(ca2), [a3] "+v"(ca3),         \
                  [b0] "+v"(cb0), [b1] "+v"(cb1), [b2] "+v"(cb2), [b3] "+v"(cb3)          \
                : [w0] "v"(w_0), [w1] "v"(w_1), [w2] "v"(w_2), [w3] "v"(w_3), [xa] "v"(ya), \
                  [xb] "v"(yb))
        HR_DPBUSD_2ROWS(c00, c01, c02, c03, c10, c11, c12, c13, y0, y1);
        HR_DPBUSD_2ROWS(c20, c21, c22, c23, c30, c31, c32, c33, y2, y3);
#undef HR_DPBUSD_2ROWS
    }
    __m128i s[4] = {hsum4_epi32(c00, c01, c02, c03), hsum4_epi32(c10, c11, c12, c13),
                    hsum4_epi32(c20, c21, c22, c23), hsum4_epi32(c30, c31, c32, c33)};
    for (int q = 0; q < 4 && r + q < m; q++) {
        if (kv < k) {
            int32_t t[4];
            for (int u = 0; u < 4; u++)
                t[u] = dot_tail_u8(a[q], w0 + (size_t)u * k, kv, k);
            s[q] = _mm_add_epi32(s[q], _mm_loadu_si128((const __m128i *)(const void *)t));
        }
        /* hr_u8_finish, four at a time */
        s[q] = _mm_sub_epi32(s[q], _mm_mullo_epi32(_mm_set1_epi32(zp[r + q]), wsum));
        finish4(s[q], xs[r + q], W, n, y + (size_t)(r + q) * W->rows + n);
    }
}

VNNI void hr_matmul_u8_cols_avx512vnni(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                       const hr_qlinear *W, int n0, int n1, float *y)
{
    const int k = W->cols, kv = k / 64 * 64;
    if (kv == 0) {
        hr_kernel_ops_scalar.matmul_u8_cols(xu, zp, xs, m, W, n0, n1, y);
        return;
    }
    const int n4 = n0 + (n1 - n0) / 4 * 4;
    for (int n = n0; n < n4; n += 4) {
        const int8_t *w0 = W->w + (size_t)n * k;
        __m128i wsum = row_sums4(w0, k, kv);
        for (int r = 0; r < m; r += 4)
            tile_u8_4x4(xu, zp, m, r, k, kv, w0, wsum, xs, W, n, y);
    }
    if (n4 < n1) /* fewer than 4 features left */
        hr_kernel_ops_scalar.matmul_u8_cols(xu, zp, xs, m, W, n4, n1, y);
}

#endif
