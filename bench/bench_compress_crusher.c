/* bench_compress_crusher.c: SmartCrusher throughput (MB/s) on a large JSON array and the
 * latency the pipeline adds for one 100 KB tool output, each next to its baseline in the
 * same run: hr_json_parse of the same bytes (the floor any JSON compressor pays).
 *
 *   cmake --build build --target bench_compress_crusher
 *   HEADROOM_DATA_DIR=<dir with tokenizers/o200k_base.tiktoken> ./build/bench_compress_crusher [reps]
 *
 * Latency: each iteration runs the full request hook (parse, policy, token counts before
 * and after, SmartCrusher, store put into a memory store, splice) under a new session id,
 * so nothing is replayed from the session cache; p50 and p90 over the iterations.
 */
#include "ccr/store.h"
#include "compress/pipeline_instance.h"
#include "compress/smart_crusher.h"
#include "compress_scenarios.h"
#include "json/json.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this thread: on a shared machine wall time also counts the waits for a
 * core, so both are reported. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p / 100.0 * (n - 1) + 0.5);
    return v[i];
}

static double parse_ms(const hr_buf *b)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    double t = now_ms();
    if (hr_json_parse(&d, b->data, b->len, &lim, &e) != 0)
        abort();
    t = now_ms() - t;
    hr_json_doc_free(&d);
    return t;
}

static double crush_ms(const hr_buf *b, const char *query, size_t *out_len)
{
    hr_compress_opts o;
    hr_compress_opts_default(&o);
    o.query = query;
    o.query_len = strlen(query);
    hr_compress_result r;
    double t = now_ms();
    if (hr_compress_smart_crusher(b->data, b->len, &o, &r) != 0 || !r.compressed)
        abort();
    t = now_ms() - t;
    *out_len = r.out.len;
    hr_compress_result_free(&r);
    return t;
}

static void throughput(int reps)
{
    hr_buf big = HR_BUF_INIT;
    scen_db_rows(&big, 50000, 1);
    double parse = 0, crush = 0, parse_cpu = 0, crush_cpu = 0;
    size_t out_len = 0;
    for (int i = 0; i < reps; i++) {
        double c = cpu_ms();
        parse += parse_ms(&big);
        parse_cpu += cpu_ms() - c;
        c = cpu_ms();
        crush += crush_ms(&big, "why can't dana.reyes@example.com log in?", &out_len);
        crush_cpu += cpu_ms() - c;
    }
    double mb = (double)big.len * reps / 1e6;
    printf("throughput: %.1f MB array of 50000 objects, %d reps (MB/s of wall time; of CPU time)\n",
           big.len / 1e6, reps);
    printf("  baseline hr_json_parse   %8.1f MB/s  %8.1f MB/s CPU\n", mb / (parse / 1e3),
           mb / (parse_cpu / 1e3));
    printf("  smart_crusher            %8.1f MB/s  %8.1f MB/s CPU  (output %zu bytes)\n",
           mb / (crush / 1e3), mb / (crush_cpu / 1e3), out_len);
    hr_buf_free(&big);
}

static void latency(int iters)
{
    hr_buf tool = HR_BUF_INIT, body = HR_BUF_INIT;
    int rows = 1;
    while (tool.len < 100 * 1000) { /* the smallest DB dump of at least 100 KB */
        hr_buf_reset(&tool);
        scen_db_rows(&tool, rows, 2);
        rows += 10;
    }
    hr_buf_puts(&body, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"why can't dana.reyes@example.com log in?\"},{\"role\":\"assistant\","
                       "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                       "\"function\":{\"name\":\"sql\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\","
                       "\"tool_call_id\":\"c1\",\"content\":");
    hr_json_write_string(&body, tool.data, tool.len);
    hr_buf_puts(&body, "}]}");
    hr_ccr_config cc;
    hr_ccr_config_default(&cc);
    cc.backend = HR_CCR_BACKEND_MEMORY;
    char err[200];
    hr_ccr_store *store = hr_ccr_store_open(&cc, err, sizeof err);
    hr_pipeline_config pc;
    hr_pipeline_config_default(&pc);
    hr_pipeline *p = hr_pipeline_new(&pc, HR_PIPELINE_STORE_GIVEN, store);
    if (!store || !p)
        abort();
    double *base = malloc(iters * sizeof *base), *full = malloc(iters * sizeof *full);
    double *crush = malloc(iters * sizeof *crush), *count = malloc(iters * sizeof *count);
    double *sha = malloc(iters * sizeof *sha), *cpu = malloc(iters * sizeof *cpu);
    double *replay = malloc(iters * sizeof *replay);
    size_t out_len = 0;
    const char *counter = "?";
    long long tb = 0, ta = 0;
    for (int i = 0; i < iters; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "bench-%d", i);
        base[i] = parse_ms(&body);
        crush[i] = crush_ms(&tool, "why can't dana.reyes@example.com log in?", &out_len);
        double t0 = now_ms();
        hr_tokens_count("gpt-4o-mini", tool.data, tool.len, NULL);
        count[i] = now_ms() - t0;
        char h[HR_CONTENT_HASH_HEX + 1];
        t0 = now_ms();
        hr_content_hash(tool.data, tool.len, h);
        sha[i] = now_ms() - t0;
        hr_pipeline_input in = {&hr_api_openai_chat, body.data, body.len, sid, NULL, "bench", NULL};
        hr_pipeline_result r;
        double t = now_ms(), c = cpu_ms();
        hr_pipeline_run_on(p, &in, &r);
        full[i] = now_ms() - t;
        cpu[i] = cpu_ms() - c;
        if (!r.modified)
            abort();
        hr_pipeline_result_free(&r);
        t = now_ms(); /* the same request again in its session: replayed, not recompressed */
        hr_pipeline_run_on(p, &in, &r);
        replay[i] = now_ms() - t;
        counter = r.counter;
        tb = r.tokens_before;
        ta = r.tokens_after;
        hr_pipeline_result_free(&r);
    }
    printf("latency: one %.1f KB tool output (%d rows) in a %.1f KB request, %d iterations, "
           "counter %s, tokens %lld -> %lld\n",
           tool.len / 1e3, rows - 10, body.len / 1e3, iters, counter, tb, ta);
    printf("  baseline hr_json_parse(body)  p50 %6.3f ms\n", pct(base, iters, 50));
    printf("  smart_crusher(tool output)    p50 %6.3f ms\n", pct(crush, iters, 50));
    printf("  token count (tool output)     p50 %6.3f ms\n", pct(count, iters, 50));
    printf("  SHA-256 (tool output)         p50 %6.3f ms\n", pct(sha, iters, 50));
    printf("  pipeline, first sight         p50 %6.3f ms  p90 %6.3f ms  (CPU p50 %6.3f ms)\n",
           pct(full, iters, 50), pct(full, iters, 90), pct(cpu, iters, 50));
    printf("  pipeline, replayed in session p50 %6.3f ms\n", pct(replay, iters, 50));
    free(base);
    free(full);
    free(crush);
    free(count);
    free(sha);
    free(cpu);
    free(replay);
    hr_pipeline_free(p);
    hr_ccr_store_close(store);
    hr_buf_free(&tool);
    hr_buf_free(&body);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1)
        reps = 1;
    throughput(reps);
    latency(reps * 40);
    return 0;
}
