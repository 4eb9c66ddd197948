/* embedder.c: tokenizer + encoder = text in, unit vector out (see embedder.h).
 *
 * Scratch layout: token ids (max_seq int32, rounded to 64 bytes) followed by the encoder's
 * region, so one mmap'd block per session covers a whole call.
 */
#include "ml/embedder.h"

#include "ml/encoder.h"
#include "ml/wordpiece.h"

#include <stdlib.h>

struct hr_embedder {
    hr_model *model;      /* owned */
    hr_wordpiece *tok;    /* owned; borrows the model's vocab strings */
};

int hr_embedder_open(const char *path, unsigned flags, hr_embedder **out, hr_ml_error *err)
{
    *out = NULL;
    hr_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    if (hr_model_open(path, flags, &e->model, err) != 0)
        goto fail;
    const hr_model_file *f = hr_model_file_of(e->model);
    if (f->vocab.kind != HR_TOK_WORDPIECE) {
        hr_ml_error_set(err, "%s: the embedder needs a WordPiece tokenizer", path);
        goto fail;
    }
    if (hr_wordpiece_new(&f->vocab, &e->tok, err) != 0)
        goto fail;
    *out = e;
    return 0;
fail:
    hr_embedder_close(e);
    return -1;
}

void hr_embedder_close(hr_embedder *e)
{
    if (!e)
        return;
    hr_wordpiece_free(e->tok); /* before the model: it borrows the mapped vocab */
    hr_model_close(e->model);
    free(e);
}

int hr_embedder_dim(const hr_embedder *e) { return hr_model_dim(e->model); }
int hr_embedder_max_seq(const hr_embedder *e) { return (int)hr_model_config_of(e->model)->max_seq; }
size_t hr_embedder_mapped_bytes(const hr_embedder *e) { return hr_model_mapped_bytes(e->model); }

static int effective_seq(const hr_embedder *e, int max_seq)
{
    int m = hr_embedder_max_seq(e);
    return max_seq <= 0 || max_seq > m ? m : max_seq;
}

static size_t ids_bytes(int seq) { return ((size_t)seq * sizeof(int32_t) + 63) / 64 * 64; }

size_t hr_embedder_scratch_bytes(const hr_embedder *e, int max_seq)
{
    int seq = effective_seq(e, max_seq);
    return ids_bytes(seq) + hr_encoder_scratch_bytes(e->model, seq);
}

int hr_embedder_embed(const hr_embedder *e, const char *text, size_t len, int max_seq,
                      void *scratch, size_t scratch_bytes, float *out, int *n_tokens,
                      hr_ml_error *err)
{
    int seq = effective_seq(e, max_seq);
    if (scratch_bytes < hr_embedder_scratch_bytes(e, seq)) {
        hr_ml_error_set(err, "embedder scratch too small");
        return -1;
    }
    int32_t *ids = scratch;
    size_t n = 0;
    if (hr_wordpiece_encode(e->tok, text ? text : "", text ? len : 0, ids, (size_t)seq, &n,
                            NULL) != 0) {
        hr_ml_error_set(err, "tokenizer failed");
        return -1;
    }
    uint8_t *enc = (uint8_t *)scratch + ids_bytes(seq);
    if (hr_encoder_embed(e->model, ids, (int)n, enc, scratch_bytes - ids_bytes(seq), out) != 0) {
        hr_ml_error_set(err, "encoder rejected %zu tokens", n);
        return -1;
    }
    if (n_tokens)
        *n_tokens = (int)n;
    return 0;
}

/* ---- session kind ---------------------------------------------------------------------- */

static int kind_open(const char *path, void **model, hr_ml_error *err)
{
    hr_embedder *e;
    if (hr_embedder_open(path, HR_MODEL_OPEN_VERIFY, &e, err) != 0)
        return -1;
    *model = e;
    return 0;
}

static void kind_close(void *model) { hr_embedder_close(model); }
static size_t kind_mapped(const void *model) { return hr_embedder_mapped_bytes(model); }
static int kind_max_seq(const void *model) { return hr_embedder_max_seq(model); }
static size_t kind_scratch(const void *model, int max_seq)
{
    return hr_embedder_scratch_bytes(model, max_seq);
}

const hr_ml_kind hr_embedder_kind = {
    .name = "embedder",
    .open = kind_open,
    .close = kind_close,
    .mapped_bytes = kind_mapped,
    .max_seq = kind_max_seq,
    .scratch_bytes = kind_scratch,
};
