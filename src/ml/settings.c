/* settings.c: the ML runtime's setting rows and the process copy (see settings.h). */
#include "ml/settings.h"

#include "ml/pool.h"
#include "sys/parse.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* More threads than the pool holds are clamped, as HEADROOM_ML_THREADS always was. */
static int parse_threads(const char *v, void *field, size_t size, char *err, size_t errlen)
{
    (void)size, (void)err, (void)errlen;
    long n;
    if (hr_parse_long(v, 1, LONG_MAX, &n) != 0)
        return -1;
    *(int *)field = n > HR_ML_POOL_MAX_THREADS ? HR_ML_POOL_MAX_THREADS : (int)n;
    return 0;
}

#define ROW(name, ...) HR_SETTING_ROW(hr_ml_config, name, NULL, __VA_ARGS__, 0)

/* docs/configuration.md ("ML runtime") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    HR_SETTING_CUSTOM(hr_ml_config, "ml_threads", NULL, "HEADROOM_ML_THREADS", parse_threads,
                      "a count of 1 or more", threads, "1",
                      "compute threads for all ML work, the caller included (1)", 0),
    ROW("ml_idle_unload_s", "HEADROOM_ML_IDLE_UNLOAD_S", HR_SETTING_INT, idle_unload_s, 0,
        1000000000LL, "300", "seconds before an idle model is unloaded (300; 0 = never)"),
    ROW("ml_queue_ms", "HEADROOM_ML_QUEUE_MS", HR_SETTING_INT, queue_ms, 0, 1000000000LL, "25",
        "ms a call waits for a busy model before it fails open (25)"),
};

const hr_setting_table hr_ml_settings = HR_SETTING_TABLE(ROWS);

void hr_ml_config_default(hr_ml_config *c)
{
    hr_settings_init(&hr_ml_settings, c, sizeof *c);
}

int hr_ml_config_from_env(hr_ml_config *c, char *err, size_t errlen)
{
    return hr_settings_from_env(&hr_ml_settings, c, err, errlen);
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_configured;
static hr_ml_config g_config;

void hr_ml_configure(const hr_ml_config *c)
{
    pthread_mutex_lock(&g_lock);
    g_config = *c;
    g_configured = 1;
    pthread_mutex_unlock(&g_lock);
}

hr_ml_config hr_ml_config_process(void)
{
    hr_ml_config c;
    pthread_mutex_lock(&g_lock);
    int configured = g_configured;
    c = g_config;
    pthread_mutex_unlock(&g_lock);
    if (configured)
        return c;
    char err[256];
    hr_ml_config_default(&c);
    if (hr_ml_config_from_env(&c, err, sizeof err) != 0)
        hr_ml_config_default(&c); /* no proxy start to stop: the defaults, as before */
    return c;
}
