#!/usr/bin/env python3
"""gen_modernbert.py: the ModernBERT (Kompress) half of tools/gen_model.py --arch modernbert.

Why: the Kompress text compressor is a ModernBERT token classifier; its C encoder will need
the same kind of generated model and independent references the BERT embedder has, without
downloading the 600 MB original. This module writes, deterministically from a seed:

  config.json        HF ModernBertConfig fields (+ "headroom_generated", + "kompress" head sizes)
  model.safetensors  ModernBertModel tensor names (embeddings.tok_embeddings, layers.N.attn.Wqkv,
                     ..., final_norm; no attn_norm in layer 0, no biases, norms without bias),
                     plus the Kompress heads under kompress.* (our names, documented in
                     docs/ml-tools.md): token_head Linear(H->2), span_conv1 Conv1d(H->C, k5),
                     span_conv2 Conv1d(C->1, k3)
  tokenizer.json     byte-level BPE as ModernBERT's (ByteLevel pre-tokenizer without prefix
                     space, TemplateProcessing [CLS] $A [SEP]); merges are learned here from a
                     small built-in corpus, and for the base size the specials sit at
                     ModernBERT's ids ([UNK] 50280, [CLS] 50281, [SEP] 50282, [PAD] 50283,
                     [MASK] 50284) in a 50,368-entry vocabulary.

Sizes: tiny (hidden 64, 4 layers so both global and sliding-window layers occur, window 16
so short test texts already cross it) and base (ModernBERT-base: 768, 22 layers, 12 heads,
intermediate 1,152, window 128).
"""
import json
import os
import re
from collections import Counter

import numpy as np

SIZES = {
    "tiny": dict(hidden=64, layers=4, heads=4, intermediate=96, window=16, span=16,
                 vocab=None, merges=600),
    "base": dict(hidden=768, layers=22, heads=12, intermediate=1152, window=128, span=256,
                 vocab=50368, merges=1500),
}
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
BASE_SPECIALS_AT = 50280
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (what ByteLevel uses)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def training_text():
    from gen_model import COMMON_WORDS  # same word material as the BERT vocabulary
    code = ["def main(args):", "    return self.value", "for (int i = 0; i < n; i++) {",
            "const result = await fetch(url);", "import numpy as np", "Error: connection refused",
            "WARNING: deprecated", "{\"key\": \"value\"}", "SELECT * FROM users;",
            "https://example.com/api/v1", "Traceback (most recent call last):"]
    text = " ".join(COMMON_WORDS) + " " + " ".join(COMMON_WORDS[::3]) + " " + "\n".join(code)
    return text + " café naïve 中文 日本語 한국어 Москва 😀"


def train_bpe(text, n_merges):
    """Plain BPE training over GPT-2 pre-tokens (byte-level). Deterministic: ties break by
    the pair's string order."""
    b2u = bytes_to_unicode()
    words = Counter(tuple(b2u[b] for b in w.encode("utf-8")) for w in GPT2_SPLIT.findall(text))
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    return merges


def build_vocab(size):
    s = SIZES[size]
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in sorted(b2u)]
    merges = train_bpe(training_text(), s["merges"])
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            tokens.append(a + b)
    specials_at = len(tokens) if s["vocab"] is None else BASE_SPECIALS_AT
    while len(tokens) < specials_at:
        tokens.append("<|unused_%d|>" % len(tokens))
    tokens += SPECIALS
    target = s["vocab"] if s["vocab"] is not None else (len(tokens) + 63) // 64 * 64
    while len(tokens) < target:
        tokens.append("<|unused_%d|>" % len(tokens))
    return tokens, merges


def tokenizer_json(tokens, merges):
    ids = {t: i for i, t in enumerate(tokens)}
    added = [{"id": ids[t], "content": t, "single_word": False, "lstrip": t == "[MASK]",
              "rstrip": False, "normalized": False, "special": True} for t in SPECIALS]

    def special(name):
        return {"id": name, "ids": [ids[name]], "tokens": [name]}

    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": ids, "merges": ["%s %s" % m for m in merges]},
    }


def model_config(size, vocab_size, seed):
    s = SIZES[size]
    return {
        "architectures": ["ModernBertModel"], "model_type": "modernbert",
        "vocab_size": vocab_size, "hidden_size": s["hidden"], "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"], "intermediate_size": s["intermediate"],
        "hidden_activation": "gelu", "max_position_embeddings": 8192, "norm_eps": 1e-5,
        "norm_bias": False, "attention_bias": False, "mlp_bias": False,
        "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
        "local_attention": s["window"], "global_attn_every_n_layers": 3,
        "torch_dtype": "float32",
        "kompress": {"span_channels": s["span"], "span_kernels": [5, 3]},
        "headroom_generated": {"tool": "tools/gen_model.py --arch modernbert", "size": size,
                               "seed": seed, "max_seq_length": 512},
    }


def build_weights(cfg, rng):
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    c = cfg["kompress"]["span_channels"]
    t = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(name, n):
        t[name] = (1.0 + normal((n,), 0.1)).astype(np.float32)

    t["embeddings.tok_embeddings.weight"] = normal((v, h), 0.5)
    norm("embeddings.norm.weight", h)
    for i in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % i
        if i > 0:
            norm(p + "attn_norm.weight", h)
        t[p + "attn.Wqkv.weight"] = normal((3 * h, h), 1.5 / np.sqrt(h))
        t[p + "attn.Wo.weight"] = normal((h, h), 0.5 / np.sqrt(h))
        norm(p + "mlp_norm.weight", h)
        t[p + "mlp.Wi.weight"] = normal((2 * inter, h), 1.0 / np.sqrt(h))
        t[p + "mlp.Wo.weight"] = normal((h, inter), 0.5 / np.sqrt(inter))
    norm("final_norm.weight", h)
    t["kompress.token_head.weight"] = normal((2, h), 1.0 / np.sqrt(h))
    t["kompress.token_head.bias"] = normal((2,), 0.1)
    t["kompress.span_conv1.weight"] = normal((c, h, 5), 1.0 / np.sqrt(5 * h))
    t["kompress.span_conv1.bias"] = normal((c,), 0.05)
    t["kompress.span_conv2.weight"] = normal((1, c, 3), 1.0 / np.sqrt(3 * c))
    t["kompress.span_conv2.bias"] = normal((1,), 0.05)
    return t


def external_tokenizer(path):
    """An existing tokenizer.json (e.g. tools/gen_bpe_fixture.mjs's GPT-2-ranked one): its
    vocabulary size is the largest id + 1, its specials are looked up by name."""
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    ids = dict(tj["model"]["vocab"])
    ids.update({a["content"]: a["id"] for a in tj["added_tokens"]})
    return tj, ids, max(ids.values()) + 1


HEAD_NAMES = {"kompress.token_head.": "token_head.", "kompress.span_conv1.": "span_conv.0.",
              "kompress.span_conv2.": "span_conv.2."}
LORA_TARGETS = ["Wqkv", "Wo", "Wi"]


def merged_layout(weights):
    """The original's HeadroomCompressorModel state_dict: encoder.* + token_head + span_conv
    (Sequential: index 0 and 2 are the convolutions)."""
    out = {}
    for name, t in weights.items():
        for ours, theirs in HEAD_NAMES.items():
            if name.startswith(ours):
                out[theirs + name[len(ours):]] = t
                break
        else:
            out["encoder." + name] = t
    return out


def peft_layout(weights, seed, r=8, alpha=16, wrap="model"):
    """The merged layout wrapped by PEFT LoRA. wrap "model": get_peft_model on the whole
    model (its state_dict puts every name under base_model.model.; token_head trained in full
    as modules_to_save, the copy PEFT keeps beside original_module); wrap "encoder":
    get_peft_model on model.encoder only (encoder names under encoder.base_model.model.,
    heads as they are). Each target module's frozen weight is M.base_layer.weight plus
    M.lora_A.default.weight [r, in] and M.lora_B.default.weight [out, r]. Returns the tensors,
    the adapter_config.json and the NumPy merge W + (alpha / r) * B @ A in the merged layout."""
    rng = np.random.default_rng(seed + 1000)
    merged = merged_layout(weights)
    out, numpy_merged = {}, {}

    def wrapped(name):
        if wrap == "model":
            return "base_model.model." + name
        return "encoder.base_model.model." + name[len("encoder."):] if name.startswith("encoder.") else name

    for name, w in merged.items():
        module = name[:-len(".weight")] if name.endswith(".weight") else None
        if module and module.split(".")[-1] in LORA_TARGETS:
            a = (rng.standard_normal((r, w.shape[1])) / np.sqrt(w.shape[1])).astype(np.float32)
            b = (rng.standard_normal((w.shape[0], r)) * 0.05).astype(np.float32)
            out["%s.base_layer.weight" % wrapped(module)] = w
            out["%s.lora_A.default.weight" % wrapped(module)] = a
            out["%s.lora_B.default.weight" % wrapped(module)] = b
            delta = (alpha / r) * (b.astype(np.float64) @ a.astype(np.float64))
            numpy_merged[name] = w + delta.astype(np.float32)
        elif name.startswith("token_head.") and wrap == "model":
            out["base_model.model.token_head.modules_to_save.default." + name[len("token_head."):]] = w
            out["base_model.model.token_head.original_module." + name[len("token_head."):]] = \
                (rng.standard_normal(w.shape) * 0.3).astype(np.float32)  # untrained copy
            numpy_merged[name] = w
        else:
            out[wrapped(name)] = w
            numpy_merged[name] = w
    config = {"peft_type": "LORA", "task_type": None, "r": r, "lora_alpha": alpha,
              "target_modules": LORA_TARGETS, "lora_dropout": 0.1, "bias": "none",
              "fan_in_fan_out": False, "use_rslora": False, "use_dora": False,
              "modules_to_save": ["token_head"], "rank_pattern": {}, "alpha_pattern": {},
              "base_model_name_or_path": "answerdotai/ModernBERT-base", "inference_mode": True}
    return out, config, numpy_merged


def generate(size, seed, out, write_json, write_safetensors, tokenizer=None, layout="hf",
             merged_out=None):
    rng = np.random.default_rng(seed)
    if tokenizer:
        tj, ids, vocab_size = external_tokenizer(tokenizer)
    else:
        tokens, merges = build_vocab(size)
        tj, ids, vocab_size = tokenizer_json(tokens, merges), None, len(tokens)
        ids = {t: i for i, t in enumerate(tokens)}
    cfg = model_config(size, vocab_size, seed)
    cfg.update(pad_token_id=ids["[PAD]"], cls_token_id=ids["[CLS]"], sep_token_id=ids["[SEP]"],
               bos_token_id=ids["[CLS]"], eos_token_id=ids["[SEP]"])
    weights = build_weights(cfg, rng)
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), cfg)
    if layout in ("peft", "peft-encoder"):
        weights, adapter, numpy_merged = peft_layout(weights, seed,
                                                     wrap="encoder" if layout == "peft-encoder" else "model")
        write_json(os.path.join(out, "adapter_config.json"), adapter)
        if merged_out:  # the NumPy merge, for tests to compare the importer's merge with
            os.makedirs(merged_out, exist_ok=True)
            write_safetensors(os.path.join(merged_out, "model.safetensors"), numpy_merged)
    elif layout == "merged":
        weights = merged_layout(weights)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    write_json(os.path.join(out, "tokenizer.json"), tj)
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 8192,
        "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "mask_token": "[MASK]", "clean_up_tokenization_spaces": True})
    return cfg
