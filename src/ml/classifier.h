/* classifier.h: sequence classification on our BERT encoder (the image technique router).
 *
 * A BertForSequenceClassification checkpoint imports as a BERT model file plus a head
 * (docs/model-format.md, "Classification head"): the pooler (dense + tanh over the [CLS]
 * hidden state), the classifier linear [labels, hidden] and the label names from
 * config.json's id2label. logits = W_c tanh(W_p h[CLS] + b_p) + b_c; softmax gives the
 * class and its confidence, as transformers does.
 *
 * The router is an ordinary encoder session (hr_ml_kind_encoder): lazy, shared,
 * idle-unloaded, under the same thread cap; classification is a work function on it, so
 * nothing is allocated per call (ids and activations live in the session's scratch).
 *
 * Ownership: hr_classifier_head is a set of views into the model's mapping, valid while
 * the model is open; results are plain values copied out.
 */
#ifndef HR_ML_CLASSIFIER_H
#define HR_ML_CLASSIFIER_H

#include "ml/encoder.h"
#include "ml/session.h"

typedef struct hr_classifier_head {
    int n_labels; /* 0: the model has no head */
    const float *pool_w, *pool_b, *cls_w, *cls_b;
    char labels[HR_MAX_LABELS][HR_LABEL_BYTES];
} hr_classifier_head;

/* Resolves the head of m. 0 with n_labels set (0 if the file has none); -1 with err if
 * the head is present but malformed. */
int hr_classifier_bind(const hr_model *m, hr_classifier_head *head, hr_ml_error *err);

/* Forward over ids[0..n) + the head: writes head->n_labels logits. scratch as for
 * hr_encoder_forward; the pooler's output (hidden floats) is computed on the stack. 0 or
 * -1 (invalid input, no head, scratch too small). */
int hr_classifier_logits(const hr_model *m, const hr_classifier_head *head, const int32_t *ids,
                         int n, void *scratch, size_t scratch_bytes, float *logits);

/* Numerically stable softmax of n logits into probs; returns the argmax. */
int hr_softmax_argmax(const float *logits, int n, float *probs);

typedef struct hr_ml_class_result {
    int n_tokens, truncated;
    int n_labels;
    int best;                          /* index of the most probable label */
    float confidence;                  /* probs[best] */
    float logits[HR_MAX_LABELS], probs[HR_MAX_LABELS];
    char label[HR_LABEL_BYTES];        /* labels[best] */
} hr_ml_class_result;

/* Tokenizes text ([CLS] ... [SEP], token types 0, truncated to the session's max_seq) and
 * classifies it on an encoder session whose model has a head. HR_ML_OK, HR_ML_BUSY or
 * HR_ML_ERROR (no head, not an encoder session, load failure): the caller fails open. */
hr_ml_rc hr_ml_classify(hr_ml_session *s, const char *text, size_t len, hr_ml_class_result *out,
                        hr_ml_error *err);

#endif
