/* import.c: `headroom model import` (see import.h). Runs once per model, offline, so it
 * favours plain code over speed: every tensor is read to fp32 on the heap, converted and
 * handed to the writer, and freed again.
 */
#include "ml/import.h"

#include "json/json.h"
#include "ml/import_internal.h"
#include "ml/safetensors.h"
#include "ml/wordpiece.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small file + JSON helpers --------------------------------------------------------- */

/* Reads dir/name into a malloc'd NUL-terminated buffer; NULL if missing (errno kept). */
static char *read_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return NULL;
    return hr_buf_read_file(path, len);
}

int hr_import_load_json(const char *dir, const char *name, json_file *jf, hr_ml_error *err)
{
    size_t len;
    memset(jf, 0, sizeof *jf);
    jf->text = read_file(dir, name, &len);
    if (!jf->text)
        return errno == ENOENT ? 0 : (hr_ml_error_set(err, "cannot read %s/%s", dir, name), -1);
    hr_json_error jerr;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&jf->doc, jf->text, len, &lim, &jerr) != 0 ||
        jf->doc.nodes[0].type != HR_JSON_OBJECT) {
        hr_ml_error_set(err, "%s/%s: not a JSON object (%s)", dir, name, jerr.msg);
        free(jf->text);
        jf->text = NULL;
        return -1;
    }
    return 1;
}

void hr_import_free_json(json_file *jf)
{
    hr_json_doc_free(&jf->doc);
    free(jf->text);
}

/* Object member as a positive integer; -1 if absent or not a positive integer. */
static long get_pos_int(const hr_json_doc *d, uint32_t obj, const char *key)
{
    int64_t v;
    uint32_t n = hr_json_get(d, obj, key);
    if (n == HR_JSON_NONE || hr_json_int64(d, n, &v) != 0 || v <= 0 || v > (1 << 30))
        return -1;
    return (long)v;
}

/* ---- config ---------------------------------------------------------------------------- */

/* The sizes every encoder's config.json carries (BERT and ModernBERT name them alike). */
static int read_encoder_sizes(const hr_json_doc *d, hr_model_config *c, hr_ml_error *err)
{
    static const char *const keys[] = {"vocab_size", "hidden_size", "num_hidden_layers",
                                       "num_attention_heads", "intermediate_size",
                                       "max_position_embeddings"};
    long v[6];
    for (int i = 0; i < 6; i++)
        if ((v[i] = get_pos_int(d, 0, keys[i])) < 0) {
            hr_ml_error_set(err, "config.json: missing or invalid \"%s\"", keys[i]);
            return -1;
        }
    c->vocab_size = (uint32_t)v[0];
    c->hidden = (uint32_t)v[1];
    c->n_layers = (uint32_t)v[2];
    c->n_heads = (uint32_t)v[3];
    c->intermediate = (uint32_t)v[4];
    c->max_positions = (uint32_t)v[5];
    if (c->hidden % c->n_heads) {
        hr_ml_error_set(err, "config.json: hidden %u not divisible by %u heads", c->hidden, c->n_heads);
        return -1;
    }
    c->head_dim = c->hidden / c->n_heads;
    return 0;
}

static int read_bert_config(const hr_json_doc *d, hr_model_config *c, hr_ml_error *err)
{
    if (read_encoder_sizes(d, c, err) != 0)
        return -1;
    c->arch = HR_ARCH_BERT;
    long tv = get_pos_int(d, 0, "type_vocab_size");
    c->type_vocab = tv > 0 ? (uint32_t)tv : 0;
    double eps = 1e-12;
    uint32_t n = hr_json_get(d, 0, "layer_norm_eps");
    if (n != HR_JSON_NONE && hr_json_double(d, n, &eps) != 0) {
        hr_ml_error_set(err, "config.json: invalid layer_norm_eps");
        return -1;
    }
    c->norm_eps = (float)eps;
    n = hr_json_get(d, 0, "hidden_act");
    if (n != HR_JSON_NONE && !hr_json_string_eq(d, n, "gelu")) {
        hr_ml_error_set(err, "config.json: hidden_act must be \"gelu\" (exact erf GELU)");
        return -1;
    }
    n = hr_json_get(d, 0, "position_embedding_type");
    if (n != HR_JSON_NONE && !hr_json_string_eq(d, n, "absolute")) {
        hr_ml_error_set(err, "config.json: only absolute position embeddings are supported");
        return -1;
    }
    return 0;
}

/* A boolean config field that must not be true (biases ModernBERT does not have). */
static int must_be_false(const hr_json_doc *d, const char *key, hr_ml_error *err)
{
    if (hr_json_is_true(d, hr_json_get(d, 0, key))) {
        hr_ml_error_set(err, "config.json: %s = true is not supported", key);
        return -1;
    }
    return 0;
}

static int read_modernbert_config(const hr_json_doc *d, hr_model_config *c, hr_ml_error *err)
{
    static const char *const keys[] = {"local_attention", "global_attn_every_n_layers"};
    long v[2];
    if (read_encoder_sizes(d, c, err) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if ((v[i] = get_pos_int(d, 0, keys[i])) < 0) {
            hr_ml_error_set(err, "config.json: missing or invalid \"%s\"", keys[i]);
            return -1;
        }
    c->arch = HR_ARCH_MODERNBERT;
    c->local_window = (uint32_t)v[0];
    c->global_every = (uint32_t)v[1];
    double eps = 1e-5, tg = 160000.0, tl = 10000.0;
    uint32_t n;
    if (((n = hr_json_get(d, 0, "norm_eps")) != HR_JSON_NONE && hr_json_double(d, n, &eps)) ||
        ((n = hr_json_get(d, 0, "global_rope_theta")) != HR_JSON_NONE && hr_json_double(d, n, &tg)) ||
        ((n = hr_json_get(d, 0, "local_rope_theta")) != HR_JSON_NONE && hr_json_double(d, n, &tl))) {
        hr_ml_error_set(err, "config.json: invalid norm_eps or rope theta");
        return -1;
    }
    c->norm_eps = (float)eps;
    c->rope_theta_global = (float)tg;
    c->rope_theta_local = (float)tl;
    n = hr_json_get(d, 0, "hidden_activation");
    if (n != HR_JSON_NONE && !hr_json_string_eq(d, n, "gelu")) {
        hr_ml_error_set(err, "config.json: hidden_activation must be \"gelu\" (exact erf GELU)");
        return -1;
    }
    return must_be_false(d, "norm_bias", err) || must_be_false(d, "attention_bias", err) ||
                   must_be_false(d, "mlp_bias", err)
               ? -1
               : 0;
}

/* max_seq and pooling: sentence-transformers files when present, else our generator's
 * provenance block, else the defaults (MiniLM: 256, mean; ModernBERT: 512, none). */
static void read_usage(const char *dir, const hr_json_doc *cfg, hr_model_config *c)
{
    /* ModernBERT (Kompress) scores tokens over chunks of up to 512; MiniLM embeds 256 */
    c->max_seq = c->arch == HR_ARCH_MODERNBERT ? 512 : 256;
    c->pooling = c->arch == HR_ARCH_MODERNBERT ? HR_POOL_NONE : HR_POOL_MEAN;
    uint32_t gen = hr_json_get(cfg, 0, "headroom_generated");
    if (gen != HR_JSON_NONE) {
        long ms = get_pos_int(cfg, gen, "max_seq_length");
        if (ms > 0)
            c->max_seq = (uint32_t)ms;
        if (hr_json_string_eq(cfg, hr_json_get(cfg, gen, "pooling"), "cls"))
            c->pooling = HR_POOL_CLS;
    }
    json_file jf;
    hr_ml_error ignored;
    if (hr_import_load_json(dir, "sentence_bert_config.json", &jf, &ignored) == 1) {
        long ms = get_pos_int(&jf.doc, 0, "max_seq_length");
        if (ms > 0)
            c->max_seq = (uint32_t)ms;
        hr_import_free_json(&jf);
    }
    if (hr_import_load_json(dir, "1_Pooling/config.json", &jf, &ignored) == 1) {
        if (hr_json_is_true(&jf.doc, hr_json_get(&jf.doc, 0, "pooling_mode_cls_token")))
            c->pooling = HR_POOL_CLS;
        hr_import_free_json(&jf);
    }
    if (c->max_seq > c->max_positions)
        c->max_seq = c->max_positions;
}

/* ---- tokenizer ------------------------------------------------------------------------- */

static int32_t vocab_find(char **tokens, uint32_t n, const char *s)
{
    for (uint32_t i = 0; i < n; i++)
        if (tokens[i] && !strcmp(tokens[i], s))
            return (int32_t)i;
    return -1;
}

static uint32_t normalizer_flags(const hr_json_doc *d, uint32_t norm, hr_ml_error *err, int *ok)
{
    *ok = 1;
    if (norm == HR_JSON_NONE || d->nodes[norm].type == HR_JSON_NULL)
        return 0;
    if (!hr_json_string_eq(d, hr_json_get(d, norm, "type"), "BertNormalizer")) {
        hr_ml_error_set(err, "tokenizer.json: only the BertNormalizer is supported");
        *ok = 0;
        return 0;
    }
    uint32_t flags = 0;
    int lower = hr_json_is_true(d, hr_json_get(d, norm, "lowercase"));
    uint32_t sa = hr_json_get(d, norm, "strip_accents");
    /* strip_accents null follows lowercase, as in HF tokenizers */
    int strip = (sa == HR_JSON_NONE || d->nodes[sa].type == HR_JSON_NULL) ? lower
                                                                           : hr_json_is_true(d, sa);
    if (lower)
        flags |= HR_TOKF_LOWERCASE;
    if (strip)
        flags |= HR_TOKF_STRIP_ACCENTS;
    if (hr_json_is_true(d, hr_json_get(d, norm, "handle_chinese_chars")))
        flags |= HR_TOKF_CHINESE_CHARS;
    if (hr_json_is_true(d, hr_json_get(d, norm, "clean_text")))
        flags |= HR_TOKF_CLEAN_TEXT;
    return flags;
}

/* Largest id in an object of {token: id} (or -1). */
static int64_t max_id_in(const hr_json_doc *d, uint32_t obj)
{
    int64_t mx = -1, id;
    HR_JSON_FOREACH(d, obj, c)
        if (hr_json_int64(d, c, &id) == 0 && id > mx)
            mx = id;
    return mx;
}

/* Puts token text at tokens[id]; a different text already there is a conflict unless
 * `shared` (BPE: an added token may carry the raw text of a vocabulary entry whose stored
 * string is byte-mapped; import_bpe.c puts the added text in the table afterwards). */
static int place_token(char **tokens, uint32_t n, int64_t id, hr_buf *text, int shared)
{
    if (id < 0 || id >= n || hr_buf_reserve(text, 1) != 0)
        return -1;
    text->data[text->len] = '\0';
    if (tokens[id])
        return strcmp(tokens[id], text->data) && !shared ? -1 : 0;
    tokens[id] = hr_buf_steal(text, NULL);
    return 0;
}

/* Fills tokens[id] from tokenizer.json's model vocab plus its added tokens (ModernBERT's
 * specials live only there); caller frees each token. Ids must be 0..n-1 without gaps. */
static int read_vocab_table(const hr_json_doc *d, uint32_t vocab, int bpe, char ***tokens_out,
                            uint32_t *n_out, hr_ml_error *err)
{
    uint32_t added = hr_json_get(d, 0, "added_tokens");
    int64_t mx = max_id_in(d, vocab);
    const hr_json_node *an = hr_json_at(d, added);
    int64_t id;
    for (uint32_t i = 0; an && an->type == HR_JSON_ARRAY && i < an->count; i++)
        if (hr_json_int64(d, hr_json_get(d, hr_json_index(d, added, i), "id"), &id) == 0 && id > mx)
            mx = id;
    if (mx < 0 || mx >= (1 << 22)) {
        hr_ml_error_set(err, "tokenizer.json: vocabulary ids out of range");
        return -1;
    }
    uint32_t n = (uint32_t)mx + 1;
    char **tokens = calloc(n, sizeof *tokens);
    if (!tokens) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    *tokens_out = tokens;
    *n_out = n;
    int bad = 0;
    for (uint32_t c = d->nodes[vocab].first_child; c != HR_JSON_NONE && !bad; c = d->nodes[c].next) {
        hr_buf key = HR_BUF_INIT;
        bad = hr_json_int64(d, c, &id) != 0 || hr_json_key(d, c, &key) != 0 ||
              place_token(tokens, n, id, &key, 0) != 0;
        hr_buf_free(&key);
    }
    for (uint32_t i = 0; an && an->type == HR_JSON_ARRAY && i < an->count && !bad; i++) {
        uint32_t t = hr_json_index(d, added, i);
        hr_buf text = HR_BUF_INIT;
        bad = hr_json_int64(d, hr_json_get(d, t, "id"), &id) != 0 ||
              hr_json_string(d, hr_json_get(d, t, "content"), &text) != 0 ||
              place_token(tokens, n, id, &text, bpe) != 0;
        hr_buf_free(&text);
    }
    for (uint32_t i = 0; i < n && !bad; i++)
        bad = tokens[i] == NULL;
    if (bad) {
        hr_ml_error_set(err, "tokenizer.json: vocab ids are not 0..%u without gaps or conflicts", n - 1);
        return -1;
    }
    return 0;
}

/* Fills tokens[id] and the tokenizer options from tokenizer.json (WordPiece for BERT,
 * byte-level BPE with merges, added tokens and template for ModernBERT: import_bpe.c,
 * arrays in *bpe_owned[0..1] for the caller to free). */
static int read_tokenizer_json(const json_file *jf, hr_model_vocab *meta, char ***tokens_out,
                               uint32_t *n_out, uint32_t *bpe_owned[2], hr_ml_error *err)
{
    const hr_json_doc *d = &jf->doc;
    uint32_t model = hr_json_get(d, 0, "model");
    uint32_t vocab = hr_json_get(d, model, "vocab");
    uint32_t type = hr_json_get(d, model, "type");
    int wordpiece = hr_json_string_eq(d, type, "WordPiece"), bpe = hr_json_string_eq(d, type, "BPE");
    if ((!wordpiece && !bpe) || !hr_json_is(d, vocab, HR_JSON_OBJECT) ||
        d->nodes[vocab].count == 0) {
        hr_ml_error_set(err, "tokenizer.json: model is not WordPiece or BPE with a vocab object");
        return -1;
    }
    meta->kind = wordpiece ? HR_TOK_WORDPIECE : HR_TOK_BPE;
    int ok = 1;
    meta->flags = wordpiece ? normalizer_flags(d, hr_json_get(d, 0, "normalizer"), err, &ok) : 0;
    if (!ok || read_vocab_table(d, vocab, bpe, tokens_out, n_out, err) != 0)
        return -1;
    char **tokens = *tokens_out;
    uint32_t n = *n_out;
    hr_buf s = HR_BUF_INIT;
    uint32_t unk = hr_json_get(d, model, "unk_token");
    meta->unk_id = -1;
    if (unk != HR_JSON_NONE && hr_json_string(d, unk, &s) == 0 && s.data)
        meta->unk_id = vocab_find(tokens, n, s.data);
    if (meta->unk_id < 0) /* BPE models have no unk_token; keep the [UNK] special */
        meta->unk_id = vocab_find(tokens, n, "[UNK]");
    hr_buf_reset(&s);
    uint32_t pre = hr_json_get(d, model, "continuing_subword_prefix");
    snprintf(meta->prefix, sizeof meta->prefix, "%s", wordpiece ? "##" : "");
    if (wordpiece && pre != HR_JSON_NONE && hr_json_string(d, pre, &s) == 0 && s.data && s.len < 8)
        snprintf(meta->prefix, sizeof meta->prefix, "%s", s.data);
    hr_buf_free(&s);
    long mc = get_pos_int(d, model, "max_input_chars_per_word");
    meta->max_chars_per_word = wordpiece ? (mc > 0 ? (uint32_t)mc : 100) : 0;
    if (bpe)
        return hr_import_bpe(d, tokens, n, meta, &bpe_owned[0], &bpe_owned[1], err);
    return 0;
}

static void free_tokens(char **tokens, uint32_t n)
{
    if (!tokens)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(tokens[i]);
    free(tokens);
}

/* Sets the tokenizer section from tokenizer.json, else vocab.txt. */
static int import_tokenizer(const char *dir, hr_model_writer *w, const hr_model_config *cfg,
                            hr_ml_error *err)
{
    hr_model_vocab meta = {0};
    meta.kind = HR_TOK_WORDPIECE;
    meta.cls_id = meta.sep_id = -1;
    uint32_t *bpe_owned[2] = {NULL, NULL};
    char **tokens = NULL;
    uint32_t n = 0;
    json_file jf;
    int rc = -1, have = hr_import_load_json(dir, "tokenizer.json", &jf, err);
    if (have < 0)
        return -1;
    if (have) {
        rc = read_tokenizer_json(&jf, &meta, &tokens, &n, bpe_owned, err);
        hr_import_free_json(&jf);
    } else {
        size_t len;
        char *txt = read_file(dir, "vocab.txt", &len);
        void *owned = NULL;
        hr_model_vocab v;
        if (!txt) {
            hr_ml_error_set(err, "%s: neither tokenizer.json nor vocab.txt", dir);
            return -1;
        }
        rc = hr_wordpiece_vocab_from_txt(txt, len, &v, &owned, err);
        if (rc == 0 && !(tokens = calloc(v.n_tokens, sizeof *tokens)))
            rc = -1;
        for (uint32_t i = 0; rc == 0 && i < v.n_tokens; i++) {
            size_t l = v.offsets[i + 1] - v.offsets[i];
            if (!(tokens[i] = malloc(l + 1))) {
                rc = -1;
                break;
            }
            memcpy(tokens[i], v.blob + v.offsets[i], l);
            tokens[i][l] = '\0';
            n = i + 1;
        }
        if (rc == 0) {
            meta = v;
            n = v.n_tokens;
        }
        free(owned);
        free(txt);
    }
    if (rc == 0) {
        if (meta.cls_id < 0) /* BPE: from the template; WordPiece: by name */
            meta.cls_id = vocab_find(tokens, n, "[CLS]");
        if (meta.sep_id < 0)
            meta.sep_id = vocab_find(tokens, n, "[SEP]");
        meta.pad_id = vocab_find(tokens, n, "[PAD]");
        meta.mask_id = vocab_find(tokens, n, "[MASK]");
        if (meta.pad_id < 0)
            meta.pad_id = 0;
        if (meta.unk_id < 0 || meta.cls_id < 0 || meta.sep_id < 0) {
            hr_ml_error_set(err, "tokenizer: [UNK], [CLS] and [SEP] must be in the vocabulary");
            rc = -1;
        } else if (n > cfg->vocab_size) {
            hr_ml_error_set(err, "tokenizer has %u tokens, the model only %u embeddings", n,
                            cfg->vocab_size);
            rc = -1;
        } else if (hr_model_writer_set_vocab(w, &meta, (const char *const *)tokens, n) != 0 ||
                   (meta.kind == HR_TOK_BPE && hr_model_writer_set_bpe(w, &meta) != 0)) {
            hr_ml_error_set(err, "out of memory");
            rc = -1;
        }
    }
    free(bpe_owned[0]);
    free(bpe_owned[1]);
    free_tokens(tokens, n);
    return rc;
}

/* ---- weights --------------------------------------------------------------------------- */

typedef hr_weight_src weight_src;

static int read_w(weight_src *s, const char *name, float **out, hr_st_info *info, hr_ml_error *err)
{
    return hr_weight_read(s, name, out, info, err);
}

/* Copies tensor `from` (expected shape rows x cols, cols 0 = 1-D) to `to` as dtype. */
static int copy_tensor(weight_src *s, hr_model_writer *w, const char *from, const char *to,
                       uint32_t dtype, uint32_t rows, uint32_t cols, hr_ml_error *err)
{
    float *data;
    hr_st_info info;
    if (read_w(s, from, &data, &info, err) != 0)
        return -1;
    int rank_ok = cols ? (info.ndim == 2 && info.shape[0] == rows && info.shape[1] == cols)
                       : (info.ndim == 1 && info.shape[0] == rows);
    int rc = -1;
    if (!rank_ok) {
        hr_ml_error_set(err, "tensor '%s': shape does not match config.json", from);
    } else {
        uint32_t shape[2] = {rows, cols};
        rc = hr_model_writer_add(w, to, dtype, cols ? 2 : 1, shape, data, err);
    }
    free(data);
    return rc;
}

/* A Linear (weight [out, in] + bias [out]) as int8 weight + fp32 bias. */
static int copy_linear(weight_src *s, hr_model_writer *w, const char *from, const char *to,
                       uint32_t out, uint32_t in, hr_ml_error *err)
{
    char a[160], b[160];
    snprintf(a, sizeof a, "%s.weight", from);
    snprintf(b, sizeof b, "%s.w", to);
    if (copy_tensor(s, w, a, b, HR_DT_I8, out, in, err) != 0)
        return -1;
    snprintf(a, sizeof a, "%s.bias", from);
    snprintf(b, sizeof b, "%s.b", to);
    return copy_tensor(s, w, a, b, HR_DT_F32, out, 0, err);
}

static int copy_norm(weight_src *s, hr_model_writer *w, const char *from, const char *to,
                     uint32_t n, hr_ml_error *err)
{
    char a[160], b[160];
    snprintf(a, sizeof a, "%s.weight", from);
    snprintf(b, sizeof b, "%s.w", to);
    if (copy_tensor(s, w, a, b, HR_DT_F32, n, 0, err) != 0)
        return -1;
    snprintf(a, sizeof a, "%s.bias", from);
    snprintf(b, sizeof b, "%s.b", to);
    return copy_tensor(s, w, a, b, HR_DT_F32, n, 0, err);
}

/* Q, K and V fused into one [3H, H] matrix so attention input is one matmul. fmt names a
 * projection from the layer (%d) and the part (%s), e.g. "encoder.layer.%d.attention.self.%s";
 * ".weight" / ".bias" are appended. Writes layer.N.attn.qkv.w (int8) and .b. */
int hr_import_fuse_qkv(hr_weight_src *s, hr_model_writer *w, const char *fmt,
                       const char *const part[3], int layer, uint32_t H, hr_ml_error *err)
{
    float *wq = malloc((size_t)3 * H * H * sizeof *wq), *bq = malloc((size_t)3 * H * sizeof *bq);
    int rc = -1;
    if (!wq || !bq) {
        hr_ml_error_set(err, "out of memory");
        goto out;
    }
    for (int p = 0; p < 3; p++) {
        char base[128], name[160];
        float *t;
        hr_st_info info;
        snprintf(base, sizeof base, fmt, layer, part[p]);
        snprintf(name, sizeof name, "%s.weight", base);
        if (read_w(s, name, &t, &info, err) != 0)
            goto out;
        int ok = info.ndim == 2 && info.shape[0] == H && info.shape[1] == H;
        if (ok)
            memcpy(wq + (size_t)p * H * H, t, (size_t)H * H * sizeof *t);
        free(t);
        snprintf(name, sizeof name, "%s.bias", base);
        if (!ok || read_w(s, name, &t, &info, err) != 0) {
            if (!ok)
                hr_ml_error_set(err, "layer %d %s: shape does not match config.json", layer, part[p]);
            goto out;
        }
        ok = info.ndim == 1 && info.shape[0] == H;
        if (ok)
            memcpy(bq + (size_t)p * H, t, (size_t)H * sizeof *t);
        free(t);
        if (!ok) {
            hr_ml_error_set(err, "layer %d %s bias: shape does not match config.json", layer, part[p]);
            goto out;
        }
    }
    char name[64];
    uint32_t shape[2] = {3 * H, H};
    snprintf(name, sizeof name, "layer.%d.attn.qkv.w", layer);
    if (hr_model_writer_add(w, name, HR_DT_I8, 2, shape, wq, err) != 0)
        goto out;
    snprintf(name, sizeof name, "layer.%d.attn.qkv.b", layer);
    rc = hr_model_writer_add(w, name, HR_DT_F32, 1, shape, bq, err);
out:
    free(wq);
    free(bq);
    return rc;
}

static int fuse_qkv(weight_src *s, hr_model_writer *w, int layer, uint32_t H, hr_ml_error *err)
{
    static const char *const part[3] = {"query", "key", "value"};
    return hr_import_fuse_qkv(s, w, "encoder.layer.%d.attention.self.%s", part, layer, H, err);
}

static int import_bert_weights(weight_src *s, hr_model_writer *w, const hr_model_config *c,
                               hr_ml_error *err)
{
    const uint32_t H = c->hidden, I = c->intermediate;
    if (copy_tensor(s, w, "embeddings.word_embeddings.weight", "emb.word", HR_DT_F16,
                    c->vocab_size, H, err) ||
        copy_tensor(s, w, "embeddings.position_embeddings.weight", "emb.pos", HR_DT_F32,
                    c->max_positions, H, err) ||
        (c->type_vocab && copy_tensor(s, w, "embeddings.token_type_embeddings.weight", "emb.type",
                                      HR_DT_F32, c->type_vocab, H, err)) ||
        copy_norm(s, w, "embeddings.LayerNorm", "emb.norm", H, err))
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        char from[128], to[64];
#define HR_NAMES(f, t) (snprintf(from, sizeof from, "encoder.layer.%u." f, l), \
                        snprintf(to, sizeof to, "layer.%u." t, l))
        if (fuse_qkv(s, w, (int)l, H, err))
            return -1;
        HR_NAMES("attention.output.dense", "attn.out");
        if (copy_linear(s, w, from, to, H, H, err))
            return -1;
        HR_NAMES("attention.output.LayerNorm", "attn.norm");
        if (copy_norm(s, w, from, to, H, err))
            return -1;
        HR_NAMES("intermediate.dense", "mlp.up");
        if (copy_linear(s, w, from, to, I, H, err))
            return -1;
        HR_NAMES("output.dense", "mlp.down");
        if (copy_linear(s, w, from, to, H, I, err))
            return -1;
        HR_NAMES("output.LayerNorm", "mlp.norm");
        if (copy_norm(s, w, from, to, H, err))
            return -1;
#undef HR_NAMES
    }
    return 0;
}

/* ---- sequence-classification head (BertForSequenceClassification) ---------------------- */

/* Label names of config.json's id2label ("0".."n-1", consecutive) as head.labels: fp32
 * [n, HR_LABEL_BYTES], one character code per element, NUL padded (the file format has no
 * string tensors; this keeps the names beside the weights they belong to). 0 = no id2label. */
static int import_labels(const hr_json_doc *d, hr_model_writer *w, uint32_t *n_out,
                         hr_ml_error *err)
{
    uint32_t map = hr_json_get(d, 0, "id2label");
    float codes[HR_MAX_LABELS * HR_LABEL_BYTES] = {0};
    uint32_t n = 0;
    *n_out = 0;
    if (map == HR_JSON_NONE)
        return 0;
    for (; n < HR_MAX_LABELS; n++) {
        char key[16];
        snprintf(key, sizeof key, "%u", n);
        uint32_t v = hr_json_get(d, map, key);
        if (v == HR_JSON_NONE)
            break;
        hr_buf name = HR_BUF_INIT;
        int bad = hr_json_string(d, v, &name) != 0 || name.len == 0 || name.len >= HR_LABEL_BYTES;
        for (size_t i = 0; !bad && i < name.len; i++)
            codes[n * HR_LABEL_BYTES + i] = (float)(unsigned char)name.data[i];
        hr_buf_free(&name);
        if (bad) {
            hr_ml_error_set(err, "config.json: id2label[%u] must be a name of 1..%d bytes", n,
                            HR_LABEL_BYTES - 1);
            return -1;
        }
    }
    if (n < 2) {
        hr_ml_error_set(err, "config.json: id2label needs at least two labels \"0\", \"1\", ...");
        return -1;
    }
    uint32_t shape[2] = {n, HR_LABEL_BYTES};
    *n_out = n;
    return hr_model_writer_add(w, "head.labels", HR_DT_F32, 2, shape, codes, err);
}

/* BERT's pooler (dense + tanh over [CLS]) and the classifier linear, both fp32 (they run
 * once per input on one vector), when the checkpoint has "classifier.weight". */
static int import_classifier_head(const hr_json_doc *d, weight_src *src, hr_model_writer *w,
                                  const hr_model_config *c, hr_ml_error *err)
{
    if (!hr_weight_has(src, "classifier.weight"))
        return 0; /* a bare encoder */
    uint32_t n;
    if (import_labels(d, w, &n, err) != 0)
        return -1;
    if (n == 0) {
        hr_ml_error_set(err, "config.json: a classifier checkpoint needs id2label");
        return -1;
    }
    const uint32_t H = c->hidden;
    return copy_tensor(src, w, "pooler.dense.weight", "head.pool.w", HR_DT_F32, H, H, err) ||
                   copy_tensor(src, w, "pooler.dense.bias", "head.pool.b", HR_DT_F32, H, 0, err) ||
                   copy_tensor(src, w, "classifier.weight", "head.cls.w", HR_DT_F32, n, H, err) ||
                   copy_tensor(src, w, "classifier.bias", "head.cls.b", HR_DT_F32, n, 0, err)
               ? -1
               : 0;
}

/* A weight without a bias (ModernBERT's linears) as int8. */
static int copy_linear_nobias(weight_src *s, hr_model_writer *w, const char *from,
                              const char *to, uint32_t out, uint32_t in, hr_ml_error *err)
{
    char a[160], b[160];
    snprintf(a, sizeof a, "%s.weight", from);
    snprintf(b, sizeof b, "%s.w", to);
    return copy_tensor(s, w, a, b, HR_DT_I8, out, in, err);
}

/* Reads a 3-D conv weight [out, in, k] and stores it tap-major as [k * out, in]: tap j's
 * [out, in] matrix applies to the input shifted by j, so the convolution becomes one
 * matmul over the sequence plus a shifted sum (see hr_encoder_token_scores). */
static int copy_conv_taps(weight_src *s, hr_model_writer *w, const char *from, const char *to,
                          uint32_t dtype, uint32_t in, uint32_t k, uint32_t *out_ch, hr_ml_error *err)
{
    float *data, *taps = NULL;
    hr_st_info info;
    if (read_w(s, from, &data, &info, err) != 0)
        return -1;
    int rc = -1;
    if (info.ndim != 3 || info.shape[1] != in || info.shape[2] != k) {
        hr_ml_error_set(err, "tensor '%s': expected [out, %u, %u]", from, in, k);
        goto out;
    }
    const uint32_t C = info.shape[0];
    if (!(taps = malloc((size_t)k * C * in * sizeof *taps))) {
        hr_ml_error_set(err, "out of memory");
        goto out;
    }
    for (uint32_t j = 0; j < k; j++)
        for (uint32_t o = 0; o < C; o++)
            for (uint32_t i = 0; i < in; i++)
                taps[((size_t)j * C + o) * in + i] = data[((size_t)o * in + i) * k + j];
    uint32_t shape[2] = {k * C, in};
    rc = hr_model_writer_add(w, to, dtype, 2, shape, taps, err);
    *out_ch = C;
out:
    free(data);
    free(taps);
    return rc;
}

/* The Kompress token and span heads, when the checkpoint has them: token head [2, H] and
 * bias; span conv1 (H -> C, kernel 5) as int8 taps [5C, H] + bias [C]; span conv2
 * (C -> 1, kernel 3) as fp32 taps [3, C] + bias [1]. */
static int import_kompress_heads(weight_src *s, hr_model_writer *w, uint32_t H,
                                 hr_ml_error *err)
{
    if (!hr_weight_has(s, "kompress.token_head.weight"))
        return 0; /* a bare encoder */
    uint32_t C = 0, one = 0;
    if (copy_tensor(s, w, "kompress.token_head.weight", "head.token.w", HR_DT_F32, 2, H, err) ||
        copy_tensor(s, w, "kompress.token_head.bias", "head.token.b", HR_DT_F32, 2, 0, err) ||
        copy_conv_taps(s, w, "kompress.span_conv1.weight", "head.span1.w", HR_DT_I8, H, 5, &C, err) ||
        copy_tensor(s, w, "kompress.span_conv1.bias", "head.span1.b", HR_DT_F32, C, 0, err) ||
        copy_conv_taps(s, w, "kompress.span_conv2.weight", "head.span2.w", HR_DT_F32, C, 3, &one, err) ||
        copy_tensor(s, w, "kompress.span_conv2.bias", "head.span2.b", HR_DT_F32, 1, 0, err))
        return -1;
    if (one != 1) {
        hr_ml_error_set(err, "kompress.span_conv2.weight: expected one output channel");
        return -1;
    }
    return 0;
}

/* ModernBERT (pre-norm, no biases, no position table): norms keep only their weight. */
static int import_modernbert_weights(weight_src *s, hr_model_writer *w,
                                     const hr_model_config *c, hr_ml_error *err)
{
    const uint32_t H = c->hidden, I = c->intermediate;
    if (copy_tensor(s, w, "embeddings.tok_embeddings.weight", "emb.word", HR_DT_F16,
                    c->vocab_size, H, err) ||
        copy_tensor(s, w, "embeddings.norm.weight", "emb.norm.w", HR_DT_F32, H, 0, err))
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        char from[128], to[64];
#define HR_NAMES(f, t) (snprintf(from, sizeof from, "layers.%u." f, l), \
                        snprintf(to, sizeof to, "layer.%u." t, l))
        if (l > 0) { /* layer 0's attention norm is the identity */
            HR_NAMES("attn_norm.weight", "attn.norm.w");
            if (copy_tensor(s, w, from, to, HR_DT_F32, H, 0, err))
                return -1;
        }
        HR_NAMES("attn.Wqkv", "attn.qkv");
        if (copy_linear_nobias(s, w, from, to, 3 * H, H, err))
            return -1;
        HR_NAMES("attn.Wo", "attn.out");
        if (copy_linear_nobias(s, w, from, to, H, H, err))
            return -1;
        HR_NAMES("mlp_norm.weight", "mlp.norm.w");
        if (copy_tensor(s, w, from, to, HR_DT_F32, H, 0, err))
            return -1;
        HR_NAMES("mlp.Wi", "mlp.up");
        if (copy_linear_nobias(s, w, from, to, 2 * I, H, err))
            return -1;
        HR_NAMES("mlp.Wo", "mlp.down");
        if (copy_linear_nobias(s, w, from, to, H, I, err))
            return -1;
#undef HR_NAMES
    }
    if (copy_tensor(s, w, "final_norm.weight", "final.norm.w", HR_DT_F32, H, 0, err))
        return -1;
    return import_kompress_heads(s, w, H, err);
}

/* `import X.onnx`: the weights from the graph, everything else (config.json, tokenizer)
 * from the directory it sits in. */
static int split_onnx(const char *arg, char *dir, size_t cap, const char **onnx)
{
    size_t n = strlen(arg);
    *onnx = NULL;
    if (n < 5 || strcmp(arg + n - 5, ".onnx")) {
        snprintf(dir, cap, "%s", arg);
        return 0;
    }
    *onnx = arg;
    const char *slash = strrchr(arg, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else
        snprintf(dir, cap, "%.*s", slash == arg ? 1 : (int)(slash - arg), arg);
    return 0;
}

int hr_model_import(const char *arg, const char *out_path, const hr_import_opts *opts,
                    hr_ml_error *err)
{
    char dir[4096];
    const char *onnx;
    split_onnx(arg, dir, sizeof dir, &onnx);
    json_file cfg_json;
    int have = hr_import_load_json(dir, "config.json", &cfg_json, err);
    if (have <= 0) {
        if (have == 0)
            hr_ml_error_set(err, "%s/config.json not found", dir);
        return -1;
    }
    hr_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    uint32_t mt = hr_json_get(&cfg_json.doc, 0, "model_type");
    int modern = hr_json_string_eq(&cfg_json.doc, mt, "modernbert");
    uint32_t vision = hr_json_string_eq(&cfg_json.doc, mt, "siglip_vision_model") ? 0
                      : hr_json_string_eq(&cfg_json.doc, mt, "siglip")
                          ? hr_json_get(&cfg_json.doc, 0, "vision_config") /* SiglipConfig */
                          : HR_JSON_NONE;
    if (hr_json_string_eq(&cfg_json.doc, mt, "siglip") && vision == HR_JSON_NONE) {
        hr_ml_error_set(err, "config.json: a SiglipConfig without vision_config");
        hr_import_free_json(&cfg_json);
        return -1;
    }
    if (vision != HR_JSON_NONE) {
        int vrc = hr_import_siglip(dir, onnx, &cfg_json.doc, vision, out_path, err);
        hr_import_free_json(&cfg_json);
        return vrc;
    }
    int rc = -1;
    hr_model_writer *w = NULL;
    weight_src src = {0};
    if (mt != HR_JSON_NONE && !modern && !hr_json_string_eq(&cfg_json.doc, mt, "bert")) {
        hr_ml_error_set(err, "config.json: model_type must be \"bert\", \"modernbert\", "
                             "\"siglip_vision_model\" or \"siglip\"");
        goto out;
    }
    if ((modern ? read_modernbert_config : read_bert_config)(&cfg_json.doc, &cfg, err) != 0)
        goto out;
    read_usage(dir, &cfg_json.doc, &cfg);
    if (opts && opts->max_seq > 0)
        cfg.max_seq = (uint32_t)opts->max_seq < cfg.max_positions ? (uint32_t)opts->max_seq
                                                                   : cfg.max_positions;
    if (!(w = hr_model_writer_new(&cfg))) {
        hr_ml_error_set(err, "out of memory");
        goto out;
    }
    if (import_tokenizer(dir, w, &cfg, err) != 0 ||
        hr_weight_src_open(dir, onnx, modern ? "embeddings.tok_embeddings.weight"
                                             : "embeddings.word_embeddings.weight", &src, err) != 0)
        goto out;
    if ((modern ? import_modernbert_weights : import_bert_weights)(&src, w, &cfg, err) != 0 ||
        (!modern && import_classifier_head(&cfg_json.doc, &src, w, &cfg, err) != 0) ||
        hr_weight_src_finish(&src, err) != 0)
        goto out;
    rc = hr_model_writer_write(w, out_path, err);
out:
    hr_weight_src_close(&src);
    hr_model_writer_free(w);
    hr_import_free_json(&cfg_json);
    return rc;
}
