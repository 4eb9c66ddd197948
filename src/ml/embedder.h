/* embedder.h: the sentence embedder (all-MiniLM-L6-v2 family): WordPiece tokenizer from
 * the model file's tokenizer section + the BERT encoder, mean pooling, L2 normalisation.
 *
 * Ownership: hr_embedder_open maps the model (read-only, file-backed) and builds the
 * tokenizer index; hr_embedder_close releases both. Per call, everything (token ids and
 * activations) lives in the caller's scratch of hr_embedder_scratch_bytes(), which the
 * session helper mmaps once per load. hr_embedder_kind plugs it into ml/session.h.
 */
#ifndef HR_ML_EMBEDDER_H
#define HR_ML_EMBEDDER_H

#include "ml/model_file.h"
#include "ml/session.h"

#include <stddef.h>

typedef struct hr_embedder hr_embedder;

/* flags: HR_MODEL_OPEN_* (the session kind verifies the checksum at load). */
int hr_embedder_open(const char *path, unsigned flags, hr_embedder **out, hr_ml_error *err);
void hr_embedder_close(hr_embedder *e);

int hr_embedder_dim(const hr_embedder *e);
int hr_embedder_max_seq(const hr_embedder *e);
size_t hr_embedder_mapped_bytes(const hr_embedder *e);
size_t hr_embedder_scratch_bytes(const hr_embedder *e, int max_seq);

/* Embeds text[0..len) (truncated to max_seq tokens, [CLS] ... [SEP]) into out
 * (hr_embedder_dim floats, unit length). *n_tokens (optional) = tokens used. 0 / -1. */
int hr_embedder_embed(const hr_embedder *e, const char *text, size_t len, int max_seq,
                      void *scratch, size_t scratch_bytes, float *out, int *n_tokens,
                      hr_ml_error *err);

/* The session kind ("embedder"): open = hr_embedder_open with checksum verification. */
extern const hr_ml_kind hr_embedder_kind;

#endif
