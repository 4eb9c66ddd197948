/* savings.h: the savings the user sees, over restarts: turns each finished request into a
 * row of the persistent stats (stats_store.h), prices it (pricing.h), samples memory for
 * the dashboard, and writes the /stats members built from them. The periodic part
 * (hr_savings_tick) runs on the main thread's once-a-second loop, never on a request path;
 * issue 12's housekeeping tick will own it.
 */
#ifndef HR_PROXY_SAVINGS_H
#define HR_PROXY_SAVINGS_H

#include "proxy/metrics.h"
#include "sys/buf.h"
#include "sys/settings.h"

/* The statistics' settings, one row each (savings.c; variables only): HEADROOM_STATS_FLUSH_S
 * (10), HEADROOM_STATS_RETENTION_DAYS (30), HEADROOM_PRICING_FILE (the user's prices, read
 * before the shipped ones), HEADROOM_DASHBOARD_PUBLIC (off: /dashboard for loopback clients
 * only). Part of the proxy's configuration (hr_proxy_config.savings). */
typedef struct hr_savings_config {
    int flush_s;
    int retention_days;
    const char *pricing_file; /* borrowed from the environment; NULL = none */
    int dashboard_public;
} hr_savings_config;

extern const hr_setting_table hr_savings_settings;
void hr_savings_config_default(hr_savings_config *c);

/* Opens the stats file in data_dir (NULL: the default lookup) when persist is set, and
 * loads the price table. Without persist (--ccr-backend memory, which --stateless selects:
 * nothing on disk) the counters live in memory only. Failures are logged and the proxy
 * serves on: counters then live in memory only / models go unpriced. */
void hr_savings_start(const char *data_dir, int persist, const hr_savings_config *c);
void hr_savings_stop(void); /* final flush */

void hr_savings_record(const hr_request_record *r);
void hr_savings_tick(void);

/* Appends ,"persistent":{...},"cost":{...},... to an open JSON object; with
 * with_process, also this process's memory and prompt-cache sessions (the proxy's /stats;
 * `headroom stats --data-dir` reads only the file). */
int hr_savings_json(hr_buf *out, int with_process);

#endif
