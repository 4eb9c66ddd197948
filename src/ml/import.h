/* import.h: turns a HuggingFace model directory into a headroom model file.
 *
 * Reads config.json (model_type bert or modernbert: sizes, eps, rope and window; max_seq
 * and pooling from sentence-transformers files or our generator's provenance block),
 * model.safetensors (F32/F16/BF16) — or, given a path ending in ".onnx", that exported graph's
 * weights (src/ml/import_onnx.c: found through the graph, int8 dequantised exactly), with
 * config and tokenizer from the graph's directory — and tokenizer.json (WordPiece vocab + BertNormalizer
 * flags, or a BPE vocab: its merges are not stored yet) or else vocab.txt, and writes the
 * file described in docs/model-format.md: linear weights as per-row int8 (BERT's Q, K, V
 * fused into one matrix), token embeddings as fp16, everything else fp32, canonical
 * tensor names (plus the Kompress heads when present).
 */
#ifndef HR_ML_IMPORT_H
#define HR_ML_IMPORT_H

#include "ml/model_file.h"

typedef struct hr_import_opts {
    int max_seq; /* 0 = from the model directory (default 256, capped by positions) */
} hr_import_opts;

/* dir: a model directory, or an .onnx file beside its config.json / tokenizer files.
 * 0 ok; -1 with err filled (nothing is left at out_path on failure). */
int hr_model_import(const char *dir, const char *out_path, const hr_import_opts *opts,
                    hr_ml_error *err);

#endif
