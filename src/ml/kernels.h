/* kernels.h: the numeric kernels of the encoders (int8 matmul, LayerNorm, GELU, softmax,
 * attention), with an AVX2+FMA path (its matmuls, GELU and unmasked attention replaced by
 * AVX-512 VNNI ones where the CPU has it) and a portable scalar path, chosen at run time.
 *
 * Two activation formats for the int8 matmul: int16 (below; the attention output
 * projection, where 8-bit rows lose most) and uint8 with per-row zero points (hr_linear_u8;
 * the other linears, twice the VNNI rate). Both sum exactly in int32.
 *
 * Matmul numerics (docs/model-format.md, "Kernels"): weights are int8 with one fp32 scale
 * per output row; activations are quantised per row (per token) on the fly to int16
 * (symmetric, scale = max|x| / qmax, round to nearest even) and multiplied with int32
 * accumulation (AVX2 madd_epi16, AVX-512 VNNI dpwssd), then y = acc * x_scale * w_scale + bias. qmax is
 * min(32767, (2^31 - 1) / (127 k)), so no sum over k inputs can overflow int32 (11008 for
 * k = 1536): activation error is then negligible next to the int8 weights', which a plain
 * int8 x int8 scheme would double (measured: MiniLM embeddings of 4-token inputs drop
 * from cosine ~0.9996 to ~0.999 against fp32). Integer accumulation is exact, so the AVX2
 * AVX-512, AVX2 and scalar paths give bit-identical matmul outputs on every machine and thread count.
 *
 * Nothing here allocates: callers pass every output and scratch buffer. Large matmuls and
 * attention heads are split through the ML pool (pool.h); each range writes only its own
 * outputs, so results do not depend on the thread count.
 */
#ifndef HR_ML_KERNELS_H
#define HR_ML_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* An int8 linear layer y = x W^T + b with W [rows=out, cols=in] row-major. */
typedef struct hr_qlinear {
    const int8_t *w;
    const float *w_scale; /* [rows] */
    const float *bias;    /* [rows] or NULL */
    int rows;             /* output features */
    int cols;             /* input features */
    /* The same weights in the uint8 kernels' panel layout (hr_pack_u8_panels), or NULL.
     * Written by the importer (docs/model-format.md, dtype 3) and mapped with the model:
     * the AVX-512 VNNI kernel then reads them as stored (64-byte aligned) instead of
     * packing a panel per call; the other paths use w. */
    const int8_t *panels;
} hr_qlinear;

/* The panel layout of the uint8-activation matmul: output features in panels of
 * HR_PANEL_COLS; in panel p, input quad q (inputs 4q .. 4q+3) and feature f, the 4 int8
 * weights W[p * HR_PANEL_COLS + f][4q .. 4q+3] at byte ((p * cols / 4 + q) * HR_PANEL_COLS
 * + f) * 4. One broadcast activation quad against a 64-byte row of it accumulates 16
 * features at once. Same size as W. hr_u8_panels_fit says whether W's shape has this form
 * (rows a multiple of HR_PANEL_COLS, cols of 4, cols <= HR_PANEL_K_MAX); out [rows * cols]. */
#define HR_PANEL_COLS 32
#define HR_PANEL_K_MAX 3072
int hr_u8_panels_fit(int rows, int cols);
void hr_pack_u8_panels(const int8_t *w, int rows, int cols, int8_t *out);

typedef enum { HR_ISA_AUTO = 0, HR_ISA_SCALAR = 1, HR_ISA_AVX2 = 2, HR_ISA_AVX512VNNI = 3 } hr_isa;

/* Selects the kernel set (AUTO: the best the CPU has: AVX-512 VNNI matmul over the AVX2
 * table, else AVX2+FMA, else scalar). Returns the ISA now in use; asking for one the CPU
 * lacks gives the best lower one. For tests and benchmarks; call it before inference
 * starts, not concurrently with it. */
hr_isa hr_kernels_select(hr_isa want);
hr_isa hr_kernels_isa(void);
const char *hr_isa_name(hr_isa isa);

/* Largest activation code for rows of k inputs (see above). */
int hr_act_qmax(int k);

/* Per-row symmetric int16 quantisation of activations x [m, k] into xq [m, k], xs [m]. */
void hr_quantize_act(const float *x, int m, int k, int16_t *xq, float *xs);

/* y [m, W->rows] = dequant(xq [m, W->cols]) W^T + b. */
void hr_matmul_q8(const int16_t *xq, const float *xs, int m, const hr_qlinear *W, float *y);

/* Quantise x then hr_matmul_q8; xq [m, cols] and xs [m] are caller scratch. */
void hr_linear_q8(const float *x, int m, const hr_qlinear *W, int16_t *xq, float *xs, float *y);

/* uint8 activations (the faster path on VNNI CPUs, where vpdpbusd does 64 multiply-adds
 * per instruction against int8 weights): each row is quantised asymmetrically over its own
 * range [min(x, 0), max(x, 0)] to 256 levels, x ~ (xu - zp) * xs with zp in [0, 255]
 * (round to nearest even, like the int16 path). Asymmetric so a one-sided row (GELU
 * output) keeps all 256 levels. The matmul sums xu * w exactly in int32 and subtracts
 * zp * sum(w): the result is the exact integer dot product of (xu - zp) and w, so the
 * AVX-512 VNNI, AVX2 and scalar paths stay bit-identical. Accuracy is a little below the
 * int16 path (activation step ~ range / 255): the encoder uses it where measured to keep
 * the embeddings >= 0.999 cosine from fp32 (docs/model-format.md). */
void hr_quantize_act_u8(const float *x, int m, int k, uint8_t *xu, int32_t *zp, float *xs);
void hr_matmul_u8(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                  const hr_qlinear *W, float *y);
/* Quantise x then hr_matmul_u8; xu [m, cols], zp [m] and xs [m] are caller scratch. */
void hr_linear_u8(const float *x, int m, const hr_qlinear *W, uint8_t *xu, int32_t *zp,
                  float *xs, float *y);

/* In place over m rows of n: x = (x - mean) / sqrt(var + eps) * gamma + beta (beta may be
 * NULL: no bias, as in ModernBERT). */
void hr_layernorm(float *x, int m, int n, const float *gamma, const float *beta, float eps);

/* Fused row passes of a pre-norm block (each row done while it is in L1: the whole
 * [m, n] buffers of a 196-patch tower did not stay in L2 between separate passes). Same
 * operations per element as the separate calls, so the same bits.
 * hr_residual_norm_u8: per row x += d (d NULL: none), t = LayerNorm(x), then t quantised
 * as hr_quantize_act_u8 (t may be d: each row of d is read before its t row is written).
 * hr_matmul_u8_gelu_tanh: y = gelu_tanh(hr_matmul_u8(...)), the GELU applied to each
 * 256-column slice of y right after it is computed, while it is still in L2 (a
 * separate pass over SigLIP's [196, 3072] MLP activations read and wrote them in L3). The
 * same GELU per element, so the same bits as hr_matmul_u8 then hr_gelu_tanh over each row
 * wherever the ISA's GELU is lane-independent (every path when W->rows is a multiple of 16). */
void hr_residual_norm_u8(float *x, const float *d, int m, int n, const float *gamma,
                         const float *beta, float eps, float *t, uint8_t *xu, int32_t *zp,
                         float *xs);
void hr_matmul_u8_gelu_tanh(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                            const hr_qlinear *W, float *y);

/* In place: x = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU. */
void hr_gelu_erf(float *x, size_t n);

/* In place: x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation
 * SigLIP uses (gelu_pytorch_tanh). */
void hr_gelu_tanh(float *x, size_t n);

/* In place, row-wise over m rows of n: numerically stable softmax. */
void hr_softmax_rows(float *x, int m, int n);

/* ModernBERT GeGLU: x [m, 2n] holds per row input | gate; y [m, n] = gelu(input) * gate
 * (exact erf GELU). y must not overlap x. */
void hr_geglu(const float *x, int m, int n, float *y);

/* Rotary position embedding, NeoX style (rotate_half, non-interleaved), in place on the q
 * and k parts of qkv [seq, 3H] (layout as for hr_attention): for position p and
 * t < head_dim/2, the pair (x[t], x[t + head_dim/2]) rotates by p * theta^(-2t/head_dim).
 * Angles are computed in double precision. */
void hr_rope_qk(float *qkv, int seq, int n_heads, int head_dim, double theta);

/* y += x over n floats. */
void hr_add_inplace(float *y, const float *x, size_t n);

/* Multi-head scaled dot-product attention over one sequence.
 * qkv [seq, 3*H] holds per token q | k | v (H = n_heads * head_dim, head h at columns
 * h*head_dim); out [seq, H]. key_valid [seq] (NULL = all) masks padding keys: masked keys
 * get zero weight, as an additive -inf mask would give. window > 0 limits token i to keys
 * j with |i - j| <= window (ModernBERT local layers); 0 = global. scratch must hold
 * hr_attention_scratch_floats(seq, n_heads, head_dim) floats. */
size_t hr_attention_scratch_floats(int seq, int n_heads, int head_dim);
void hr_attention(const float *qkv, int seq, int n_heads, int head_dim, const uint8_t *key_valid,
                  int window, float *scratch, float *out);

#endif
