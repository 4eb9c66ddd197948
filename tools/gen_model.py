#!/usr/bin/env python3
"""gen_model.py: writes a random-weight HuggingFace-style model directory.

Why: tests and benchmarks need a model of the real architecture and tokenizer shape, but we
never commit or download weights. This tool writes one deterministically from a seed:

  config.json            HF BertConfig fields (+ "headroom_generated" provenance)
  model.safetensors      written by hand: u64 LE header length, JSON header, raw LE data;
                         tensor names as in sentence-transformers/all-MiniLM-L6-v2 (BertModel)
  tokenizer.json         HF tokenizers format: BertNormalizer, BertPreTokenizer, WordPiece
                         (unk [UNK], prefix ##, 100 chars/word), TemplateProcessing [CLS] $A [SEP]
  tokenizer_config.json  what @huggingface/tokenizers and transformers read beside it
  vocab.txt              one token per line, id = line number
  modules.json, sentence_bert_config.json, 1_Pooling/config.json
                         the sentence-transformers pipeline files (mean pooling, normalise,
                         max_seq_length 256), as in the all-MiniLM-L6-v2 repository

Sizes: tiny (unit tests: hidden 64, 2 layers, ~2k vocab) and minilm (the full
all-MiniLM-L6-v2 shape: hidden 384, 6 layers, 12 heads, intermediate 1536, vocab 30522).
--arch modernbert writes the Kompress encoder family instead (tools/gen_modernbert.py:
sizes tiny and base, byte-level BPE tokenizer, token and span heads).
--arch siglip writes the SigLIP vision tower (tools/gen_siglip.py: tiny | base).
--head classifier writes a BertForSequenceClassification instead (the technique router's
shape): "bert."-prefixed encoder + pooler, "classifier.weight/bias" [labels, hidden], and
id2label / label2id in config.json (default labels: full_low, preserve, crop, transcode).

Usage: tools/gen_model.py --arch bert --size tiny --seed 1 --out DIR
Only the standard library and NumPy (Debian python3-numpy) are used.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

SIZES = {
    # name: hidden, layers, heads, intermediate, vocab (None = natural size of the vocab)
    "tiny": dict(hidden=64, layers=2, heads=4, intermediate=128, vocab=None),
    "minilm": dict(hidden=384, layers=6, heads=12, intermediate=1536, vocab=30522),
}
MAX_POSITIONS = 512
TYPE_VOCAB = 2
MAX_SEQ = 256
LN_EPS = 1e-12

SPECIALS_AT = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}

# Vocabulary material: real-shaped, so tokenizer tests meet every path (whole words,
# ##-continuations, single characters of many scripts, [UNK]).
COMMON_WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so
these her long make thing see him two has look more day could go come did number sound no
most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help low line
differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big
high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country
found answer school grow study still learn plant cover food sun four between state keep eye
never last let thought city tree cross farm hard start might story saw far sea draw left
late run don while press close night real life few north open seem together next white
children begin got walk example ease paper group always music those both mark often letter
until mile river car feet care second book carry took science eat room friend began idea
fish mountain stop once base hear horse cut sure watch color face wood main enough plain
girl usual young ready above ever red list though feel talk bird soon body dog family direct
pose leave song measure door product black short numeral class wind question happen complete
ship area half rock order fire south problem piece told knew pass since top whole king space
heard best hour better true during hundred five remember step early hold west ground interest
reach fast verb sing listen six table travel less morning ten simple several vowel toward war
lay against pattern slow center love person money serve appear road map rain rule govern pull
cold notice voice unit power town fine certain fly fall lead cry dark machine note wait plan
figure star box noun field rest correct able pound done beauty drive stood contain front teach
week final gave green oh quick develop ocean warm free minute strong special mind behind clear
tail produce fact street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible plane stead
dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring
yes distant fill east paint language among cafe resume naive uber facade fiance
def class return import function const let var if else elif for while true false null none
self this print printf int char void struct include json http https www com org html api
error warning info debug trace exception failed failure timeout fatal panic abort denied
status request response server client proxy token model embed vector file path line code
user admin config data value key type string number array object list map set get post put
delete patch query id name size count total max min test tests build make run main src lib
bin usr local tmp var log logs python node npm java rust go c cpp linux docker kubernetes
""".split()

SUFFIXES = """s es ed ing er ers est ly tion tions ment ments ness able ible ize ise al ial ic
ous ful less ity ive ence ance ship hood ism ist ate en y ies ier al ing ers ed ly d r t n
e a o i u""".split()

# Scripts and symbols present as single characters (and as ##-characters for letters).
def _chars():
    out = []
    out += [chr(c) for c in range(0x21, 0x7F) if not ("A" <= chr(c) <= "Z")]
    out += list("ßæøđłðþœıĸŀ")
    out += [chr(c) for c in range(0x3B1, 0x3CA)]  # Greek lowercase incl. final sigma
    out += [chr(c) for c in range(0x430, 0x450)]  # Cyrillic lowercase
    out += [chr(c) for c in range(0x5D0, 0x5EB)]  # Hebrew letters
    out += [chr(c) for c in range(0x627, 0x64B)]  # Arabic letters
    out += [chr(c) for c in range(0x905, 0x93A)]  # Devanagari letters
    out += [chr(c) for c in range(0xE01, 0xE2F)]  # Thai consonants
    out += [chr(c) for c in range(0x3041, 0x3097)]  # Hiragana
    out += [chr(c) for c in range(0x30A1, 0x30FB)]  # Katakana
    # Hangul jamo: NFD turns every Hangul syllable into these.
    out += [chr(c) for c in range(0x1100, 0x1113)]
    out += [chr(c) for c in range(0x1161, 0x1176)]
    out += [chr(c) for c in range(0x11A8, 0x11C3)]
    out += list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去"
                "之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又"
                "如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明")
    out += list("¡¿«»—–…“”‘’·•§¶†‡、。「」『』！？，：；（）《》")
    out += list("€£¥©®°±×÷→←↑↓∞≈≠≤≥√✓★♥☺")
    out += ["\U0001F600", "\U0001F602", "\U0001F44D", "\U0001F389", "\U0001F680", "\U0001F525",
            "\u2764", "\u2728"]
    return out


def _is_punct(ch):
    import unicodedata
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def build_vocab(target_size, rng):
    """Returns the token list (index = id). Layout follows the real BERT vocab: [PAD] 0,
    [unused*] up to 99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, then characters,
    ##-characters, words, ##-suffixes, and (for the full size) generated subwords."""
    tokens = []
    seen = set()

    def add(t):
        if t not in seen:
            seen.add(t)
            tokens.append(t)

    for i in range(104):
        add(SPECIALS_AT.get(i, "[unused%d]" % i))
    chars = _chars()
    for c in chars:
        add(c)
    for c in chars:
        if not _is_punct(c):
            add("##" + c)
    for w in COMMON_WORDS:
        add(w)
    for s in SUFFIXES:
        add("##" + s)
    for n in range(10, 100):
        add(str(n))
        add("##" + str(n))
    if target_size is not None:
        if len(tokens) > target_size:
            raise SystemExit("vocab material exceeds the target size")
        onsets = list("bcdfghjklmnprstvwz") + ["ch", "sh", "th", "st", "pr", "tr", "br", "gr", "pl"]
        vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
        codas = ["", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "x"]
        while len(tokens) < target_size:
            k = int(rng.integers(1, 4))
            piece = "".join(onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                            for _ in range(k)) + codas[rng.integers(len(codas))]
            add(("##" + piece) if rng.random() < 0.4 else piece)
    return tokens


def build_weights(cfg, rng):
    """BertModel tensors (PyTorch layout: Linear weight [out, in]) in name order.
    Scales are chosen so attention is far from uniform and every layer matters, which
    makes the reference checks sensitive to mistakes (BERT's own 0.02 init is too flat)."""
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    t = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def layer_norm(prefix, n):
        t[prefix + ".weight"] = (1.0 + normal((n,), 0.1)).astype(np.float32)
        t[prefix + ".bias"] = normal((n,), 0.05)

    def linear(prefix, n_out, n_in, gain=1.0):
        t[prefix + ".weight"] = normal((n_out, n_in), gain / np.sqrt(n_in))
        t[prefix + ".bias"] = normal((n_out,), 0.02)

    t["embeddings.word_embeddings.weight"] = normal((v, h), 0.5)
    t["embeddings.position_embeddings.weight"] = normal((cfg["max_position_embeddings"], h), 0.3)
    t["embeddings.token_type_embeddings.weight"] = normal((cfg["type_vocab_size"], h), 0.3)
    layer_norm("embeddings.LayerNorm", h)
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        linear(p + "attention.self.query", h, h, 1.5)
        linear(p + "attention.self.key", h, h, 1.5)
        linear(p + "attention.self.value", h, h)
        linear(p + "attention.output.dense", h, h)
        layer_norm(p + "attention.output.LayerNorm", h)
        linear(p + "intermediate.dense", inter, h)
        linear(p + "output.dense", h, inter)
        layer_norm(p + "output.LayerNorm", h)
    linear("pooler.dense", h, h)
    return t


def write_safetensors(path, tensors):
    """Hand-written safetensors: names sorted, data contiguous, header padded with spaces
    to a multiple of 8 bytes (as the reference writer does)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Reads a safetensors file written by write_safetensors (F32 only); name -> array.
    Used by export_onnx.py and ref_bert.py so every tool reads the same bytes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise ValueError("%s: dtype %s not supported" % (name, meta["dtype"]))
        b, e = meta["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(meta["shape"])
    return out


def tokenizer_json(vocab):
    ids = {t: i for i, t in enumerate(vocab)}
    added = [{"id": ids[s], "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for s in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")]

    def special(name):
        return {"id": name, "ids": [ids[name]], "tokens": [name]}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        # strip_accents null = follow lowercase, exactly as all-MiniLM-L6-v2 ships it.
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
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
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def model_config(size, vocab_size, seed):
    s = SIZES[size]
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": s["hidden"],
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "intermediate_size": s["intermediate"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": TYPE_VOCAB,
        "initializer_range": 0.02,
        "layer_norm_eps": LN_EPS,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "headroom_generated": {"tool": "tools/gen_model.py", "size": size, "seed": seed,
                               "pooling": "mean", "normalize": True, "max_seq_length": MAX_SEQ},
    }


ROUTER_LABELS = ["full_low", "preserve", "crop", "transcode"]


def add_classifier(cfg, weights, labels, rng):
    """Turns a BertModel directory into BertForSequenceClassification (as HF saves it): the
    encoder and pooler under "bert.", the classifier linear at the top level, id2label in
    config.json. The classifier's scale spreads the logits so softmax is far from uniform."""
    h = cfg["hidden_size"]
    out = {"bert." + k: v for k, v in weights.items()}
    out["classifier.weight"] = (rng.standard_normal((len(labels), h)) * (3.0 / np.sqrt(h))).astype(np.float32)
    out["classifier.bias"] = (rng.standard_normal((len(labels),)) * 0.1).astype(np.float32)
    cfg["architectures"] = ["BertForSequenceClassification"]
    cfg["id2label"] = {str(i): name for i, name in enumerate(labels)}
    cfg["label2id"] = {name: i for i, name in enumerate(labels)}
    cfg["problem_type"] = "single_label_classification"
    cfg["headroom_generated"]["head"] = "classifier"
    cfg["headroom_generated"]["pooling"] = "cls"
    return out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def generate(arch, size, seed, out, tokenizer=None, layout="hf", merged_out=None, head=None,
             labels=None):
    if arch == "siglip":
        import gen_siglip
        return gen_siglip.generate(size, seed, out, write_json, write_safetensors)
    if arch == "modernbert":
        import gen_modernbert
        if size not in gen_modernbert.SIZES:
            raise SystemExit("gen_model: modernbert sizes are %s" % ", ".join(gen_modernbert.SIZES))
        return gen_modernbert.generate(size, seed, out, write_json, write_safetensors, tokenizer,
                                       layout, merged_out)
    if tokenizer or layout != "hf":
        raise SystemExit("gen_model: --tokenizer and --layout are for --arch modernbert")
    if size not in SIZES:
        raise SystemExit("gen_model: bert sizes are %s" % ", ".join(SIZES))
    rng = np.random.default_rng(seed)
    vocab = build_vocab(SIZES[size]["vocab"], rng)
    cfg = model_config(size, len(vocab), seed)
    weights = build_weights(cfg, rng)
    if head == "classifier":
        weights = add_classifier(cfg, weights, labels or ROUTER_LABELS, rng)
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), cfg)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "strip_accents": None,
        "tokenize_chinese_chars": True, "model_max_length": MAX_SEQ,
        "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
        "pad_token": "[PAD]", "mask_token": "[MASK]", "clean_up_tokenization_spaces": True})
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        for t in vocab:
            f.write(t + "\n")
    if head != "classifier":
        write_sentence_transformers(out, cfg)
    return cfg


def write_sentence_transformers(out, cfg):
    """The sentence-transformers files of the all-MiniLM-L6-v2 repository (pipeline, max
    length, pooling), so importers read the real layout, not only our provenance block."""
    write_json(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    write_json(os.path.join(out, "sentence_bert_config.json"),
               {"max_seq_length": MAX_SEQ, "do_lower_case": False})
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    write_json(os.path.join(out, "1_Pooling", "config.json"), {
        "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="bert", choices=["bert", "modernbert", "siglip"])
    ap.add_argument("--size", default="tiny", help="bert: tiny | minilm; modernbert: tiny | base")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--head", choices=["classifier"], help="bert: add a sequence-classification head")
    ap.add_argument("--labels", help="comma-separated class names for --head classifier")
    ap.add_argument("--tokenizer", help="modernbert: use this tokenizer.json (e.g. from "
                    "tools/gen_bpe_fixture.mjs) instead of generating one")
    ap.add_argument("--layout", default="hf", choices=["hf", "merged", "peft", "peft-encoder"],
                    help="modernbert weight names: hf (ModernBertModel + kompress.* heads), "
                    "merged (the original's encoder.* / token_head / span_conv), peft (merged "
                    "wrapped by PEFT LoRA, with adapter_config.json), peft-encoder (only the "
                    "encoder wrapped: encoder.base_model.model.*)")
    ap.add_argument("--merged-out", help="with --layout peft: also write the NumPy merge "
                    "W + (alpha/r) B A in the merged layout (model.safetensors only) here")
    a = ap.parse_args(argv)
    labels = a.labels.split(",") if a.labels else None
    cfg = generate(a.arch, a.size, a.seed, a.out, a.tokenizer, a.layout, a.merged_out, a.head,
                   labels)
    print("gen_model: %s %s seed %d -> %s (vocab %d, hidden %d, layers %d)" % (
        a.arch, a.size, a.seed, a.out, cfg["vocab_size"], cfg["hidden_size"],
        cfg["num_hidden_layers"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
