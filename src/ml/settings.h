/* settings.h: the ML runtime's settings, one row each (sys/settings.h): the compute thread
 * cap, idle unload and the queue limit (docs/ml-runtime.md). "Make ML sessions unload
 * sooner" is HEADROOM_ML_IDLE_UNLOAD_S's row in settings.c.
 *
 * The process copy: `headroom proxy` sets it once, from its configuration (defaults, the
 * low-memory profile, the environment), before any thread starts (hr_ml_configure). A
 * process that never calls it (the CLI commands, tests) reads defaults + environment each
 * time a session or the pool asks, as before there was a copy; a value that does not parse
 * there falls back to the default.
 */
#ifndef HR_ML_SETTINGS_H
#define HR_ML_SETTINGS_H

#include "sys/settings.h"

#include <stddef.h>

typedef struct hr_ml_config {
    int threads;        /* compute threads for all ML work, the caller included (1) */
    long idle_unload_s; /* unload a session idle this long; 0 = never (300) */
    long queue_ms;      /* a call waits this long for a busy session (25) */
} hr_ml_config;

extern const hr_setting_table hr_ml_settings;

void hr_ml_config_default(hr_ml_config *c);
/* HEADROOM_ML_THREADS, HEADROOM_ML_IDLE_UNLOAD_S, HEADROOM_ML_QUEUE_MS. 0 ok, -1 (err). */
int hr_ml_config_from_env(hr_ml_config *c, char *err, size_t errlen);

/* Sets the process copy; before any ML thread or session exists. */
void hr_ml_configure(const hr_ml_config *c);
/* The process copy, or defaults + environment when nobody configured one. */
hr_ml_config hr_ml_config_process(void);

#endif
