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

#define OFF(f) offsetof(hr_ml_config, f)
#define SZ(f) sizeof(((hr_ml_config *)0)->f)

/* docs/configuration.md ("ML runtime") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    {.name = "ml_threads", .env = "HEADROOM_ML_THREADS", .type = HR_SETTING_CUSTOM,
     .offset = OFF(threads), .size = SZ(threads), .dflt = "1",
     .help = "compute threads for all ML work, the caller included (1)", .parse = parse_threads,
     .range = "a count of 1 or more"},
    {.name = "ml_idle_unload_s", .env = "HEADROOM_ML_IDLE_UNLOAD_S", .type = HR_SETTING_INT,
     .offset = OFF(idle_unload_s), .size = SZ(idle_unload_s), .max = 1000000000LL, .dflt = "300",
     .help = "seconds before an idle model is unloaded (300; 0 = never)"},
    {.name = "ml_queue_ms", .env = "HEADROOM_ML_QUEUE_MS", .type = HR_SETTING_INT,
     .offset = OFF(queue_ms), .size = SZ(queue_ms), .max = 1000000000LL, .dflt = "25",
     .help = "ms a call waits for a busy model before it fails open (25)"},
};

const hr_setting_table hr_ml_settings = HR_SETTING_TABLE(ROWS);

void hr_ml_config_default(hr_ml_config *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    if (hr_settings_defaults(&hr_ml_settings, c, err, sizeof err) != 0)
        abort(); /* a default that does not parse is a bug in ROWS (tests check every row) */
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
