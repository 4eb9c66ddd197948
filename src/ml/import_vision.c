/* import_vision.c: `headroom model import` of a SigLIP vision tower (SiglipVisionModel, the
 * original's image-signal encoder) into a model file of arch HR_ARCH_SIGLIP.
 *
 * Layout in the file (docs/model-format.md, "SigLIP vision"): the config's reserved[0..2]
 * hold image size, patch size and channels; max_positions = max_seq = patches; vocab_size
 * 1 with a one-token tokenizer section (the format requires one; a vision model has no
 * text). The patch convolution is stored as an int8 linear [H, C*P*P] over flattened
 * patches (c, ky, kx order), q/k/v fused as in BERT, the attention-pooling head's in_proj
 * split into its query row and a fused k|v linear. When the directory holds
 * text_embeddings.npz (the image signals' text embeddings, import_npz.c) they go in too.
 */
#include "ml/import.h"
#include "ml/import_internal.h"
#include "ml/vision.h"

#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long pos_int(const hr_json_doc *d, uint32_t root, const char *key)
{
    int64_t v;
    uint32_t n = hr_json_get(d, root, key);
    if (n == HR_JSON_NONE || hr_json_int64(d, n, &v) != 0 || v <= 0 || v > (1 << 20))
        return -1;
    return (long)v;
}

static int read_siglip_config(const hr_json_doc *d, uint32_t root, hr_model_config *c,
                              hr_ml_error *err)
{
    /* absent keys take SiglipVisionConfig's defaults, as transformers does (the base
     * model's SiglipConfig spells out almost nothing in its vision_config) */
    static const char *const keys[] = {"hidden_size", "num_hidden_layers", "num_attention_heads",
                                       "intermediate_size", "image_size", "patch_size"};
    static const long dflt[] = {768, 12, 12, 3072, 224, 16};
    long v[6];
    for (int i = 0; i < 6; i++) {
        v[i] = hr_json_get(d, root, keys[i]) == HR_JSON_NONE ? dflt[i] : pos_int(d, root, keys[i]);
        if (v[i] < 0) {
            hr_ml_error_set(err, "config.json: invalid \"%s\"", keys[i]);
            return -1;
        }
    }
    long ch = pos_int(d, root, "num_channels");
    if ((ch > 0 && ch != 3) || v[4] % v[5] || v[0] % v[2]) {
        hr_ml_error_set(err, "config.json: need 3 channels, image_size a multiple of patch_size "
                             "and hidden a multiple of the heads");
        return -1;
    }
    uint32_t act = hr_json_get(d, root, "hidden_act");
    if (act != HR_JSON_NONE && !hr_json_string_eq(d, act, "gelu_pytorch_tanh")) {
        hr_ml_error_set(err, "config.json: hidden_act must be \"gelu_pytorch_tanh\"");
        return -1;
    }
    double eps = 1e-6;
    uint32_t n = hr_json_get(d, root, "layer_norm_eps");
    if (n != HR_JSON_NONE && hr_json_double(d, n, &eps) != 0) {
        hr_ml_error_set(err, "config.json: invalid layer_norm_eps");
        return -1;
    }
    const long grid = v[4] / v[5];
    c->arch = HR_ARCH_SIGLIP;
    c->vocab_size = 1;
    c->hidden = (uint32_t)v[0];
    c->n_layers = (uint32_t)v[1];
    c->n_heads = (uint32_t)v[2];
    c->head_dim = (uint32_t)(v[0] / v[2]);
    c->intermediate = (uint32_t)v[3];
    c->max_positions = c->max_seq = (uint32_t)(grid * grid);
    c->pooling = HR_POOL_NONE;
    c->norm_eps = (float)eps;
    c->reserved[HR_VIT_CFG_IMAGE] = (uint32_t)v[4];
    c->reserved[HR_VIT_CFG_PATCH] = (uint32_t)v[5];
    c->reserved[HR_VIT_CFG_CHANNELS] = 3;
    return 0;
}

/* Rows [from, from + rows) of a 2-D tensor (or 1-D bias) as dtype under name `to`. */
static int copy_rows(hr_weight_src *s, hr_model_writer *w, const char *from, const char *to,
                     uint32_t dtype, uint32_t row0, uint32_t rows, uint32_t cols, hr_ml_error *err)
{
    float *data;
    hr_st_info info;
    if (hr_weight_read(s, from, &data, &info, err) != 0)
        return -1;
    size_t width = info.ndim == 2 ? info.shape[1] : 1;
    int ok = (cols ? info.ndim == 2 && info.shape[1] == cols : info.ndim == 1) &&
             info.shape[0] >= row0 + rows;
    int rc = -1;
    if (!ok) {
        hr_ml_error_set(err, "tensor '%s': shape does not match config.json", from);
    } else {
        uint32_t shape[2] = {rows, cols};
        rc = hr_model_writer_add(w, to, dtype, cols ? 2 : 1, shape, data + (size_t)row0 * width, err);
    }
    free(data);
    return rc;
}

/* A whole tensor of the expected size, reshaped to rows x cols (cols 0 = 1-D). */
static int copy_as(hr_weight_src *s, hr_model_writer *w, const char *from, const char *to,
                   uint32_t dtype, uint32_t rows, uint32_t cols, hr_ml_error *err)
{
    float *data;
    hr_st_info info;
    if (hr_weight_read(s, from, &data, &info, err) != 0)
        return -1;
    size_t count = 1;
    for (uint32_t i = 0; i < info.ndim; i++)
        count *= info.shape[i];
    int rc = -1;
    if (count != (size_t)rows * (cols ? cols : 1)) {
        hr_ml_error_set(err, "tensor '%s': %zu values, expected %u x %u", from, count, rows, cols);
    } else {
        uint32_t shape[2] = {rows, cols};
        rc = hr_model_writer_add(w, to, dtype, cols ? 2 : 1, shape, data, err);
    }
    free(data);
    return rc;
}

static int copy_norm2(hr_weight_src *s, hr_model_writer *w, const char *from, const char *to,
                      uint32_t H, hr_ml_error *err)
{
    char a[160], b[64];
    snprintf(a, sizeof a, "%s.weight", from);
    snprintf(b, sizeof b, "%s.w", to);
    if (copy_as(s, w, a, b, HR_DT_F32, H, 0, err))
        return -1;
    snprintf(a, sizeof a, "%s.bias", from);
    snprintf(b, sizeof b, "%s.b", to);
    return copy_as(s, w, a, b, HR_DT_F32, H, 0, err);
}

static int copy_lin(hr_weight_src *s, hr_model_writer *w, const char *from, const char *to,
                    uint32_t out, uint32_t in, hr_ml_error *err)
{
    char a[160], b[64];
    snprintf(a, sizeof a, "%s.weight", from);
    snprintf(b, sizeof b, "%s.w", to);
    if (copy_as(s, w, a, b, HR_DT_I8, out, in, err))
        return -1;
    snprintf(a, sizeof a, "%s.bias", from);
    snprintf(b, sizeof b, "%s.b", to);
    return copy_as(s, w, a, b, HR_DT_F32, out, 0, err);
}

static int fuse_qkv(hr_weight_src *s, hr_model_writer *w, uint32_t l, uint32_t H, hr_ml_error *err)
{
    static const char *const part[3] = {"q_proj", "k_proj", "v_proj"};
    return hr_import_fuse_qkv(s, w, "encoder.layers.%d.self_attn.%s", part, (int)l, H, err);
}

/* The linears that run on all patches (the uint8 panel kernel's inputs) also in its panel
 * layout (format version 3), read in place by the AVX-512 VNNI kernel instead of packed
 * on every call. Not the pooling head's single-row linears, which never use panels. */
static int add_tower_panels(hr_model_writer *w, const hr_model_config *c, hr_ml_error *err)
{
    static const char *const per_layer[] = {"attn.qkv.w", "attn.out.w", "mlp.up.w", "mlp.down.w"};
    if (hr_model_writer_add_panels(w, "patch.w", err) < 0 ||
        hr_model_writer_add_panels(w, "head.kv.w", err) < 0)
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++)
        for (size_t i = 0; i < sizeof per_layer / sizeof per_layer[0]; i++) {
            char name[HR_MODEL_NAME_MAX];
            snprintf(name, sizeof name, "layer.%u.%s", l, per_layer[i]);
            if (hr_model_writer_add_panels(w, name, err) < 0)
                return -1;
        }
    return 0;
}

static int import_siglip_weights(hr_weight_src *s, hr_model_writer *w, const hr_model_config *c,
                                 hr_ml_error *err)
{
    const uint32_t H = c->hidden, I = c->intermediate, P = c->reserved[HR_VIT_CFG_PATCH];
    if (copy_as(s, w, "embeddings.patch_embedding.weight", "patch.w", HR_DT_I8, H, 3 * P * P, err) ||
        copy_as(s, w, "embeddings.patch_embedding.bias", "patch.b", HR_DT_F32, H, 0, err) ||
        copy_as(s, w, "embeddings.position_embedding.weight", "pos", HR_DT_F32, c->max_positions, H, err))
        return -1;
    for (uint32_t l = 0; l < c->n_layers; l++) {
        char from[128], to[64];
#define HR_NAMES(f, t) (snprintf(from, sizeof from, "encoder.layers.%u." f, l), \
                        snprintf(to, sizeof to, "layer.%u." t, l))
        HR_NAMES("layer_norm1", "ln1");
        if (copy_norm2(s, w, from, to, H, err) || fuse_qkv(s, w, l, H, err))
            return -1;
        HR_NAMES("self_attn.out_proj", "attn.out");
        if (copy_lin(s, w, from, to, H, H, err))
            return -1;
        HR_NAMES("layer_norm2", "ln2");
        if (copy_norm2(s, w, from, to, H, err))
            return -1;
        HR_NAMES("mlp.fc1", "mlp.up");
        if (copy_lin(s, w, from, to, I, H, err))
            return -1;
        HR_NAMES("mlp.fc2", "mlp.down");
        if (copy_lin(s, w, from, to, H, I, err))
            return -1;
#undef HR_NAMES
    }
    return copy_norm2(s, w, "post_layernorm", "post.norm", H, err) ||
                   copy_as(s, w, "head.probe", "head.probe", HR_DT_F32, H, 0, err) ||
                   copy_rows(s, w, "head.attention.in_proj_weight", "head.q.w", HR_DT_F32, 0, H, H, err) ||
                   copy_rows(s, w, "head.attention.in_proj_bias", "head.q.b", HR_DT_F32, 0, H, 0, err) ||
                   copy_rows(s, w, "head.attention.in_proj_weight", "head.kv.w", HR_DT_I8, H, 2 * H, H, err) ||
                   copy_rows(s, w, "head.attention.in_proj_bias", "head.kv.b", HR_DT_F32, H, 2 * H, 0, err) ||
                   copy_lin(s, w, "head.attention.out_proj", "head.out", H, H, err) ||
                   copy_norm2(s, w, "head.layernorm", "head.norm", H, err) ||
                   copy_lin(s, w, "head.mlp.fc1", "head.mlp.up", I, H, err) ||
                   copy_lin(s, w, "head.mlp.fc2", "head.mlp.down", H, I, err) ||
                   add_tower_panels(w, c, err)
               ? -1
               : 0;
}

int hr_import_siglip(const char *dir, const char *onnx, const hr_json_doc *cfg_doc,
                     uint32_t cfg_node, const char *out_path, hr_ml_error *err)
{
    hr_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (read_siglip_config(cfg_doc, cfg_node, &cfg, err) != 0)
        return -1;
    hr_model_writer *w = hr_model_writer_new(&cfg);
    hr_weight_src src;
    int rc = -1, have_src = 0;
    if (!w) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    /* the one-token tokenizer section the format requires */
    hr_model_vocab meta = {0};
    meta.kind = HR_TOK_WORDPIECE;
    meta.mask_id = -1;
    meta.max_chars_per_word = 1;
    const char *const tokens[] = {"[IMG]"};
    if (hr_model_writer_set_vocab(w, &meta, tokens, 1) != 0) {
        hr_ml_error_set(err, "out of memory");
        goto out;
    }
    if (hr_weight_src_open(dir, onnx, "embeddings.patch_embedding.weight", &src, err) != 0)
        goto out;
    have_src = 1;
    int signals = 0;
    if (import_siglip_weights(&src, w, &cfg, err) == 0 && hr_weight_src_finish(&src, err) == 0 &&
        hr_import_signal_npz(dir, w, cfg.hidden, &signals, err) == 0)
        rc = hr_model_writer_write(w, out_path, err);
out:
    if (have_src)
        hr_weight_src_close(&src);
    hr_model_writer_free(w);
    return rc;
}
