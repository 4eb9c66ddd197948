/* kernels_avx512.c: the AVX-512 kernels for CPUs with AVX-512 VNNI; kernels.c builds their
 * table from the AVX2 one with these entries replaced:
 *
 * - int16-activation matmul (vpdpwssd: 32 int16 multiply-adds per instruction, where AVX2
 *   needs madd + add for 16), 4 x 4 tiles over a widened 4-feature panel;
 * - uint8-activation matmul (vpdpbusd: 64 multiply-adds per instruction against the int8
 *   weights as stored): row-dot 4 x 4 tiles straight from the mapping for short inputs and
 *   k past the panel bound, packed [k/4][32] panels with vertical accumulation for >= 64
 *   rows and k <= 3072 (SigLIP-base's MLP down projection), the tile loops in asm; the
 *   panels are read in place when the model file stores them (hr_qlinear.panels);
 * - GELU and the attention head without a key mask (global or sliding window) at 16 lanes
 *   (a 16-lane uint8 quantisation was measured slower than the AVX2 one: 124 vs 113 ns per
 *   768-value row, its narrowing and masked byte stores).
 *
 * Matmul sums are exact, so results stay bit-identical to the scalar and AVX2 paths
 * (tests/unit/test_ml_kernels.c). Compiled with target attributes; called only after
 * kernels.c checked the CPU.
 */
#include "ml/kernels_internal.h"

#ifdef HR_HAVE_AVX512_KERNELS

#include <immintrin.h>
#include <math.h>
#include <string.h>

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

/* In-register transpose of a 16 x 16 block of 32-bit values: r[i] holds row i on entry
 * and column i on exit (unpack 32 and 64, then two 128-bit lane shuffles: 64 shuffles).
 * Packs the uint8 panels (where 16 gathers were ~10 cycles each plus a stall per missed
 * line) and K^T for attention. */
VNNI static inline __attribute__((always_inline)) void transpose16x16_epi32(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* r[4b + c] now holds, in 128-bit lane L, column 4L + c of rows 4b .. 4b+3: the lane
     * shuffles put lane L of r[c], r[4 + c], r[8 + c], r[12 + c] together as column 4L + c */
    for (int c = 0; c < 4; c++) {
        __m512i a = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88), b = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xdd);
        __m512i d = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88), e = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xdd);
        t[c] = _mm512_shuffle_i32x4(a, d, 0x88);
        t[8 + c] = _mm512_shuffle_i32x4(a, d, 0xdd);
        t[4 + c] = _mm512_shuffle_i32x4(b, e, 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(b, e, 0xdd);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

/* ---- fp32 ops at 512 bits: attention (BERT case) and GELU ------------------------------ */

/* exp256 of kernels_avx2.c at 16 lanes (Cephes expf, same constants), with the final
 * 2^n applied by vscalefps: one instruction instead of convert + bias + shift + multiply
 * (softmax spends about a quarter of attention's instructions in exp at head_dim 32). */
VNNI static inline __m512 exp512(__m512 x)
{
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-88.3762626647949f);
    x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
    y = _mm512_fmadd_ps(y, z, x);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(y, fx);
}

/* erf256 of kernels_avx2.c at 16 lanes (Abramowitz & Stegun 7.1.26). */
VNNI static inline __m512 erf512(__m512 x)
{
    /* integer and/or: the float forms need AVX-512 DQ, which the dispatch does not check */
    const __m512i sign_mask = _mm512_set1_epi32((int)0x80000000u), xi = _mm512_castps_si512(x);
    __m512i sign = _mm512_and_si512(xi, sign_mask);
    __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, xi));
    __m512 d = _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f));
    __m512 t = _mm512_rcp14_ps(d);
    t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
    __m512 y = _mm512_set1_ps(1.061405429f);
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-1.453152027f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(1.421413741f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-0.284496736f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(0.254829592f));
    y = _mm512_mul_ps(y, t);
    __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
    __m512 r = _mm512_fnmadd_ps(y, e, _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign));
}

VNNI void hr_gelu_avx512(float *x, size_t n)
{
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f),
                 rs2 = _mm512_set1_ps(0.70710678118654752f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        __m512 e = erf512(_mm512_mul_ps(v, rs2));
        _mm512_mask_storeu_ps(x + i, mk, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, e)));
    }
}

/* gelu_tanh_avx2 of kernels_avx2.c at 16 lanes, the tail masked. */
VNNI void hr_gelu_tanh_avx512(float *x, size_t n)
{
    const __m512i sign_mask = _mm512_set1_epi32((int)0x80000000u);
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f),
                 k = _mm512_set1_ps(0.7978845608028654f), c = _mm512_set1_ps(0.044715f),
                 m2 = _mm512_set1_ps(-2.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 t = _mm512_maskz_loadu_ps(mk, x + i);
        __m512 y = _mm512_mul_ps(k, _mm512_fmadd_ps(_mm512_mul_ps(c, t), _mm512_mul_ps(t, t), t));
        __m512i yi = _mm512_castps_si512(y);
        __m512 ay = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, yi));
        __m512 e = exp512(_mm512_mul_ps(m2, ay));
        __m512 th = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
        th = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(th), _mm512_and_si512(yi, sign_mask)));
        _mm512_mask_storeu_ps(x + i, mk, _mm512_mul_ps(_mm512_mul_ps(half, t), _mm512_add_ps(one, th)));
    }
}

static inline __mmask16 tail_mask(int left) { return left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1); }

#define ATT512_DIM_MAX 128
/* GCC 12 at -O2 left the 4x4 accumulator arrays below on the stack (a store and reload
 * per FMA, about half of attention's time at seq 196); fully unrolled, they live in
 * registers. */
#define HR_UNROLL4 _Pragma("GCC unroll 4")

/* Scores of the 4 pre-scaled query rows qs against C (1-4, a constant after inlining) x 16
 * keys from kt (K^T, row stride seq; left = keys from kt on, the last chunk masked), into
 * p[r] + jb: 4 x C accumulators, each K^T load feeding 4 rows. */
VNNI static inline __attribute__((always_inline)) void
scores_4xc(const int C, const float (*qs)[ATT512_DIM_MAX], const float *kt, int seq, int dim,
           int left, float *const p[4], int jb)
{
    __mmask16 mk[4];
    HR_UNROLL4 for (int c = 0; c < C; c++)
        mk[c] = tail_mask(left - 16 * c > 0 ? left - 16 * c : 0);
    __m512 a[4][4];
    HR_UNROLL4 for (int r = 0; r < 4; r++)
        HR_UNROLL4 for (int c = 0; c < C; c++)
            a[r][c] = _mm512_setzero_ps();
    for (int t = 0; t < dim; t++) {
        const float *kr = kt + (size_t)t * seq;
        __m512 kv[4];
        HR_UNROLL4 for (int c = 0; c < C; c++)
            kv[c] = _mm512_maskz_loadu_ps(mk[c], kr + 16 * c);
        HR_UNROLL4 for (int r = 0; r < 4; r++) {
            __m512 qt = _mm512_set1_ps(qs[r][t]);
            HR_UNROLL4 for (int c = 0; c < C; c++)
                a[r][c] = _mm512_fmadd_ps(qt, kv[c], a[r][c]);
        }
    }
    HR_UNROLL4 for (int r = 0; r < 4; r++)
        HR_UNROLL4 for (int c = 0; c < C; c++)
            _mm512_mask_storeu_ps(p[r] + jb + 16 * c, mk[c], a[r][c]);
}

/* out[r] = inv[r] sum_j p[r][j] v_j over G (2 or 4, a constant after inlining) x 16
 * columns from v (row stride dim) for the 4 rows (the first `rows` stored, stride H): each
 * V load feeds 4 rows. Per element the same FMAs in the same order for either G. The
 * same shape as scores_4xc, kept apart: one shared inline core for both (masked loads,
 * the broadcasts through a pointer array) made the SigLIP tower 9% slower (129.9 vs
 * 118.9 ms, 4 alternated rounds). */
VNNI static inline __attribute__((always_inline)) void
weighted_v_4xg(const int G, float *const p[4], int nk, const float *v, int dim, const float inv[4],
               int rows, float *out, int H)
{
    __m512 o[4][4];
    HR_UNROLL4 for (int r = 0; r < 4; r++)
        HR_UNROLL4 for (int g = 0; g < G; g++)
            o[r][g] = _mm512_setzero_ps();
    for (int j = 0; j < nk; j++) {
        const float *vj = v + (size_t)j * dim;
        __m512 vv[4];
        HR_UNROLL4 for (int g = 0; g < G; g++)
            vv[g] = _mm512_loadu_ps(vj + 16 * g);
        HR_UNROLL4 for (int r = 0; r < 4; r++) {
            __m512 pj = _mm512_set1_ps(p[r][j]);
            HR_UNROLL4 for (int g = 0; g < G; g++)
                o[r][g] = _mm512_fmadd_ps(pj, vv[g], o[r][g]);
        }
    }
    for (int r = 0; r < rows; r++) {
        const __m512 vi = _mm512_set1_ps(inv[r]);
        HR_UNROLL4 for (int g = 0; g < G; g++)
            _mm512_storeu_ps(out + (size_t)r * H + 16 * g, _mm512_mul_ps(o[r][g], vi));
    }
}

/* Rows i0 .. i0+3 of one head (rows past seq repeat the last one and are not stored):
 * scores against the keys [lo, hi) the 4 rows may see (all keys in global layers; the union
 * of the rows' bands in sliding-window ones: nothing outside the band is computed), 64 at
 * a time (16 accumulators: each K^T load feeds 4 rows), softmax without the final division
 * over each row's own band (keys of the union outside it get weight exactly 0), then
 * sum_j p_j v_j with 2 x 16 lanes per row (the 1/sum applied to the outputs instead of to
 * every p_j). p[r][j - lo] holds row r's weight of key j. */
VNNI static void attention_rows4(const float *q_of, int stride, int seq, int window, int i0, int dim,
                                 float scale, const float *kt, const float *vp, float *pb, float *out,
                                 int H)
{
    const int rows = seq - i0 < 4 ? seq - i0 : 4;
    int rlo[4], rhi[4], lo, hi;
    /* the 4 query rows pre-scaled, so the FMAs below take them as memory broadcasts */
    _Alignas(64) float qs[4][ATT512_DIM_MAX];
    float *p[4];
    for (int r = 0; r < 4; r++) {
        const int i = i0 + (r < rows ? r : rows - 1);
        const float *q = q_of + (size_t)i * stride;
        for (int t = 0; t < dim; t += 16)
            _mm512_store_ps(&qs[r][t], _mm512_mul_ps(_mm512_loadu_ps(q + t), _mm512_set1_ps(scale)));
        hr_attention_range(i, seq, window, &rlo[r], &rhi[r]);
        p[r] = pb + (size_t)r * seq;
        /* the next block's rows: qkv rows are 3H apart and mostly out of L2 by now (the
         * q loads stalled for ~15% of attention at seq 196) */
        if (i0 + 4 + r < seq)
            for (int t = 0; t < dim; t += 16)
                _mm_prefetch((const char *)(q_of + (size_t)(i0 + 4 + r) * stride + t), _MM_HINT_T0);
    }
    lo = rlo[0]; /* bands only move right with i */
    hi = rhi[3];
    const int nk = hi - lo;
    int jb = 0;
    for (; jb + 48 < nk; jb += 64)
        scores_4xc(4, qs, kt + lo + jb, seq, dim, nk - jb, p, jb);
    /* the last keys with only the 16-lane chunks they need (196 keys: 13 chunks, not 16) */
    switch ((nk - jb + 15) / 16) {
    case 3: scores_4xc(3, qs, kt + lo + jb, seq, dim, nk - jb, p, jb); break;
    case 2: scores_4xc(2, qs, kt + lo + jb, seq, dim, nk - jb, p, jb); break;
    case 1: scores_4xc(1, qs, kt + lo + jb, seq, dim, nk - jb, p, jb); break;
    default: break;
    }
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    float inv[4];
    for (int r = 0; r < 4; r++) {
        /* lanes of this row's own band: rlo - lo <= j < rhi - lo */
        const __m512i from = _mm512_set1_epi32(rlo[r] - lo), to = _mm512_set1_epi32(rhi[r] - lo);
        __m512 vm = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < nk; j += 16) {
            const __m512i jv = _mm512_add_epi32(iota, _mm512_set1_epi32(j));
            const __mmask16 mk = _mm512_mask_cmpge_epi32_mask(_mm512_cmplt_epi32_mask(jv, to), jv, from);
            vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mk, p[r] + j));
        }
        const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
        __m512 vs = _mm512_setzero_ps();
        for (int j = 0; j < nk; j += 16) {
            const __m512i jv = _mm512_add_epi32(iota, _mm512_set1_epi32(j));
            const __mmask16 mk = _mm512_mask_cmpge_epi32_mask(_mm512_cmplt_epi32_mask(jv, to), jv, from);
            __m512 e = _mm512_maskz_mov_ps(mk, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, p[r] + j), mx)));
            _mm512_mask_storeu_ps(p[r] + j, tail_mask(nk - j), e);
            vs = _mm512_add_ps(vs, e);
        }
        inv[r] = 1.0f / _mm512_reduce_add_ps(vs);
    }
    /* 64 columns per pass where head_dim allows (16 accumulators: 16 FMAs per 4 V loads
     * and 4 broadcasts, where 32 columns gave 8 per 2 + 4), else 32 */
    int c = 0;
    for (; c + 64 <= dim; c += 64)
        weighted_v_4xg(4, p, nk, vp + (size_t)lo * dim + c, dim, inv, rows, out + (size_t)i0 * H + c, H);
    for (; c < dim; c += 32)
        weighted_v_4xg(2, p, nk, vp + (size_t)lo * dim + c, dim, inv, rows, out + (size_t)i0 * H + c, H);
}

/* One head without a key mask (BERT and ModernBERT on a single input; global or sliding
 * window) with head_dim a multiple of 32 up to 128; anything else goes to the AVX2 kernel.
 * Same layout of the head's scratch as there: K^T [head_dim, seq] | scores [16, seq] (4
 * used) | V [seq, head_dim] packed. */
VNNI void hr_attention_head_avx512(const float *qkv, int seq, int n_heads, int head_dim, int h,
                                   const uint8_t *key_valid, int window, float *scratch, float *out)
{
    if (key_valid || head_dim % 32 || head_dim > ATT512_DIM_MAX) {
        hr_kernel_ops_avx2.attention_head(qkv, seq, n_heads, head_dim, h, key_valid, window, scratch,
                                          out);
        return;
    }
    const int H = n_heads * head_dim, stride = 3 * H;
    const float scale = 1.0f / sqrtf((float)head_dim);
    float *kt = scratch, *pb = scratch + (size_t)head_dim * seq, *vp = pb + (size_t)16 * seq;
    /* K^T by 16 x 16 blocks in registers (the scalar scatter was ~2% of the SigLIP tower),
     * the rows past the last multiple of 16 one value at a time; V copied row by row */
    const int seq16 = seq / 16 * 16;
    for (int j = 0; j < seq16; j += 16)
        for (int t = 0; t < head_dim; t += 16) {
            __m512i r[16];
            for (int u = 0; u < 16; u++)
                r[u] = _mm512_loadu_si512(qkv + (size_t)(j + u) * stride + H + h * head_dim + t);
            transpose16x16_epi32(r);
            for (int u = 0; u < 16; u++)
                _mm512_storeu_si512(kt + (size_t)(t + u) * seq + j, r[u]);
        }
    for (int j = seq16; j < seq; j++)
        for (int t = 0; t < head_dim; t++)
            kt[(size_t)t * seq + j] = qkv[(size_t)j * stride + H + h * head_dim + t];
    for (int j = 0; j < seq; j++)
        memcpy(vp + (size_t)j * head_dim, qkv + (size_t)j * stride + 2 * H + h * head_dim,
               (size_t)head_dim * sizeof *vp);
    for (int i0 = 0; i0 < seq; i0 += 4)
        attention_rows4(qkv + h * head_dim, stride, seq, window, i0, head_dim, scale, kt, vp, pb,
                        out + h * head_dim, H);
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

/* ---- uint8 activations, packed panels: the steady-state kernel ------------------------ */

/* For longer inputs the weights of 32 output features are first repacked (gathered) into
 * a panel on the stack, laid out [k/4][32] int32: each int32 holds the 4 consecutive int8
 * weights of one feature, so one vpdpbusd of a broadcast activation quad against a panel
 * row accumulates 16 features at once, vertically: no horizontal sums at the end, which
 * cost the row-dot kernel above about a third of its time at k = 384. The gather is paid
 * once per panel and reused by every activation row. */
#define PK_COLS HR_PANEL_COLS
#define PK_K_MAX HR_PANEL_K_MAX /* SigLIP-base's MLP down projection: 96 KB of stack, of
                         * which only the k / 4 x 128 bytes in use are touched; packed
                         * beat row-dot there by ~10% once the tile loops were asm */
#define PK_MIN_ROWS 64 /* and below ~64 rows the gather does not pay for itself */

/* Panel of features n .. n+cols (cols <= 32; the rest zero) for k a multiple of 4: 16
 * features x 16 quads at a time, contiguous row loads (which the prefetchers follow) and
 * an in-register transpose; the quads past the last multiple of 16 one by one. */
VNNI static void pack_panel(const int8_t *w0, int k, int cols, int32_t *panel)
{
    const int kq = k / 4, kq16 = kq / 16 * 16;
    for (int h = 0; h < 2; h++) {
        const int fc = cols - 16 * h < 0 ? 0 : cols - 16 * h > 16 ? 16 : cols - 16 * h;
        const int8_t *b = w0 + (size_t)16 * h * k;
        for (int q = 0; q < kq16; q += 16) {
            __m512i r[16];
            for (int f = 0; f < 16; f++)
                r[f] = f < fc ? _mm512_loadu_si512(b + (size_t)f * k + 4 * q) : _mm512_setzero_si512();
            transpose16x16_epi32(r);
            for (int i = 0; i < 16; i++)
                _mm512_store_si512(panel + (size_t)(q + i) * PK_COLS + 16 * h, r[i]);
        }
        for (int q = kq16; q < kq; q++)
            for (int f = 0; f < 16; f++) {
                int32_t *dst = panel + (size_t)q * PK_COLS + 16 * h + f;
                *dst = 0;
                if (f < fc)
                    memcpy(dst, b + (size_t)f * k + 4 * q, 4);
            }
    }
}

/* Stores y[r + q, n .. n + cols) for accumulators acc0 (features 0-15) and acc1 (16-31):
 * hr_u8_finish, sixteen at a time. */
VNNI static inline void panel_finish(__m512i acc0, __m512i acc1, int32_t zp, float xs, __m512i ws0,
                                     __m512i ws1, const hr_qlinear *W, int n, int cols, float *out)
{
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    const __m512i vz = _mm512_set1_epi32(zp);
    const __m512 vx = _mm512_set1_ps(xs);
    for (int h = 0; h < 2; h++) {
        __mmask16 mk = h ? m1 : m0;
        if (!mk)
            continue;
        __m512i a = _mm512_sub_epi32(h ? acc1 : acc0, _mm512_mullo_epi32(vz, h ? ws1 : ws0));
        __m512 sc = _mm512_mul_ps(vx, _mm512_maskz_loadu_ps(mk, W->w_scale + n + 16 * h));
        __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), sc);
        if (W->bias)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, W->bias + n + 16 * h));
        _mm512_mask_storeu_ps(out + 16 * h, mk, v);
    }
}

VNNI static inline __m512i bcast_quad(const uint8_t *p)
{
    int32_t quad;
    memcpy(&quad, p, 4);
    return _mm512_set1_epi32(quad);
}

/* The inner loops of the panel tiles, each one asm statement over all of k: with the
 * loop in C, GCC 12 kept one of the 16 accumulators on the stack (a load and a store per
 * iteration) and moved others between registers. Accumulators are zmm0-15 (row q: features
 * 0-15 in zmm 2q, 16-31 in zmm 2q+1), zeroed here and stored to c at the end (in-out
 * operands would exceed asm's 30). Per activation quad: the two panel halves into
 * zmm30/31, one broadcast quad per row, two vpdpbusd per row (AT&T order: weights,
 * activations, accumulator). x points at row 0's first quad, k is the row stride; rows
 * 4-7 are addressed from x + 4k. The 8-row loop also prefetches from pf, pfs bytes further
 * each step (the next panel's weights; a step of 0 re-touches one line). */
#define HR_PK_ZERO2(a, b) "vpxord %%zmm" #a ", %%zmm" #a ", %%zmm" #a "\n\tvpxord %%zmm" #b ", %%zmm" #b ", %%zmm" #b "\n\t"
#define HR_PK_LOAD "vmovdqa64 (%[p]), %%zmm30\n\tvmovdqa64 64(%[p]), %%zmm31\n\t"
#define HR_PK_ROW(src, bc, c0, c1)                                                       \
    "vpbroadcastd " src ", %%zmm" #bc "\n\t"                                              \
    "vpdpbusd %%zmm30, %%zmm" #bc ", %%zmm" #c0 "\n\t"                                     \
    "vpdpbusd %%zmm31, %%zmm" #bc ", %%zmm" #c1 "\n\t"
#define HR_PK_STORE2(a, b) "vmovdqu64 %%zmm" #a ", " #a "*64(%[c])\n\tvmovdqu64 %%zmm" #b ", " #b "*64(%[c])\n\t"
/* rows 0-3 from x (both tiles) */
#define HR_PK_ROWS0_3                                                                   \
    HR_PK_ROW("(%[x])", 22, 0, 1)                                                          \
    HR_PK_ROW("(%[x],%[k])", 23, 2, 3)                                                     \
    HR_PK_ROW("(%[x],%[k],2)", 24, 4, 5)                                                   \
    HR_PK_ROW("(%[x],%[k3])", 25, 6, 7)

VNNI static inline void panel_loop8(const uint8_t *x, size_t k, const int32_t *panel, size_t kq,
                                    const char *pf, size_t pfs, __m512i c[16])
{
    const size_t k3 = 3 * k;
    const uint8_t *x4 = x + 4 * k;
    __asm__ volatile(HR_PK_ZERO2(0, 1) HR_PK_ZERO2(2, 3) HR_PK_ZERO2(4, 5) HR_PK_ZERO2(6, 7)
                     HR_PK_ZERO2(8, 9) HR_PK_ZERO2(10, 11) HR_PK_ZERO2(12, 13) HR_PK_ZERO2(14, 15)
                     "1:\n\t" HR_PK_LOAD HR_PK_ROWS0_3
                     HR_PK_ROW("(%[x4])", 26, 8, 9)
                     HR_PK_ROW("(%[x4],%[k])", 27, 10, 11)
                     HR_PK_ROW("(%[x4],%[k],2)", 28, 12, 13)
                     HR_PK_ROW("(%[x4],%[k3])", 29, 14, 15)
                     "prefetcht0 (%[pf])\n\t"
                     "add %[pfs], %[pf]\n\t"
                     "add $4, %[x]\n\t"
                     "add $4, %[x4]\n\t"
                     "sub $-128, %[p]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     HR_PK_STORE2(0, 1) HR_PK_STORE2(2, 3) HR_PK_STORE2(4, 5) HR_PK_STORE2(6, 7)
                     HR_PK_STORE2(8, 9) HR_PK_STORE2(10, 11) HR_PK_STORE2(12, 13)
                     HR_PK_STORE2(14, 15)
                     : [x] "+r"(x), [x4] "+r"(x4), [p] "+r"(panel), [n] "+r"(kq), [pf] "+r"(pf)
                     : [k] "r"(k), [k3] "r"(k3), [c] "r"(c), [pfs] "r"(pfs)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm22",
                       "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
                       "xmm31", "cc", "memory");
}

/* The same for 4 rows (the leftover of 196 patches after the 8-row tiles). */
VNNI static inline void panel_loop4(const uint8_t *x, size_t k, const int32_t *panel, size_t kq,
                                    __m512i c[8])
{
    const size_t k3 = 3 * k;
    __asm__ volatile(HR_PK_ZERO2(0, 1) HR_PK_ZERO2(2, 3) HR_PK_ZERO2(4, 5) HR_PK_ZERO2(6, 7)
                     "1:\n\t" HR_PK_LOAD HR_PK_ROWS0_3
                     "add $4, %[x]\n\t"
                     "sub $-128, %[p]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     HR_PK_STORE2(0, 1) HR_PK_STORE2(2, 3) HR_PK_STORE2(4, 5) HR_PK_STORE2(6, 7)
                     : [x] "+r"(x), [p] "+r"(panel), [n] "+r"(kq)
                     : [k] "r"(k), [k3] "r"(k3), [c] "r"(c)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm22",
                       "xmm23", "xmm24", "xmm25", "xmm30", "xmm31", "cc", "memory");
}
#undef HR_PK_ZERO2
#undef HR_PK_LOAD
#undef HR_PK_ROW
#undef HR_PK_ROWS0_3
#undef HR_PK_STORE2

/* R (8 or 4) rows from r against the panel (kq >= 1 quads). */
VNNI static inline __attribute__((always_inline)) void panel_tile(int R, const uint8_t *xu, const int32_t *zp, const float *xs, int r,
                            int k, const int32_t *panel, __m512i ws0, __m512i ws1,
                            const hr_qlinear *W, int n, int cols, const char *pf, size_t pfs,
                            float *y)
{
    __m512i c[16];
    /* the tile's output lines (R rows x up to 128 bytes), fetched while the loop runs:
     * rows of y are W->rows floats apart, too far for the hardware prefetchers, and the
     * stores below otherwise waited on each line (~9% of the panel kernel's samples) */
    for (int q = 0; q < R; q++) {
        const char *o = (const char *)(y + (size_t)(r + q) * W->rows + n);
        _mm_prefetch(o, _MM_HINT_T0);
        _mm_prefetch(o + 64, _MM_HINT_T0);
    }
    if (R == 8)
        panel_loop8(xu + (size_t)r * k, (size_t)k, panel, (size_t)k / 4, pf, pfs, c);
    else
        panel_loop4(xu + (size_t)r * k, (size_t)k, panel, (size_t)k / 4, c);
    for (int q = 0; q < R; q++)
        panel_finish(c[2 * q], c[2 * q + 1], zp[r + q], xs[r + q], ws0, ws1, W, n, cols,
                     y + (size_t)(r + q) * W->rows + n);
}

/* One row against the panel (the rows left over after the 8- and 4-row tiles). */
VNNI static void panel_row(const uint8_t *xu, const int32_t *zp, const float *xs, int r, int k,
                           const int32_t *panel, __m512i ws0, __m512i ws1, const hr_qlinear *W,
                           int n, int cols, float *y)
{
    const int kq = k / 4;
    const uint8_t *x0 = xu + (size_t)r * k;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, d0 = c0, d1 = c0;
    int i = 0;
    for (; i + 2 <= kq; i += 2) { /* two chains per half: dpbusd latency */
        __m512i a = bcast_quad(x0 + 4 * i), b = bcast_quad(x0 + 4 * i + 4);
        c0 = _mm512_dpbusd_epi32(c0, a, _mm512_load_si512(panel + (size_t)i * PK_COLS));
        c1 = _mm512_dpbusd_epi32(c1, a, _mm512_load_si512(panel + (size_t)i * PK_COLS + 16));
        d0 = _mm512_dpbusd_epi32(d0, b, _mm512_load_si512(panel + (size_t)(i + 1) * PK_COLS));
        d1 = _mm512_dpbusd_epi32(d1, b, _mm512_load_si512(panel + (size_t)(i + 1) * PK_COLS + 16));
    }
    if (i < kq) {
        __m512i a = bcast_quad(x0 + 4 * i);
        c0 = _mm512_dpbusd_epi32(c0, a, _mm512_load_si512(panel + (size_t)i * PK_COLS));
        c1 = _mm512_dpbusd_epi32(c1, a, _mm512_load_si512(panel + (size_t)i * PK_COLS + 16));
    }
    panel_finish(_mm512_add_epi32(c0, d0), _mm512_add_epi32(c1, d1), zp[r], xs[r], ws0, ws1, W, n,
                 cols, y + (size_t)r * W->rows + n);
}

VNNI static void matmul_u8_packed(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                  const hr_qlinear *W, int n0, int n1, float *y)
{
    const int k = W->cols, kq = k / 4;
    _Alignas(64) int32_t panel[PK_K_MAX / 4 * PK_COLS];
    const __m512i ones = _mm512_set1_epi8(1);
    /* weights pre-packed by the importer (hr_pack_u8_panels: the layout pack_panel
     * builds, panel p at byte p x 32 k) are read in place: no packing, and the weight
     * stream is one sequential read of the mapping (64-byte aligned, as model files
     * store tensors: the panel loads are aligned) */
    const int8_t *packed =
        W->panels && n0 % PK_COLS == 0 && (uintptr_t)W->panels % 64 == 0 ? W->panels : NULL;
    const int8_t *src = packed ? packed : W->w;
    for (int n = n0; n < n1; n += PK_COLS) {
        const int cols = n1 - n < PK_COLS ? n1 - n : PK_COLS;
        const int32_t *pp = panel;
        if (packed)
            pp = (const int32_t *)(const void *)(packed + (size_t)n * k);
        else
            pack_panel(W->w + (size_t)n * k, k, cols, panel);
        __m512i ws0 = _mm512_setzero_si512(), ws1 = ws0; /* sum of each feature's weights */
        for (int i = 0; i < kq; i++) {
            ws0 = _mm512_dpbusd_epi32(ws0, ones, _mm512_load_si512(pp + (size_t)i * PK_COLS));
            ws1 = _mm512_dpbusd_epi32(ws1, ones, _mm512_load_si512(pp + (size_t)i * PK_COLS + 16));
        }
        /* the next panel's weights (contiguous rows) are prefetched while this one
         * computes, a share per 8-row tile, one prefetch per step of its inner loop: the
         * model's weights do not stay in cache between calls, and packing stalled on each
         * line otherwise. The next panel may lie past n1 (a caller's column slice, or
         * another thread's): prefetching it costs nothing there and hides its first
         * lines when this thread goes on to it (hr_matmul_u8_gelu_tanh's slices) */
        const int left = W->rows - n - PK_COLS;
        const int next = left < 0 ? 0 : left > PK_COLS ? PK_COLS : left;
        const char *pf = (const char *)(src + (size_t)(n + PK_COLS) * k);
        const size_t per_tile = ((size_t)next * k + (size_t)(m / 8) - 1) / (size_t)(m / 8 > 0 ? m / 8 : 1);
        const size_t pfs = next ? (per_tile + (size_t)kq - 1) / (size_t)kq : 0;
        int r = 0;
        for (; r + 8 <= m; r += 8)
            panel_tile(8, xu, zp, xs, r, k, pp, ws0, ws1, W, n, cols,
                       next ? pf + (size_t)(r / 8) * per_tile : (const char *)pp, pfs, y);
        if (r + 4 <= m) {
            panel_tile(4, xu, zp, xs, r, k, pp, ws0, ws1, W, n, cols, NULL, 0, y);
            r += 4;
        }
        for (; r < m; r++)
            panel_row(xu, zp, xs, r, k, pp, ws0, ws1, W, n, cols, y);
    }
}

VNNI void hr_matmul_u8_cols_avx512vnni(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                       const hr_qlinear *W, int n0, int n1, float *y)
{
    const int k = W->cols, kv = k / 64 * 64;
    if (m >= PK_MIN_ROWS && k % 4 == 0 && k <= PK_K_MAX) {
        matmul_u8_packed(xu, zp, xs, m, W, n0, n1, y);
        return;
    }
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
