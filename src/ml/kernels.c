/* kernels.c: the portable scalar kernels, the run-time ISA dispatch and the splitting of
 * large work over the ML pool.
 *
 * The selected kernel table is a documented process-wide singleton: chosen once from
 * __builtin_cpu_supports (AVX-512 VNNI, else AVX2 + FMA, else scalar) on first use, or by
 * hr_kernels_select for tests and benchmarks. The scalar path is the reference the AVX2 path is tested against
 * and the fallback on CPUs without AVX2.
 */
#include "ml/kernels_internal.h"

#include "ml/pool.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* ---- scalar kernels -------------------------------------------------------------------- */

static void quantize_row_scalar(const float *x, int k, int qmax, int16_t *q, float *scale)
{
    float amax = 0.0f;
    for (int i = 0; i < k; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax; /* not fmaxf: that is a libm call here */
    }
    if (amax == 0.0f) {
        memset(q, 0, (size_t)k * sizeof *q);
        *scale = 0.0f;
        return;
    }
    float inv = (float)qmax / amax;
    for (int i = 0; i < k; i++) {
        long v = lrintf(x[i] * inv);
        q[i] = (int16_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
    }
    *scale = amax / (float)qmax;
}

static void matmul_cols_scalar(const int16_t *xq, const float *xs, int m, const hr_qlinear *W,
                               int n0, int n1, float *y)
{
    const int k = W->cols;
    for (int r = 0; r < m; r++) {
        const int16_t *a = xq + (size_t)r * k;
        for (int n = n0; n < n1; n++) {
            const int8_t *w = W->w + (size_t)n * k;
            int32_t acc = 0;
            for (int i = 0; i < k; i++)
                acc += (int32_t)a[i] * (int32_t)w[i];
            y[(size_t)r * W->rows + n] = hr_q8_finish(acc, xs[r], W->w_scale[n], W->bias, n);
        }
    }
}

static void quantize_row_u8_scalar(const float *x, int k, uint8_t *q, int32_t *zp, float *scale)
{
    float lo = 0.0f, hi = 0.0f;
    for (int i = 0; i < k; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (lo == hi) { /* all zero */
        memset(q, 0, (size_t)k);
        *zp = 0;
        *scale = 0.0f;
        return;
    }
    float inv;
    hr_u8_params(lo, hi, scale, &inv, zp);
    for (int i = 0; i < k; i++) {
        long v = lrintf(x[i] * inv) + *zp;
        q[i] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
    }
}

/* Rows of (xu - zp) in [-255, 255] as int16, a chunk at a time, through the int16 kernel:
 * the same exact integer sum that hr_u8_finish forms (acc - zp * wsum) and the same
 * epilogue, at the int16 kernel's speed (a direct u8 x s8 loop measured half of it). */
#define U8_CHUNK_ELEMS 16384 /* 32 KB of stack */

static void matmul_u8_cols_scalar(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                                  const hr_qlinear *W, int n0, int n1, float *y)
{
    const int k = W->cols;
    int16_t buf[U8_CHUNK_ELEMS];
    const int rows = k <= U8_CHUNK_ELEMS ? U8_CHUNK_ELEMS / k : 1;
    if (k > U8_CHUNK_ELEMS) { /* one row at a time, directly */
        for (int n = n0; n < n1; n++) {
            const int8_t *w = W->w + (size_t)n * k;
            for (int r = 0; r < m; r++) {
                const uint8_t *a = xu + (size_t)r * k;
                int32_t acc = 0;
                for (int i = 0; i < k; i++)
                    acc += ((int32_t)a[i] - zp[r]) * (int32_t)w[i];
                y[(size_t)r * W->rows + n] = hr_q8_finish(acc, xs[r], W->w_scale[n], W->bias, n);
            }
        }
        return;
    }
    for (int r0 = 0; r0 < m; r0 += rows) {
        const int mr = m - r0 < rows ? m - r0 : rows;
        for (int r = 0; r < mr; r++)
            for (int i = 0; i < k; i++)
                buf[(size_t)r * k + i] = (int16_t)(xu[(size_t)(r0 + r) * k + i] - zp[r0 + r]);
        matmul_cols_scalar(buf, xs + r0, mr, W, n0, n1, y + (size_t)r0 * W->rows);
    }
}

static void layernorm_row_scalar(float *x, int n, const float *gamma, const float *beta, float eps)
{
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= (float)n;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++) {
        float v = (x[i] - mean) * inv * gamma[i];
        x[i] = beta ? v + beta[i] : v;
    }
}

static void gelu_scalar(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void gelu_tanh_scalar(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = hr_gelu_tanh_one(x[i]);
}

static void softmax_row_scalar(float *x, int n)
{
    float mx = -INFINITY, sum = 0.0f;
    for (int i = 0; i < n; i++)
        mx = fmaxf(mx, x[i]);
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

static void add_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* One head. K is first transposed into scratch [head_dim, seq] so that a row of scores is
 * a sum of scaled K rows (vectorisable, no horizontal sums); then softmax over the allowed
 * keys and out_i = sum_j p_ij v_j. */
static void attention_head_scalar(const float *qkv, int seq, int n_heads, int head_dim, int h,
                                  const uint8_t *key_valid, int window, float *scratch, float *out)
{
    const int H = n_heads * head_dim, stride = 3 * H;
    const float scale = 1.0f / sqrtf((float)head_dim);
    float *kt = scratch, *p = scratch + (size_t)head_dim * seq;
    for (int j = 0; j < seq; j++)
        for (int t = 0; t < head_dim; t++)
            kt[(size_t)t * seq + j] = qkv[(size_t)j * stride + H + h * head_dim + t];
    for (int i = 0; i < seq; i++) {
        const float *q = qkv + (size_t)i * stride + h * head_dim;
        float *o = out + (size_t)i * H + h * head_dim;
        int lo, hi;
        hr_attention_range(i, seq, window, &lo, &hi);
        for (int j = lo; j < hi; j++)
            p[j] = 0.0f;
        for (int t = 0; t < head_dim; t++) {
            float qt = q[t] * scale;
            const float *kr = kt + (size_t)t * seq;
            for (int j = lo; j < hi; j++)
                p[j] += qt * kr[j];
        }
        float mx = -INFINITY;
        for (int j = lo; j < hi; j++)
            if ((!key_valid || key_valid[j]) && p[j] > mx)
                mx = p[j];
        memset(o, 0, (size_t)head_dim * sizeof *o);
        if (mx == -INFINITY) /* every key masked: zero output rather than NaN */
            continue;
        float sum = 0.0f;
        for (int j = lo; j < hi; j++) {
            p[j] = (!key_valid || key_valid[j]) ? expf(p[j] - mx) : 0.0f;
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (int j = lo; j < hi; j++) {
            float pj = p[j] * inv;
            if (pj == 0.0f)
                continue;
            const float *v = qkv + (size_t)j * stride + 2 * H + h * head_dim;
            for (int t = 0; t < head_dim; t++)
                o[t] += pj * v[t];
        }
    }
}

const hr_kernel_ops hr_kernel_ops_scalar = {
    .quantize_row = quantize_row_scalar,
    .matmul_cols = matmul_cols_scalar,
    .quantize_row_u8 = quantize_row_u8_scalar,
    .matmul_u8_cols = matmul_u8_cols_scalar,
    .layernorm_row = layernorm_row_scalar,
    .gelu = gelu_scalar,
    .gelu_tanh = gelu_tanh_scalar,
    .softmax_row = softmax_row_scalar,
    .add = add_scalar,
    .attention_head = attention_head_scalar,
};

/* ---- dispatch (process-wide singleton) ------------------------------------------------ */

static _Atomic(const hr_kernel_ops *) g_ops;
static _Atomic int g_isa;
#ifdef HR_HAVE_AVX512_KERNELS
/* The AVX-512 table: the AVX2 one with the VNNI matmul; built once (pthread_once), so
 * selecting it again never writes to a table another thread may be reading. */
static hr_kernel_ops g_ops_avx512;
static pthread_once_t g_ops_avx512_once = PTHREAD_ONCE_INIT;

static void build_avx512_table(void)
{
    g_ops_avx512 = hr_kernel_ops_avx2;
    g_ops_avx512.matmul_cols = hr_matmul_cols_avx512vnni;
    g_ops_avx512.matmul_u8_cols = hr_matmul_u8_cols_avx512vnni;
    g_ops_avx512.gelu = hr_gelu_avx512;
    g_ops_avx512.gelu_tanh = hr_gelu_tanh_avx512;
    g_ops_avx512.attention_head = hr_attention_head_avx512;
}
#endif

static int cpu_has(hr_isa isa)
{
#ifdef HR_HAVE_AVX2_KERNELS
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == HR_ISA_AVX2)
        return avx2;
#ifdef HR_HAVE_AVX512_KERNELS
    if (isa == HR_ISA_AVX512VNNI)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
#endif
    return isa == HR_ISA_SCALAR;
}

static const hr_kernel_ops *table_of(hr_isa isa)
{
#ifdef HR_HAVE_AVX2_KERNELS
    if (isa == HR_ISA_AVX2)
        return &hr_kernel_ops_avx2;
#ifdef HR_HAVE_AVX512_KERNELS
    if (isa == HR_ISA_AVX512VNNI) {
        pthread_once(&g_ops_avx512_once, build_avx512_table);
        return &g_ops_avx512;
    }
#endif
#endif
    return &hr_kernel_ops_scalar;
}

hr_isa hr_kernels_select(hr_isa want)
{
    hr_isa isa = want == HR_ISA_AUTO ? HR_ISA_AVX512VNNI : want;
    while (isa > HR_ISA_SCALAR && !cpu_has(isa))
        isa = (hr_isa)(isa - 1);
    if (isa < HR_ISA_SCALAR)
        isa = HR_ISA_SCALAR;
    atomic_store(&g_ops, table_of(isa));
    atomic_store(&g_isa, (int)isa);
    return isa;
}

static const hr_kernel_ops *ops(void)
{
    const hr_kernel_ops *o = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (!o) {
        hr_kernels_select(HR_ISA_AUTO);
        o = atomic_load(&g_ops);
    }
    return o;
}

hr_isa hr_kernels_isa(void)
{
    ops();
    return (hr_isa)atomic_load(&g_isa);
}

const char *hr_isa_name(hr_isa isa)
{
    switch (isa) {
    case HR_ISA_SCALAR: return "scalar";
    case HR_ISA_AVX2: return "avx2+fma";
    case HR_ISA_AVX512VNNI: return "avx512vnni";
    default: return "auto";
    }
}

/* ---- public entry points ----------------------------------------------------------------- */

int hr_u8_panels_fit(int rows, int cols)
{
    return rows > 0 && rows % HR_PANEL_COLS == 0 && cols > 0 && cols % 4 == 0 &&
           cols <= HR_PANEL_K_MAX;
}

void hr_pack_u8_panels(const int8_t *w, int rows, int cols, int8_t *out)
{
    const size_t kq = (size_t)cols / 4;
    for (int n = 0; n < rows; n++) {
        const size_t p = (size_t)n / HR_PANEL_COLS, f = (size_t)n % HR_PANEL_COLS;
        for (size_t q = 0; q < kq; q++)
            memcpy(out + ((p * kq + q) * HR_PANEL_COLS + f) * 4, w + (size_t)n * cols + 4 * q, 4);
    }
}

int hr_act_qmax(int k)
{
    long lim = 2147483647L / (127L * (k > 0 ? k : 1));
    return lim > 32767 ? 32767 : (int)lim;
}

void hr_quantize_act(const float *x, int m, int k, int16_t *xq, float *xs)
{
    const hr_kernel_ops *o = ops();
    const int qmax = hr_act_qmax(k);
    for (int r = 0; r < m; r++)
        o->quantize_row(x + (size_t)r * k, k, qmax, xq + (size_t)r * k, &xs[r]);
}

/* Output features are split into blocks of MATMUL_BLOCK rows of W: each pool range writes
 * its own columns of y, so the result is the same for any thread count. */
#define MATMUL_BLOCK 32

typedef struct matmul_job {
    const hr_kernel_ops *ops;
    const int16_t *xq;
    const float *xs;
    int m;
    const hr_qlinear *W;
    float *y;
} matmul_job;

static void matmul_range(void *ctx, size_t begin, size_t end)
{
    const matmul_job *j = ctx;
    int n0 = (int)begin * MATMUL_BLOCK, n1 = (int)end * MATMUL_BLOCK;
    if (n1 > j->W->rows)
        n1 = j->W->rows;
    j->ops->matmul_cols(j->xq, j->xs, j->m, j->W, n0, n1, j->y);
}

void hr_matmul_q8(const int16_t *xq, const float *xs, int m, const hr_qlinear *W, float *y)
{
    matmul_job job = {ops(), xq, xs, m, W, y};
    size_t blocks = ((size_t)W->rows + MATMUL_BLOCK - 1) / MATMUL_BLOCK;
    /* small products are not worth waking workers for */
    if ((size_t)m * W->rows * W->cols < ((size_t)1 << 18))
        matmul_range(&job, 0, blocks);
    else
        hr_ml_parallel_for(blocks, matmul_range, &job);
}

void hr_linear_q8(const float *x, int m, const hr_qlinear *W, int16_t *xq, float *xs, float *y)
{
    hr_quantize_act(x, m, W->cols, xq, xs);
    hr_matmul_q8(xq, xs, m, W, y);
}

void hr_quantize_act_u8(const float *x, int m, int k, uint8_t *xu, int32_t *zp, float *xs)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++)
        o->quantize_row_u8(x + (size_t)r * k, k, xu + (size_t)r * k, &zp[r], &xs[r]);
}

typedef struct matmul_u8_job {
    const hr_kernel_ops *ops;
    const uint8_t *xu;
    const int32_t *zp;
    const float *xs;
    int m;
    const hr_qlinear *W;
    float *y;
    int gelu_tanh; /* apply it per GELU_CHUNK columns (hr_matmul_u8_gelu_tanh) */
} matmul_u8_job;

/* Columns per GELU slice: 196 rows x 256 floats = 200 KB, in L2 when the GELU reads them. */
#define GELU_CHUNK 256

static void matmul_u8_range(void *ctx, size_t begin, size_t end)
{
    const matmul_u8_job *j = ctx;
    int n0 = (int)begin * MATMUL_BLOCK, n1 = (int)end * MATMUL_BLOCK;
    if (n1 > j->W->rows)
        n1 = j->W->rows;
    if (!j->gelu_tanh) {
        j->ops->matmul_u8_cols(j->xu, j->zp, j->xs, j->m, j->W, n0, n1, j->y);
        return;
    }
    for (int c0 = n0; c0 < n1; c0 += GELU_CHUNK) {
        const int c1 = n1 - c0 < GELU_CHUNK ? n1 : c0 + GELU_CHUNK;
        j->ops->matmul_u8_cols(j->xu, j->zp, j->xs, j->m, j->W, c0, c1, j->y);
        for (int r = 0; r < j->m; r++)
            j->ops->gelu_tanh(j->y + (size_t)r * j->W->rows + c0, (size_t)(c1 - c0));
    }
}

static void matmul_u8_run(matmul_u8_job *job)
{
    const hr_qlinear *W = job->W;
    size_t blocks = ((size_t)W->rows + MATMUL_BLOCK - 1) / MATMUL_BLOCK;
    if ((size_t)job->m * W->rows * W->cols < ((size_t)1 << 18))
        matmul_u8_range(job, 0, blocks);
    else
        hr_ml_parallel_for(blocks, matmul_u8_range, job);
}

void hr_matmul_u8(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                  const hr_qlinear *W, float *y)
{
    matmul_u8_job job = {ops(), xu, zp, xs, m, W, y, 0};
    matmul_u8_run(&job);
}

void hr_matmul_u8_gelu_tanh(const uint8_t *xu, const int32_t *zp, const float *xs, int m,
                            const hr_qlinear *W, float *y)
{
    matmul_u8_job job = {ops(), xu, zp, xs, m, W, y, 1};
    matmul_u8_run(&job);
}

void hr_linear_u8(const float *x, int m, const hr_qlinear *W, uint8_t *xu, int32_t *zp,
                  float *xs, float *y)
{
    hr_quantize_act_u8(x, m, W->cols, xu, zp, xs);
    hr_matmul_u8(xu, zp, xs, m, W, y);
}

void hr_layernorm(float *x, int m, int n, const float *gamma, const float *beta, float eps)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++)
        o->layernorm_row(x + (size_t)r * n, n, gamma, beta, eps);
}

void hr_residual_norm_u8(float *x, const float *d, int m, int n, const float *gamma,
                         const float *beta, float eps, float *t, uint8_t *xu, int32_t *zp,
                         float *xs)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++) {
        float *xr = x + (size_t)r * n, *tr = t + (size_t)r * n;
        if (d)
            o->add(xr, d + (size_t)r * n, (size_t)n);
        memcpy(tr, xr, (size_t)n * sizeof *tr);
        o->layernorm_row(tr, n, gamma, beta, eps);
        o->quantize_row_u8(tr, n, xu + (size_t)r * n, &zp[r], &xs[r]);
    }
}

void hr_gelu_tanh_quantize_u8(float *x, int m, int k, uint8_t *xu, int32_t *zp, float *xs)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++) {
        o->gelu_tanh(x + (size_t)r * k, (size_t)k);
        o->quantize_row_u8(x + (size_t)r * k, k, xu + (size_t)r * k, &zp[r], &xs[r]);
    }
}

void hr_gelu_erf(float *x, size_t n) { ops()->gelu(x, n); }

void hr_gelu_tanh(float *x, size_t n) { ops()->gelu_tanh(x, n); }

void hr_softmax_rows(float *x, int m, int n)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++)
        o->softmax_row(x + (size_t)r * n, n);
}

void hr_add_inplace(float *y, const float *x, size_t n) { ops()->add(y, x, n); }

void hr_geglu(const float *x, int m, int n, float *y)
{
    const hr_kernel_ops *o = ops();
    for (int r = 0; r < m; r++) {
        const float *in = x + (size_t)r * 2 * n, *gate = in + n;
        float *out = y + (size_t)r * n;
        memcpy(out, in, (size_t)n * sizeof *out);
        o->gelu(out, (size_t)n);
        for (int i = 0; i < n; i++)
            out[i] *= gate[i];
    }
}

/* Cheap next to the matmuls (seq x head_dim/2 angles, shared by every head and by q and
 * k), so one portable version serves every ISA. */
/* The angles of frequencies t0 .. t0 + nt at every position are the same double-precision
 * values as p * pow(theta, -2t / head_dim) computed pair by pair; pow runs once per
 * frequency (not per position), and the rotation runs over contiguous t, so it vectorises. */
#define ROPE_BLOCK 64

static void rope_block(float *qkv, int seq, int n_heads, int head_dim, double theta, int t0, int nt)
{
    const int H = n_heads * head_dim, half = head_dim / 2;
    double inv_freq[ROPE_BLOCK];
    float c[ROPE_BLOCK], s[ROPE_BLOCK];
    for (int u = 0; u < nt; u++)
        inv_freq[u] = pow(theta, -2.0 * (t0 + u) / head_dim);
    for (int p = 0; p < seq; p++) {
        for (int u = 0; u < nt; u++) {
            double angle = p * inv_freq[u];
            c[u] = (float)cos(angle);
            s[u] = (float)sin(angle);
        }
        float *row = qkv + (size_t)p * 3 * H;
        for (int part = 0; part < 2; part++) /* q, then k */
            for (int h = 0; h < n_heads; h++) {
                float *x = row + part * H + h * head_dim + t0, *x2 = x + half;
                for (int u = 0; u < nt; u++) {
                    float a = x[u], b = x2[u];
                    x[u] = a * c[u] - b * s[u];
                    x2[u] = b * c[u] + a * s[u];
                }
            }
    }
}

void hr_rope_qk(float *qkv, int seq, int n_heads, int head_dim, double theta)
{
    const int half = head_dim / 2;
    for (int t0 = 0; t0 < half; t0 += ROPE_BLOCK)
        rope_block(qkv, seq, n_heads, head_dim, theta, t0,
                   half - t0 < ROPE_BLOCK ? half - t0 : ROPE_BLOCK);
}

size_t hr_attention_scratch_floats(int seq, int n_heads, int head_dim)
{
    /* per head: K transposed, 16 rows of scores and V packed (the AVX2 path blocks query
     * rows and packs V; the scalar path uses K^T and one row), rounded to 64 bytes */
    size_t per = ((size_t)2 * head_dim * seq + (size_t)16 * seq + 15) / 16 * 16;
    return per * (size_t)n_heads;
}

typedef struct attention_job {
    const hr_kernel_ops *ops;
    const float *qkv;
    int seq, n_heads, head_dim, window;
    const uint8_t *key_valid;
    float *scratch;
    float *out;
} attention_job;

/* Ranges are disjoint, so the slot of a range's first head is private to that range: its
 * heads reuse it one after another. With one thread only slot 0 is ever touched, so the
 * untouched rest of a session's (mmap'd) scratch never becomes resident. */
static void attention_range(void *ctx, size_t begin, size_t end)
{
    const attention_job *j = ctx;
    size_t per = hr_attention_scratch_floats(j->seq, 1, j->head_dim);
    for (size_t h = begin; h < end; h++)
        j->ops->attention_head(j->qkv, j->seq, j->n_heads, j->head_dim, (int)h, j->key_valid,
                               j->window, j->scratch + begin * per, j->out);
}

void hr_attention(const float *qkv, int seq, int n_heads, int head_dim, const uint8_t *key_valid,
                  int window, float *scratch, float *out)
{
    attention_job job = {ops(), qkv, seq, n_heads, head_dim, window, key_valid, scratch, out};
    if (seq < 16)
        attention_range(&job, 0, (size_t)n_heads);
    else
        hr_ml_parallel_for((size_t)n_heads, attention_range, &job);
}
