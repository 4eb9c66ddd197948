/* bench_tokens_count.c: exact token counting throughput on one core. Reads a corpus file
 * (bench/bench_tokens_count.sh generates a mixed one), loads the encoding's rank file from
 * a data dir, and times hr_bpe_count and hr_bpe_encode over the whole corpus, best and
 * median of several runs. Also reports the rank-file load time, and the scan vs heap merge
 * cost per piece length (random lowercase runs, i.e. unknown words) behind SCAN_MAX.
 *   bench_tokens_count <corpus> <data dir> <o200k_base|cl100k_base> [runs [--merge]]
 */
#include "tokens/bpe.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: on a shared machine it leaves out time spent descheduled. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* ns per byte of merging random lowercase pieces of length n with each merge strategy. */
static void merge_crossover(const hr_ranks *r)
{
    static const size_t lens[] = {8, 16, 32, 64, 128, 256, 1024, 4096};
    uint8_t piece[4096];
    size_t ends[4096];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof piece; i++) {
        seed = seed * 1103515245u + 12345u;
        piece[i] = (uint8_t)('a' + (seed >> 16) % 26);
    }
    printf("merge ns/byte:");
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t n = lens[k], reps = 400000 / n + 1;
        double ns[2];
        for (int heap = 0; heap < 2; heap++) {
            double t0 = now();
            for (size_t rep = 0; rep < reps; rep++)
                (heap ? hr_bpe_merge_heap : hr_bpe_merge_scan)(r, piece + (rep * 13) % (4096 - n + 1), n, ends);
            ns[heap] = (now() - t0) * 1e9 / (double)(reps * n);
        }
        printf(" n=%zu scan=%.0f heap=%.0f;", n, ns[0], ns[1]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s <corpus> <data dir> <encoding> [runs]\n", argv[0]);
        return 2;
    }
    int runs = argc > 4 ? atoi(argv[4]) : 5;
    hr_tok_encoding enc = !strcmp(argv[3], "cl100k_base") ? HR_TOK_CL100K : HR_TOK_O200K;
    size_t len = 0;
    char *text = read_file(argv[1], &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    hr_tokens_set_data_dir(argv[2]);
    double t0 = now();
    const hr_bpe *b = hr_bpe_get(enc);
    double load = now() - t0;
    if (!b) {
        char msg[600];
        hr_tokens_status(enc, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    double *count_t = calloc((size_t)runs, sizeof *count_t);
    double *encode_t = calloc((size_t)runs, sizeof *encode_t);
    double *count_cpu = calloc((size_t)runs, sizeof *count_cpu);
    size_t tokens = 0, encoded = 0;
    for (int r = 0; r < runs; r++) {
        t0 = now();
        double c0 = cpu_now();
        tokens = hr_bpe_count(b, text, len);
        count_cpu[r] = cpu_now() - c0;
        count_t[r] = now() - t0;
        uint32_t *ids = NULL;
        t0 = now();
        if (hr_bpe_encode(b, text, len, 0, &ids, &encoded) != 0)
            return 1;
        encode_t[r] = now() - t0;
        free(ids);
    }
    if (encoded != tokens) {
        fprintf(stderr, "count %zu != encode %zu\n", tokens, encoded);
        return 1;
    }
    qsort(count_t, (size_t)runs, sizeof *count_t, cmp_double);
    qsort(encode_t, (size_t)runs, sizeof *encode_t, cmp_double);
    qsort(count_cpu, (size_t)runs, sizeof *count_cpu, cmp_double);
    double mb = (double)len / 1e6;
    printf("headroom %-11s bytes=%zu tokens=%zu load_ms=%.0f count_MBps best=%.1f median=%.1f "
           "encode_MBps best=%.1f median=%.1f count_MBps_cpu median=%.1f\n",
           argv[3], len, tokens, load * 1e3, mb / count_t[0], mb / count_t[runs / 2],
           mb / encode_t[0], mb / encode_t[runs / 2], mb / count_cpu[runs / 2]);
    if (argc > 5 && !strcmp(argv[5], "--merge"))
        merge_crossover(hr_bpe_ranks(b));
    free(count_t);
    free(count_cpu);
    free(encode_t);
    free(text);
    return 0;
}
