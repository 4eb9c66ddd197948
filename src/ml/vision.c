/* vision.c: the SigLIP vision tower of vision.h.
 *
 * Linears are int8 weights with uint8 activations (hr_linear_u8), the attention output
 * projections included (unlike BERT in encoder.c: here uint8 moved node.ml_vision's min
 * cosine vs ORT fp32 from 0.99926 to 0.99937, and saved ~4% of the tower); the head's
 * single-row linears stay int16 (hr_linear_q8); LayerNorm and attention fp32 through the
 * shared kernels; GELU is the tanh form SigLIP uses (hr_gelu_tanh, vectorised). The head's
 * single-query attention is small (heads x patches x head_dim) and runs in plain C.
 */
#include "ml/vision.h"

#include "ml/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vit_layer {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    hr_qlinear qkv, out, up, down;
} vit_layer;

struct hr_vit {
    hr_model_file *file;
    hr_model_config cfg;
    int S, P, N, CPP; /* image side, patch side, patches, values per patch */
    hr_qlinear patch;
    const float *pos, *post_w, *post_b;
    const float *probe, *hq_w, *hq_b, *hn_w, *hn_b;
    hr_qlinear hkv, hout, hup, hdown;
    const float *sig[HR_SIG_COUNT]; /* text embeddings per signal (NULL: absent) */
    uint32_t sig_rows[HR_SIG_COUNT];
    vit_layer layers[];
};

/* ---- binding ----------------------------------------------------------------------------- */

static const float *f32(const hr_model_file *f, const char *name, uint32_t rows, uint32_t cols,
                        hr_ml_error *err)
{
    hr_tensor t;
    int ok = hr_model_tensor(f, name, &t) == 0 && t.dtype == HR_DT_F32 &&
             (cols ? t.ndim == 2 && t.shape[0] == rows && t.shape[1] == cols
                   : t.ndim == 1 && t.shape[0] == rows);
    if (!ok)
        hr_ml_error_set(err, "vision model: missing or malformed '%s'", name);
    return ok ? t.data : NULL;
}

static int lin(const hr_model_file *f, const char *base, uint32_t out, uint32_t in, hr_qlinear *q,
               hr_ml_error *err)
{
    char name[HR_MODEL_NAME_MAX];
    hr_tensor t;
    snprintf(name, sizeof name, "%s.w", base);
    if (hr_model_tensor(f, name, &t) != 0 || t.dtype != HR_DT_I8 || t.ndim != 2 ||
        t.shape[0] != out || t.shape[1] != in) {
        hr_ml_error_set(err, "vision model: missing or malformed '%s'", name);
        return -1;
    }
    q->w = t.data;
    q->w_scale = t.scales;
    q->rows = (int)out;
    q->cols = (int)in;
    /* the same weights pre-packed (format version 3; older files have none: the kernel
     * packs per call) */
    snprintf(name, sizeof name, "%s.w.panels", base);
    q->panels = NULL;
    if (hr_model_tensor(f, name, &t) == 0) {
        if (t.dtype != HR_DT_I8P || t.shape[0] != out || t.shape[1] != in) {
            hr_ml_error_set(err, "vision model: malformed '%s'", name);
            return -1;
        }
        q->panels = t.data;
    }
    snprintf(name, sizeof name, "%s.b", base);
    return (q->bias = f32(f, name, out, 0, err)) ? 0 : -1;
}

static int norm(const hr_model_file *f, const char *base, uint32_t H, const float **w,
                const float **b, hr_ml_error *err)
{
    char name[HR_MODEL_NAME_MAX];
    snprintf(name, sizeof name, "%s.w", base);
    if (!(*w = f32(f, name, H, 0, err)))
        return -1;
    snprintf(name, sizeof name, "%s.b", base);
    return (*b = f32(f, name, H, 0, err)) ? 0 : -1;
}

static int bind(hr_vit *v, hr_ml_error *err)
{
    const hr_model_file *f = v->file;
    const uint32_t H = v->cfg.hidden, I = v->cfg.intermediate;
    if (lin(f, "patch", H, (uint32_t)v->CPP, &v->patch, err) ||
        !(v->pos = f32(f, "pos", (uint32_t)v->N, H, err)))
        return -1;
    for (uint32_t l = 0; l < v->cfg.n_layers; l++) {
        vit_layer *L = &v->layers[l];
        char b[48];
#define HR_BASE(s) (snprintf(b, sizeof b, "layer.%u." s, l), b)
        if (norm(f, HR_BASE("ln1"), H, &L->ln1_w, &L->ln1_b, err) ||
            lin(f, HR_BASE("attn.qkv"), 3 * H, H, &L->qkv, err) ||
            lin(f, HR_BASE("attn.out"), H, H, &L->out, err) ||
            norm(f, HR_BASE("ln2"), H, &L->ln2_w, &L->ln2_b, err) ||
            lin(f, HR_BASE("mlp.up"), I, H, &L->up, err) ||
            lin(f, HR_BASE("mlp.down"), H, I, &L->down, err))
            return -1;
#undef HR_BASE
    }
    return norm(f, "post.norm", H, &v->post_w, &v->post_b, err) ||
                   !(v->probe = f32(f, "head.probe", H, 0, err)) ||
                   !(v->hq_w = f32(f, "head.q.w", H, H, err)) ||
                   !(v->hq_b = f32(f, "head.q.b", H, 0, err)) ||
                   lin(f, "head.kv", 2 * H, H, &v->hkv, err) || lin(f, "head.out", H, H, &v->hout, err) ||
                   norm(f, "head.norm", H, &v->hn_w, &v->hn_b, err) ||
                   lin(f, "head.mlp.up", I, H, &v->hup, err) ||
                   lin(f, "head.mlp.down", H, I, &v->hdown, err)
               ? -1
               : 0;
}

const char *const hr_vit_signal_names[HR_SIG_COUNT] = {"has_text", "is_document", "is_complex",
                                                        "has_small_details"};

/* The optional signal embeddings: absent is fine, present but malformed is an error. */
static int bind_signals(hr_vit *v, hr_ml_error *err)
{
    for (int i = 0; i < HR_SIG_COUNT; i++) {
        char name[HR_MODEL_NAME_MAX];
        hr_tensor t;
        snprintf(name, sizeof name, "signal.%s", hr_vit_signal_names[i]);
        if (hr_model_tensor(v->file, name, &t) != 0)
            continue;
        if (t.dtype != HR_DT_F32 || t.ndim != 2 || t.shape[1] != v->cfg.hidden || !t.shape[0]) {
            hr_ml_error_set(err, "vision model: malformed '%s'", name);
            return -1;
        }
        v->sig[i] = t.data;
        v->sig_rows[i] = t.shape[0];
    }
    return 0;
}

int hr_vit_has_signals(const hr_vit *v)
{
    for (int i = 0; i < HR_SIG_COUNT; i++)
        if (v->sig[i])
            return 1;
    return 0;
}

void hr_vit_signals(const hr_vit *v, const float *e, hr_image_signals *out)
{
    const uint32_t H = v->cfg.hidden;
    double norm = 0;
    for (uint32_t k = 0; k < H; k++)
        norm += (double)e[k] * e[k];
    norm = norm > 0 ? sqrt(norm) : 1;
    for (int i = 0; i < HR_SIG_COUNT; i++) {
        if (!v->sig[i]) {
            out->score[i] = 0.5f;
            continue;
        }
        double best = -INFINITY;
        for (uint32_t r = 0; r < v->sig_rows[i]; r++) {
            const float *row = v->sig[i] + (size_t)r * H;
            double dot = 0;
            for (uint32_t k = 0; k < H; k++)
                dot += (double)e[k] * row[k];
            best = fmax(best, dot / norm);
        }
        out->score[i] = (float)(1.0 / (1.0 + exp(-5.0 * best)));
    }
}

int hr_vit_open(const char *path, unsigned flags, hr_vit **out, hr_ml_error *err)
{
    *out = NULL;
    hr_model_file *f;
    if (hr_model_file_open(path, flags, &f, err) != 0)
        return -1;
    const hr_model_config *c = &f->config;
    const uint32_t S = c->reserved[HR_VIT_CFG_IMAGE], P = c->reserved[HR_VIT_CFG_PATCH];
    if (c->arch != HR_ARCH_SIGLIP || !P || !S || S % P || S > 4096 ||
        c->reserved[HR_VIT_CFG_CHANNELS] != 3 || (S / P) * (S / P) != c->max_positions) {
        hr_ml_error_set(err, "%s: not a SigLIP vision model file (arch %s)", path, hr_arch_name(c->arch));
        hr_model_file_close(f);
        return -1;
    }
    hr_vit *v = calloc(1, sizeof *v + c->n_layers * sizeof(vit_layer));
    if (!v) {
        hr_model_file_close(f);
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    v->file = f;
    v->cfg = *c;
    v->S = (int)S;
    v->P = (int)P;
    v->N = (int)c->max_positions;
    v->CPP = (int)(3 * P * P);
    hr_ml_error inner;
    if (bind(v, &inner) != 0 || bind_signals(v, &inner) != 0) {
        hr_ml_error_set(err, "%s: %s", path, inner.msg);
        hr_vit_close(v);
        return -1;
    }
    *out = v;
    return 0;
}

void hr_vit_close(hr_vit *v)
{
    if (!v)
        return;
    hr_model_file_close(v->file);
    free(v);
}

int hr_vit_image_size(const hr_vit *v) { return v->S; }
int hr_vit_dim(const hr_vit *v) { return (int)v->cfg.hidden; }

/* ---- scratch -------------------------------------------------------------------------------- */

typedef struct vit_plan {
    float *x, *tmp, *wide, *ctx, *att, *xs, *head;
    int16_t *xq;  /* int16 codes, or the uint8 codes of lin_u8 */
    int32_t *zp;  /* lin_u8: per-row zero points */
} vit_plan;

static size_t sect(size_t bytes) { return (bytes + 63) / 64 * 64; }

static size_t vit_layout(const hr_vit *v, uint8_t *base, vit_plan *p)
{
    const size_t N = (size_t)v->N, H = v->cfg.hidden, I = v->cfg.intermediate;
    size_t wide = 3 * H > I ? 3 * H : I;
    wide = wide > (size_t)v->CPP ? wide : (size_t)v->CPP; /* also holds the patches */
    const size_t widest_in = I > (size_t)v->CPP ? (I > H ? I : H) : (size_t)v->CPP;
    size_t off = 0;
#define HR_TAKE(field, type, count)                                \
    do {                                                           \
        p->field = base ? (type *)(void *)(base + off) : NULL;     \
        off += sect((count) * sizeof(type));                       \
    } while (0)
    HR_TAKE(x, float, N * H);
    HR_TAKE(tmp, float, N * H);
    HR_TAKE(wide, float, N * wide);
    HR_TAKE(ctx, float, N * H);
    HR_TAKE(att, float, hr_attention_scratch_floats(v->N, (int)v->cfg.n_heads, (int)v->cfg.head_dim));
    HR_TAKE(xs, float, N);
    HR_TAKE(head, float, 4 * H + I + N);
    HR_TAKE(xq, int16_t, N * widest_in);
    HR_TAKE(zp, int32_t, N);
#undef HR_TAKE
    return off + 64;
}

size_t hr_vit_scratch_bytes(const hr_vit *v)
{
    vit_plan p;
    return vit_layout(v, NULL, &p);
}

/* ---- forward ---------------------------------------------------------------------------------- */

/* patches[n][c*P*P + ky*P + kx] = pixels[c][py*P + ky][px*P + kx], n = py * (S/P) + px
 * (the order of Conv2d's output flattened row-major). */
static void patchify(const hr_vit *v, const float *px, float *patches)
{
    const int S = v->S, P = v->P, G = S / P;
    for (int n = 0; n < v->N; n++) {
        const int py = n / G, pxx = n % G;
        float *o = patches + (size_t)n * v->CPP;
        for (int c = 0; c < 3; c++)
            for (int ky = 0; ky < P; ky++)
                memcpy(o + (size_t)c * P * P + (size_t)ky * P,
                       px + (size_t)c * S * S + (size_t)(py * P + ky) * S + (size_t)pxx * P,
                       (size_t)P * sizeof *o);
    }
}

/* uint8 activations (VNNI vpdpbusd, twice the int16 rate) for every tower linear. */
static void lin_u8(const float *x, int n, const hr_qlinear *W, const vit_plan *p, float *y)
{
    hr_linear_u8(x, n, W, (uint8_t *)(void *)p->xq, p->zp, p->xs, y);
}

/* One pre-norm layer. The residual add of the previous layer's MLP output (left in p->tmp;
 * first: none) is done here, fused with LayerNorm 1, so each row of x is read once for both;
 * the caller adds the last layer's. Matmuls take their quantised inputs from the fused
 * row passes of kernels.h, and the MLP's GELU runs inside the up projection on each column
 * slice while it is in L2 (same bits as separate add / LayerNorm / GELU / quantise). */
static void layer_forward(const hr_vit *v, const vit_layer *L, const vit_plan *p, int first)
{
    const int N = v->N, H = (int)v->cfg.hidden;
    uint8_t *xu = (uint8_t *)(void *)p->xq;
    hr_residual_norm_u8(p->x, first ? NULL : p->tmp, N, H, L->ln1_w, L->ln1_b, v->cfg.norm_eps,
                        p->tmp, xu, p->zp, p->xs);
    hr_matmul_u8(xu, p->zp, p->xs, N, &L->qkv, p->wide);
    hr_attention(p->wide, N, (int)v->cfg.n_heads, (int)v->cfg.head_dim, NULL, 0, p->att, p->ctx);
    lin_u8(p->ctx, N, &L->out, p, p->tmp);
    hr_residual_norm_u8(p->x, p->tmp, N, H, L->ln2_w, L->ln2_b, v->cfg.norm_eps, p->tmp, xu,
                        p->zp, p->xs);
    hr_matmul_u8_gelu_tanh(xu, p->zp, p->xs, N, &L->up, p->wide);
    hr_quantize_act_u8(p->wide, N, (int)v->cfg.intermediate, xu, p->zp, p->xs);
    hr_matmul_u8(xu, p->zp, p->xs, N, &L->down, p->tmp);
}

/* The attention-pooling head on the post-norm states p->x: one learned query. */
static void head_forward(const hr_vit *v, const vit_plan *p, float *out)
{
    const int N = v->N, H = (int)v->cfg.hidden, nh = (int)v->cfg.n_heads, hd = (int)v->cfg.head_dim;
    const int I = (int)v->cfg.intermediate;
    float *q = p->head, *o = q + H, *t = o + H, *ctx = t + H, *mid = ctx + H, *sc = mid + I;
    for (int r = 0; r < H; r++) { /* q = Wq probe + bq (fp32: one row) */
        double acc = v->hq_b[r];
        for (int i = 0; i < H; i++)
            acc += (double)v->hq_w[(size_t)r * H + i] * v->probe[i];
        q[r] = (float)acc;
    }
    float *kv = p->wide; /* [N, 2H]: k | v */
    lin_u8(p->x, N, &v->hkv, p, kv);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < nh; h++) {
        float mx = -INFINITY;
        for (int n = 0; n < N; n++) {
            float s = 0;
            for (int d = 0; d < hd; d++)
                s += q[h * hd + d] * kv[(size_t)n * 2 * H + h * hd + d];
            sc[n] = s * scale;
            mx = sc[n] > mx ? sc[n] : mx;
        }
        double sum = 0;
        for (int n = 0; n < N; n++)
            sum += (sc[n] = expf(sc[n] - mx));
        for (int d = 0; d < hd; d++) {
            double acc = 0;
            for (int n = 0; n < N; n++)
                acc += (double)sc[n] * kv[(size_t)n * 2 * H + H + h * hd + d];
            ctx[h * hd + d] = (float)(acc / sum);
        }
    }
    hr_linear_q8(ctx, 1, &v->hout, p->xq, p->xs, o);
    memcpy(t, o, (size_t)H * sizeof *t);
    hr_layernorm(t, 1, H, v->hn_w, v->hn_b, v->cfg.norm_eps);
    hr_linear_q8(t, 1, &v->hup, p->xq, p->xs, mid);
    hr_gelu_tanh(mid, (size_t)I);
    hr_linear_q8(mid, 1, &v->hdown, p->xq, p->xs, t);
    for (int i = 0; i < H; i++)
        out[i] = o[i] + t[i];
}

int hr_vit_embed(const hr_vit *v, const float *pixels, void *scratch, size_t scratch_bytes,
                 float *out)
{
    if (!pixels || scratch_bytes < hr_vit_scratch_bytes(v))
        return -1;
    vit_plan p;
    vit_layout(v, (uint8_t *)(((uintptr_t)scratch + 63) / 64 * 64), &p);
    const int N = v->N, H = (int)v->cfg.hidden;
    patchify(v, pixels, p.wide);
    lin_u8(p.wide, N, &v->patch, &p, p.x);
    hr_add_inplace(p.x, v->pos, (size_t)N * H);
    for (uint32_t l = 0; l < v->cfg.n_layers; l++)
        layer_forward(v, &v->layers[l], &p, l == 0);
    if (v->cfg.n_layers)
        hr_add_inplace(p.x, p.tmp, (size_t)N * H);
    hr_layernorm(p.x, N, H, v->post_w, v->post_b, v->cfg.norm_eps);
    head_forward(v, &p, out);
    return 0;
}

/* ---- session kind ------------------------------------------------------------------------------ */

static int kind_open(const char *path, void **out, hr_ml_error *err)
{
    return hr_vit_open(path, 0, (hr_vit **)out, err);
}
static void kind_close(void *m) { hr_vit_close(m); }
static size_t kind_mapped(const void *m) { return ((const hr_vit *)m)->file->size; }
static int kind_max_seq(const void *m) { return ((const hr_vit *)m)->N; }
static size_t kind_scratch(const void *m, int max_seq)
{
    (void)max_seq; /* an image is always all its patches */
    return hr_vit_scratch_bytes(m);
}

const hr_ml_kind hr_ml_kind_vision = {"vision", kind_open, kind_close, kind_mapped, kind_max_seq,
                                      kind_scratch};

typedef struct pixel_job {
    const float *pixels;
    size_t n;
    float *out;
    size_t cap;
    int dim;
} pixel_job;

static int pixel_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    pixel_job *j = arg;
    const hr_vit *v = l->model;
    const size_t want = (size_t)3 * v->S * v->S;
    if (j->n != want || (size_t)v->cfg.hidden > j->cap) {
        hr_ml_error_set(err, "ml vision: %zu pixels / %zu outputs, the model takes %zu / gives %u",
                        j->n, j->cap, want, v->cfg.hidden);
        return -1;
    }
    if (hr_vit_embed(v, j->pixels, l->scratch, l->scratch_bytes, j->out) != 0) {
        hr_ml_error_set(err, "ml vision: scratch too small");
        return -1;
    }
    j->dim = (int)v->cfg.hidden;
    return 0;
}

hr_ml_rc hr_ml_embed_pixels(hr_ml_session *s, const float *pixels, size_t n_pixels, float *out,
                            size_t out_cap, int *dim, hr_ml_error *err)
{
    if (hr_ml_session_kind(s) != &hr_ml_kind_vision) {
        hr_ml_error_set(err, "ml vision: not a vision session");
        return HR_ML_ERROR;
    }
    pixel_job j = {pixels, n_pixels, out, out_cap, 0};
    hr_ml_rc rc = hr_ml_session_run(s, pixel_work, &j, err);
    if (dim)
        *dim = j.dim;
    return rc;
}

typedef struct signal_job {
    const float *pixels;
    size_t n;
    hr_image_signals *out;
} signal_job;

static int signal_work(const hr_ml_loaded *l, void *arg, hr_ml_error *err)
{
    signal_job *j = arg;
    const hr_vit *v = l->model;
    if (!hr_vit_has_signals(v)) {
        hr_ml_error_set(err, "ml vision: the model file has no signal text embeddings "
                             "(import it with text_embeddings.npz beside the weights)");
        return -1;
    }
    float *emb = malloc(v->cfg.hidden * sizeof *emb);
    pixel_job pj = {j->pixels, j->n, emb, v->cfg.hidden, 0};
    int rc = emb ? pixel_work(l, &pj, err) : -1;
    if (!emb)
        hr_ml_error_set(err, "out of memory");
    if (rc == 0)
        hr_vit_signals(v, emb, j->out);
    free(emb);
    return rc;
}

hr_ml_rc hr_ml_image_signals(hr_ml_session *s, const float *pixels, size_t n_pixels,
                             hr_image_signals *out, hr_ml_error *err)
{
    if (hr_ml_session_kind(s) != &hr_ml_kind_vision) {
        hr_ml_error_set(err, "ml vision: not a vision session");
        return HR_ML_ERROR;
    }
    signal_job j = {pixels, n_pixels, out};
    return hr_ml_session_run(s, signal_work, &j, err);
}
