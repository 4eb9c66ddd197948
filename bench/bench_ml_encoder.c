/* bench_ml_encoder: encoder latency per sequence length and int8 linear throughput, AVX2
 * (matmul AVX-512 VNNI where present), AVX2 and scalar kernels side by side in one run (the
 * scalar path is the baseline the SIMD paths must beat). Times are the calling thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared machine wall time mostly measures the
 * neighbours. With HEADROOM_ML_THREADS > 1 the work is spread over pool workers, so times
 * are wall clock (CLOCK_MONOTONIC) instead; the header line says which.
 *
 *   cmake --build build --target bench_ml_encoder
 *   build/bench_ml_encoder MODEL.hrm [reps] [noscalar|best]
 *
 * MODEL.hrm: e.g. tools/gen_model.py --size minilm + headroom model import (BERT), or
 * --arch modernbert --size base (the Kompress encoder; "noscalar" skips the slow column;
 * "best" times only the best kernel set, e.g. under perf record).
 * Times the encoder forward pass (embedding models add a pooling of a few microseconds).
 */
#include "ml/encoder.h"
#include "ml/kernels.h"
#include "ml/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static clockid_t g_clock = CLOCK_THREAD_CPUTIME_ID;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median latency of reps forward passes over n tokens. */
static double encoder_ms(const hr_model *m, int n, int reps, void *scratch, size_t bytes)
{
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    const float *hidden;
    double *t = malloc((size_t)reps * sizeof *t);
    uint32_t vocab = hr_model_config_of(m)->vocab_size, s = 1;
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        ids[i] = (int32_t)(104 + (s >> 8) % (vocab - 104));
    }
    hr_encoder_forward(m, ids, n, scratch, bytes, &hidden); /* warm the pages */
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        hr_encoder_forward(m, ids, n, scratch, bytes, &hidden);
        t[r] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = t[reps / 2];
    free(ids), free(t);
    return med;
}

/* GMAC/s of one [m, k] x [n, k]^T int8 linear, int16 activations or (u8) uint8 ones. */
static double linear_gmacs(int m, int k, int n, int reps, int u8)
{
    float *x = malloc((size_t)m * k * sizeof *x), *y = malloc((size_t)m * n * sizeof *y);
    float *ws = malloc((size_t)n * sizeof *ws), *xs = malloc((size_t)m * sizeof *xs);
    int8_t *w = malloc((size_t)n * k);
    int16_t *xq = malloc((size_t)m * k * sizeof *xq);
    for (size_t i = 0; i < (size_t)m * k; i++)
        x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (int8_t)((i * 31) % 255 - 127);
    for (int i = 0; i < n; i++)
        ws[i] = 0.01f;
    hr_qlinear W = {w, ws, NULL, n, k, NULL};
    int32_t *zp = malloc((size_t)m * sizeof *zp);
    double t0 = 0;
    for (int r = -1; r < reps; r++) { /* r = -1 warms up */
        if (r == 0)
            t0 = now_ms();
        if (u8)
            hr_linear_u8(x, m, &W, (uint8_t *)xq, zp, xs, y);
        else
            hr_linear_q8(x, m, &W, xq, xs, y);
    }
    double ms = (now_ms() - t0) / reps;
    free(x), free(y), free(ws), free(xs), free(w), free(xq), free(zp);
    return (double)m * k * n / (ms * 1e6);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.hrm [reps]\n", argv[0]);
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    int best_only = argc > 3 && !strcmp(argv[3], "best");
    int no_scalar = best_only || (argc > 3 && !strcmp(argv[3], "noscalar"));
    hr_model *m;
    hr_ml_error err;
    if (hr_model_open(argv[1], 0, &m, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    hr_ml_pool_acquire(0);
    if (hr_ml_pool_workers() > 0)
        g_clock = CLOCK_MONOTONIC;
    size_t bytes = hr_encoder_scratch_bytes(m, 0);
    void *scratch = malloc(bytes);
    const hr_model_config *c = hr_model_config_of(m);
    printf("model: %s, hidden %u, layers %u, intermediate %u; scratch %.1f MB at max_seq %u; "
           "pool threads %d; timing %s\n",
           hr_arch_name(c->arch), c->hidden, c->n_layers, c->intermediate, bytes / 1048576.0, c->max_seq,
           hr_ml_pool_workers() + 1, g_clock == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    const int lens[] = {8, 32, 64, 128, 256, 512};
    const hr_isa isas[] = {HR_ISA_AVX512VNNI, HR_ISA_AVX2, HR_ISA_SCALAR};
    const size_t n_isa = sizeof isas / sizeof isas[0];
    printf("%-9s", "tokens");
    for (size_t i = 0; i < n_isa; i++)
        printf(" %12s", hr_kernels_select(isas[i]) == isas[i] ? hr_isa_name(isas[i]) : "(n/a)");
    printf("  (median ms per forward pass)\n");
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        if ((uint32_t)lens[l] > c->max_seq)
            continue;
        printf("%-9d", lens[l]);
        for (size_t i = 0; i < n_isa; i++) {
            if (hr_kernels_select(isas[i]) != isas[i] || (no_scalar && isas[i] == HR_ISA_SCALAR) ||
                (best_only && i > 0)) {
                printf(" %12s", "-");
                continue;
            }
            printf(" %12.2f", encoder_ms(m, lens[l], isas[i] == HR_ISA_SCALAR ? reps / 4 + 1 : reps,
                                         scratch, bytes));
        }
        printf("\n");
    }
    /* MiniLM's MLP up, then this model's qkv and MLP down shapes at 256 tokens */
    const int I = (int)c->intermediate, H = (int)c->hidden;
    const int shapes[][3] = {{128, 384, 1536}, {256, H, 3 * H}, {256, I, H}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
        for (int u8 = 0; u8 < 2; u8++) {
            const int *d = shapes[sh];
            printf("int8 linear GMAC/s [%d x %d] x [%d x %d]^T, %s activations:", d[0], d[1], d[2],
                   d[1], u8 ? "uint8" : "int16");
            for (size_t i = 0; i < n_isa; i++)
                if (hr_kernels_select(isas[i]) == isas[i] && !(best_only && i > 0))
                    printf(" %s %.1f", hr_isa_name(isas[i]), linear_gmacs(d[0], d[1], d[2], 10, u8));
            printf("\n");
        }
    free(scratch);
    hr_ml_pool_release();
    hr_model_close(m);
    return 0;
}
