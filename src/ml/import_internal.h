/* import_internal.h: the parts of `headroom model import` that live beside import.c.
 *
 * import_bpe.c reads what a byte-level BPE tokenizer needs from tokenizer.json (merges,
 * added-token options, ByteLevel settings, the [CLS] $A [SEP] template) into the model
 * file's version 2 tokenizer fields; import_weights.c finds each weight in whichever
 * checkpoint layout the directory holds (HF model, Kompress merged, PEFT/LoRA, merging
 * LoRA pairs at read). Only the import files (and their tests) include this header.
 */
#ifndef HR_ML_IMPORT_INTERNAL_H
#define HR_ML_IMPORT_INTERNAL_H

#include "json/json.h"
#include "ml/model_file.h"
#include "ml/safetensors.h"

/* A JSON file of the model directory, parsed. */
typedef struct json_file {
    char *text;
    hr_json_doc doc;
} json_file;

/* dir/name parsed into jf: 1 loaded, 0 absent, -1 present but unreadable or not a JSON
 * object (err filled). Release with hr_import_free_json (import.c). */
int hr_import_load_json(const char *dir, const char *name, json_file *jf, hr_ml_error *err);
void hr_import_free_json(json_file *jf);

/* The BPE half of tokenizer.json d, over the vocabulary tokens[0..n) already read (ids
 * from the model vocab plus added tokens). Fills meta's bpe_flags, n_merges / merges,
 * n_added / added, cls_id and sep_id (from the post-processor). The merges and added
 * arrays are malloc'd into *owned_merges / *owned_added (caller frees, also on error).
 * Merges resolve against the model vocabulary's strings; then an added token whose id is
 * also a vocabulary entry with another (byte-mapped) string gets its raw text into tokens[id]
 * (replacing the malloc'd string), since the tokenizer matches added tokens by that text.
 * Refuses what the C tokenizer does not implement (a normalizer, another pre-tokenizer,
 * byte fallback, dropout, subword prefixes, other templates) with a message naming it.
 * 0 ok; -1 with err filled. */
int hr_import_bpe(const hr_json_doc *d, char **tokens, uint32_t n, hr_model_vocab *meta,
                  uint32_t **owned_merges, uint32_t **owned_added, hr_ml_error *err);

/* ---- ONNX weights (import_onnx.c) ------------------------------------------------------ */

/* An exported graph's weights under their checkpoint names ("bert.encoder.layer.0.
 * attention.self.query.weight"), found through the graph and dequantised, in the
 * checkpoint's layout (Linear weights [out, in]). */
typedef struct hr_onnx_weights hr_onnx_weights;
struct hr_onnx_model;

/* Opens and maps an .onnx file. 0 ok; -1 with err naming the file and the problem. */
int hr_onnx_weights_open(const char *path, hr_onnx_weights **out, hr_ml_error *err);
/* The same over an already parsed model, which it takes over (freed on error too). */
int hr_onnx_weights_from_model(struct hr_onnx_model *m, hr_onnx_weights **out, hr_ml_error *err);
void hr_onnx_weights_close(hr_onnx_weights *w);
int hr_onnx_weights_has(const hr_onnx_weights *w, const char *name);
uint32_t hr_onnx_weights_count(const hr_onnx_weights *w);
const char *hr_onnx_weights_name(const hr_onnx_weights *w, uint32_t i);
/* fp32 copy (caller frees) of weight name; info gets its shape (dtype "F32"). */
int hr_onnx_weights_read(const hr_onnx_weights *w, const char *name, float **out,
                         hr_st_info *info, hr_ml_error *err);

/* ---- weights (import_weights.c) ---------------------------------------------------------- */

typedef struct hr_weight_src {
    hr_safetensors *st; /* owned; NULL when the weights come from an ONNX graph */
    hr_onnx_weights *onnx; /* owned, or NULL */
    char root[24];      /* "" or "base_model.model." (PEFT) */
    char enc[32];       /* encoder prefix under root: "", "model.", "encoder.", "bert.",
                         * "encoder.base_model.model." (PEFT on the encoder only) */
    uint32_t r;         /* LoRA rank (adapter_config.json), 0 without LoRA */
    double scale;       /* lora_alpha / r (or / sqrt(r) with use_rslora) */
    char **targets;     /* owned: target_modules */
    uint32_t n_targets;
    uint32_t merged;    /* LoRA pairs merged by hr_weight_read so far */
} hr_weight_src;

/* Opens dir/model.safetensors (+ adapter_config.json when present), or the ONNX file onnx
 * when it is not NULL, and detects the layout by probe, an encoder-relative name every
 * checkpoint of the architecture has. 0 ok; -1 with err naming what is wrong (nothing to
 * close then). */
int hr_weight_src_open(const char *dir, const char *onnx, const char *probe, hr_weight_src *s,
                       hr_ml_error *err);
/* fp32 copy (caller frees) of the tensor named logically: encoder-relative
 * ("layers.0.attn.Wqkv.weight") or a Kompress head ("kompress.token_head.weight"), with its
 * LoRA pair merged in when the module is a target. info (optional) gets its shape. */
int hr_weight_read(hr_weight_src *s, const char *logical, float **out, hr_st_info *info,
                   hr_ml_error *err);
int hr_weight_has(const hr_weight_src *s, const char *logical);
/* After reading everything: an adapter whose targets matched nothing is an error. */
int hr_weight_src_finish(const hr_weight_src *s, hr_ml_error *err);
void hr_weight_src_close(hr_weight_src *s);

/* Fuses a layer's q, k, v projections (names from fmt with %d layer, %s part, plus
 * ".weight" / ".bias") into layer.N.attn.qkv.w (int8 [3H, H]) and .b (import.c). */
int hr_import_fuse_qkv(hr_weight_src *s, hr_model_writer *w, const char *fmt,
                       const char *const part[3], int layer, uint32_t H, hr_ml_error *err);

/* ---- SigLIP vision (import_vision.c) -------------------------------------------------------- */

/* Imports a SiglipVisionModel directory (weights from onnx when not NULL) whose vision
 * config is node cfg_node of cfg_doc (the root, or a SiglipConfig's vision_config). */
int hr_import_siglip(const char *dir, const char *onnx, const hr_json_doc *cfg_doc,
                     uint32_t cfg_node, const char *out_path, hr_ml_error *err);

/* dir/text_embeddings.npz (the image signals' text embeddings, import_npz.c) into w as
 * "signal.<name>" tensors; *added = how many signals. 0 ok (also when the file is absent),
 * -1 with err when it is present but unusable. */
int hr_import_signal_npz(const char *dir, hr_model_writer *w, uint32_t hidden, int *added,
                         hr_ml_error *err);

#endif
