#!/usr/bin/env python3
"""ref_bert.py: NumPy reference of the BERT / all-MiniLM-L6-v2 forward pass.

Why: a second, independent implementation (float64 NumPy, straight from the equations in
docs/modernbert.md) to cross-check the ONNX graph tools/export_onnx.py writes, so that ORT
can then serve as the reference for our C encoder. It reads the same model.safetensors.

  embeddings  word[id] + position[i] + token_type[0] -> LayerNorm (eps from config)
  layer       x = LN(x + Wo(softmax(QK^T/sqrt(d) + mask) V));  x = LN(x + W2 gelu_erf(W1 x))
  output      last hidden state; mean over the attention mask, then L2 normalisation

Usage: tools/ref_bert.py --model DIR < ids.jsonl > out.jsonl
Each input line is a JSON array of token ids (one sequence, all attended); each output line
is {"embedding": [...], "hidden": [[...], ...]} (hidden only with --hidden).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model import read_safetensors  # noqa: E402

_erf = np.vectorize(math.erf)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class Bert:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        raw = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.t = {k: v.astype(np.float64) for k, v in raw.items()}

    def linear(self, x, prefix):
        return x @ self.t[prefix + ".weight"].T + self.t[prefix + ".bias"]

    def ln(self, x, prefix):
        return layer_norm(x, self.t[prefix + ".weight"], self.t[prefix + ".bias"],
                          self.cfg["layer_norm_eps"])

    def forward(self, ids, mask=None):
        """ids: [S] ints; mask: [S] of 0/1 (default all 1). Returns hidden [S, H]."""
        ids = np.asarray(ids, dtype=np.int64)
        s = len(ids)
        mask = np.ones(s) if mask is None else np.asarray(mask, dtype=np.float64)
        t, nh = self.t, self.cfg["num_attention_heads"]
        hd = self.cfg["hidden_size"] // nh
        x = (t["embeddings.word_embeddings.weight"][ids]
             + t["embeddings.position_embeddings.weight"][:s]
             + t["embeddings.token_type_embeddings.weight"][0])
        x = self.ln(x, "embeddings.LayerNorm")
        add_mask = (1.0 - mask)[None, None, :] * -1e9  # [1, 1, S] over keys
        for i in range(self.cfg["num_hidden_layers"]):
            p = "encoder.layer.%d." % i

            def heads(y):
                return y.reshape(s, nh, hd).transpose(1, 0, 2)  # [nh, S, hd]

            q = heads(self.linear(x, p + "attention.self.query"))
            k = heads(self.linear(x, p + "attention.self.key"))
            v = heads(self.linear(x, p + "attention.self.value"))
            probs = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + add_mask)
            ctx = (probs @ v).transpose(1, 0, 2).reshape(s, nh * hd)
            x = self.ln(x + self.linear(ctx, p + "attention.output.dense"),
                        p + "attention.output.LayerNorm")
            h = gelu(self.linear(x, p + "intermediate.dense"))
            x = self.ln(x + self.linear(h, p + "output.dense"), p + "output.LayerNorm")
        return x

    def embed(self, ids, mask=None):
        hidden = self.forward(ids, mask)
        m = np.ones(len(ids)) if mask is None else np.asarray(mask, dtype=np.float64)
        mean = (hidden * m[:, None]).sum(0) / max(m.sum(), 1e-9)
        return mean / max(np.linalg.norm(mean), 1e-12), hidden


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--hidden", action="store_true", help="also print the last hidden state")
    a = ap.parse_args(argv)
    bert = Bert(a.model)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        emb, hidden = bert.embed(json.loads(line))
        out = {"embedding": [round(float(v), 7) for v in emb]}
        if a.hidden:
            out["hidden"] = [[round(float(v), 6) for v in row] for row in hidden]
        sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
