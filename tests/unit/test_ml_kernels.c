/* Kernel numerics against independent NumPy references (tools/ref_kernels.py, run into the
 * build dir at test time): int8 linear >= 0.999 cosine against the fp32 product, with int16
 * and with uint8 activations (each linear case runs both), fp32 ops
 * (LayerNorm, erf and tanh GELU, softmax, attention with padding mask and local window, and ModernBERT's
 * GeGLU and RoPE) >= 0.9999, on every kernel set the CPU has (scalar, AVX2, AVX-512 VNNI); plus the properties the design relies on: the two
 * paths give bit-identical matmul outputs, results do not depend on the pool's thread
 * count, and quantisation edge cases (zero rows, saturation) behave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/kernels.h"
#include "ml/model_file.h"
#include "ml/pool.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_dir[512];

static int prepare_refs(void **state)
{
    (void)state;
    const char *bdir = getenv("HEADROOM_BUILD_DIR"), *sdir = getenv("HEADROOM_SOURCE_DIR");
    const char *py = getenv("HEADROOM_PYTHON");
    if (!bdir || !sdir) {
        fprintf(stderr, "test_ml_kernels: run through ctest (HEADROOM_BUILD_DIR, HEADROOM_SOURCE_DIR)\n");
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "%s/ml-test-kernels", bdir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tools/ref_kernels.py' --out '%s' --seed 7",
             py ? py : "/usr/bin/python3", sdir, g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static float *load(const char *name, const char *array, size_t count)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s.f32", g_dir, name, array);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    float *v = malloc(count * sizeof *v + 4);
    assert_non_null(v);
    assert_int_equal(fread(v, sizeof *v, count + 1, f), count); /* exactly count floats */
    fclose(f);
    return v;
}

static double cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

typedef struct ref_case {
    char kind[16], name[32];
    int p[5];
} ref_case;

static int read_cases(ref_case *cases, int cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.txt", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    char line[256];
    while (n < cap && fgets(line, sizeof line, f)) {
        ref_case *c = &cases[n];
        memset(c, 0, sizeof *c);
        if (sscanf(line, "%15s %31s %d %d %d %d %d", c->kind, c->name, &c->p[0], &c->p[1], &c->p[2],
                   &c->p[3], &c->p[4]) >= 3)
            n++;
    }
    fclose(f);
    /* every linear case once more with uint8 activations (p[4] = 1; the manifest leaves
     * p[3..4] zero for linears) */
    for (int i = 0, m = n; i < m && n < cap; i++)
        if (!strcmp(cases[i].kind, "linear")) {
            cases[n] = cases[i];
            cases[n++].p[4] = 1;
        }
    return n;
}

static const char *variant(const ref_case *c)
{
    return !strcmp(c->kind, "linear") ? (c->p[4] ? "u8" : "i16") : "";
}

/* The ISAs this machine can run: scalar always, AVX2 and AVX-512 VNNI when present. */
static int isas(hr_isa out[3])
{
    int n = 0;
    out[n++] = HR_ISA_SCALAR;
    if (hr_kernels_select(HR_ISA_AVX2) == HR_ISA_AVX2)
        out[n++] = HR_ISA_AVX2;
    if (hr_kernels_select(HR_ISA_AVX512VNNI) == HR_ISA_AVX512VNNI)
        out[n++] = HR_ISA_AVX512VNNI;
    hr_kernels_select(HR_ISA_AUTO);
    return n;
}

static void run_linear(const ref_case *c, float *y)
{
    int m = c->p[0], k = c->p[1], n = c->p[2];
    float *x = load(c->name, "x", (size_t)m * k), *w = load(c->name, "w", (size_t)n * k);
    float *b = load(c->name, "b", (size_t)n);
    int8_t *wq = malloc((size_t)n * k);
    int16_t *xq = malloc((size_t)m * k * sizeof *xq);
    int32_t *zp = malloc((size_t)m * sizeof *zp);
    float *ws = malloc((size_t)n * sizeof *ws), *xs = malloc((size_t)m * sizeof *xs);
    assert_true(wq && xq && zp && ws && xs);
    hr_quantize_rows_i8(w, (size_t)n, (size_t)k, wq, ws);
    hr_qlinear W = {wq, ws, b, n, k, NULL};
    if (c->p[4]) /* uint8 activations; their codes need half of xq */
        hr_linear_u8(x, m, &W, (uint8_t *)xq, zp, xs, y);
    else
        hr_linear_q8(x, m, &W, xq, xs, y);
    free(x), free(w), free(b), free(wq), free(xq), free(zp), free(ws), free(xs);
}

/* Runs one case on the current ISA; returns the output (caller frees) and its length. */
static float *run_case(const ref_case *c, size_t *len)
{
    const int *p = c->p;
    float *y = NULL;
    if (!strcmp(c->kind, "linear")) {
        *len = (size_t)p[0] * p[2];
        y = malloc(*len * sizeof *y);
        run_linear(c, y);
    } else if (!strcmp(c->kind, "layernorm")) {
        *len = (size_t)p[0] * p[1];
        y = load(c->name, "x", *len);
        float *g = load(c->name, "g", (size_t)p[1]), *b = load(c->name, "b", (size_t)p[1]);
        hr_layernorm(y, p[0], p[1], g, b, (float)(p[2] * 1e-12));
        free(g), free(b);
    } else if (!strcmp(c->kind, "gelu")) {
        *len = (size_t)p[0];
        y = load(c->name, "x", *len);
        hr_gelu_erf(y, *len);
    } else if (!strcmp(c->kind, "gelu_tanh")) {
        *len = (size_t)p[0];
        y = load(c->name, "x", *len);
        hr_gelu_tanh(y, *len);
    } else if (!strcmp(c->kind, "softmax")) {
        *len = (size_t)p[0] * p[1];
        y = load(c->name, "x", *len);
        hr_softmax_rows(y, p[0], p[1]);
    } else if (!strcmp(c->kind, "attention")) {
        int seq = p[0], heads = p[1], dim = p[2], H = heads * dim;
        *len = (size_t)seq * H;
        float *qkv = load(c->name, "qkv", (size_t)seq * 3 * H), *vf = load(c->name, "valid", (size_t)seq);
        uint8_t *valid = malloc((size_t)seq);
        float *scratch = malloc(hr_attention_scratch_floats(seq, heads, dim) * sizeof(float));
        y = malloc(*len * sizeof *y);
        assert_true(valid && scratch && y);
        for (int j = 0; j < seq; j++)
            valid[j] = vf[j] != 0.0f;
        hr_attention(qkv, seq, heads, dim, p[4] ? valid : NULL, p[3], scratch, y);
        free(qkv), free(vf), free(valid), free(scratch);
    } else if (!strcmp(c->kind, "geglu")) {
        *len = (size_t)p[0] * p[1];
        float *x = load(c->name, "x", (size_t)p[0] * 2 * p[1]);
        y = malloc(*len * sizeof *y);
        hr_geglu(x, p[0], p[1], y);
        free(x);
    } else if (!strcmp(c->kind, "rope")) {
        *len = (size_t)p[0] * 3 * p[1] * p[2];
        y = load(c->name, "qkv", *len);
        hr_rope_qk(y, p[0], p[1], p[2], (double)p[3]);
    } else {
        fail_msg("unknown case kind %s", c->kind);
    }
    return y;
}

static void test_against_numpy(void **state)
{
    (void)state;
    ref_case cases[48];
    int n = read_cases(cases, 48);
    assert_true(n >= 15);
    hr_isa list[3];
    int ni = isas(list);
    for (int i = 0; i < ni; i++) {
        assert_int_equal(hr_kernels_select(list[i]), list[i]);
        for (int c = 0; c < n; c++) {
            size_t len;
            float *y = run_case(&cases[c], &len);
            float *ref = load(cases[c].name, "y", len);
            double cos = cosine(y, ref, len), need = strcmp(cases[c].kind, "linear") ? 0.9999 : 0.999;
            double diff = max_abs_diff(y, ref, len);
            if (cos < need || !isfinite(diff))
                fail_msg("%s %s on %s: cosine %.7f < %.4f (max |diff| %g)", cases[c].name,
                         variant(&cases[c]), hr_isa_name(list[i]), cos, need, diff);
            /* fp32 ops must also be close element-wise, not just in direction */
            if (strcmp(cases[c].kind, "linear") && diff > 1e-4)
                fail_msg("%s on %s: max |diff| %g", cases[c].name, hr_isa_name(list[i]), diff);
            print_message("%-10s %-3s %-10s cosine %.9f max|diff| %.3g\n", cases[c].name,
                          variant(&cases[c]), hr_isa_name(list[i]), cos, diff);
            free(y);
            free(ref);
        }
    }
    hr_kernels_select(HR_ISA_AUTO);
}

/* Integer accumulation is exact, so every path must agree bit for bit on matmuls. */
static void test_matmul_paths_bit_identical(void **state)
{
    (void)state;
    hr_isa list[3];
    int ni = isas(list);
    if (ni < 2)
        skip();
    ref_case cases[48];
    int n = read_cases(cases, 48);
    for (int c = 0; c < n; c++) {
        if (strcmp(cases[c].kind, "linear"))
            continue;
        size_t len;
        hr_kernels_select(HR_ISA_SCALAR);
        float *a = run_case(&cases[c], &len);
        for (int i = 1; i < ni; i++) {
            assert_int_equal(hr_kernels_select(list[i]), list[i]);
            float *b = run_case(&cases[c], &len);
            if (memcmp(a, b, len * sizeof *a))
                fail_msg("%s %s: %s differs from scalar", cases[c].name, variant(&cases[c]),
                         hr_isa_name(list[i]));
            free(b);
        }
        free(a);
    }
    hr_kernels_select(HR_ISA_AUTO);
}

/* The same product with a 2-thread pool must be identical to the serial one. */
static void test_pool_split_deterministic(void **state)
{
    (void)state;
    ref_case c = {"linear", "lin_qkv", {33, 384, 1152, 0, 0}};
    ref_case cu = {"linear", "lin_qkv", {33, 384, 1152, 0, 1}};
    size_t len;
    float *serial = run_case(&c, &len), *serial_u8 = run_case(&cu, &len);
    assert_int_equal(hr_ml_pool_acquire(2), 0);
    float *par = run_case(&c, &len), *par_u8 = run_case(&cu, &len);
    ref_case a = {"attention", "att_masked", {37, 3, 32, 0, 9}};
    size_t alen;
    float *att_par = run_case(&a, &alen);
    hr_ml_pool_release();
    float *att_serial = run_case(&a, &alen);
    assert_memory_equal(serial, par, len * sizeof *serial);
    assert_memory_equal(serial_u8, par_u8, len * sizeof *serial);
    assert_memory_equal(att_serial, att_par, alen * sizeof *att_par);
    free(serial), free(par), free(serial_u8), free(par_u8), free(att_par), free(att_serial);
}

static void test_quantize_edges(void **state)
{
    (void)state;
    /* the activation range keeps k products of int8 weights inside int32 */
    assert_int_equal(hr_act_qmax(40), 32767);
    assert_int_equal(hr_act_qmax(1536), 11008);
    assert_true((int64_t)hr_act_qmax(100000) * 127 * 100000 <= INT32_MAX);
    hr_isa list[3];
    int ni = isas(list);
    for (int i = 0; i < ni; i++) {
        hr_kernels_select(list[i]);
        float x[2 * 40];
        for (int j = 0; j < 40; j++) {
            x[j] = 0.0f;                                   /* all-zero row */
            x[40 + j] = (j % 2 ? -1.0f : 1.0f) * (float)j; /* max at the end */
        }
        int16_t q[80];
        float s[2];
        hr_quantize_act(x, 2, 40, q, s);
        assert_true(s[0] == 0.0f);
        for (int j = 0; j < 40; j++)
            assert_int_equal(q[j], 0);
        assert_true(fabsf(s[1] - 39.0f / 32767.0f) < 1e-9f);
        assert_int_equal(q[40 + 39], -32767); /* -39 is the extreme */
        assert_int_equal(q[40 + 38], (int)lrintf(38.0f * (32767.0f / 39.0f)));
        assert_int_equal(q[40 + 1], (int)lrintf(-32767.0f / 39.0f));
    }
    hr_kernels_select(HR_ISA_AUTO);
    /* worst case: every input at the extreme against all-127 weights stays exact */
    enum { K = 1536 };
    static float xs_in[K];
    static int8_t w[K];
    static int16_t xq[K];
    for (int j = 0; j < K; j++) {
        xs_in[j] = -1.0f;
        w[j] = -127;
    }
    float xs, ws = 1.0f, y;
    hr_quantize_act(xs_in, 1, K, xq, &xs);
    hr_qlinear W = {w, &ws, NULL, 1, K, NULL};
    for (int i = 0; i < ni; i++) {
        hr_kernels_select(list[i]);
        hr_matmul_q8(xq, &xs, 1, &W, &y);
        assert_true(fabsf(y - 127.0f * K) < 0.05f); /* no int32 wrap-around */
    }
    hr_kernels_select(HR_ISA_AUTO);
    /* weight quantisation: per-row max maps to +-127 and scales reconstruct it */
    float wf[3] = {0.5f, -2.0f, 1.0f};
    int8_t wq[3];
    float wsc;
    hr_quantize_rows_i8(wf, 1, 3, wq, &wsc);
    assert_int_equal(wq[1], -127);
    assert_true(fabsf(wq[1] * wsc + 2.0f) < 1e-6f);
    assert_int_equal(wq[0], 32); /* 0.5 * 63.5 = 31.75 */
}

/* uint8 activations: zero rows, one-sided rows (all 256 codes used, zero exact), the
 * extremes against +-127 weights (exact int32 sums), on every ISA, with k = 200 (a
 * 64-wide body and a tail). */
static void test_quantize_u8_edges(void **state)
{
    (void)state;
    enum { K = 200 };
    hr_isa list[3];
    int ni = isas(list);
    static float x[3 * K];
    for (int j = 0; j < K; j++) {
        x[j] = 0.0f;                        /* all zero */
        x[K + j] = (float)j / (K - 1);      /* one-sided: [0, 1] */
        x[2 * K + j] = j % 2 ? -2.0f : 1.0f; /* both signs, extremes only */
    }
    static int8_t w[2 * K];
    for (int j = 0; j < K; j++) {
        w[j] = 127;
        w[K + j] = (int8_t)(j % 2 ? -127 : 127);
    }
    float ws[2] = {1.0f, 1.0f};
    hr_qlinear W = {w, ws, NULL, 2, K, NULL};
    float first[6];
    for (int i = 0; i < ni; i++) {
        hr_kernels_select(list[i]);
        uint8_t q[3 * K];
        int32_t zp[3];
        float s[3], y[6];
        hr_quantize_act_u8(x, 3, K, q, zp, s);
        assert_true(s[0] == 0.0f);
        assert_int_equal(zp[0], 0);
        for (int j = 0; j < K; j++)
            assert_int_equal(q[j], 0);
        assert_int_equal(zp[1], 0); /* min 0 maps to code 0 */
        assert_int_equal(q[K], 0);
        assert_int_equal(q[2 * K - 1], 255);
        assert_true(fabsf(s[1] - 1.0f / 255.0f) < 1e-9f);
        assert_int_equal(zp[2], 170); /* -2 -> 0, 1 -> 255: zero at 2/3 of 255 */
        assert_int_equal(q[2 * K], 255);
        assert_int_equal(q[2 * K + 1], 0);
        hr_matmul_u8(q, zp, s, 3, &W, y);
        /* codes reconstruct 1 and -2 exactly, so row 2 against w[1] is 100 pairs of
         * 1 * 127 + (-2) * (-127), and against w[0] 100 of (1 - 2) * 127 */
        assert_true(y[0] == 0.0f && y[1] == 0.0f);
        assert_true(fabsf(y[5] - 38100.0f) < 0.01f);
        assert_true(fabsf(y[4] + 12700.0f) < 0.01f);
        /* row 1 against w[0]: 127 * sum of j / 199 = 12700, within half a code per term */
        assert_true(fabsf(y[2] - 12700.0f) < 0.5f / 255.0f * 127.0f * K);
        if (i == 0)
            memcpy(first, y, sizeof first);
        else
            assert_memory_equal(first, y, sizeof first);
    }
    hr_kernels_select(HR_ISA_AUTO);
}

/* uint8 matmuls on shapes that reach every kernel branch (VNNI packed panels with a
 * partial last panel and leftover rows at k up to the panel bound, row-dot tiles with k
 * and n tails, the int16
 * chunks of the AVX2 and scalar kernels, and rows wider than a chunk): every ISA, and a
 * 2-thread pool, bit-identical to scalar; where the shape has a panel form, also with the
 * weights pre-packed (hr_pack_u8_panels, as a version-3 model file stores them). */
static void test_u8_paths_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {{70, 64, 50}, {67, 384, 20}, {64, 512, 100}, {7, 200, 9},
                                    {35, 1536, 36}, {3, 16448, 5},
                                    /* ModernBERT-base's qkv and mlp down inputs, SigLIP-
                                     * base's MLP down (packed panels up to k = 3072), and
                                     * just past that bound */
                                    {73, 768, 40}, {65, 1152, 33}, {66, 1156, 8},
                                    {70, 3072, 40}, {64, 3076, 8},
                                    /* SigLIP's 196 patches: 8-row tiles, one 4-row tile;
                                     * and 4-row tile + single rows */
                                    {196, 768, 40}, {103, 384, 36},
                                    /* whole panels: SigLIP's qkv, MLP down, and k = 384 */
                                    {196, 768, 96}, {70, 3072, 32}, {100, 384, 64}};
    hr_isa list[3];
    int ni = isas(list);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *x = malloc((size_t)m * k * sizeof *x), *ws = malloc((size_t)n * sizeof *ws);
        float *b = malloc((size_t)n * sizeof *b), *xs = malloc((size_t)m * sizeof *xs);
        float *y0 = malloc((size_t)m * n * sizeof *y0), *y = malloc((size_t)m * n * sizeof *y);
        int8_t *w = malloc((size_t)n * k);
        uint8_t *xu = malloc((size_t)m * k);
        int32_t *zp = malloc((size_t)m * sizeof *zp);
        assert_true(x && ws && b && xs && y0 && y && w && xu && zp);
        uint32_t r = 12345u + (uint32_t)s;
        for (size_t i = 0; i < (size_t)m * k; i++) {
            r = r * 1664525u + 1013904223u;
            x[i] = (float)(r >> 8) / 8388608.0f - (i % 3 ? 1.0f : 0.3f);
        }
        for (size_t i = 0; i < (size_t)n * k; i++) {
            r = r * 1664525u + 1013904223u;
            w[i] = (int8_t)((int)(r >> 24) % 255 - 127);
        }
        for (int i = 0; i < n; i++) {
            ws[i] = 0.01f + 0.001f * (float)i;
            b[i] = (float)i * 0.5f;
        }
        hr_qlinear W = {w, ws, b, n, k, NULL};
        int8_t *panels = NULL;
        if (hr_u8_panels_fit(n, k)) {
            assert_non_null(panels = aligned_alloc(64, (size_t)n * k)); /* as in a model file */
            hr_pack_u8_panels(w, n, k, panels);
        }
        for (int pre = 0; pre <= (panels != NULL); pre++) {
            W.panels = pre ? panels : NULL;
            for (int i = 0; i < ni; i++) {
                hr_kernels_select(list[i]);
                hr_linear_u8(x, m, &W, xu, zp, xs, i || pre ? y : y0);
                if ((i || pre) && memcmp(y0, y, (size_t)m * n * sizeof *y))
                    fail_msg("[%d x %d] x [%d x %d]^T: %s%s differs from scalar", m, k, n, k,
                             hr_isa_name(list[i]), pre ? " with panels" : "");
            }
            hr_kernels_select(HR_ISA_AUTO); /* and split over a 2-thread pool */
            assert_int_equal(hr_ml_pool_acquire(2), 0);
            memset(y, 0, (size_t)m * n * sizeof *y);
            hr_linear_u8(x, m, &W, xu, zp, xs, y);
            hr_ml_pool_release();
            if (memcmp(y0, y, (size_t)m * n * sizeof *y))
                fail_msg("[%d x %d] x [%d x %d]^T: 2 threads%s differ from scalar", m, k, n, k,
                         pre ? " with panels" : "");
        }
        free(panels);
        free(x), free(ws), free(b), free(xs), free(y0), free(y), free(w), free(xu), free(zp);
    }
    hr_kernels_select(HR_ISA_AUTO);
}

/* Every key masked: zero output instead of NaN. */
static void test_attention_all_masked(void **state)
{
    (void)state;
    enum { SEQ = 5, HEADS = 2, DIM = 8, H = HEADS * DIM };
    float qkv[SEQ * 3 * H], out[SEQ * H];
    for (int i = 0; i < SEQ * 3 * H; i++)
        qkv[i] = (float)((i * 37) % 11) - 5.0f;
    uint8_t valid[SEQ] = {0, 0, 0, 0, 0};
    float *scratch = malloc(hr_attention_scratch_floats(SEQ, HEADS, DIM) * sizeof(float));
    assert_non_null(scratch);
    hr_attention(qkv, SEQ, HEADS, DIM, valid, 0, scratch, out);
    for (int i = 0; i < SEQ * H; i++)
        assert_true(out[i] == 0.0f);
    free(scratch);
}

/* The fused row pass hr_residual_norm_u8 gives the bits of the separate calls it
 * replaces, on every ISA: with and without the residual, and with
 * t aliasing d as the vision tower calls it. */
static void test_fused_row_passes(void **state)
{
    (void)state;
    enum { M = 5, N = 200 }; /* 200: vector bodies and scalar tails on every ISA */
    float x0[M * N], d0[M * N], g[N], b[N];
    uint32_t r = 777u;
    for (int i = 0; i < M * N; i++) {
        r = r * 1664525u + 1013904223u;
        x0[i] = (float)(r >> 8) / 1048576.0f - 8.0f;
        r = r * 1664525u + 1013904223u;
        d0[i] = (float)(r >> 8) / 4194304.0f - 2.0f;
    }
    for (int i = 0; i < N; i++)
        g[i] = 0.5f + 0.01f * (float)i, b[i] = 0.1f * (float)(i % 7) - 0.3f;
    hr_isa list[3];
    int ni = isas(list);
    for (int i = 0; i < ni; i++) {
        hr_kernels_select(list[i]);
        for (int with_d = 0; with_d < 2; with_d++) {
            float xa[M * N], xb[M * N], ta[M * N], tb[M * N], sa[M], sb[M];
            uint8_t qa[M * N], qb[M * N];
            int32_t za[M], zb[M];
            memcpy(xa, x0, sizeof xa), memcpy(xb, x0, sizeof xb), memcpy(tb, d0, sizeof tb);
            if (with_d) /* separate: add, copy, LayerNorm, quantise */
                hr_add_inplace(xa, d0, (size_t)M * N);
            memcpy(ta, xa, sizeof ta);
            hr_layernorm(ta, M, N, g, b, 1e-6f);
            hr_quantize_act_u8(ta, M, N, qa, za, sa);
            hr_residual_norm_u8(xb, with_d ? tb : NULL, M, N, g, b, 1e-6f, tb, qb, zb, sb);
            assert_memory_equal(xa, xb, sizeof xa);
            assert_memory_equal(ta, tb, sizeof ta);
            assert_memory_equal(qa, qb, sizeof qa);
            assert_memory_equal(za, zb, sizeof za);
            assert_memory_equal(sa, sb, sizeof sa);
        }
    }
    hr_kernels_select(HR_ISA_AUTO);
}

/* hr_matmul_u8_gelu_tanh (GELU per column slice, right after each slice's matmul) gives
 * the bits of hr_matmul_u8 then hr_gelu_tanh on every ISA and split over 2 threads: the
 * packed path (m >= 64) with several slices and a short last one, and the row-dot path. */
static void test_matmul_gelu_fused(void **state)
{
    (void)state;
    static const int shapes[][3] = {{70, 128, 592}, {196, 64, 320}, {9, 96, 48}};
    hr_isa list[3];
    int ni = isas(list);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *x = malloc((size_t)m * k * sizeof *x), *ws = malloc((size_t)n * sizeof *ws);
        float *ya = malloc((size_t)m * n * sizeof *ya), *yb = malloc((size_t)m * n * sizeof *yb);
        float *xs = malloc((size_t)m * sizeof *xs);
        int8_t *w = malloc((size_t)n * k);
        uint8_t *xu = malloc((size_t)m * k);
        int32_t *zp = malloc((size_t)m * sizeof *zp);
        assert_true(x && ws && ya && yb && xs && w && xu && zp);
        uint32_t r = 4242u + (uint32_t)s;
        for (size_t i = 0; i < (size_t)m * k; i++) {
            r = r * 1664525u + 1013904223u;
            x[i] = (float)(r >> 8) / 8388608.0f - 1.0f;
        }
        for (size_t i = 0; i < (size_t)n * k; i++) {
            r = r * 1664525u + 1013904223u;
            w[i] = (int8_t)((int)(r >> 24) % 255 - 127);
        }
        for (int i = 0; i < n; i++)
            ws[i] = 0.002f + 0.0001f * (float)(i % 17);
        hr_qlinear W = {w, ws, NULL, n, k, NULL};
        hr_quantize_act_u8(x, m, k, xu, zp, xs);
        for (int i = 0; i <= ni; i++) { /* each ISA, then AUTO over 2 threads */
            hr_kernels_select(i < ni ? list[i] : HR_ISA_AUTO);
            if (i == ni)
                assert_int_equal(hr_ml_pool_acquire(2), 0);
            hr_matmul_u8(xu, zp, xs, m, &W, ya);
            hr_gelu_tanh(ya, (size_t)m * n);
            memset(yb, 0, (size_t)m * n * sizeof *yb);
            hr_matmul_u8_gelu_tanh(xu, zp, xs, m, &W, yb);
            if (memcmp(ya, yb, (size_t)m * n * sizeof *ya))
                fail_msg("[%d x %d] x [%d x %d]^T + GELU: %s fused differs", m, k, n, k,
                         i < ni ? hr_isa_name(list[i]) : "2 threads");
        }
        hr_ml_pool_release();
        free(x), free(ws), free(ya), free(yb), free(xs), free(w), free(xu), free(zp);
    }
    hr_kernels_select(HR_ISA_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_numpy),
        cmocka_unit_test(test_matmul_paths_bit_identical),
        cmocka_unit_test(test_pool_split_deterministic),
        cmocka_unit_test(test_quantize_edges),
        cmocka_unit_test(test_quantize_u8_edges),
        cmocka_unit_test(test_u8_paths_shapes),
        cmocka_unit_test(test_matmul_gelu_fused),
        cmocka_unit_test(test_attention_all_masked),
        cmocka_unit_test(test_fused_row_passes),
    };
    return cmocka_run_group_tests(tests, prepare_refs, NULL);
}
