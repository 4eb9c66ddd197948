/* image_signals.c: the encoder session and the confidence rule of image_signals.h. */
#include "compress/image_signals.h"

#include "image/image.h"
#include "sys/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NOTE_LOW[] = "low text in image", NOTE_DETAIL[] = "fine details detected",
                  NOTE_CONFIRMED[] = "confirmed: complex/detailed";

int hr_image_needs_signals(const char *t)
{
    return t && (!strcmp(t, "transcode") || !strcmp(t, "full_low") || !strcmp(t, "preserve"));
}

const char *hr_image_adjust_confidence(const char *t, const hr_image_signals *s, float *conf)
{
    const float *v = s->score;
    if (!t)
        return NULL;
    if (!strcmp(t, "transcode") && v[HR_SIG_HAS_TEXT] < 0.4f && v[HR_SIG_IS_DOCUMENT] < 0.4f) {
        *conf *= 0.8f;
        return NOTE_LOW;
    }
    if (!strcmp(t, "full_low") && v[HR_SIG_SMALL_DETAILS] > 0.7f)
        return NOTE_DETAIL;
    if (!strcmp(t, "preserve") && (v[HR_SIG_SMALL_DETAILS] > 0.5f || v[HR_SIG_IS_COMPLEX] > 0.5f)) {
        *conf = *conf * 1.1f > 1.0f ? 1.0f : *conf * 1.1f;
        return NOTE_CONFIRMED;
    }
    return NULL;
}

/* ---- the encoder session (a documented process singleton, like the router's) ---------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static hr_ml_session *g_enc;
static char g_path[512];
static int g_side; /* the model's input side, read at open */
static _Atomic uint64_t g_analysed, g_failed, g_lowered, g_raised, g_noted;

/* The session for path and its input side; NULL when it cannot be opened. */
static hr_ml_session *encoder(const char *path, int *side)
{
    pthread_mutex_lock(&g_mu);
    if (strcmp(g_path, path)) { /* a path tried once is not retried: fail open */
        hr_ml_session_close(g_enc);
        g_enc = NULL;
        g_side = 0;
        snprintf(g_path, sizeof g_path, "%s", path);
        hr_model_file *mf;
        hr_ml_error err;
        if (hr_model_file_open(path, 0, &mf, &err) == 0) {
            g_side = (int)mf->config.reserved[HR_VIT_CFG_IMAGE];
            hr_model_file_close(mf);
            hr_ml_session_config sc;
            hr_ml_session_config_init(&sc, "image_encoder", &hr_ml_kind_vision, path);
            g_enc = hr_ml_session_open(&sc, &err);
        }
        if (!g_enc)
            hr_logf(HR_LOG_WARN, "image encoder: %s", err.msg);
    }
    hr_ml_session *s = g_enc;
    *side = g_side;
    pthread_mutex_unlock(&g_mu);
    return s;
}

int hr_image_signals_of(const char *model_path, const uint8_t *data, size_t len,
                        uint64_t max_pixels, hr_image_signals *out)
{
    int S = 0;
    hr_ml_session *s = encoder(model_path, &S);
    float *px = s && S > 0 && S <= 4096 ? malloc((size_t)3 * S * S * sizeof *px) : NULL;
    hr_image_error ierr;
    hr_ml_error err;
    int rc = px && hr_image_model_input(data, len, max_pixels, S, px, &ierr) == 0 &&
                     hr_ml_image_signals(s, px, (size_t)3 * S * S, out, &err) == HR_ML_OK
                 ? 0
                 : -1;
    free(px);
    atomic_fetch_add(rc == 0 ? &g_analysed : &g_failed, 1);
    return rc;
}

void hr_image_signal_count_adjustment(const char *note)
{
    if (note == NOTE_LOW)
        atomic_fetch_add(&g_lowered, 1);
    else if (note == NOTE_CONFIRMED)
        atomic_fetch_add(&g_raised, 1);
    else if (note == NOTE_DETAIL)
        atomic_fetch_add(&g_noted, 1);
}

void hr_image_signal_stats_get(hr_image_signal_stats *o)
{
    o->analysed = atomic_load(&g_analysed);
    o->failed_open = atomic_load(&g_failed);
    o->lowered = atomic_load(&g_lowered);
    o->raised = atomic_load(&g_raised);
    o->noted = atomic_load(&g_noted);
}

void hr_image_signals_close(void)
{
    pthread_mutex_lock(&g_mu);
    hr_ml_session_close(g_enc);
    g_enc = NULL;
    g_path[0] = '\0';
    pthread_mutex_unlock(&g_mu);
}
