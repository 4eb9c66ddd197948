/* encoder.h: transformer encoders over a mapped model file (the contract the session
 * helper and the compressors use).
 *
 * hr_model = the mapped model file plus weight views resolved once at open (pointers into
 * the read-only mapping; the struct itself is a few KB of heap). The forward pass keeps
 * every activation inside a caller-provided scratch region of hr_encoder_scratch_bytes()
 * bytes, so the session helper can mmap one region at load and munmap it at unload: no
 * malloc per inference, nothing that outlives the session.
 *
 * Architectures (encoder.c dispatches on config.arch): BERT post-norm (all-MiniLM-L6-v2,
 * the embedder) and ModernBERT pre-norm with RoPE, GeGLU and sliding-window layers (the
 * Kompress encoder; its token/span heads are stored in the file for the compressor).
 *
 * Thread safety: a model is read-only after open and may be shared; a scratch region is
 * used by one call at a time. Large matmuls are split through the ML pool (pool.h).
 */
#ifndef HR_ML_ENCODER_H
#define HR_ML_ENCODER_H

#include "ml/model_file.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hr_model hr_model;

/* Maps path read-only, validates it (checksum included when flags has
 * HR_MODEL_OPEN_VERIFY) and resolves the weights of its architecture.
 * 0 ok (*out owned by the caller, release with hr_model_close); -1 with err filled. */
int hr_model_open(const char *path, unsigned flags, hr_model **out, hr_ml_error *err);
void hr_model_close(hr_model *m);

const hr_model_file *hr_model_file_of(const hr_model *m);
const hr_model_config *hr_model_config_of(const hr_model *m);
size_t hr_model_mapped_bytes(const hr_model *m);
/* Length of one output vector of hr_encoder_embed (the hidden size). */
int hr_model_dim(const hr_model *m);

/* Bytes of scratch a forward pass over up to max_seq tokens needs (64-byte aligned
 * sections). max_seq is clamped to the model's max_seq. */
size_t hr_encoder_scratch_bytes(const hr_model *m, int max_seq);

/* Runs the encoder over ids[0..n) (token type 0, all positions attended) and points
 * *hidden at the last hidden state [n, hidden] inside scratch (valid until the next call
 * with the same scratch). 0 ok; -1 if n is out of range, an id is out of the vocabulary or
 * scratch is too small. */
int hr_encoder_forward(const hr_model *m, const int32_t *ids, int n, void *scratch,
                       size_t scratch_bytes, const float **hidden);

/* Forward + pooling from the config (mean over tokens for MiniLM) + L2 normalisation:
 * writes hr_model_dim(m) floats to out. Same return values as hr_encoder_forward, and -1
 * for token-level models (pooling none, e.g. ModernBERT/Kompress). */
int hr_encoder_embed(const hr_model *m, const int32_t *ids, int n, void *scratch,
                     size_t scratch_bytes, float *out);

/* Kompress: forward + the token head and span convolutions on the last hidden state:
 * scores[i] = p_keep(i) * (0.5 + 0.5 * span(i)) for i < n (docs/modernbert.md). -1 if the
 * model has no Kompress heads or the input is invalid (as hr_encoder_forward). */
int hr_encoder_token_scores(const hr_model *m, const int32_t *ids, int n, void *scratch,
                            size_t scratch_bytes, float *scores);

/* The heads alone on a given last hidden state h [n, hidden] (from hr_encoder_forward with
 * the same scratch, or from elsewhere). Same return values. */
int hr_encoder_head_scores(const hr_model *m, const float *h, int n, void *scratch,
                           size_t scratch_bytes, float *scores);

#endif
