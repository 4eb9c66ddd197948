/* kernels_avx2.c: the AVX2+FMA kernel table (see kernels_internal.h).
 *
 * Every function carries __attribute__((target("avx2,fma"))) so this file builds in the
 * baseline x86-64 build and is only ever called after kernels.c has checked the CPU.
 *
 * Matmuls widen int8 weights to int16 (cvtepi8_epi16) and multiply them with the int16
 * activations by madd_epi16: 16 multiply-adds per instruction into int32 lanes. The
 * activation range (kernels.h, hr_act_qmax) makes every sum exact, equal to the scalar
 * path. exp and erf are polynomial approximations (Cephes expf; Abramowitz
 * & Stegun 7.1.26 for erf, |error| < 1.5e-7), tested against NumPy/libm references.
 */
#include "ml/kernels_internal.h"

#ifdef HR_HAVE_AVX2_KERNELS

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* Four int32 horizontal sums at once: {sum a, sum b, sum c, sum d}. */
AVX2 static inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
    __m256i abcd = _mm256_hadd_epi32(ab, cd); /* per 128-bit lane: a b c d */
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

AVX2 static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

AVX2 static inline float hmax256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_max_ps(lo, hi);
    lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

AVX2 static inline int32_t hsum256_epi32(__m256i v)
{
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    lo = _mm_add_epi32(lo, hi);
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4e));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0xb1));
    return _mm_cvtsi128_si32(lo);
}

/* Cephes-style expf: 2^n * p(r), r = x - n ln2; inputs clamped to the float range. */
AVX2 static inline __m256 exp256(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, z, x);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i n = _mm256_cvttps_epi32(fx);
    n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

/* erf(x) = sign(x) (1 - t (a1 + t (a2 + ...)) e^{-x^2}), t = 1 / (1 + p|x|). */
AVX2 static inline __m256 erf256(__m256 x)
{
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    __m256 sign = _mm256_and_ps(x, sign_mask), ax = _mm256_andnot_ps(sign_mask, x);
    /* t = 1 / d by reciprocal estimate + one Newton step (~1e-7 relative): a division
     * here was the slowest instruction of GELU */
    __m256 d = _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, _mm256_set1_ps(1.0f));
    __m256 t = _mm256_rcp_ps(d);
    t = _mm256_mul_ps(t, _mm256_fnmadd_ps(d, t, _mm256_set1_ps(2.0f)));
    __m256 y = _mm256_set1_ps(1.061405429f);
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
    y = _mm256_mul_ps(y, t);
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    __m256 r = _mm256_fnmadd_ps(y, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(r, sign);
}

AVX2 static void quantize_row_avx2(const float *x, int k, int qmax, int16_t *q, float *scale)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= k; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
    float amax = hmax256(vmax);
    for (; i < k; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    if (amax == 0.0f) {
        memset(q, 0, (size_t)k * sizeof *q);
        *scale = 0.0f;
        return;
    }
    float inv = (float)qmax / amax;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i lim = _mm256_set1_epi32(qmax), nlim = _mm256_set1_epi32(-qmax);
    for (i = 0; i + 16 <= k; i += 16) {
        __m256i v[2];
        for (int u = 0; u < 2; u++) {
            __m256i r = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * u), vinv));
            v[u] = _mm256_max_epi32(_mm256_min_epi32(r, lim), nlim);
        }
        /* packs works per 128-bit lane; the permute restores element order */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(v[0], v[1]), 0xd8);
        _mm256_storeu_si256((__m256i *)(void *)(q + i), p);
    }
    for (; i < k; i++) {
        long v = lrintf(x[i] * inv);
        q[i] = (int16_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
    }
    *scale = amax / (float)qmax;
}

/* 16 int8 weights sign-extended to int16. */
AVX2 static inline __m256i widen16(const int8_t *w)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)w));
}

/* 16 products of int16 activations and int8 weights, summed pairwise into 8 int32 lanes. */
AVX2 static inline __m256i dot16(__m256i a, const int8_t *w)
{
    return _mm256_madd_epi16(a, widen16(w));
}

static int32_t dot_tail(const int16_t *a, const int8_t *w, int from, int k)
{
    int32_t acc = 0;
    for (int i = from; i < k; i++)
        acc += (int32_t)a[i] * (int32_t)w[i];
    return acc;
}

AVX2 static inline __m256i load16(const int16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* One activation row against one weight row. */
AVX2 static int32_t dot_row(const int16_t *a, const int8_t *w, int k)
{
    const int kv = k / 16 * 16;
    __m256i acc = _mm256_setzero_si256();
    for (int i = 0; i < kv; i += 16)
        acc = _mm256_add_epi32(acc, dot16(load16(a + i), w + i));
    return hsum256_epi32(acc) + dot_tail(a, w, kv, k);
}

/* For inputs wider than PANEL_K_MAX: tiles of 2 activation rows x 4 weight rows widened
 * on the fly; each widened weight vector serves both rows. */
AVX2 static void matmul_cols_stream(const int16_t *xq, const float *xs, int m, const hr_qlinear *W,
                                  int n0, int n1, float *y)
{
    const int k = W->cols, kv = k / 16 * 16, ld = W->rows;
    int r = 0;
    for (; r + 2 <= m; r += 2) {
        const int16_t *a0 = xq + (size_t)r * k, *a1 = a0 + k;
        int n = n0;
        for (; n + 4 <= n1; n += 4) {
            const int8_t *w0 = W->w + (size_t)n * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            /* named accumulators: an array of them would be spilled to the stack */
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
            __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
            for (int i = 0; i < kv; i += 16) {
                __m256i va0 = load16(a0 + i), va1 = load16(a1 + i), vw;
                vw = widen16(w0 + i);
                c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(va0, vw));
                c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(va1, vw));
                vw = widen16(w1 + i);
                c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(va0, vw));
                c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(va1, vw));
                vw = widen16(w2 + i);
                c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(va0, vw));
                c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(va1, vw));
                vw = widen16(w3 + i);
                c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(va0, vw));
                c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(va1, vw));
            }
            const __m256i acc0[4] = {c00, c01, c02, c03}, acc1[4] = {c10, c11, c12, c13};
            for (int u = 0; u < 4; u++) {
                const int8_t *wu = w0 + (size_t)u * k;
                int32_t s0 = hsum256_epi32(acc0[u]) + dot_tail(a0, wu, kv, k);
                int32_t s1 = hsum256_epi32(acc1[u]) + dot_tail(a1, wu, kv, k);
                y[(size_t)r * ld + n + u] = hr_q8_finish(s0, xs[r], W->w_scale[n + u], W->bias, n + u);
                y[(size_t)(r + 1) * ld + n + u] =
                    hr_q8_finish(s1, xs[r + 1], W->w_scale[n + u], W->bias, n + u);
            }
        }
        for (; n < n1; n++)
            for (int rr = r; rr < r + 2; rr++) {
                int32_t s = dot_row(xq + (size_t)rr * k, W->w + (size_t)n * k, k);
                y[(size_t)rr * ld + n] = hr_q8_finish(s, xs[rr], W->w_scale[n], W->bias, n);
            }
    }
    for (; r < m; r++)
        for (int n = n0; n < n1; n++) {
            int32_t s = dot_row(xq + (size_t)r * k, W->w + (size_t)n * k, k);
            y[(size_t)r * ld + n] = hr_q8_finish(s, xs[r], W->w_scale[n], W->bias, n);
        }
}

/* Inputs up to this width use the panel path (4 widened weight rows on the stack: 16 KB). */
#define PANEL_K_MAX 2048

/* 2 activation rows x 4 widened weight rows (panel rows kp apart) over [0, kv): int32 sums
 * without the tail. Named accumulators: an array of them would be spilled to the stack. */
AVX2 static inline void tile_2x4(const int16_t *a0, const int16_t *a1, const int16_t *p, int kp,
                                 int kv, int32_t s0[4], int32_t s1[4])
{
    const int16_t *p1 = p + kp, *p2 = p1 + kp, *p3 = p2 + kp;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
    __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    for (int i = 0; i < kv; i += 16) {
        __m256i va0 = load16(a0 + i), va1 = load16(a1 + i);
        __m256i w0 = load16(p + i), w1 = load16(p1 + i), w2 = load16(p2 + i), w3 = load16(p3 + i);
        __m256i t0, t1;
        /* Explicit asm: with intrinsics GCC 12 adds into the product register and copies
         * it back to the accumulator, 8 extra moves per 16 instructions. */
        __asm__("vpmaddwd %[w0], %[x0], %[t0]\n\t"
                "vpmaddwd %[w0], %[x1], %[t1]\n\t"
                "vpaddd %[t0], %[c00], %[c00]\n\t"
                "vpaddd %[t1], %[c10], %[c10]\n\t"
                "vpmaddwd %[w1], %[x0], %[t0]\n\t"
                "vpmaddwd %[w1], %[x1], %[t1]\n\t"
                "vpaddd %[t0], %[c01], %[c01]\n\t"
                "vpaddd %[t1], %[c11], %[c11]\n\t"
                "vpmaddwd %[w2], %[x0], %[t0]\n\t"
                "vpmaddwd %[w2], %[x1], %[t1]\n\t"
                "vpaddd %[t0], %[c02], %[c02]\n\t"
                "vpaddd %[t1], %[c12], %[c12]\n\t"
                "vpmaddwd %[w3], %[x0], %[t0]\n\t"
                "vpmaddwd %[w3], %[x1], %[t1]\n\t"
                "vpaddd %[t0], %[c03], %[c03]\n\t"
                "vpaddd %[t1], %[c13], %[c13]"
                : [c00] "+x"(c00), [c01] "+x"(c01), [c02] "+x"(c02), [c03] "+x"(c03),
                  [c10] "+x"(c10), [c11] "+x"(c11), [c12] "+x"(c12), [c13] "+x"(c13),
                  [t0] "=&x"(t0), [t1] "=&x"(t1)
                : [w0] "x"(w0), [w1] "x"(w1), [w2] "x"(w2), [w3] "x"(w3), [x0] "x"(va0),
                  [x1] "x"(va1));
    }
    _mm_storeu_si128((__m128i *)(void *)s0, hsum4_epi32(c00, c01, c02, c03));
    _mm_storeu_si128((__m128i *)(void *)s1, hsum4_epi32(c10, c11, c12, c13));
}

/* y[n..n+4) = acc * (xs * ws[n..n+4)) + bias: the same operations in the same order as
 * hr_q8_finish (no FMA), so the result is bit-identical to the scalar path. */
AVX2 static inline void finish4(const int32_t acc[4], float xs, const hr_qlinear *W, int n, float *y)
{
    __m128 s = _mm_mul_ps(_mm_set1_ps(xs), _mm_loadu_ps(W->w_scale + n));
    __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)(const void *)acc)), s);
    if (W->bias)
        v = _mm_add_ps(v, _mm_loadu_ps(W->bias + n));
    _mm_storeu_ps(y, v);
}

/* Panel path: for each group of 4 output features, their int8 weight rows are widened
 * once into an L1-resident int16 panel and then reused by every activation row, so the
 * inner loop is loads + madd + add only (the sign extension no longer competes with the
 * multiplies). Sums are exact, so the loop order does not change any result. */
AVX2 static void matmul_cols_avx2(const int16_t *xq, const float *xs, int m, const hr_qlinear *W,
                                  int n0, int n1, float *y)
{
    const int k = W->cols, kv = k / 16 * 16, ld = W->rows;
    if (k > PANEL_K_MAX) {
        matmul_cols_stream(xq, xs, m, W, n0, n1, y);
        return;
    }
    _Alignas(32) int16_t panel[4 * PANEL_K_MAX];
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
        const int8_t *w0 = W->w + (size_t)n * k;
        for (int u = 0; u < 4; u++)
            for (int i = 0; i < kv; i += 16)
                _mm256_store_si256((__m256i *)(void *)(panel + u * kv + i),
                                   widen16(w0 + (size_t)u * k + i));
        for (int r = 0; r < m; r += 2) {
            const int16_t *a0 = xq + (size_t)r * k, *a1 = r + 1 < m ? a0 + k : a0;
            int32_t s0[4], s1[4];
            tile_2x4(a0, a1, panel, kv, kv, s0, s1);
            if (kv < k)
                for (int u = 0; u < 4; u++) {
                    s0[u] += dot_tail(a0, w0 + (size_t)u * k, kv, k);
                    s1[u] += dot_tail(a1, w0 + (size_t)u * k, kv, k);
                }
            finish4(s0, xs[r], W, n, y + (size_t)r * ld + n);
            if (r + 1 < m)
                finish4(s1, xs[r + 1], W, n, y + (size_t)(r + 1) * ld + n);
        }
    }
    for (; n < n1; n++)
        for (int r = 0; r < m; r++) {
            int32_t s = dot_row(xq + (size_t)r * k, W->w + (size_t)n * k, k);
            y[(size_t)r * ld + n] = hr_q8_finish(s, xs[r], W->w_scale[n], W->bias, n);
        }
}

/* ---- uint8 activations ---------------------------------------------------------------- */

AVX2 static void quantize_row_u8_avx2(const float *x, int k, uint8_t *q, int32_t *zp, float *scale)
{
    __m256 vlo = _mm256_setzero_ps(), vhi = vlo;
    int i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        vlo = _mm256_min_ps(vlo, v);
        vhi = _mm256_max_ps(vhi, v);
    }
    float lo = -hmax256(_mm256_sub_ps(_mm256_setzero_ps(), vlo)), hi = hmax256(vhi);
    for (; i < k; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (lo == hi) {
        memset(q, 0, (size_t)k);
        *zp = 0;
        *scale = 0.0f;
        return;
    }
    float inv;
    hr_u8_params(lo, hi, scale, &inv, zp);
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i vz = _mm256_set1_epi32(*zp), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (i = 0; i + 32 <= k; i += 32) {
        __m256i v[4];
        for (int u = 0; u < 4; u++)
            v[u] = _mm256_add_epi32(
                _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * u), vinv)), vz);
        /* the packs saturate to [0, 255] as the scalar clamp does; they interleave per
         * 128-bit lane in 4-byte groups, which the permute undoes */
        __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
        _mm256_storeu_si256((__m256i *)(void *)(q + i), _mm256_permutevar8x32_epi32(p, order));
    }
    for (; i < k; i++) {
        long v = lrintf(x[i] * inv) + *zp;
        q[i] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
    }
}

/* Rows of (xu - zp) as int16 converted per chunk into this much stack. */
#define U8_CHUNK_ELEMS 16384 /* 32 KB */

/* The uint8 matmul on AVX2: (xu - zp) in [-255, 255] is widened to int16 a chunk of rows
 * at a time and multiplied by the int16 kernel above. Its exact sum of (xu - zp) w is the
 * integer hr_u8_finish forms (acc - zp * wsum), and its epilogue is hr_q8_finish, so
 * results are bit-identical to the scalar and VNNI paths. (A vpmaddubsw version with the
 * sign trick, x ^ 0x80 against sign(w, x), measured 43 GMAC/s against this one's ~70: it
 * needs a maddubs, a madd and a sign per 32 products, all on the multiply ports.) */
AVX2 static void matmul_u8_cols_avx2(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                     const hr_qlinear *W, int n0, int n1, float *y)
{
    const int k = W->cols;
    if (k > U8_CHUNK_ELEMS) {
        hr_kernel_ops_scalar.matmul_u8_cols(xu, zp, xs, m, W, n0, n1, y);
        return;
    }
    _Alignas(32) int16_t buf[U8_CHUNK_ELEMS];
    const int rows = U8_CHUNK_ELEMS / k;
    for (int r0 = 0; r0 < m; r0 += rows) {
        const int mr = m - r0 < rows ? m - r0 : rows;
        for (int r = 0; r < mr; r++) {
            const uint8_t *a = xu + (size_t)(r0 + r) * k;
            int16_t *q = buf + (size_t)r * k;
            const __m256i vz = _mm256_set1_epi16((short)zp[r0 + r]);
            int i = 0;
            for (; i + 16 <= k; i += 16)
                _mm256_storeu_si256((__m256i *)(void *)(q + i),
                                    _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(
                                                         (const __m128i *)(const void *)(a + i))),
                                                     vz));
            for (; i < k; i++)
                q[i] = (int16_t)(a[i] - zp[r0 + r]);
        }
        matmul_cols_avx2(buf, xs + r0, mr, W, n0, n1, y + (size_t)r0 * W->rows);
    }
}

AVX2 static void layernorm_row_avx2(float *x, int n, const float *gamma, const float *beta, float eps)
{
    __m256 vs = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        vs = _mm256_add_ps(vs, _mm256_loadu_ps(x + i));
    float sum = hsum256(vs);
    for (; i < n; i++)
        sum += x[i];
    float mean = sum / (float)n;
    const __m256 vm = _mm256_set1_ps(mean);
    __m256 vv = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        vv = _mm256_fmadd_ps(d, d, vv);
    }
    float var = hsum256(vv);
    for (; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    const __m256 vi = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi),
                                 _mm256_loadu_ps(gamma + i));
        if (beta)
            v = _mm256_add_ps(v, _mm256_loadu_ps(beta + i));
        _mm256_storeu_ps(x + i, v);
    }
    for (; i < n; i++) {
        float v = (x[i] - mean) * inv * gamma[i];
        x[i] = beta ? v + beta[i] : v;
    }
}

AVX2 static void gelu_avx2(float *x, size_t n)
{
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f),
                 rs2 = _mm256_set1_ps(0.70710678118654752f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf256(_mm256_mul_ps(v, rs2));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
    }
    for (; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* hr_gelu_tanh_one at 8 lanes: e = exp256(-2|y|), the sign of y put back on the tanh. */
AVX2 static void gelu_tanh_avx2(float *x, size_t n)
{
    const __m256 sign_mask = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f),
                 one = _mm256_set1_ps(1.0f), k = _mm256_set1_ps(0.7978845608028654f),
                 c = _mm256_set1_ps(0.044715f), m2 = _mm256_set1_ps(-2.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_loadu_ps(x + i);
        __m256 y = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, t), _mm256_mul_ps(t, t), t));
        __m256 e = exp256(_mm256_mul_ps(m2, _mm256_andnot_ps(sign_mask, y)));
        __m256 th = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
        th = _mm256_or_ps(th, _mm256_and_ps(y, sign_mask));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, t), _mm256_add_ps(one, th)));
    }
    for (; i < n; i++)
        x[i] = hr_gelu_tanh_one(x[i]);
}

/* exp(x - mx) into x over [lo, hi), masked entries zero; returns the sum. */
AVX2 static float exp_sub_sum(float *x, int lo, int hi, float mx, const uint8_t *valid)
{
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vs = _mm256_setzero_ps();
    int j = lo;
    if (!valid) {
        for (; j + 8 <= hi; j += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm));
            _mm256_storeu_ps(x + j, e);
            vs = _mm256_add_ps(vs, e);
        }
    }
    float sum = hsum256(vs);
    for (; j < hi; j++) {
        x[j] = (!valid || valid[j]) ? expf(x[j] - mx) : 0.0f;
        sum += x[j];
    }
    return sum;
}

AVX2 static void softmax_row_avx2(float *x, int n)
{
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float mx = hmax256(vm);
    for (; i < n; i++)
        mx = fmaxf(mx, x[i]);
    float inv = 1.0f / exp_sub_sum(x, 0, n, mx, NULL);
    const __m256 vi = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vi));
    for (; i < n; i++)
        x[i] *= inv;
}

AVX2 static void add_avx2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        y[i] += x[i];
}

/* p[j] = scale * sum_t q[t] * kt[t][j] for j in [lo, hi): 64 keys at a time in 8 independent
 * accumulators (one FMA chain over t would stall on latency), then 8, then 1. */
AVX2 static void scores_row(const float *q, float scale, const float *kt, int seq, int dim, int lo,
                            int hi, float *p)
{
    int j = lo;
    for (; j + 64 <= hi; j += 64) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int t = 0; t < dim; t++) {
            const float *kr = kt + (size_t)t * seq + j;
            __m256 qt = _mm256_set1_ps(q[t] * scale);
            a0 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr), a0);
            a1 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 8), a1);
            a2 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 16), a2);
            a3 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 24), a3);
            a4 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 32), a4);
            a5 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 40), a5);
            a6 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 48), a6);
            a7 = _mm256_fmadd_ps(qt, _mm256_loadu_ps(kr + 56), a7);
        }
        _mm256_storeu_ps(p + j, a0);
        _mm256_storeu_ps(p + j + 8, a1);
        _mm256_storeu_ps(p + j + 16, a2);
        _mm256_storeu_ps(p + j + 24, a3);
        _mm256_storeu_ps(p + j + 32, a4);
        _mm256_storeu_ps(p + j + 40, a5);
        _mm256_storeu_ps(p + j + 48, a6);
        _mm256_storeu_ps(p + j + 56, a7);
    }
    for (; j + 8 <= hi; j += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int t = 0; t < dim; t++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(q[t] * scale), _mm256_loadu_ps(kt + (size_t)t * seq + j), a0);
        _mm256_storeu_ps(p + j, a0);
    }
    for (; j < hi; j++) {
        float acc = 0.0f;
        for (int t = 0; t < dim; t++)
            acc += q[t] * scale * kt[(size_t)t * seq + j];
        p[j] = acc;
    }
}

/* Largest p[j] over the allowed keys of [lo, hi); -inf if none. */
AVX2 static float masked_max(const float *p, int lo, int hi, const uint8_t *valid)
{
    float mx = -INFINITY;
    int j = lo;
    if (!valid) {
        __m256 vm = _mm256_set1_ps(-INFINITY);
        for (; j + 8 <= hi; j += 8)
            vm = _mm256_max_ps(vm, _mm256_loadu_ps(p + j));
        mx = hmax256(vm);
    }
    for (; j < hi; j++)
        if ((!valid || valid[j]) && p[j] > mx)
            mx = p[j];
    return mx;
}

/* o[0..dim) = sum_j p[j] * v_j, 32 output floats at a time held in registers (a variable
 * length accumulator array would spill); even and odd keys go to separate accumulators
 * so two FMA chains run in parallel. */
AVX2 static void weighted_values(const float *p, int lo, int hi, const float *v0, int stride,
                                 int dim, float *o)
{
    int c = 0;
    for (; c + 32 <= dim; c += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int j = lo;
        for (; j + 2 <= hi; j += 2) {
            const float *v = v0 + (size_t)j * stride + c, *w = v + stride;
            __m256 pj = _mm256_broadcast_ss(p + j), pk = _mm256_broadcast_ss(p + j + 1);
            a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v), a0);
            a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 8), a1);
            a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 16), a2);
            a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 24), a3);
            b0 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(w), b0);
            b1 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(w + 8), b1);
            b2 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(w + 16), b2);
            b3 = _mm256_fmadd_ps(pk, _mm256_loadu_ps(w + 24), b3);
        }
        if (j < hi) {
            const float *v = v0 + (size_t)j * stride + c;
            __m256 pj = _mm256_broadcast_ss(p + j);
            a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v), a0);
            a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 8), a1);
            a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 16), a2);
            a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 24), a3);
        }
        _mm256_storeu_ps(o + c, _mm256_add_ps(a0, b0));
        _mm256_storeu_ps(o + c + 8, _mm256_add_ps(a1, b1));
        _mm256_storeu_ps(o + c + 16, _mm256_add_ps(a2, b2));
        _mm256_storeu_ps(o + c + 24, _mm256_add_ps(a3, b3));
    }
    for (; c < dim; c++) {
        float acc = 0.0f;
        for (int j = lo; j < hi; j++)
            acc += p[j] * v0[(size_t)j * stride + c];
        o[c] = acc;
    }
}

/* Two query rows at once over keys [lo, hi): each K^T load feeds both rows, so the loop
 * is bound by FMAs rather than loads. Same sums, in the same order, as scores_row. */
AVX2 static void scores_2rows(const float *q0, const float *q1, float scale, const float *kt,
                              int seq, int dim, int lo, int hi, float *p0, float *p1)
{
    int j = lo;
    for (; j + 32 <= hi; j += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int t = 0; t < dim; t++) {
            const float *kr = kt + (size_t)t * seq + j;
            __m256 x = _mm256_set1_ps(q0[t] * scale), z = _mm256_set1_ps(q1[t] * scale);
            __m256 k0 = _mm256_loadu_ps(kr), k1 = _mm256_loadu_ps(kr + 8);
            __m256 k2 = _mm256_loadu_ps(kr + 16), k3 = _mm256_loadu_ps(kr + 24);
            a0 = _mm256_fmadd_ps(x, k0, a0), b0 = _mm256_fmadd_ps(z, k0, b0);
            a1 = _mm256_fmadd_ps(x, k1, a1), b1 = _mm256_fmadd_ps(z, k1, b1);
            a2 = _mm256_fmadd_ps(x, k2, a2), b2 = _mm256_fmadd_ps(z, k2, b2);
            a3 = _mm256_fmadd_ps(x, k3, a3), b3 = _mm256_fmadd_ps(z, k3, b3);
        }
        _mm256_storeu_ps(p0 + j, a0), _mm256_storeu_ps(p0 + j + 8, a1);
        _mm256_storeu_ps(p0 + j + 16, a2), _mm256_storeu_ps(p0 + j + 24, a3);
        _mm256_storeu_ps(p1 + j, b0), _mm256_storeu_ps(p1 + j + 8, b1);
        _mm256_storeu_ps(p1 + j + 16, b2), _mm256_storeu_ps(p1 + j + 24, b3);
    }
    if (j < hi) {
        scores_row(q0, scale, kt, seq, dim, j, hi, p0);
        scores_row(q1, scale, kt, seq, dim, j, hi, p1);
    }
}

/* o0, o1 = sums over j in [lo, hi) of p0[j] v_j and p1[j] v_j (p zero outside each row's
 * own keys); each V load feeds both rows. dim must be a multiple of 32. */
AVX2 static void weighted_values_2rows(const float *p0, const float *p1, int lo, int hi,
                                       const float *v0, int stride, int dim, float *o0, float *o1)
{
    for (int c = 0; c < dim; c += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int j = lo; j < hi; j++) {
            const float *v = v0 + (size_t)j * stride + c;
            __m256 x = _mm256_broadcast_ss(p0 + j), z = _mm256_broadcast_ss(p1 + j);
            __m256 v_0 = _mm256_loadu_ps(v), v_1 = _mm256_loadu_ps(v + 8);
            __m256 v_2 = _mm256_loadu_ps(v + 16), v_3 = _mm256_loadu_ps(v + 24);
            a0 = _mm256_fmadd_ps(x, v_0, a0), b0 = _mm256_fmadd_ps(z, v_0, b0);
            a1 = _mm256_fmadd_ps(x, v_1, a1), b1 = _mm256_fmadd_ps(z, v_1, b1);
            a2 = _mm256_fmadd_ps(x, v_2, a2), b2 = _mm256_fmadd_ps(z, v_2, b2);
            a3 = _mm256_fmadd_ps(x, v_3, a3), b3 = _mm256_fmadd_ps(z, v_3, b3);
        }
        _mm256_storeu_ps(o0 + c, a0), _mm256_storeu_ps(o0 + c + 8, a1);
        _mm256_storeu_ps(o0 + c + 16, a2), _mm256_storeu_ps(o0 + c + 24, a3);
        _mm256_storeu_ps(o1 + c, b0), _mm256_storeu_ps(o1 + c + 8, b1);
        _mm256_storeu_ps(o1 + c + 16, b2), _mm256_storeu_ps(o1 + c + 24, b3);
    }
}

/* Softmax of p over the allowed keys of [lo, hi) in place, zero on the rest of
 * [ulo, uhi); returns 0, or -1 when every key is masked (p untouched). */
AVX2 static int softmax_keys(float *p, int lo, int hi, int ulo, int uhi, const uint8_t *valid)
{
    float mx = masked_max(p, lo, hi, valid);
    if (mx == -INFINITY)
        return -1;
    float inv = 1.0f / exp_sub_sum(p, lo, hi, mx, valid);
    const __m256 vi = _mm256_set1_ps(inv);
    int j = lo;
    for (; j + 8 <= hi; j += 8)
        _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), vi));
    for (; j < hi; j++)
        p[j] *= inv;
    for (j = ulo; j < lo; j++)
        p[j] = 0.0f;
    for (j = hi; j < uhi; j++)
        p[j] = 0.0f;
    return 0;
}

/* Query rows per block: their scores are computed 64 keys at a time, so the 64-key slice
 * of K^T (head_dim x 256 bytes) stays in L1 while every row of the block uses it. */
#define ATT_ROWS 16

/* Same result as attention_head_scalar in kernels.c (up to float summation order). */
AVX2 static void attention_head_avx2(const float *qkv, int seq, int n_heads, int head_dim, int h,
                                     const uint8_t *key_valid, int window, float *scratch, float *out)
{
    const int H = n_heads * head_dim, stride = 3 * H;
    const float scale = 1.0f / sqrtf((float)head_dim);
    const float *q_of = qkv + h * head_dim;
    /* scratch: K^T [head_dim, seq] | scores [ATT_ROWS, seq] | V [seq, head_dim] packed, so
     * the weighted sums stream 128 contiguous bytes per key instead of one cache line
     * 3H floats apart */
    float *kt = scratch, *pb = scratch + (size_t)head_dim * seq, *vp = pb + (size_t)ATT_ROWS * seq;
    for (int j = 0; j < seq; j++) {
        const float *kv = qkv + (size_t)j * stride + H + h * head_dim;
        for (int t = 0; t < head_dim; t++)
            kt[(size_t)t * seq + j] = kv[t];
        memcpy(vp + (size_t)j * head_dim, kv + H, (size_t)head_dim * sizeof *vp);
    }
    const float *v_of = vp;
    const int vstride = head_dim;
    for (int i0 = 0; i0 < seq; i0 += ATT_ROWS) {
        const int rows = seq - i0 < ATT_ROWS ? seq - i0 : ATT_ROWS;
        int blo, bhi, lo, hi;
        hr_attention_range(i0, seq, window, &blo, &hi);
        hr_attention_range(i0 + rows - 1, seq, window, &lo, &bhi);
        for (int jb = blo; jb < bhi; jb += 64) {
            const int je = jb + 64 < bhi ? jb + 64 : bhi;
            int r = 0;
            for (; r + 2 <= rows; r += 2)
                scores_2rows(q_of + (size_t)(i0 + r) * stride, q_of + (size_t)(i0 + r + 1) * stride,
                             scale, kt, seq, head_dim, jb, je, pb + (size_t)r * seq,
                             pb + (size_t)(r + 1) * seq);
            if (r < rows)
                scores_row(q_of + (size_t)(i0 + r) * stride, scale, kt, seq, head_dim, jb, je,
                           pb + (size_t)r * seq);
        }
        for (int r = 0; r < rows; r++) {
            const int i = i0 + r;
            float *p = pb + (size_t)r * seq, *o = out + (size_t)i * H + h * head_dim;
            hr_attention_range(i, seq, window, &lo, &hi);
            /* two rows share one pass over V when both have keys and head_dim allows */
            int lo1, hi1;
            if (r + 1 < rows && head_dim % 32 == 0) {
                hr_attention_range(i + 1, seq, window, &lo1, &hi1);
                int ulo = lo < lo1 ? lo : lo1, uhi = hi > hi1 ? hi : hi1;
                float *p1 = p + seq, *o1 = o + H;
                int e0 = softmax_keys(p, lo, hi, ulo, uhi, key_valid);
                int e1 = softmax_keys(p1, lo1, hi1, ulo, uhi, key_valid);
                if (e0 == 0 && e1 == 0) {
                    weighted_values_2rows(p, p1, ulo, uhi, v_of, vstride, head_dim, o, o1);
                } else {
                    if (e0 == 0)
                        weighted_values(p, lo, hi, v_of, vstride, head_dim, o);
                    else
                        memset(o, 0, (size_t)head_dim * sizeof *o);
                    if (e1 == 0)
                        weighted_values(p1, lo1, hi1, v_of, vstride, head_dim, o1);
                    else
                        memset(o1, 0, (size_t)head_dim * sizeof *o1);
                }
                r++;
                continue;
            }
            if (softmax_keys(p, lo, hi, lo, hi, key_valid) != 0)
                memset(o, 0, (size_t)head_dim * sizeof *o);
            else
                weighted_values(p, lo, hi, v_of, vstride, head_dim, o);
        }
    }
}

const hr_kernel_ops hr_kernel_ops_avx2 = {
    .quantize_row = quantize_row_avx2,
    .matmul_cols = matmul_cols_avx2,
    .quantize_row_u8 = quantize_row_u8_avx2,
    .matmul_u8_cols = matmul_u8_cols_avx2,
    .layernorm_row = layernorm_row_avx2,
    .gelu = gelu_avx2,
    .gelu_tanh = gelu_tanh_avx2,
    .softmax_row = softmax_row_avx2,
    .add = add_avx2,
    .attention_head = attention_head_avx2,
};

#endif
