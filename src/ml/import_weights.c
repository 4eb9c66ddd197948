/* import_weights.c: where `headroom model import` finds each weight (import_internal.h).
 *
 * Checkpoints name the same tensor differently depending on how they were saved:
 *   - HF ModernBertModel / BertModel: "layers.0.attn.Wqkv.weight" (optionally "model." or
 *     "bert." in front, from a task model);
 *   - the Kompress model the original trains (HeadroomCompressorModel: an `encoder` plus
 *     `token_head` and `span_conv` = Sequential(Conv1d, GELU, Conv1d, Sigmoid)), saved
 *     merged: "encoder.layers.0.attn.Wqkv.weight", "token_head.weight",
 *     "span_conv.0.weight", "span_conv.2.weight";
 *   - the same wrapped by PEFT (LoRA): every name under "base_model.model.", each targeted
 *     module split into its frozen base ("M.base_layer.weight", or "M.weight" in adapter
 *     exports) and the low-rank pair "M.lora_A[.default].weight" [r, in] /
 *     "M.lora_B[.default].weight" [out, r]; heads trained in full may sit in
 *     "M.modules_to_save.default.weight"; when PEFT wrapped only the encoder (as training
 *     scripts built on the original do: get_peft_model(model.encoder, ...)) the encoder's
 *     names sit under "encoder.base_model.model." and the heads stay plain. A model that
 *     drops those LoRA names by loading with strict=False would silently lose the fine-tune;
 *     here they are merged. adapter_config.json gives r, lora_alpha and
 *     target_modules; the importer merges W + (lora_alpha / r) * B * A (alpha / sqrt(r)
 *     with use_rslora), once, at import.
 * Callers ask for the encoder-relative name ("layers.0.attn.Wqkv.weight") or the head's
 * name in our generator's spelling ("kompress.span_conv1.weight"); this file tries each
 * layout's spelling. Options it cannot honour (DoRA, fan_in_fan_out, per-module ranks) and
 * LoRA weights without a config (or the reverse) are errors naming the problem.
 */
#include "ml/import_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEFT_ROOT "base_model.model."

/* The stored tensors, from whichever file the source holds. */
static int has(const hr_weight_src *s, const char *name)
{
    hr_st_info info;
    return s->onnx ? hr_onnx_weights_has(s->onnx, name)
                   : hr_safetensors_info(s->st, name, &info, NULL) == 0;
}

static int read_f32(const hr_weight_src *s, const char *name, float **out, hr_st_info *info,
                    hr_ml_error *err)
{
    return s->onnx ? hr_onnx_weights_read(s->onnx, name, out, info, err)
                   : hr_safetensors_read_f32(s->st, name, out, info, err);
}

static uint32_t n_stored(const hr_weight_src *s)
{
    return s->onnx ? hr_onnx_weights_count(s->onnx) : hr_safetensors_count(s->st);
}

static const char *stored_at(const hr_weight_src *s, uint32_t i)
{
    return s->onnx ? hr_onnx_weights_name(s->onnx, i) : hr_safetensors_name(s->st, i);
}

/* Our head names and the original's: kompress.token_head / span_conv1 / span_conv2 are
 * token_head / span_conv.0 / span_conv.2 in HeadroomCompressorModel. */
static const char *published_head(const char *logical, char *buf, size_t cap)
{
    static const char *const map[][2] = {{"kompress.token_head.", "token_head."},
                                         {"kompress.span_conv1.", "span_conv.0."},
                                         {"kompress.span_conv2.", "span_conv.2."}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i][0]);
        if (!strncmp(logical, map[i][0], n)) {
            snprintf(buf, cap, "%s%s", map[i][1], logical + n);
            return buf;
        }
    }
    return NULL;
}

/* Whether module (full name without ".weight") is a LoRA target: PEFT matches a list entry
 * against the whole name or its last dotted components. */
static int targeted(const hr_weight_src *s, const char *module)
{
    size_t ml = strlen(module);
    for (uint32_t i = 0; i < s->n_targets; i++) {
        const char *t = s->targets[i];
        size_t tl = strlen(t);
        if (tl <= ml && !strcmp(module + ml - tl, t) && (tl == ml || module[ml - tl - 1] == '.'))
            return 1;
    }
    return 0;
}

/* The stored name of full (root included), trying the PEFT spellings of a module's weight:
 * modules_to_save copy first (the trained one), then the LoRA base layer, then as is. */
static int stored_name(const hr_weight_src *s, const char *full, char *out, size_t cap)
{
    const char *dot = strrchr(full, '.');
    if (dot) {
        int m = (int)(dot - full);
        snprintf(out, cap, "%.*s.modules_to_save.default%s", m, full, dot);
        if (has(s, out))
            return 0;
        snprintf(out, cap, "%.*s.base_layer%s", m, full, dot);
        if (has(s, out))
            return 0;
    }
    snprintf(out, cap, "%s", full);
    return has(s, out) ? 0 : -1;
}

/* Heads live beside the encoder, not under its prefix: Kompress's and a sequence
 * classifier's ("classifier.weight" next to "bert.*"). */
static int is_head(const char *name)
{
    return !strncmp(name, "kompress.", 9) || !strncmp(name, "classifier.", 11);
}

/* The full name (root + prefix + name) under which logical exists, or -1. */
static int resolve(const hr_weight_src *s, const char *logical, char *full, size_t cap,
                   char *stored, size_t scap)
{
    char head[160];
    const char *alt = published_head(logical, head, sizeof head);
    const char *cands[3] = {logical, alt, NULL};
    for (int i = 0; i < 2; i++) {
        if (!cands[i])
            continue;
        /* encoder weights live under the encoder prefix, heads beside the encoder */
        const char *pre = !is_head(cands[i]) && i == 0 ? s->enc : "";
        snprintf(full, cap, "%s%s%s", s->root, pre, cands[i]);
        if (stored_name(s, full, stored, scap) == 0)
            return 0;
    }
    return -1;
}

int hr_weight_has(const hr_weight_src *s, const char *logical)
{
    char full[256], stored[320];
    return resolve(s, logical, full, sizeof full, stored, sizeof stored) == 0;
}

/* Reads the LoRA factor (lora_A or lora_B) of module, in either spelling; NULL if absent. */
static float *read_factor(const hr_weight_src *s, const char *module, const char *which,
                          hr_st_info *info, hr_ml_error *err)
{
    char name[320];
    float *out = NULL;
    snprintf(name, sizeof name, "%s.%s.default.weight", module, which);
    if (!has(s, name))
        snprintf(name, sizeof name, "%s.%s.weight", module, which);
    if (!has(s, name))
        return NULL;
    if (read_f32(s, name, &out, info, err) != 0)
        return NULL;
    return out;
}

/* W [out, in] += scale * B [out, r] * A [r, in], in double per element for a stable sum. */
static int merge_lora(hr_weight_src *s, const char *module, float *w, const hr_st_info *wi,
                      hr_ml_error *err)
{
    hr_st_info ai, bi;
    float *a = read_factor(s, module, "lora_A", &ai, err);
    float *b = a ? read_factor(s, module, "lora_B", &bi, err) : NULL;
    int rc = -1;
    if (!a || !b) {
        hr_ml_error_set(err, "LoRA target %s has no lora_A/lora_B pair", module);
        goto out;
    }
    if (wi->ndim != 2 || ai.ndim != 2 || bi.ndim != 2 || ai.shape[0] != s->r || bi.shape[1] != s->r ||
        ai.shape[1] != wi->shape[1] || bi.shape[0] != wi->shape[0]) {
        hr_ml_error_set(err, "LoRA %s: A [%u, %u] / B [%u, %u] do not fit W [%u, %u] with r = %u",
                        module, ai.shape[0], ai.shape[1], bi.shape[0], bi.shape[1], wi->shape[0],
                        wi->shape[1], s->r);
        goto out;
    }
    const size_t rows = wi->shape[0], cols = wi->shape[1];
    for (size_t o = 0; o < rows; o++)
        for (size_t i = 0; i < cols; i++) {
            double acc = 0;
            for (uint32_t k = 0; k < s->r; k++)
                acc += (double)b[o * s->r + k] * a[(size_t)k * cols + i];
            w[o * cols + i] += (float)(s->scale * acc);
        }
    s->merged++;
    rc = 0;
out:
    free(a);
    free(b);
    return rc;
}

int hr_weight_read(hr_weight_src *s, const char *logical, float **out, hr_st_info *info,
                   hr_ml_error *err)
{
    char full[256], stored[320];
    hr_st_info local;
    if (!info)
        info = &local;
    if (resolve(s, logical, full, sizeof full, stored, sizeof stored) != 0) {
        hr_ml_error_set(err, "%s: no tensor '%s' (looked for %s%s%s)",
                        s->onnx ? "the ONNX graph" : "model.safetensors", logical, s->root,
                        is_head(logical) ? "" : s->enc, logical);
        return -1;
    }
    if (read_f32(s, stored, out, info, err) != 0)
        return -1;
    size_t fl = strlen(full);
    if (s->n_targets && fl > 7 && !strcmp(full + fl - 7, ".weight")) {
        full[fl - 7] = '\0';
        if (targeted(s, full) && merge_lora(s, full, *out, info, err) != 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
    }
    return 0;
}

/* ---- layout detection ---------------------------------------------------------------- */

static int count_lora(const hr_weight_src *s)
{
    int n = 0;
    for (uint32_t i = 0; i < n_stored(s); i++)
        n += strstr(stored_at(s, i), ".lora_A.") != NULL;
    return n;
}

static void free_targets(hr_weight_src *s)
{
    for (uint32_t i = 0; i < s->n_targets; i++)
        free(s->targets[i]);
    free(s->targets);
    s->targets = NULL;
    s->n_targets = 0;
}

/* r, lora_alpha, target_modules (a list; PEFT's regex string form is refused) and the
 * options that change the merge. */
static int read_adapter_config(hr_weight_src *s, const hr_json_doc *d, hr_ml_error *err)
{
    int64_t r = 0;
    double alpha = 0;
    uint32_t tm = hr_json_get(d, 0, "target_modules");
    const hr_json_node *tn = hr_json_at(d, tm);
    if (hr_json_int64(d, hr_json_get(d, 0, "r"), &r) != 0 || r <= 0 || r > 65536 ||
        hr_json_double(d, hr_json_get(d, 0, "lora_alpha"), &alpha) != 0 || !tn ||
        tn->type != HR_JSON_ARRAY || tn->count == 0) {
        hr_ml_error_set(err, "adapter_config.json: needs r > 0, lora_alpha and a target_modules "
                             "list (a regex string is not supported)");
        return -1;
    }
    static const char *const refused[] = {"use_dora", "fan_in_fan_out"};
    for (size_t i = 0; i < 2; i++)
        if (hr_json_is_true(d, hr_json_get(d, 0, refused[i]))) {
            hr_ml_error_set(err, "adapter_config.json: %s is not supported", refused[i]);
            return -1;
        }
    static const char *const patterns[] = {"rank_pattern", "alpha_pattern"};
    for (size_t i = 0; i < 2; i++) {
        const hr_json_node *p = hr_json_at(d, hr_json_get(d, 0, patterns[i]));
        if (p && p->type == HR_JSON_OBJECT && p->count) {
            hr_ml_error_set(err, "adapter_config.json: per-module %s is not supported", patterns[i]);
            return -1;
        }
    }
    s->r = (uint32_t)r;
    s->scale = hr_json_is_true(d, hr_json_get(d, 0, "use_rslora")) ? alpha / sqrt((double)r)
                                                                   : alpha / (double)r;
    if (!(s->targets = calloc(tn->count, sizeof *s->targets))) {
        hr_ml_error_set(err, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < tn->count; i++) {
        hr_buf b = HR_BUF_INIT;
        if (hr_json_string(d, hr_json_index(d, tm, i), &b) != 0 || !b.data || !b.len) {
            hr_buf_free(&b);
            hr_ml_error_set(err, "adapter_config.json: target_modules[%u] is not a name", i);
            return -1;
        }
        s->targets[s->n_targets++] = hr_buf_steal(&b, NULL);
    }
    return 0;
}

/* Encoder prefix under the root: the first spelling under which probe exists. */
static const char *encoder_prefix(const hr_weight_src *s, const char *probe)
{
    static const char *const prefixes[] = {"", "model.", "encoder.", "bert.",
                                           "encoder.base_model.model.", "vision_model."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char full[256], stored[320];
        snprintf(full, sizeof full, "%s%s%s", s->root, prefixes[i], probe);
        if (stored_name(s, full, stored, sizeof stored) == 0)
            return prefixes[i];
    }
    return NULL;
}

/* An exported graph may sit under any wrapper module ("model.vision_model.", ...): the
 * prefix of the first weight named "<prefix><probe>". */
static int onnx_prefix(hr_weight_src *s, const char *probe)
{
    size_t pl = strlen(probe);
    for (uint32_t i = 0; i < n_stored(s); i++) {
        const char *n = stored_at(s, i);
        size_t nl = strlen(n);
        if (nl >= pl && !strcmp(n + nl - pl, probe) && (nl == pl || n[nl - pl - 1] == '.') &&
            nl - pl < sizeof s->enc) {
            snprintf(s->enc, sizeof s->enc, "%.*s", (int)(nl - pl), n);
            return 0;
        }
    }
    return -1;
}

int hr_weight_src_open(const char *dir, const char *onnx, const char *probe, hr_weight_src *s,
                       hr_ml_error *err)
{
    memset(s, 0, sizeof *s);
    if (onnx) {
        if (hr_onnx_weights_open(onnx, &s->onnx, err) != 0)
            return -1;
        if (onnx_prefix(s, probe) != 0) {
            hr_ml_error_set(err, "%s: no weight named '%s' under any module (not an export of "
                                 "this architecture?)", onnx, probe);
            hr_weight_src_close(s);
            return -1;
        }
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (hr_safetensors_open(path, &s->st, err) != 0) {
        hr_ml_error_set(err, "%s/model.safetensors: cannot open it (PyTorch .pt/.bin checkpoints "
                             "are not imported: give the safetensors layout or an .onnx file)", dir);
        return -1;
    }
    json_file ac;
    int have = hr_import_load_json(dir, "adapter_config.json", &ac, err);
    int n_lora = count_lora(s);
    if (have < 0)
        goto fail;
    if (have) {
        int rc = read_adapter_config(s, &ac.doc, err);
        hr_import_free_json(&ac);
        if (rc != 0)
            goto fail;
        if (!n_lora) {
            hr_ml_error_set(err, "adapter_config.json is present but model.safetensors holds no "
                                 "lora_A weights");
            goto fail;
        }
    } else if (n_lora) {
        hr_ml_error_set(err, "model.safetensors holds %d LoRA pairs but %s/adapter_config.json "
                             "(r, lora_alpha, target_modules) is missing", n_lora, dir);
        goto fail;
    }
    for (uint32_t i = 0; i < n_stored(s) && !s->root[0]; i++)
        if (!strncmp(stored_at(s, i), PEFT_ROOT, strlen(PEFT_ROOT)))
            snprintf(s->root, sizeof s->root, "%s", PEFT_ROOT);
    const char *enc = encoder_prefix(s, probe);
    if (!enc) {
        hr_ml_error_set(err, "model.safetensors: no '%s' under any known layout (HF model, "
                             "Kompress merged, PEFT/LoRA); %s", probe,
                        n_lora ? "an adapter-only LoRA export needs its base weights merged in"
                               : "not a checkpoint of this architecture");
        goto fail;
    }
    snprintf(s->enc, sizeof s->enc, "%s", enc);
    return 0;
fail:
    hr_weight_src_close(s);
    return -1;
}

int hr_weight_src_finish(const hr_weight_src *s, hr_ml_error *err)
{
    if (s->n_targets && s->merged == 0) {
        hr_ml_error_set(err, "adapter_config.json: no weight the importer reads is a LoRA target "
                             "(target_modules do not name ModernBERT modules?)");
        return -1;
    }
    return 0;
}

void hr_weight_src_close(hr_weight_src *s)
{
    hr_safetensors_close(s->st);
    s->st = NULL;
    hr_onnx_weights_close(s->onnx);
    s->onnx = NULL;
    free_targets(s);
}
