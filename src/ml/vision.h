/* vision.h: the SigLIP vision tower (ViT) over a mapped model file, and its session kind.
 *
 * The original's image-signal encoder: 16x16 patches of a 224x224 RGB image (pixels scaled
 * to [-1, 1], CHW) -> patch embedding (a linear over each flattened patch) + learned
 * positions -> pre-norm layers (x += attn(LN1 x); x += fc2(gelu_tanh(fc1(LN2 x)))) -> post
 * LayerNorm -> the attention-pooling head (a learned probe attends over every patch, then
 * o += mlp(LN o)) -> one embedding of hidden floats. Sizes come from the model file
 * (config reserved[HR_VIT_CFG_*]: image size, patch size, channels).
 *
 * Like encoder.h: weights stay in the read-only mapping; every activation lives in a
 * caller-provided scratch of hr_vit_scratch_bytes(); nothing is allocated per image.
 * hr_ml_kind_vision puts it under the session helper (lazy, shared, idle-unloaded, thread
 * cap, fail open).
 *
 * Image signals (the original's SigLIP analysis): a model file may carry the four signals'
 * text embeddings (tensors "signal.has_text", "signal.is_document", "signal.is_complex",
 * "signal.has_small_details", each F32 [k, hidden]: k prompt embeddings, as the original's
 * published text_embeddings.npz ships them; `headroom model import` reads that file). A
 * signal's score is sigmoid(5 x max over its rows of cos(image embedding, row)) with the
 * image embedding L2-normalised and the rows used as stored (the original's arithmetic);
 * a signal the file lacks scores 0.5 (the original's default).
 *
 * Ownership: hr_vit_open allocates the handle; hr_vit_close unmaps and frees it.
 */
#ifndef HR_ML_VISION_H
#define HR_ML_VISION_H

#include "ml/model_file.h"
#include "ml/session.h"

#include <stddef.h>

enum { HR_VIT_CFG_IMAGE = 0, HR_VIT_CFG_PATCH = 1, HR_VIT_CFG_CHANNELS = 2 };

typedef struct hr_vit hr_vit;

int hr_vit_open(const char *path, unsigned flags, hr_vit **out, hr_ml_error *err);
void hr_vit_close(hr_vit *v);
int hr_vit_image_size(const hr_vit *v); /* input side in pixels (224 for SigLIP base) */
int hr_vit_dim(const hr_vit *v);        /* embedding length */
size_t hr_vit_scratch_bytes(const hr_vit *v);

/* pixels: 3 x S x S floats (CHW, [-1, 1]). Writes hr_vit_dim floats (the pooled embedding,
 * not normalised) to out. 0 ok; -1 if scratch is too small. */
int hr_vit_embed(const hr_vit *v, const float *pixels, void *scratch, size_t scratch_bytes,
                 float *out);

/* The four signals, in this order everywhere (names as the tensors and the original). */
enum { HR_SIG_HAS_TEXT, HR_SIG_IS_DOCUMENT, HR_SIG_IS_COMPLEX, HR_SIG_SMALL_DETAILS, HR_SIG_COUNT };
extern const char *const hr_vit_signal_names[HR_SIG_COUNT]; /* "has_text", ... */

typedef struct hr_image_signals {
    float score[HR_SIG_COUNT];
} hr_image_signals;

/* 1 when the file carries at least one signal's text embeddings. */
int hr_vit_has_signals(const hr_vit *v);
/* Signals of one image embedding (hr_vit_dim floats, any norm); see above. */
void hr_vit_signals(const hr_vit *v, const float *embedding, hr_image_signals *out);

extern const hr_ml_kind hr_ml_kind_vision;

/* The embedding of one image through a vision session (pixels as for hr_vit_embed; n_pixels
 * must be 3 x S x S of the loaded model). HR_ML_OK, HR_ML_BUSY or HR_ML_ERROR. */
hr_ml_rc hr_ml_embed_pixels(hr_ml_session *s, const float *pixels, size_t n_pixels, float *out,
                            size_t out_cap, int *dim, hr_ml_error *err);

/* The signals of one image through a vision session, in one exclusive run. HR_ML_ERROR when
 * the model carries no signal embeddings. */
hr_ml_rc hr_ml_image_signals(hr_ml_session *s, const float *pixels, size_t n_pixels,
                             hr_image_signals *out, hr_ml_error *err);

#endif
