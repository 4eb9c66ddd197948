/* bench_ccr_store.c: CCR store write and read latency, p50 and p99, for 1 KB and 1 MB
 * originals on each backend (memory as the in-process baseline, SQLite, Redis), measured
 * side by side in one run. Each sample is one hr_ccr_put or hr_ccr_get of a distinct
 * original (content-addressed, so every put is a real insert). Built and run by
 * bench/ccr/run.sh; see docs/ccr.md.
 *
 *   bench_ccr_store [--redis-url URL] [--data-dir DIR] [--n1k N] [--n1m N]
 */
#include "ccr/store.h"
#include "sys/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* Text-like payload (JSON lines) that differs per sample. */
static void fill(char *p, size_t n, unsigned seed)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 {}\":,\n";
    unsigned x = seed * 2654435761u + 7;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
    }
}

static int run(const char *label, hr_ccr_store *s, size_t size, int n)
{
    char *buf = malloc(size);
    double *w = calloc((size_t)n, sizeof *w), *r = calloc((size_t)n, sizeof *r);
    char (*hashes)[HR_CONTENT_HASH_HEX + 1] = calloc((size_t)n, sizeof *hashes);
    const char *tenant = "0123456789abcdef";
    int failures = 0;
    for (int i = 0; i < n; i++) {
        fill(buf, size, (unsigned)i + (unsigned)size);
        hr_content_hash(buf, size, hashes[i]);
        double t0 = now_us();
        failures += hr_ccr_put(s, tenant, hashes[i], buf, size, 0) != 0;
        w[i] = now_us() - t0;
    }
    hr_buf out = HR_BUF_INIT;
    for (int i = 0; i < n; i++) {
        hr_buf_reset(&out);
        double t0 = now_us();
        failures += hr_ccr_get(s, tenant, hashes[i], &out) != HR_CCR_FOUND || out.len != size;
        r[i] = now_us() - t0;
    }
    printf("| %-7s | %-5s | %5d | %9.1f | %9.1f | %9.1f | %9.1f | %d |\n", label,
           size >= (1 << 20) ? "1 MB" : "1 KB", n, pct(w, (size_t)n, 0.5), pct(w, (size_t)n, 0.99),
           pct(r, (size_t)n, 0.5), pct(r, (size_t)n, 0.99), failures);
    hr_buf_free(&out);
    free(buf);
    free(w);
    free(r);
    free(hashes);
    return failures;
}

int main(int argc, char **argv)
{
    const char *redis_url = NULL, *data_dir = "/tmp/hr-bench-ccr";
    int n1k = 2000, n1m = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--redis-url"))
            redis_url = argv[i + 1];
        else if (!strcmp(argv[i], "--data-dir"))
            data_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--n1k"))
            n1k = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--n1m"))
            n1m = atoi(argv[i + 1]);
    }
    printf("| backend | size  |     n | write p50 | write p99 |  read p50 |  read p99 | failures |\n"
           "|---------|-------|------:|----------:|----------:|----------:|----------:|---:|\n");
    const hr_ccr_backend backends[] = {HR_CCR_BACKEND_MEMORY, HR_CCR_BACKEND_SQLITE,
                                       HR_CCR_BACKEND_REDIS};
    int failures = 0;
    for (size_t b = 0; b < 3; b++) {
        if (backends[b] == HR_CCR_BACKEND_REDIS && !redis_url)
            continue;
        hr_ccr_config c;
        hr_ccr_config_default(&c);
        c.backend = backends[b];
        c.data_dir = data_dir;
        c.redis_url = redis_url;
        c.redis_timeout_ms = 2000;
        c.max_bytes = (size_t)1 << 30;
        char err[256];
        hr_ccr_store *s = hr_ccr_store_open(&c, err, sizeof err);
        if (!s) {
            fprintf(stderr, "%s: %s\n", hr_ccr_backend_name(backends[b]), err);
            return 1;
        }
        failures += run(hr_ccr_backend_name(backends[b]), s, 1024, n1k);
        failures += run(hr_ccr_backend_name(backends[b]), s, (size_t)1 << 20, n1m);
        hr_ccr_store_close(s);
    }
    printf("\n(latencies in microseconds)\n");
    return failures ? 1 : 0;
}
