/* housekeeping.h: the proxy's one periodic task (like Redis's serverCron).
 *
 * Why one: periodic work spread over threads and call sites (an ML idle reaper thread, an
 * idle-maintenance timer, ...) wakes the process at unrelated times and makes "what runs
 * when memory is tight" hard to state. The tick runs once a second on the main thread,
 * which otherwise only waits for a shutdown signal, and does, in this order:
 *   1. budget check: samples RssAnon, charges it to the memory budget and applies the
 *      backpressure stages (backpressure.h), ML unload under pressure included;
 *   2. ML idle unload: sessions idle past HEADROOM_ML_IDLE_UNLOAD_S (the ML runtime then
 *      starts no reaper thread of its own: hr_ml_use_external_reaper);
 *   3. after a burst (requests finished, none in the last second, none in flight): upstream
 *      handle pool shrink and heap trim, so RSS returns to its idle size;
 *   4. the registered flush hooks (stats writers), then the once-a-minute pressure log.
 * The connection guard's watchdog (http/guard.c) is the one other periodic thread, and
 * only while connections are open: it enforces 100 ms request-phase deadlines inside the
 * HTTP layer, which a one-second tick on another layer could not (docs/design.md).
 *
 * Ownership: an hr_housekeeping value belongs to the thread that ticks it.
 */
#ifndef HR_PROXY_HOUSEKEEPING_H
#define HR_PROXY_HOUSEKEEPING_H

#include <stddef.h>

#define HR_HOUSEKEEPING_TICK_MS 1000
#define HR_HOUSEKEEPING_MAX_HOOKS 8

typedef void (*hr_housekeeping_hook)(void *arg);

typedef struct hr_housekeeping {
    unsigned long long finished_at_last_trim;
    unsigned long long finished_last_tick;
    int threads_at_last_trim; /* the process's threads when it last trimmed */
    size_t pool_keep; /* upstream handle pairs kept warm across an idle period */
    hr_housekeeping_hook hooks[HR_HOUSEKEEPING_MAX_HOOKS];
    void *hook_args[HR_HOUSEKEEPING_MAX_HOOKS];
    int n_hooks;
    unsigned long long ticks, trims, ml_idle_unloads;
} hr_housekeeping;

void hr_housekeeping_init(hr_housekeeping *h, size_t pool_keep);
/* Registers fn(arg) to run at every tick (a stats flush). -1 when the table is full. */
int hr_housekeeping_add_hook(hr_housekeeping *h, hr_housekeeping_hook fn, void *arg);
/* One tick; finished = requests finished so far, in_flight = requests running now. */
void hr_housekeeping_tick(hr_housekeeping *h, unsigned long long finished, int in_flight);

#endif
