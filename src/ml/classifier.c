/* classifier.c: the sequence-classification head of classifier.h over encoder.c.
 *
 * The head is small (hidden x hidden + labels x hidden fp32) and runs once per input on one
 * vector, so it stays fp32 and single-threaded; the encoder does the work. Binding looks
 * the head's tensors up by name on every call (a scan of a ~100-entry table, microseconds
 * next to the forward pass), which keeps the router a plain encoder session with no state
 * of its own to load or unload.
 */
#include "ml/classifier.h"

#include "ml/wordpiece.h"

#include <math.h>
#include <string.h>

#define HR_CLASSIFIER_MAX_HIDDEN 4096 /* the pooler output lives on the stack */

/* A fp32 tensor of exactly rows x cols (cols 0 = 1-D). */
static const float *head_tensor(const hr_model_file *f, const char *name, uint32_t rows,
                                uint32_t cols, hr_ml_error *err)
{
    hr_tensor t;
    int ok = hr_model_tensor(f, name, &t) == 0 && t.dtype == HR_DT_F32 &&
             (cols ? t.ndim == 2 && t.shape[0] == rows && t.shape[1] == cols
                   : t.ndim == 1 && t.shape[0] == rows);
    if (!ok)
        hr_ml_error_set(err, "classification head: missing or malformed '%s'", name);
    return ok ? t.data : NULL;
}

/* head.labels: one character code per float, NUL padded; every name non-empty ASCII. */
static int bind_labels(const float *codes, hr_classifier_head *h, hr_ml_error *err)
{
    for (int i = 0; i < h->n_labels; i++) {
        const float *row = codes + (size_t)i * HR_LABEL_BYTES;
        int len = 0;
        for (; len < HR_LABEL_BYTES - 1 && row[len] != 0.0f; len++) {
            if (!(row[len] >= 32.0f && row[len] < 127.0f) || row[len] != floorf(row[len])) {
                hr_ml_error_set(err, "classification head: label %d is not printable ASCII", i);
                return -1;
            }
            h->labels[i][len] = (char)(int)row[len];
        }
        h->labels[i][len] = '\0';
        if (len == 0) {
            hr_ml_error_set(err, "classification head: label %d is empty", i);
            return -1;
        }
    }
    return 0;
}

int hr_classifier_bind(const hr_model *m, hr_classifier_head *h, hr_ml_error *err)
{
    const hr_model_file *f = hr_model_file_of(m);
    const uint32_t H = hr_model_config_of(m)->hidden;
    hr_tensor t;
    memset(h, 0, sizeof *h);
    if (hr_model_tensor(f, "head.cls.w", &t) != 0)
        return 0;
    if (t.ndim != 2 || t.shape[0] < 2 || t.shape[0] > HR_MAX_LABELS || H > HR_CLASSIFIER_MAX_HIDDEN) {
        hr_ml_error_set(err, "classification head: 2..%d labels and hidden <= %d supported",
                        HR_MAX_LABELS, HR_CLASSIFIER_MAX_HIDDEN);
        return -1;
    }
    const uint32_t L = t.shape[0];
    const float *codes;
    if (!(h->pool_w = head_tensor(f, "head.pool.w", H, H, err)) ||
        !(h->pool_b = head_tensor(f, "head.pool.b", H, 0, err)) ||
        !(h->cls_w = head_tensor(f, "head.cls.w", L, H, err)) ||
        !(h->cls_b = head_tensor(f, "head.cls.b", L, 0, err)) ||
        !(codes = head_tensor(f, "head.labels", L, HR_LABEL_BYTES, err)))
        return -1;
    h->n_labels = (int)L;
    if (bind_labels(codes, h, err) != 0) {
        h->n_labels = 0;
        return -1;
    }
    return 0;
}

/* y[o] = b[o] + W[o] . x for o < rows, accumulated in double (plain C, same order on
 * every machine: deterministic). */
static void dense(const float *W, const float *b, const float *x, int rows, int cols, float *y)
{
    for (int o = 0; o < rows; o++) {
        double acc = b[o];
        const float *w = W + (size_t)o * cols;
        for (int i = 0; i < cols; i++)
            acc += (double)w[i] * x[i];
        y[o] = (float)acc;
    }
}

int hr_classifier_logits(const hr_model *m, const hr_classifier_head *h, const int32_t *ids,
                         int n, void *scratch, size_t scratch_bytes, float *logits)
{
    const float *hidden;
    if (h->n_labels < 2 || hr_encoder_forward(m, ids, n, scratch, scratch_bytes, &hidden) != 0)
        return -1;
    const int H = hr_model_dim(m);
    float pooled[HR_CLASSIFIER_MAX_HIDDEN];
    dense(h->pool_w, h->pool_b, hidden, H, H, pooled); /* row 0 = [CLS] */
    for (int i = 0; i < H; i++)
        pooled[i] = tanhf(pooled[i]);
    dense(h->cls_w, h->cls_b, pooled, h->n_labels, H, logits);
    return 0;
}

int hr_softmax_argmax(const float *logits, int n, float *probs)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)logits[i] - logits[best]);
    for (int i = 0; i < n; i++)
        probs[i] = (float)(exp((double)logits[i] - logits[best]) / sum);
    return best;
}

typedef struct classify_job {
    const char *text;
    size_t len;
    hr_ml_class_result *out;
} classify_job;

static int classify_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    classify_job *j = arg;
    hr_ml_encoder_view v;
    hr_classifier_head head;
    hr_ml_encoder_view_of(l, &v);
    if (hr_classifier_bind(v.model, &head, err) != 0)
        return -1;
    if (head.n_labels == 0) {
        hr_ml_error_set(err, "ml classify: the model has no classification head");
        return -1;
    }
    size_t n;
    hr_ml_class_result *r = j->out;
    if (hr_wordpiece_encode(v.tok, j->text, j->len, v.ids, (size_t)l->max_seq, &n, &r->truncated) != 0) {
        hr_ml_error_set(err, "ml classify: tokenizer failed");
        return -1;
    }
    if (hr_classifier_logits(v.model, &head, v.ids, (int)n, v.act, v.act_bytes, r->logits) != 0) {
        hr_ml_error_set(err, "ml classify: encoder rejected %zu tokens", n);
        return -1;
    }
    r->n_tokens = (int)n;
    r->n_labels = head.n_labels;
    r->best = hr_softmax_argmax(r->logits, head.n_labels, r->probs);
    r->confidence = r->probs[r->best];
    memcpy(r->label, head.labels[r->best], sizeof r->label);
    return 0;
}

hr_ml_rc hr_ml_classify(hr_ml_session *s, const char *text, size_t len, hr_ml_class_result *out,
                        hr_ml_error *err)
{
    memset(out, 0, sizeof *out);
    if (hr_ml_session_kind(s) != &hr_ml_kind_encoder) {
        hr_ml_error_set(err, "ml classify: not an encoder session");
        return HR_ML_ERROR;
    }
    classify_job j = {text, len, out};
    return hr_ml_session_run(s, classify_work, &j, err);
}
