/* kernels_internal.h: the per-ISA kernel table behind kernels.h (private to src/ml).
 *
 * kernels.c holds the scalar table and the dispatch; kernels_avx2.c the AVX2+FMA table,
 * compiled with target attributes so the rest of the build stays baseline x86-64;
 * kernels_avx512.c the AVX-512 VNNI matmuls (int16 and uint8 activations), GELU and
 * attention head that replace the AVX2 ones where available. Each
 * entry works on a slice the caller chose (rows, a range of output features, one head), so
 * the splitting over the pool is written once, in kernels.c.
 */
#ifndef HR_ML_KERNELS_INTERNAL_H
#define HR_ML_KERNELS_INTERNAL_H

#include "ml/kernels.h"

#include <math.h>

typedef struct hr_kernel_ops {
    void (*quantize_row)(const float *x, int k, int qmax, int16_t *q, float *scale);
    /* per-row asymmetric uint8: x ~ (q - *zp) * *scale (kernels.h, hr_quantize_act_u8) */
    void (*quantize_row_u8)(const float *x, int k, uint8_t *q, int32_t *zp, float *scale);
    /* y[r, n] for r < m and n in [n0, n1); y has row stride W->rows */
    void (*matmul_cols)(const int16_t *xq, const float *xs, int m, const hr_qlinear *W, int n0,
                        int n1, float *y);
    /* the same for uint8 activations with per-row zero points */
    void (*matmul_u8_cols)(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                           const hr_qlinear *W, int n0, int n1, float *y);
    void (*layernorm_row)(float *x, int n, const float *gamma, const float *beta, float eps);
    void (*gelu)(float *x, size_t n);
    void (*gelu_tanh)(float *x, size_t n);
    void (*softmax_row)(float *x, int n);
    void (*add)(float *y, const float *x, size_t n);
    /* one head: scratch holds head_dim * seq + seq floats */
    void (*attention_head)(const float *qkv, int seq, int n_heads, int head_dim, int h,
                           const uint8_t *key_valid, int window, float *scratch, float *out);
} hr_kernel_ops;

extern const hr_kernel_ops hr_kernel_ops_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const hr_kernel_ops hr_kernel_ops_avx2;
#define HR_HAVE_AVX2_KERNELS 1
#if defined(__x86_64__)
/* kernels_avx512.c: the AVX-512 VNNI entries; every other op comes from the AVX2 table */
void hr_matmul_cols_avx512vnni(const int16_t *xq, const float *xs, int m, const hr_qlinear *W,
                               int n0, int n1, float *y);
void hr_matmul_u8_cols_avx512vnni(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                  const hr_qlinear *W, int n0, int n1, float *y);
/* fp32 ops at 512 bits (kernels_avx512.c): GELU, and the attention head without a key mask */
void hr_gelu_avx512(float *x, size_t n);
void hr_gelu_tanh_avx512(float *x, size_t n);
void hr_attention_head_avx512(const float *qkv, int seq, int n_heads, int head_dim, int h,
                              const uint8_t *key_valid, int window, float *scratch, float *out);
#define HR_HAVE_AVX512_KERNELS 1
#endif
#endif

/* The matmul epilogue, shared so both paths round identically (no FMA contraction: the
 * build is ISO C, where GCC keeps -ffp-contract=off). */
static inline float hr_q8_finish(int32_t acc, float xs, float ws, const float *bias, int n)
{
    float s = xs * ws;
    float y = (float)acc * s;
    return bias ? y + bias[n] : y;
}

/* The uint8 epilogue: acc = sum xu * w, wsum = sum w over the row; acc - zp * wsum is the
 * exact integer dot product of (xu - zp) and w. */
static inline float hr_u8_finish(int32_t acc, int32_t zp, int32_t wsum, float xs, float ws,
                                 const float *bias, int n)
{
    return hr_q8_finish(acc - zp * wsum, xs, ws, bias, n);
}

/* The uint8 quantisation parameters of a row with range [lo, hi] (lo <= 0 <= hi, not both
 * zero): shared so every path derives the same scale, inverse and zero point. */
static inline void hr_u8_params(float lo, float hi, float *scale, float *inv, int32_t *zp)
{
    *scale = (hi - lo) / 255.0f;
    *inv = 255.0f / (hi - lo);
    float z = -lo * *inv;
    int32_t zi = (int32_t)(z + 0.5f); /* z >= 0 */
    *zp = zi > 255 ? 255 : zi;
}

/* The tanh GELU of one value, for the scalar table and the vector paths' tails: tanh
 * through one expf (tanh y = sign(y) (1 - e^-2|y|) / (1 + e^-2|y|)); libm's tanhf
 * (expm1f inside) took 40% of a SigLIP-base forward pass, and this form is within a few
 * ulp. The vector paths compute the same expression with their exp. */
static inline float hr_gelu_tanh_one(float t)
{
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    const float y = k * (t + 0.044715f * t * t * t);
    const float e = expf(-2.0f * fabsf(y)), th = (1.0f - e) / (1.0f + e);
    return 0.5f * t * (1.0f + (y < 0.0f ? -th : th));
}

/* Which keys token i may see: [*lo, *hi) given the window (0 = all). */
static inline void hr_attention_range(int i, int seq, int window, int *lo, int *hi)
{
    *lo = 0;
    *hi = seq;
    if (window > 0) {
        *lo = i - window < 0 ? 0 : i - window;
        *hi = i + window + 1 > seq ? seq : i + window + 1;
    }
}

#endif
