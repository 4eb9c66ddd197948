/* housekeeping.c: the one periodic tick (see housekeeping.h). */
#include "proxy/housekeeping.h"

#include "http/upstream.h"
#include "ml/session.h"
#include "proxy/backpressure.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/mem.h"

#include <stdio.h>
#include <time.h>

#define PRESSURE_LOG_PERIOD_MS 60000.0

void hr_housekeeping_init(hr_housekeeping *h, size_t pool_keep)
{
    *h = (hr_housekeeping){.pool_keep = pool_keep};
    hr_ml_use_external_reaper(1);
}

int hr_housekeeping_add_hook(hr_housekeeping *h, hr_housekeeping_hook fn, void *arg)
{
    if (h->n_hooks == HR_HOUSEKEEPING_MAX_HOOKS)
        return -1;
    h->hooks[h->n_hooks] = fn;
    h->hook_args[h->n_hooks++] = arg;
    return 0;
}

/* After a burst, the curl handle pool (one pair per peak concurrent transfer) and glibc's
 * arenas hold memory the idle proxy does not need. Debounced: only once requests finished
 * since the last trim AND none finished during the last tick (the burst is over) AND
 * nothing is in flight, so a busy proxy keeps its pool and an idle one does no work. */
static void trim_after_burst(hr_housekeeping *h, unsigned long long finished, int in_flight)
{
    int quiet = finished == h->finished_last_tick;
    h->finished_last_tick = finished;
    if (!quiet || in_flight > 0)
        return;
    /* Threads that exit after the trim (the events server's idle workers, a few seconds
     * after a burst) hand their caches back to the arenas then: once more after they left. */
    hr_mem_snapshot m;
    int threads = hr_mem_read(0, &m) == 0 ? m.threads : 0;
    int threads_left = threads > 0 && threads < h->threads_at_last_trim;
    if (finished == h->finished_at_last_trim && !threads_left)
        return;
    h->threads_at_last_trim = threads;
    h->finished_at_last_trim = finished;
    size_t closed = hr_upstream_pool_shrink(h->pool_keep);
    long released = 0;
    hr_trim_result r = hr_heap_trim(&released);
    h->trims++;
    if (hr_log_enabled(HR_LOG_DEBUG)) {
        char n[32], c[32];
        snprintf(n, sizeof n, "%ld", released);
        snprintf(c, sizeof c, "%zu", closed);
        hr_log_fields(HR_LOG_DEBUG, "heap trim", "result", hr_trim_result_name(r), "released_bytes", n,
                      "upstream_handles_closed", c, NULL);
    }
}

void hr_housekeeping_tick(hr_housekeeping *h, unsigned long long finished, int in_flight)
{
    h->ticks++;
    if (hr_backpressure_budget()) {
        hr_mem_snapshot m;
        if (hr_mem_read(0, &m) == 0)
            hr_backpressure_update(m.rss_anon);
    }
    h->ml_idle_unloads += (unsigned long long)hr_ml_reap_idle();
    trim_after_burst(h, finished, in_flight);
    for (int i = 0; i < h->n_hooks; i++)
        h->hooks[i](h->hook_args[i]);
    hr_backpressure_log(hr_now_ms(), PRESSURE_LOG_PERIOD_MS);
}
