/* process_store.c: the process-wide CCR store of store.h (a documented singleton), so the
 * proxy's routes, its pipeline and its tool loop write and read the same originals without
 * threading a handle through every layer. Opened once: explicitly from the proxy's flags,
 * or lazily from defaults + HEADROOM_* environment on first use. A failed lazy open is
 * remembered (and logged once) so a broken data dir costs one attempt, not one per request.
 */
#include "ccr/store.h"

#include "sys/log.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static hr_ccr_store *g_store;
static int g_open_failed;

int hr_ccr_process_configure(const hr_ccr_config *c, char *err, size_t errlen)
{
    hr_ccr_store *s = hr_ccr_store_open(c, err, errlen);
    if (!s)
        return -1;
    pthread_mutex_lock(&g_lock);
    hr_ccr_store *old = g_store;
    g_store = s;
    g_open_failed = 0;
    pthread_mutex_unlock(&g_lock);
    hr_ccr_store_close(old); /* only before serving: nobody holds it yet */
    return 0;
}

hr_ccr_store *hr_ccr_process_store(void)
{
    pthread_mutex_lock(&g_lock);
    if (!g_store && !g_open_failed) {
        hr_ccr_config c;
        char err[256] = "";
        hr_ccr_config_default(&c);
        if (hr_ccr_config_from_env(&c, err, sizeof err) == 0)
            g_store = hr_ccr_store_open(&c, err, sizeof err);
        if (!g_store) {
            g_open_failed = 1;
            hr_log_fields(HR_LOG_ERROR, "ccr store unavailable: originals are forwarded",
                          "error", err, (const char *)NULL);
        }
    }
    hr_ccr_store *s = g_store;
    pthread_mutex_unlock(&g_lock);
    return s;
}

void hr_ccr_process_close(void)
{
    pthread_mutex_lock(&g_lock);
    hr_ccr_store *s = g_store;
    g_store = NULL;
    pthread_mutex_unlock(&g_lock);
    hr_ccr_store_close(s);
}
