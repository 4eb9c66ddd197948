/* bench_compress_text: speed of content detection and of the logs / search / diff / text
 * compressors, and their savings on a generated 2,000-line test log and on grep output.
 *
 *   cmake --build build --target bench_compress_text && build/bench_compress_text
 *
 * Inputs are generated here (deterministic), several MB each so timings are stable; each
 * figure is the best of RUNS runs. Baselines, measured side by side: a memchr pass that
 * only finds every line (the floor for any line-based scan), and the content hash
 * (SHA-256) that every compressed output must name (the floor for a compressor). Tokens are counted with the
 * project's counter for gpt-4o (exact o200k when its rank file is installed, else the
 * estimator; the output says which).
 */
#include "compress/detect.h"
#include "compress/diff.h"
#include "compress/logs.h"
#include "compress/search.h"
#include "compress/text.h"
#include "sys/hash.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RUNS = 5 };
#define TARGET_BYTES ((size_t)8 << 20)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put(hr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(hr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (hr_buf_vprintf(b, fmt, ap) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    va_end(ap);
}

/* A pytest -v run of n lines: passing tests, a few failures with details, a summary. */
static void gen_test_log(hr_buf *b, unsigned lines)
{
    put(b, "============================= test session starts ==============================\n");
    put(b, "platform linux -- Python 3.11.2, pytest-7.4.0, pluggy-1.2.0\ncollected %u items\n\n", lines);
    unsigned written = 4, i = 0, failed = 0; /* header: 3 lines and a blank one */
    while (written < lines - 3) {            /* 3 summary lines close the log */
        int fail = i % 331 == 200;
        put(b, "tests/api/test_orders_%u.py::test_order_flow_%u %s [%3u%%]\n", i / 40, i,
            fail ? "FAILED" : "PASSED", written * 100 / lines);
        written++;
        failed += fail;
        if (fail && written < lines - 3) {
            put(b, "E       AssertionError: expected status 201, got 409 for order %u\n", 10000 + i);
            written++;
        }
        if (i % 150 == 77 && written < lines - 3) {
            put(b, "tests/api/test_orders_%u.py:%u: DeprecationWarning: utcnow() is deprecated\n", i / 40, i);
            written++;
        }
        i++;
    }
    put(b, "=========================== short test summary info ============================\n");
    put(b, "FAILED tests/api/test_orders_5.py::test_order_flow_200 - AssertionError\n");
    put(b, "======================== %u failed, %u passed in 41.20s =========================\n", failed, i - failed);
}

static void gen_grep(hr_buf *b, unsigned files, unsigned per_file)
{
    for (unsigned f = 0; f < files; f++)
        for (unsigned m = 0; m < per_file; m++)
            put(b, "src/services/billing_%u/invoice_%u.py:%u:        total = compute_total(items, currency=%s)\n",
                f % 37, f, 20 + m * 31, m % 2 ? "\"EUR\"" : "\"USD\"");
}

static void gen_diff(hr_buf *b, size_t bytes)
{
    for (unsigned f = 0; b->len < bytes; f++) {
        put(b, "diff --git a/src/m%u.c b/src/m%u.c\nindex 1a2b3c..4d5e6f 100644\n--- a/src/m%u.c\n+++ b/src/m%u.c\n",
            f, f, f, f);
        for (unsigned h = 0; h < 6; h++) {
            put(b, "@@ -%u,11 +%u,12 @@ int handler_%u(void)\n", h * 80 + 1, h * 80 + 1, h);
            for (unsigned c = 0; c < 5; c++)
                put(b, "     int local_%u = compute(%u);\n", c, c);
            put(b, "-    return old_value_%u;\n+    if (!ready) return -1;\n+    return new_value_%u;\n", h, h);
            for (unsigned c = 0; c < 5; c++)
                put(b, "     cleanup_%u();\n", c);
        }
    }
}

static void gen_prose_code(hr_buf *b, size_t bytes)
{
    for (unsigned i = 0; b->len < bytes; i++) {
        put(b, "The service keeps one connection pool per tenant and recycles idle connections after %u s.\n", i % 90);
        put(b, "static int handle_%u(struct req *r)\n{\n    if (!r)\n        return -1;\n    return dispatch(r, %u);\n}\n\n", i, i);
        if (i % 20 == 0)
            for (unsigned k = 0; k < 30; k++)
                put(b, "Downloading shard %u: %3u%%|%.*s| %u/30\n", i, k * 100 / 30, (int)(k / 3), "##########", k);
    }
}

/* Repeats b's content until it holds about bytes (appending from a copy: b may move). */
static void repeat_to(hr_buf *b, size_t bytes)
{
    hr_buf unit = HR_BUF_INIT;
    if (hr_buf_append(&unit, b->data, b->len) != 0)
        exit(1);
    while (b->len + unit.len <= bytes)
        if (hr_buf_append(b, unit.data, unit.len) != 0)
            exit(1);
    hr_buf_free(&unit);
}

typedef int (*run_fn)(const char *in, size_t len, void *ctx);

static double best_mbps(run_fn fn, const char *in, size_t len, void *ctx)
{
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        if (fn(in, len, ctx) != 0) {
            fprintf(stderr, "run failed\n");
            exit(1);
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    return (double)len / (1024.0 * 1024.0) / best;
}

static volatile size_t sink;

static int run_baseline(const char *in, size_t len, void *ctx)
{
    (void)ctx;
    size_t lines = 0;
    for (const char *p = in, *e = in + len; p < e; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        p = nl ? nl + 1 : e;
    }
    sink = lines;
    return 0;
}

static int run_detect(const char *in, size_t len, void *ctx)
{
    (void)ctx;
    hr_sections s;
    if (hr_detect_sections(in, len, &s) != 0)
        return -1;
    sink = s.n;
    hr_sections_free(&s);
    return 0;
}

/* The content hash every compressed output names: a floor no compressor can beat. */
static int run_hash(const char *in, size_t len, void *ctx)
{
    (void)ctx;
    char hex[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash(in, len, hex);
    sink = (size_t)hex[0];
    return 0;
}

static int run_compressor(const char *in, size_t len, void *ctx)
{
    hr_compressor_fn fn = *(hr_compressor_fn *)ctx;
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    hr_compress_result r;
    if (fn(in, len, &o, &r) != 0)
        return -1;
    sink = r.out.len;
    hr_compress_result_free(&r);
    return 0;
}

static void savings(const char *name, hr_compressor_fn fn, const hr_buf *in, const char *query)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    if (query) {
        o.query = query;
        o.query_len = strlen(query);
    }
    hr_compress_result r;
    if (fn(in->data, in->len, &o, &r) != 0 || !r.compressed) {
        printf("%-28s not compressed\n", name);
        return;
    }
    hr_tok_encoding used;
    size_t before = hr_tokens_count("gpt-4o", in->data, in->len, &used);
    size_t after = hr_tokens_count("gpt-4o", r.out.data, r.out.len, &used);
    printf("%-28s %8zu -> %7zu bytes (%5.1f%%)  %7zu -> %6zu tokens (%5.1f%%, %s)  %llu -> %llu %s\n",
           name, in->len, r.out.len, 100.0 * (1.0 - (double)r.out.len / (double)in->len), before, after,
           100.0 * (1.0 - (double)after / (double)before), hr_tok_encoding_name(used), r.units_total,
           r.units_kept, r.unit);
    hr_compress_result_free(&r);
}

int main(void)
{
    hr_buf log2k = HR_BUF_INIT, grep = HR_BUF_INIT, big_log = HR_BUF_INIT, big_grep = HR_BUF_INIT,
           big_diff = HR_BUF_INIT, big_text = HR_BUF_INIT, mixed = HR_BUF_INIT;
    gen_test_log(&log2k, 2000);
    gen_grep(&grep, 60, 8);
    gen_test_log(&big_log, 2000);
    repeat_to(&big_log, TARGET_BYTES);
    gen_grep(&big_grep, 40000, 1);
    gen_diff(&big_diff, TARGET_BYTES);
    gen_prose_code(&big_text, TARGET_BYTES);
    hr_buf *parts[] = {&big_log, &big_grep, &big_diff, &big_text};
    for (size_t k = 0; k < 4; k++)
        if (hr_buf_append(&mixed, parts[k]->data, parts[k]->len / 2) != 0 || hr_buf_putc(&mixed, '\n') != 0)
            return 1;

    printf("== throughput (MB/s, best of %d; inputs of %.1f-%.1f MB)\n", RUNS,
           (double)big_grep.len / 1048576.0, (double)big_text.len / 1048576.0);
    const char *names[] = {"test log", "grep output", "unified diff", "prose + code", "mixed (all four)"};
    hr_buf *inputs[] = {&big_log, &big_grep, &big_diff, &big_text, &mixed};
    printf("%-18s %10s %10s\n", "input", "baseline", "detect");
    for (size_t k = 0; k < 5; k++)
        printf("%-18s %10.0f %10.0f\n", names[k], best_mbps(run_baseline, inputs[k]->data, inputs[k]->len, NULL),
               best_mbps(run_detect, inputs[k]->data, inputs[k]->len, NULL));
    hr_compressor_fn fns[] = {hr_compress_logs, hr_compress_search, hr_compress_diff, hr_compress_text};
    const char *fn_names[] = {"logs", "search", "diff", "text"};
    printf("%-10s %-14s %10s %14s\n", "compressor", "input", "MB/s", "hash alone");
    for (size_t k = 0; k < 4; k++)
        printf("%-10s %-14s %10.0f %14.0f\n", fn_names[k], names[k],
               best_mbps(run_compressor, inputs[k]->data, inputs[k]->len, &fns[k]),
               best_mbps(run_hash, inputs[k]->data, inputs[k]->len, NULL));

    printf("== savings\n");
    savings("2,000-line test log (logs)", hr_compress_logs, &log2k, NULL);
    savings("grep 480 matches (search)", hr_compress_search, &grep, NULL);
    savings("grep + query", hr_compress_search, &grep, "why is the EUR total wrong in invoice_7");
    savings("same log via detection", hr_detect_pick(log2k.data, log2k.len, NULL), &log2k, NULL);

    for (size_t k = 0; k < 5; k++)
        hr_buf_free(inputs[k]);
    hr_buf_free(&log2k);
    hr_buf_free(&grep);
    return 0;
}
