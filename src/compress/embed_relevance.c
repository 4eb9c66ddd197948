/* embed_relevance.c: the hybrid scorer's semantic half on an encoder session (see
 * embed_relevance.h). One ranking = the question's embedding, then each picked document's,
 * cosine = dot product (hr_ml_embed L2-normalises). */
#include "compress/embed_relevance.h"

#include "sys/clock.h"
#include "sys/hybrid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_DIM_MAX 4096 /* floats per embedding we accept (MiniLM: 384) */
#define EMBED_MAX_SEQ 256  /* the original's embedder */

struct hr_embed_rel {
    char *path;
    hr_embed_rel_config cfg;
    hr_ml_session *s;
    _Atomic uint64_t rankings, texts, busy, paused, deadline, errors;
    int installed;
};

/* One text's embedding into out (dim floats); counts the failure reason. 0 ok, -1 not. */
static int embed_one(hr_embed_rel *e, const char *s, size_t len, float *out, int *dim)
{
    hr_ml_error err;
    hr_ml_embed_info info;
    hr_ml_rc rc = hr_ml_embed(e->s, s, len, out, EMBED_DIM_MAX, &info, &err);
    if (rc == HR_ML_OK && (*dim == 0 || info.dim == *dim)) {
        *dim = info.dim;
        atomic_fetch_add(&e->texts, 1);
        return 0;
    }
    if (rc == HR_ML_BUSY)
        atomic_fetch_add(hr_ml_paused() ? &e->paused : &e->busy, 1);
    else
        atomic_fetch_add(&e->errors, 1);
    return -1;
}

static int score_docs(void *ctx, const char *q, size_t qlen, const hr_hybrid_doc *docs, size_t n,
                      float *cos)
{
    hr_embed_rel *e = ctx;
    int64_t until = hr_now_ms64() + e->cfg.deadline_ms;
    float *qv = malloc(2 * EMBED_DIM_MAX * sizeof *qv);
    if (!qv) {
        atomic_fetch_add(&e->errors, 1);
        return -1;
    }
    float *dv = qv + EMBED_DIM_MAX;
    int dim = 0, rc = embed_one(e, q, qlen, qv, &dim);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (hr_now_ms64() > until) {
            atomic_fetch_add(&e->deadline, 1);
            rc = -1;
            break;
        }
        rc = embed_one(e, docs[i].s, docs[i].len, dv, &dim);
        double dot = 0;
        for (int k = 0; rc == 0 && k < dim; k++)
            dot += (double)qv[k] * dv[k];
        cos[i] = (float)dot;
    }
    if (rc == 0 && hr_now_ms64() > until) {
        atomic_fetch_add(&e->deadline, 1);
        rc = -1;
    }
    if (rc == 0)
        atomic_fetch_add(&e->rankings, 1);
    free(qv);
    return rc;
}

hr_embed_rel *hr_embed_rel_open(const hr_embed_rel_config *c, hr_ml_error *err)
{
    if (!c || !c->model_path || !*c->model_path || c->deadline_ms <= 0 || c->max_items == 0) {
        hr_ml_error_set(err, "embedder: a model path, max items >= 1 and a deadline are required");
        return NULL;
    }
    hr_embed_rel *e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(c->model_path))) {
        free(e);
        hr_ml_error_set(err, "embedder: out of memory");
        return NULL;
    }
    e->cfg = *c;
    e->cfg.model_path = e->path;
    hr_ml_session_config sc;
    hr_ml_session_config_init(&sc, "embedder", &hr_ml_kind_encoder, e->path);
    sc.max_seq = c->max_seq > 0 ? c->max_seq : EMBED_MAX_SEQ;
    if (!(e->s = hr_ml_session_open(&sc, err))) {
        free(e->path);
        free(e);
        return NULL;
    }
    return e;
}

void hr_embed_rel_install(hr_embed_rel *e)
{
    hr_hybrid_scorer sc = {score_docs, e, e->cfg.max_items};
    hr_hybrid_install(&sc);
    e->installed = 1;
}

void hr_embed_rel_close(hr_embed_rel *e)
{
    if (!e)
        return;
    if (e->installed)
        hr_hybrid_install(NULL);
    hr_ml_session_close(e->s);
    free(e->path);
    free(e);
}

hr_ml_session *hr_embed_rel_session(hr_embed_rel *e) { return e ? e->s : NULL; }
const char *hr_embed_rel_model_path(const hr_embed_rel *e) { return e ? e->path : NULL; }

void hr_embed_rel_stats_get(hr_embed_rel *e, hr_embed_rel_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!e)
        return;
    out->rankings = atomic_load(&e->rankings);
    out->texts = atomic_load(&e->texts);
    out->busy = atomic_load(&e->busy);
    out->paused = atomic_load(&e->paused);
    out->deadline = atomic_load(&e->deadline);
    out->errors = atomic_load(&e->errors);
}

int hr_embed_rel_stats_json(hr_embed_rel *e, hr_buf *out)
{
    hr_embed_rel_stats s;
    hr_embed_rel_stats_get(e, &s);
    return hr_buf_printf(out,
                         "{\"rankings\":%llu,\"texts\":%llu,\"failed_open\":{\"busy\":%llu,"
                         "\"paused\":%llu,\"deadline\":%llu,\"error\":%llu}}",
                         (unsigned long long)s.rankings, (unsigned long long)s.texts,
                         (unsigned long long)s.busy, (unsigned long long)s.paused,
                         (unsigned long long)s.deadline, (unsigned long long)s.errors);
}
