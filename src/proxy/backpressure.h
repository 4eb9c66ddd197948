/* backpressure.h: the memory budget (--memory-budget-mb) and the stages the proxy goes
 * through before it is reached.
 *
 * Why: the in-flight budget (sys/budget.h) bounds the bytes requests hold, but the process
 * also holds ML models' scratch, caches, stores and heap the allocator keeps. A budget an
 * operator can promise (and match with systemd's MemoryHigh) has to count all of it, and
 * the proxy has to shed optional work before it refuses any request.
 *
 * Measure: the process budget (hr_budget_process) with its limit set to the memory budget
 * and its "external" share set by the housekeeping tick to RssAnon minus the in-flight
 * reservations at that moment; between ticks new reservations add to it at once. So
 * used + external = RssAnon at the last tick + request bytes reserved since (ML scratch is
 * anonymous memory: in RssAnon once touched).
 *
 * Stages, by pressure = (used + external) / budget, in this order:
 *   1 ML_OFF           >= 70 %: ML sessions unload (at the tick) and every ML call fails
 *                      open to the heuristic compressors (hr_ml_set_paused);
 *   2 SKIP_COMPRESSION >= 85 %: new compressions are skipped, requests forwarded as sent;
 *   3 REFUSE           >= 95 %: new model requests get 503 with Retry-After in the
 *                      provider's shape. A request already accepted is never dropped
 *                      (bodies past the budget itself are refused by sys/budget as before).
 * Each stage counts the requests it affected (metrics) and the tick logs the counts once a
 * minute while they move. Without a memory budget every check passes and nothing counts.
 *
 * Thread-safety: all functions are safe from any thread (atomics only).
 */
#ifndef HR_PROXY_BACKPRESSURE_H
#define HR_PROXY_BACKPRESSURE_H

#include "sys/buf.h"

#include <stddef.h>

typedef enum {
    HR_BP_NONE = 0,
    HR_BP_ML_OFF = 1,
    HR_BP_SKIP_COMPRESSION = 2,
    HR_BP_REFUSE = 3,
} hr_bp_stage;

#define HR_BP_ML_OFF_PERMILLE 700
#define HR_BP_SKIP_PERMILLE 850
#define HR_BP_REFUSE_PERMILLE 950

/* Sets the memory budget in bytes (0 = none) and, when set, makes it the process budget's
 * limit (hr_budget_init). Call once before serving. */
void hr_backpressure_configure(size_t budget_bytes);
size_t hr_backpressure_budget(void);

/* The stage for a pressure in per mille (pure; exposed for tests). */
hr_bp_stage hr_bp_stage_for(unsigned permille);
const char *hr_bp_stage_name(hr_bp_stage st);

/* The tick: charges rss_anon (minus in-flight reservations) to the process budget, then
 * applies stage 1 (pause ML, unload every session) or lifts it. Returns the stage. */
hr_bp_stage hr_backpressure_update(size_t rss_anon);
/* The stage now, from the live budget. */
hr_bp_stage hr_backpressure_stage(void);

/* Request-path checks; each counts the request it turned away from work. */
int hr_backpressure_allow_compression(void); /* 0 = skip compression (stage >= 2) */
int hr_backpressure_admit(void);             /* 0 = refuse with 503 (stage 3) */

typedef struct hr_bp_counts {
    unsigned long long ml_unloads;        /* sessions unloaded by stage 1 */
    unsigned long long ml_fail_open;      /* ML calls failed open while paused */
    unsigned long long compression_skipped;
    unsigned long long refused;
    unsigned long long stage_entries[4];  /* times each stage was entered at a tick */
} hr_bp_counts;
void hr_backpressure_counts(hr_bp_counts *out);

/* Prometheus lines (headroom_memory_*). 0 or -1 on allocation failure. */
int hr_backpressure_prometheus(hr_buf *o);
/* {"budget_bytes":N,"measured_bytes":N,"stage":"...","ml_unloads":N,...} */
int hr_backpressure_json(hr_buf *o);

/* Logs the counts once per period_ms when they changed since the last line. */
void hr_backpressure_log(double now_ms, double period_ms);

#endif
