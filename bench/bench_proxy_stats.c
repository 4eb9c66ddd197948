/* bench_proxy_stats.c: what the persistent savings cost a request, next to the baseline in
 * the same run: hr_metrics_record (the in-memory counters every request already paid).
 * Per finished request the proxy now also calls hr_stats_store_add; its cost grows with the
 * distinct rows pending since the last flush (hour x model x provider x compressors x
 * tenant), so it is measured with 1, 64 and 4,096 of them. Then the flush (main thread,
 * never a request) of that many rows into a fresh SQLite file.
 *
 *   cmake --build build --target bench_proxy_stats && build/bench_proxy_stats
 */
#include "proxy/metrics.h"
#include "proxy/stats_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALLS 200000

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static hr_stat_key key_n(int i)
{
    hr_stat_key k;
    memset(&k, 0, sizeof k);
    k.hour = 490000;
    snprintf(k.model, sizeof k.model, "claude-sonnet-4-5-%04d", i);
    snprintf(k.provider, sizeof k.provider, "anthropic");
    snprintf(k.compressor, sizeof k.compressor, "smart_crusher,logs");
    snprintf(k.tenant, sizeof k.tenant, "%016x", (unsigned)i * 2654435761u);
    return k;
}

static double add_ns(int distinct)
{
    hr_stats_store_reset();
    hr_stat_key *keys = malloc((size_t)distinct * sizeof *keys);
    for (int i = 0; i < distinct; i++)
        keys[i] = key_n(i);
    hr_stat_counts c = {{1, 1000, 300, 900, 20, 0, 0, 0, 0, 0}};
    for (int i = 0; i < distinct; i++) /* the rows exist: measure the steady state */
        hr_stats_store_add(&keys[i], &c);
    double t0 = cpu_ns();
    for (int i = 0; i < CALLS; i++)
        hr_stats_store_add(&keys[(i * 7919) % distinct], &c);
    double ns = (cpu_ns() - t0) / CALLS;
    free(keys);
    return ns;
}

static double metrics_ns(void)
{
    hr_request_record r = {.route = "messages", .provider = "anthropic", .status = 200, .latency_ms = 20,
                           .upstream_ms = 19, .client_send_ms = 0.1, .overhead_ms = 0.9, .tokens_before = 1000,
                           .tokens_after = 300};
    double t0 = cpu_ns();
    for (int i = 0; i < CALLS; i++)
        hr_metrics_record(&r);
    return (cpu_ns() - t0) / CALLS;
}

static double flush_ms(int rows)
{
    char dir[] = "/tmp/hr-bench-stats-XXXXXX", err[256];
    if (!mkdtemp(dir))
        return -1;
    hr_stats_store_reset();
    if (hr_stats_store_open(dir, 30, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    hr_stat_counts c = {{1, 1000, 300, 900, 20, 0, 0, 0, 0, 0}};
    for (int i = 0; i < rows; i++) {
        hr_stat_key k = key_n(i);
        k.hour = (long long)time(NULL) / 3600;
        hr_stats_store_add(&k, &c);
    }
    double t0 = now_ms();
    hr_stats_store_flush();
    double ms = now_ms() - t0;
    hr_stats_store_reset();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return ms;
}

int main(void)
{
    hr_metrics_init();
    printf("per finished request, CPU ns (mean of %d calls)\n", CALLS);
    printf("  baseline hr_metrics_record            %8.1f\n", metrics_ns());
    printf("  hr_stats_store_add,    1 pending row  %8.1f\n", add_ns(1));
    printf("  hr_stats_store_add,   64 pending rows %8.1f\n", add_ns(64));
    printf("  hr_stats_store_add, 4096 pending rows %8.1f\n", add_ns(4096));
    printf("flush (main thread), wall ms\n");
    printf("  %4d rows  %8.3f\n", 1, flush_ms(1));
    printf("  %4d rows  %8.3f\n", 64, flush_ms(64));
    printf("  %4d rows  %8.3f\n", 4096, flush_ms(4096));
    return 0;
}
