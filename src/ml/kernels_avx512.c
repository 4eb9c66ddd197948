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

VNNI static inline __m128i hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m256i a8 = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
    __m256i b8 = _mm256_add_epi32(_mm512_castsi512_si256(b), _mm512_extracti64x4_epi64(b, 1));
    __m256i c8 = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
    __m256i d8 = _mm256_add_epi32(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
    __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a8, b8), _mm256_hadd_epi32(c8, d8));
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
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
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
            c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
            c31 = c00, c32 = c00, c33 = c00;
    for (int i = 0; i < kv; i += 32) {
        __m512i w_0 = _mm512_load_si512(p0 + i), w_1 = _mm512_load_si512(p1 + i);
        __m512i w_2 = _mm512_load_si512(p2 + i), w_3 = _mm512_load_si512(p3 + i);
        __m512i x = _mm512_loadu_si512(a[0] + i);
        c00 = _mm512_dpwssd_epi32(c00, x, w_0), c01 = _mm512_dpwssd_epi32(c01, x, w_1);
        c02 = _mm512_dpwssd_epi32(c02, x, w_2), c03 = _mm512_dpwssd_epi32(c03, x, w_3);
        x = _mm512_loadu_si512(a[1] + i);
        c10 = _mm512_dpwssd_epi32(c10, x, w_0), c11 = _mm512_dpwssd_epi32(c11, x, w_1);
        c12 = _mm512_dpwssd_epi32(c12, x, w_2), c13 = _mm512_dpwssd_epi32(c13, x, w_3);
        x = _mm512_loadu_si512(a[2] + i);
        c20 = _mm512_dpwssd_epi32(c20, x, w_0), c21 = _mm512_dpwssd_epi32(c21, x, w_1);
        c22 = _mm512_dpwssd_epi32(c22, x, w_2), c23 = _mm512_dpwssd_epi32(c23, x, w_3);
        x = _mm512_loadu_si512(a[3] + i);
        c30 = _mm512_dpwssd_epi32(c30, x, w_0), c31 = _mm512_dpwssd_epi32(c31, x, w_1);
        c32 = _mm512_dpwssd_epi32(c32, x, w_2), c33 = _mm512_dpwssd_epi32(c33, x, w_3);
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

#endif
