/* encoder.c: the transformer encoders of encoder.h over a mapped model file.
 *
 * Open resolves every weight once into views (pointers into the read-only mapping), so a
 * forward pass does no lookups and no allocation: activations live in the caller's
 * scratch, laid out by scratch_plan for the actual sequence length.
 *
 * Layer code is per architecture, sharing the kernels and the scratch plan:
 *   BERT post-norm (all-MiniLM-L6-v2): x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x));
 *   ModernBERT pre-norm (Kompress): x = x + Wo attn(rope(Wqkv LN(x))) with global layers
 *   every global_every and a sliding window elsewhere; x = x + W2 geglu(W1 LN(x)); no
 *   biases, LayerNorms without bias, final LayerNorm.
 */
#include "ml/encoder.h"

#include "ml/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One layer's weight views. Biases and norm biases are NULL where the architecture has
 * none; attn_norm_w is NULL for ModernBERT's layer 0 (identity). */
typedef struct enc_layer {
    hr_qlinear qkv, attn_out, up, down;
    const float *attn_norm_w, *attn_norm_b, *mlp_norm_w, *mlp_norm_b;
    double rope_theta; /* ModernBERT */
    int window;        /* ModernBERT: key radius of local layers; 0 = global */
} enc_layer;

/* Kompress heads on ModernBERT's last hidden state (present = 0 for a bare encoder). */
typedef struct kompress_heads {
    int present;
    int C;                           /* span channels */
    const float *token_w, *token_b;  /* [2, H], [2] */
    hr_qlinear span1;                /* conv H -> C, kernel 5, as int8 taps [5C, H] */
    const float *span1_b;            /* [C] */
    const float *span2_w, *span2_b;  /* conv C -> 1, kernel 3: taps [3, C]; [1] */
} kompress_heads;

struct hr_model {
    hr_model_file *file; /* owned */
    kompress_heads heads;
    hr_model_config cfg;
    const void *emb_word; /* [vocab, H], f16 or f32 */
    uint32_t emb_word_dtype;
    const float *emb_pos, *emb_type, *emb_norm_w, *emb_norm_b;
    const float *final_norm_w; /* ModernBERT */
    enc_layer layers[];        /* cfg.n_layers */
};

/* ---- binding ------------------------------------------------------------------------- */

/* Resolves a tensor and checks dtype and shape (cols 0 = 1-D of rows). */
static const void *want(const hr_model_file *f, const char *name, uint32_t dtype, uint32_t rows,
                        uint32_t cols, hr_tensor *t, hr_ml_error *err)
{
    if (hr_model_tensor(f, name, t) != 0) {
        hr_ml_error_set(err, "model file lacks tensor '%s'", name);
        return NULL;
    }
    int shape_ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols)
                        : (t->ndim == 1 && t->shape[0] == rows);
    if (t->dtype != dtype || !shape_ok) {
        if (cols)
            hr_ml_error_set(err, "tensor '%s': expected %s [%u, %u], found %s of rank %u", name,
                            hr_dtype_name(dtype), rows, cols, hr_dtype_name(t->dtype), t->ndim);
        else
            hr_ml_error_set(err, "tensor '%s': expected %s [%u], found %s of rank %u", name,
                            hr_dtype_name(dtype), rows, hr_dtype_name(t->dtype), t->ndim);
        return NULL;
    }
    return t->data;
}

static const float *want_f32(const hr_model_file *f, const char *name, uint32_t n, hr_ml_error *err)
{
    hr_tensor t;
    return want(f, name, HR_DT_F32, n, 0, &t, err);
}

static int bind_linear(const hr_model_file *f, const char *base, uint32_t out, uint32_t in,
                       int with_bias, hr_qlinear *q, hr_ml_error *err)
{
    char name[HR_MODEL_NAME_MAX];
    hr_tensor t;
    snprintf(name, sizeof name, "%s.w", base);
    if (!want(f, name, HR_DT_I8, out, in, &t, err))
        return -1;
    q->w = t.data;
    q->w_scale = t.scales;
    q->rows = (int)out;
    q->cols = (int)in;
    q->bias = NULL;
    if (!with_bias)
        return 0;
    snprintf(name, sizeof name, "%s.b", base);
    return (q->bias = want_f32(f, name, out, err)) ? 0 : -1;
}

/* b NULL: a LayerNorm without bias. */
static int bind_norm(const hr_model_file *f, const char *base, uint32_t n, const float **w,
                     const float **b, hr_ml_error *err)
{
    char name[HR_MODEL_NAME_MAX];
    snprintf(name, sizeof name, "%s.w", base);
    if (!(*w = want_f32(f, name, n, err)))
        return -1;
    if (!b)
        return 0;
    snprintf(name, sizeof name, "%s.b", base);
    return (*b = want_f32(f, name, n, err)) ? 0 : -1;
}

/* The token embedding table, f16 or f32, [vocab, hidden]: the same in every encoder. */
static int bind_word_embeddings(hr_model *m, hr_ml_error *err)
{
    const hr_model_config *c = &m->cfg;
    hr_tensor t;
    if (hr_model_tensor(m->file, "emb.word", &t) != 0 || t.ndim != 2 ||
        t.shape[0] != c->vocab_size || t.shape[1] != c->hidden ||
        (t.dtype != HR_DT_F16 && t.dtype != HR_DT_F32)) {
        hr_ml_error_set(err, "model file lacks a valid 'emb.word' [%u, %u]", c->vocab_size,
                        c->hidden);
        return -1;
    }
    m->emb_word = t.data;
    m->emb_word_dtype = t.dtype;
    return 0;
}

static int bind_bert(hr_model *m, hr_ml_error *err)
{
    const hr_model_file *f = m->file;
    const hr_model_config *c = &m->cfg;
    const uint32_t H = c->hidden, I = c->intermediate;
    hr_tensor t;
    if (bind_word_embeddings(m, err) != 0)
        return -1;
    if (!want(f, "emb.pos", HR_DT_F32, c->max_positions, H, &t, err))
        return -1;
    m->emb_pos = t.data;
    m->emb_type = NULL;
    if (c->type_vocab) {
        if (!want(f, "emb.type", HR_DT_F32, c->type_vocab, H, &t, err))
            return -1;
        m->emb_type = t.data;
    }
    if (bind_norm(f, "emb.norm", H, &m->emb_norm_w, &m->emb_norm_b, err))
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        enc_layer *L = &m->layers[l];
        char b[48];
#define HR_BASE(s) (snprintf(b, sizeof b, "layer.%u." s, l), b)
        if (bind_linear(f, HR_BASE("attn.qkv"), 3 * H, H, 1, &L->qkv, err) ||
            bind_linear(f, HR_BASE("attn.out"), H, H, 1, &L->attn_out, err) ||
            bind_norm(f, HR_BASE("attn.norm"), H, &L->attn_norm_w, &L->attn_norm_b, err) ||
            bind_linear(f, HR_BASE("mlp.up"), I, H, 1, &L->up, err) ||
            bind_linear(f, HR_BASE("mlp.down"), H, I, 1, &L->down, err) ||
            bind_norm(f, HR_BASE("mlp.norm"), H, &L->mlp_norm_w, &L->mlp_norm_b, err))
            return -1;
#undef HR_BASE
    }
    return 0;
}

/* The Kompress heads, if the file has them (layout: import.c, import_kompress_heads). */
static int bind_kompress_heads(hr_model *m, hr_ml_error *err)
{
    const hr_model_file *f = m->file;
    const uint32_t H = m->cfg.hidden;
    kompress_heads *k = &m->heads;
    hr_tensor t;
    memset(k, 0, sizeof *k);
    if (hr_model_tensor(f, "head.token.w", &t) != 0)
        return 0;
    if (hr_model_tensor(f, "head.span1.w", &t) != 0 || t.ndim != 2 || t.shape[0] % 5 ||
        t.shape[0] / 5 > 65536) {
        hr_ml_error_set(err, "model file has a token head but no valid 'head.span1.w'");
        return -1;
    }
    const uint32_t C = t.shape[0] / 5;
    if (!want(f, "head.token.w", HR_DT_F32, 2, H, &t, err))
        return -1;
    k->token_w = t.data;
    if (!(k->token_b = want_f32(f, "head.token.b", 2, err)) ||
        bind_linear(f, "head.span1", 5 * C, H, 0, &k->span1, err) ||
        !(k->span1_b = want_f32(f, "head.span1.b", C, err)) ||
        !want(f, "head.span2.w", HR_DT_F32, 3, C, &t, err))
        return -1;
    k->span2_w = t.data;
    if (!(k->span2_b = want_f32(f, "head.span2.b", 1, err)))
        return -1;
    k->C = (int)C;
    k->present = 1;
    return 0;
}

static int bind_modernbert(hr_model *m, hr_ml_error *err)
{
    const hr_model_file *f = m->file;
    const hr_model_config *c = &m->cfg;
    const uint32_t H = c->hidden, I = c->intermediate;
    if (bind_word_embeddings(m, err) != 0)
        return -1;
    if (bind_norm(f, "emb.norm", H, &m->emb_norm_w, NULL, err) ||
        bind_norm(f, "final.norm", H, &m->final_norm_w, NULL, err))
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        enc_layer *L = &m->layers[l];
        char b[48];
#define HR_BASE(s) (snprintf(b, sizeof b, "layer.%u." s, l), b)
        L->attn_norm_w = NULL; /* layer 0: identity */
        if ((l > 0 && bind_norm(f, HR_BASE("attn.norm"), H, &L->attn_norm_w, NULL, err)) ||
            bind_linear(f, HR_BASE("attn.qkv"), 3 * H, H, 0, &L->qkv, err) ||
            bind_linear(f, HR_BASE("attn.out"), H, H, 0, &L->attn_out, err) ||
            bind_norm(f, HR_BASE("mlp.norm"), H, &L->mlp_norm_w, NULL, err) ||
            bind_linear(f, HR_BASE("mlp.up"), 2 * I, H, 0, &L->up, err) ||
            bind_linear(f, HR_BASE("mlp.down"), H, I, 0, &L->down, err))
            return -1;
#undef HR_BASE
        int global = l % c->global_every == 0;
        L->rope_theta = global ? c->rope_theta_global : c->rope_theta_local;
        L->window = global ? 0 : (int)(c->local_window / 2);
    }
    return bind_kompress_heads(m, err);
}

int hr_model_open(const char *path, unsigned flags, hr_model **out, hr_ml_error *err)
{
    *out = NULL;
    hr_model_file *f;
    if (hr_model_file_open(path, flags, &f, err) != 0)
        return -1;
    hr_model *m = calloc(1, sizeof *m + f->config.n_layers * sizeof(enc_layer));
    if (!m) {
        hr_model_file_close(f);
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    m->file = f;
    m->cfg = f->config;
    hr_ml_error inner;
    if ((m->cfg.arch == HR_ARCH_MODERNBERT ? bind_modernbert : bind_bert)(m, &inner) != 0) {
        hr_ml_error_set(err, "%s: %s", path, inner.msg);
        hr_model_close(m);
        return -1;
    }
    *out = m;
    return 0;
}

void hr_model_close(hr_model *m)
{
    if (!m)
        return;
    hr_model_file_close(m->file);
    free(m);
}

const hr_model_file *hr_model_file_of(const hr_model *m) { return m->file; }
const hr_model_config *hr_model_config_of(const hr_model *m) { return &m->cfg; }
size_t hr_model_mapped_bytes(const hr_model *m) { return m->file->size; }
int hr_model_dim(const hr_model *m) { return (int)m->cfg.hidden; }

/* ---- scratch ------------------------------------------------------------------------- */

typedef struct scratch_plan {
    float *x, *tmp, *qkv, *ctx, *ffn, *glu, *xs, *att; /* glu: ModernBERT's GeGLU output */
    int16_t *xq;
    int32_t *zp; /* uint8 linears: per-row zero points (their codes reuse xq) */
    size_t bytes;
} scratch_plan;

static size_t section(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* Lays out the sections for seq tokens starting at base (NULL: only count bytes). head_c:
 * the Kompress span channels (0 without heads), whose conv output reuses qkv and ctx. */
static void scratch_layout(const hr_model_config *c, int head_c, int seq, uint8_t *base,
                           scratch_plan *p)
{
    const size_t S = (size_t)seq, H = c->hidden, I = c->intermediate, C = (size_t)head_c;
    const size_t widest = I > H ? I : H; /* the widest linear input */
    const int modern = c->arch == HR_ARCH_MODERNBERT;
    const size_t ffn = modern ? 2 * I : I; /* ModernBERT's Wi yields input | gate */
    size_t off = 0;
#define HR_TAKE(field, type, count)                                       \
    do {                                                                  \
        p->field = base ? (type *)(void *)(base + off) : NULL;            \
        off += section((count) * sizeof(type));                           \
    } while (0)
    HR_TAKE(x, float, S * H);
    HR_TAKE(tmp, float, S * H);
    /* qkv is dead once attention has written ctx, and ffn is born after that (the MLP
     * input is the new x): they share one section, the largest activation of a layer */
    size_t wide = 3 * H > ffn ? 3 * H : ffn;
    wide = wide > 5 * C ? wide : 5 * C; /* span conv taps, after the forward pass */
    HR_TAKE(qkv, float, S * wide);
    p->ffn = p->qkv;
    HR_TAKE(ctx, float, S * (H > C ? H : C));
    HR_TAKE(glu, float, modern ? S * I : 0);
    HR_TAKE(xs, float, S);
    HR_TAKE(att, float, hr_attention_scratch_floats(seq, (int)c->n_heads, (int)c->head_dim));
    HR_TAKE(xq, int16_t, S * widest);
    HR_TAKE(zp, int32_t, S);
#undef HR_TAKE
    p->bytes = off + 64; /* room to align an unaligned base */
}

static int clamp_seq(const hr_model_config *c, int seq)
{
    return seq <= 0 || (uint32_t)seq > c->max_seq ? (int)c->max_seq : seq;
}

size_t hr_encoder_scratch_bytes(const hr_model *m, int max_seq)
{
    scratch_plan p;
    scratch_layout(&m->cfg, m->heads.C, clamp_seq(&m->cfg, max_seq), NULL, &p);
    return p.bytes;
}

/* ---- BERT forward -------------------------------------------------------------------- */

static void bert_embed_tokens(const hr_model *m, const int32_t *ids, int n, float *x)
{
    const size_t H = m->cfg.hidden;
    for (int i = 0; i < n; i++) {
        float *row = x + (size_t)i * H;
        const float *pos = m->emb_pos + (size_t)i * H;
        if (m->emb_word_dtype == HR_DT_F16) {
            const uint16_t *w = (const uint16_t *)m->emb_word + (size_t)ids[i] * H;
            for (size_t d = 0; d < H; d++)
                row[d] = hr_f16_to_f32(w[d]) + pos[d];
        } else {
            const float *w = (const float *)m->emb_word + (size_t)ids[i] * H;
            for (size_t d = 0; d < H; d++)
                row[d] = w[d] + pos[d];
        }
        if (m->emb_type) /* token type 0: single-sequence inputs */
            hr_add_inplace(row, m->emb_type, H);
    }
    hr_layernorm(x, n, (int)H, m->emb_norm_w, m->emb_norm_b, m->cfg.norm_eps);
}

/* Both architectures run their linears on uint8 activations (VNNI vpdpbusd: twice the
 * int16 rate), except the attention output projection, whose input (the attention
 * context) is the one that loses most to 8-bit rows. Measured on the MiniLM shape against
 * ORT fp32 (150 short + 100 full texts, min cosine): all int16 0.99929 / 0.99946; all
 * uint8 0.99912 / 0.99914; this mix 0.99921 / 0.99940 for ~5% more time than all uint8
 * (docs/model-format.md). ModernBERT (Kompress) takes the same mix: its keep decisions
 * are checked against ORT fp32 by node.kompress_ort. */
static void linear_u8(const float *x, int n, const hr_qlinear *W, const scratch_plan *p, float *y)
{
    hr_linear_u8(x, n, W, (uint8_t *)(void *)p->xq, p->zp, p->xs, y);
}

/* One post-norm layer; the new hidden state ends in *x (buffers swap with *tmp). */
static void bert_layer_forward(const hr_model *m, const enc_layer *L, int n, float **x,
                               float **tmp, const scratch_plan *p)
{
    const hr_model_config *c = &m->cfg;
    const size_t H = c->hidden, count = (size_t)n * H;
    linear_u8(*x, n, &L->qkv, p, p->qkv);
    hr_attention(p->qkv, n, (int)c->n_heads, (int)c->head_dim, NULL, 0, p->att, p->ctx);
    hr_linear_q8(p->ctx, n, &L->attn_out, p->xq, p->xs, *tmp);
    hr_add_inplace(*tmp, *x, count);
    hr_layernorm(*tmp, n, (int)H, L->attn_norm_w, L->attn_norm_b, c->norm_eps);
    float *t = *x;
    *x = *tmp;
    *tmp = t;
    linear_u8(*x, n, &L->up, p, p->ffn);
    hr_gelu_erf(p->ffn, (size_t)n * c->intermediate);
    linear_u8(p->ffn, n, &L->down, p, *tmp);
    hr_add_inplace(*tmp, *x, count);
    hr_layernorm(*tmp, n, (int)H, L->mlp_norm_w, L->mlp_norm_b, c->norm_eps);
    t = *x;
    *x = *tmp;
    *tmp = t;
}

/* ---- ModernBERT forward -------------------------------------------------------------- */

static void modernbert_embed_tokens(const hr_model *m, const int32_t *ids, int n, float *x)
{
    const size_t H = m->cfg.hidden;
    for (int i = 0; i < n; i++) {
        float *row = x + (size_t)i * H;
        if (m->emb_word_dtype == HR_DT_F16) {
            const uint16_t *w = (const uint16_t *)m->emb_word + (size_t)ids[i] * H;
            for (size_t d = 0; d < H; d++)
                row[d] = hr_f16_to_f32(w[d]);
        } else {
            memcpy(row, (const float *)m->emb_word + (size_t)ids[i] * H, H * sizeof *row);
        }
    }
    hr_layernorm(x, n, (int)H, m->emb_norm_w, NULL, m->cfg.norm_eps);
}

/* dst = LN(src) without bias; with w NULL (layer 0's attention norm) a plain copy. */
static void norm_into(float *dst, const float *src, int n, int H, const float *w, float eps)
{
    memcpy(dst, src, (size_t)n * H * sizeof *dst);
    if (w)
        hr_layernorm(dst, n, H, w, NULL, eps);
}

/* One pre-norm layer, in place on x; tmp holds the normalised input of each half. */
static void modernbert_layer_forward(const hr_model *m, const enc_layer *L, int n, float *x,
                                     float *tmp, const scratch_plan *p)
{
    const hr_model_config *c = &m->cfg;
    const int H = (int)c->hidden, I = (int)c->intermediate;
    const size_t count = (size_t)n * H;
    norm_into(tmp, x, n, H, L->attn_norm_w, c->norm_eps);
    linear_u8(tmp, n, &L->qkv, p, p->qkv);
    hr_rope_qk(p->qkv, n, (int)c->n_heads, (int)c->head_dim, L->rope_theta);
    hr_attention(p->qkv, n, (int)c->n_heads, (int)c->head_dim, NULL, L->window, p->att, p->ctx);
    hr_linear_q8(p->ctx, n, &L->attn_out, p->xq, p->xs, tmp);
    hr_add_inplace(x, tmp, count);
    norm_into(tmp, x, n, H, L->mlp_norm_w, c->norm_eps);
    linear_u8(tmp, n, &L->up, p, p->ffn);
    hr_geglu(p->ffn, n, I, p->glu);
    linear_u8(p->glu, n, &L->down, p, tmp);
    hr_add_inplace(x, tmp, count);
}

static int check_input(const hr_model *m, const int32_t *ids, int n, size_t scratch_bytes)
{
    if (!ids || n < 1 || (uint32_t)n > m->cfg.max_seq ||
        scratch_bytes < hr_encoder_scratch_bytes(m, n))
        return -1;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= m->cfg.vocab_size)
            return -1;
    return 0;
}

int hr_encoder_forward(const hr_model *m, const int32_t *ids, int n, void *scratch,
                       size_t scratch_bytes, const float **hidden)
{
    if (check_input(m, ids, n, scratch_bytes) != 0)
        return -1;
    uintptr_t base = ((uintptr_t)scratch + 63) / 64 * 64;
    scratch_plan p;
    scratch_layout(&m->cfg, m->heads.C, n, (uint8_t *)base, &p);
    float *x = p.x, *tmp = p.tmp;
    if (m->cfg.arch == HR_ARCH_MODERNBERT) {
        modernbert_embed_tokens(m, ids, n, x);
        for (uint32_t l = 0; l < m->cfg.n_layers; l++)
            modernbert_layer_forward(m, &m->layers[l], n, x, tmp, &p);
        hr_layernorm(x, n, (int)m->cfg.hidden, m->final_norm_w, NULL, m->cfg.norm_eps);
    } else {
        bert_embed_tokens(m, ids, n, x);
        for (uint32_t l = 0; l < m->cfg.n_layers; l++)
            bert_layer_forward(m, &m->layers[l], n, &x, &tmp, &p);
    }
    *hidden = x;
    return 0;
}

int hr_encoder_embed(const hr_model *m, const int32_t *ids, int n, void *scratch,
                     size_t scratch_bytes, float *out)
{
    const float *h;
    if (m->cfg.pooling == HR_POOL_NONE || /* a token-level model (Kompress) has no vector */
        hr_encoder_forward(m, ids, n, scratch, scratch_bytes, &h) != 0)
        return -1;
    const size_t H = m->cfg.hidden;
    if (m->cfg.pooling == HR_POOL_CLS) {
        memcpy(out, h, H * sizeof *out);
    } else { /* mean over tokens; every token is attended (no padding in a single input) */
        for (size_t d = 0; d < H; d++)
            out[d] = 0.0f;
        for (int i = 0; i < n; i++)
            for (size_t d = 0; d < H; d++)
                out[d] += h[(size_t)i * H + d];
        for (size_t d = 0; d < H; d++)
            out[d] /= (float)n;
    }
    double norm = 0.0;
    for (size_t d = 0; d < H; d++)
        norm += (double)out[d] * out[d];
    float inv = norm > 0.0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    for (size_t d = 0; d < H; d++)
        out[d] *= inv;
    return 0;
}

/* ---- Kompress token scores -------------------------------------------------------------- */

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static float dotf(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int hr_encoder_token_scores(const hr_model *m, const int32_t *ids, int n, void *scratch,
                            size_t scratch_bytes, float *scores)
{
    const float *h;
    if (!m->heads.present || hr_encoder_forward(m, ids, n, scratch, scratch_bytes, &h) != 0)
        return -1;
    return hr_encoder_head_scores(m, h, n, scratch, scratch_bytes, scores);
}

int hr_encoder_head_scores(const hr_model *m, const float *h, int n, void *scratch,
                           size_t scratch_bytes, float *scores)
{
    const kompress_heads *k = &m->heads;
    if (!k->present || !h || n < 1 || (uint32_t)n > m->cfg.max_seq ||
        scratch_bytes < hr_encoder_scratch_bytes(m, n))
        return -1;
    const int H = (int)m->cfg.hidden, C = k->C;
    uintptr_t base = ((uintptr_t)scratch + 63) / 64 * 64;
    scratch_plan p;
    scratch_layout(&m->cfg, C, n, (uint8_t *)base, &p);
    /* conv1 (kernel 5, padding 2) = one matmul over all taps, then a shifted sum:
     * z[s][j*C + o] = W_j[o] . h[s];  c1[s][o] = b[o] + sum_j z[s + j - 2][j*C + o] */
    float *z = p.qkv, *c1 = p.ctx;
    hr_linear_q8(h, n, &k->span1, p.xq, p.xs, z);
    for (int s = 0; s < n; s++)
        for (int o = 0; o < C; o++) {
            float acc = k->span1_b[o];
            for (int j = 0; j < 5; j++) {
                int src = s + j - 2;
                if (src >= 0 && src < n)
                    acc += z[(size_t)src * 5 * C + (size_t)j * C + o];
            }
            c1[(size_t)s * C + o] = acc;
        }
    hr_gelu_erf(c1, (size_t)n * C);
    for (int s = 0; s < n; s++) {
        float span = k->span2_b[0];
        for (int j = 0; j < 3; j++) { /* conv2: kernel 3, padding 1 */
            int src = s + j - 1;
            if (src >= 0 && src < n)
                span += dotf(k->span2_w + (size_t)j * C, c1 + (size_t)src * C, C);
        }
        const float *row = h + (size_t)s * H;
        float l0 = k->token_b[0] + dotf(k->token_w, row, H);
        float l1 = k->token_b[1] + dotf(k->token_w + H, row, H);
        float keep = sigmoidf(l1 - l0); /* softmax([l0, l1])[1] */
        scores[s] = keep * (0.5f + 0.5f * sigmoidf(span));
    }
    return 0;
}
