/* backpressure.c: the memory budget's stages (see backpressure.h). State is a handful of
 * atomics: the request path reads the live budget, the housekeeping tick charges RssAnon
 * and does the slow part of stage 1 (unloading ML sessions) on the main thread. */
#include "proxy/backpressure.h"

#include "ml/session.h"
#include "sys/budget.h"
#include "sys/log.h"

#include <stdatomic.h>
#include <stdio.h>

static struct {
    atomic_size_t budget;
    atomic_int tick_stage; /* stage seen at the last tick */
    atomic_size_t rss_at_tick; /* RssAnon the last tick read: the floor of measured_bytes */
    atomic_ullong ml_unloads, compression_skipped, refused;
    atomic_ullong entries[4];
    unsigned long long logged[4]; /* main thread only: counts at the last log line */
    double logged_at_ms;
} B;

void hr_backpressure_configure(size_t budget_bytes)
{
    atomic_store(&B.budget, budget_bytes);
    atomic_store(&B.rss_at_tick, 0); /* nothing measured under this budget yet */
    if (budget_bytes)
        hr_budget_init(hr_budget_process(), budget_bytes);
}

size_t hr_backpressure_budget(void) { return atomic_load(&B.budget); }

hr_bp_stage hr_bp_stage_for(unsigned permille)
{
    if (permille >= HR_BP_REFUSE_PERMILLE)
        return HR_BP_REFUSE;
    if (permille >= HR_BP_SKIP_PERMILLE)
        return HR_BP_SKIP_COMPRESSION;
    if (permille >= HR_BP_ML_OFF_PERMILLE)
        return HR_BP_ML_OFF;
    return HR_BP_NONE;
}

const char *hr_bp_stage_name(hr_bp_stage st)
{
    static const char *const names[] = {"none", "ml_off", "skip_compression", "refuse"};
    return (unsigned)st < 4 ? names[st] : "none";
}

hr_bp_stage hr_backpressure_stage(void)
{
    if (!atomic_load(&B.budget))
        return HR_BP_NONE;
    return hr_bp_stage_for(hr_budget_pressure(hr_budget_process()));
}

hr_bp_stage hr_backpressure_update(size_t rss_anon)
{
    if (!atomic_load(&B.budget))
        return HR_BP_NONE;
    hr_budget *b = hr_budget_process();
    size_t used = hr_budget_used(b);
    atomic_store(&B.rss_at_tick, rss_anon);
    /* request buffers are already in RssAnon as far as they were touched: charge the rest */
    hr_budget_set_external(b, rss_anon > used ? rss_anon - used : 0);
    hr_bp_stage st = hr_backpressure_stage();
    hr_bp_stage before = (hr_bp_stage)atomic_exchange(&B.tick_stage, (int)st);
    if (st != before)
        atomic_fetch_add(&B.entries[st], 1);
    hr_ml_set_paused(st >= HR_BP_ML_OFF);
    if (st >= HR_BP_ML_OFF) {
        int n = hr_ml_unload_all(); /* waits for a running call; the next ones fail open */
        if (n > 0)
            atomic_fetch_add(&B.ml_unloads, (unsigned long long)n);
    }
    return st;
}

int hr_backpressure_allow_compression(void)
{
    if (hr_backpressure_stage() < HR_BP_SKIP_COMPRESSION)
        return 1;
    atomic_fetch_add(&B.compression_skipped, 1);
    return 0;
}

int hr_backpressure_admit(void)
{
    if (hr_backpressure_stage() < HR_BP_REFUSE)
        return 1;
    atomic_fetch_add(&B.refused, 1);
    return 0;
}

void hr_backpressure_counts(hr_bp_counts *out)
{
    out->ml_unloads = atomic_load(&B.ml_unloads);
    out->ml_fail_open = hr_ml_paused_calls();
    out->compression_skipped = atomic_load(&B.compression_skipped);
    out->refused = atomic_load(&B.refused);
    for (int i = 0; i < 4; i++)
        out->stage_entries[i] = atomic_load(&B.entries[i]);
}

/* The tick charges RssAnon less the bytes reserved then; when reservations exceed RssAnon
 * (a body reserved from its Content-Length before its bytes arrive) that charge is 0, and
 * once the request ends used + external would read 0 for a live process until the next
 * tick. What the tick read stays the floor: it is the last real measurement. */
static size_t measured_bytes(void)
{
    hr_budget *b = hr_budget_process();
    size_t live = hr_budget_used(b) + atomic_load(&b->external);
    size_t floor = atomic_load(&B.rss_at_tick);
    return live > floor ? live : floor;
}

int hr_backpressure_prometheus(hr_buf *o)
{
    hr_bp_counts c;
    hr_backpressure_counts(&c);
    return hr_buf_printf(o,
        "# HELP headroom_memory_budget_bytes --memory-budget-mb in bytes (0 = none).\n"
        "# TYPE headroom_memory_budget_bytes gauge\nheadroom_memory_budget_bytes %zu\n"
        "# HELP headroom_memory_measured_bytes RssAnon at the last tick plus request bytes reserved since (never below that RssAnon).\n"
        "# TYPE headroom_memory_measured_bytes gauge\nheadroom_memory_measured_bytes %zu\n"
        "# HELP headroom_memory_stage Backpressure stage now: 0 none, 1 ml_off, 2 skip_compression, 3 refuse.\n"
        "# TYPE headroom_memory_stage gauge\nheadroom_memory_stage %d\n"
        "# HELP headroom_memory_backpressure_total What each backpressure stage did.\n"
        "# TYPE headroom_memory_backpressure_total counter\n"
        "headroom_memory_backpressure_total{action=\"ml_unload\"} %llu\n"
        "headroom_memory_backpressure_total{action=\"ml_fail_open\"} %llu\n"
        "headroom_memory_backpressure_total{action=\"compression_skipped\"} %llu\n"
        "headroom_memory_backpressure_total{action=\"refused\"} %llu\n"
        "# HELP headroom_memory_stage_entries_total Times the tick saw a stage begin.\n"
        "# TYPE headroom_memory_stage_entries_total counter\n"
        "headroom_memory_stage_entries_total{stage=\"ml_off\"} %llu\n"
        "headroom_memory_stage_entries_total{stage=\"skip_compression\"} %llu\n"
        "headroom_memory_stage_entries_total{stage=\"refuse\"} %llu\n",
        hr_backpressure_budget(), measured_bytes(), (int)hr_backpressure_stage(), c.ml_unloads,
        c.ml_fail_open, c.compression_skipped, c.refused, c.stage_entries[1], c.stage_entries[2],
        c.stage_entries[3]);
}

int hr_backpressure_json(hr_buf *o)
{
    hr_bp_counts c;
    hr_backpressure_counts(&c);
    return hr_buf_printf(o,
        "{\"budget_bytes\":%zu,\"measured_bytes\":%zu,\"stage\":\"%s\",\"ml_unloads\":%llu,"
        "\"ml_fail_open\":%llu,\"compression_skipped\":%llu,\"refused\":%llu}",
        hr_backpressure_budget(), measured_bytes(), hr_bp_stage_name(hr_backpressure_stage()),
        c.ml_unloads, c.ml_fail_open, c.compression_skipped, c.refused);
}

void hr_backpressure_log(double now_ms, double period_ms)
{
    if (B.logged_at_ms && now_ms - B.logged_at_ms < period_ms)
        return;
    hr_bp_counts c;
    hr_backpressure_counts(&c);
    unsigned long long now[4] = {c.ml_unloads, c.ml_fail_open, c.compression_skipped, c.refused};
    int moved = 0;
    for (int i = 0; i < 4; i++)
        moved |= now[i] != B.logged[i];
    if (!moved)
        return;
    char v[4][24];
    for (int i = 0; i < 4; i++) {
        snprintf(v[i], sizeof v[i], "%llu", now[i] - B.logged[i]);
        B.logged[i] = now[i];
    }
    B.logged_at_ms = now_ms;
    hr_log_fields(HR_LOG_WARN, "memory backpressure", "stage",
                  hr_bp_stage_name(hr_backpressure_stage()), "ml_unloads", v[0], "ml_fail_open",
                  v[1], "compression_skipped", v[2], "refused", v[3], NULL);
}
