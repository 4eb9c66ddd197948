#!/usr/bin/env python3
"""ref_modernbert.py: NumPy reference of the ModernBERT encoder with the Kompress heads.

Why: the independent check for the ONNX graph tools/export_onnx.py writes for
--arch modernbert models (and later for our C ModernBERT encoder), written straight from
docs/modernbert.md in float64:

  x = LayerNorm(tok_embeddings[ids])                       (no bias, eps norm_eps)
  layer i (pre-norm; layer 0 has no attn_norm):
    x = x + Wo(attn(attn_norm(x)))   Wqkv split [3, heads, head_dim]; NeoX RoPE with
        theta global_rope_theta when i % global_attn_every_n_layers == 0 (full attention),
        else local_rope_theta and sliding window |i - j| <= local_attention / 2
    x = x + Wo(gelu_erf(input) * gate), input, gate = halves of Wi(mlp_norm(x))
  hidden = final_norm(x)
  p_keep = softmax(token_head(hidden))[:, 1]
  span = sigmoid(conv2(gelu(conv1(hidden))))  (Conv1d along the sequence, k5/p2 then k3/p1)
  final_scores = p_keep * (0.5 + 0.5 * span)

Usage: tools/ref_modernbert.py --model DIR [--hidden] < ids.jsonl > out.jsonl
(one JSON array of ids per line; out: {"final_scores": [...], "hidden": [[...]]}).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model import read_safetensors  # noqa: E402
from ref_bert import gelu, softmax  # noqa: E402


def layer_norm(x, w, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w


def rope(x, theta):
    """x: [heads, S, d]; NeoX rotate_half over positions 0..S-1."""
    d = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    freqs = np.arange(x.shape[1])[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], -1)
    rot = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * np.cos(emb) + rot * np.sin(emb)


def conv1d(x, w, b, pad):
    """x: [C_in, S]; w: [C_out, C_in, k]; zero padding; returns [C_out, S]."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (pad, pad)))
    s = x.shape[1]
    cols = np.stack([xp[:, j:j + s] for j in range(k)], -1)  # [C_in, S, k]
    return np.einsum("oik,isk->os", w, cols) + b[:, None]


class ModernBert:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.cfg = json.load(f)
        raw = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.t = {k: v.astype(np.float64) for k, v in raw.items()}

    def is_global(self, i):
        return i % self.cfg["global_attn_every_n_layers"] == 0

    def attention(self, h, i, mask):
        cfg, t = self.cfg, self.t
        s, nh = h.shape[0], cfg["num_attention_heads"]
        hd = cfg["hidden_size"] // nh
        qkv = (h @ t["layers.%d.attn.Wqkv.weight" % i].T).reshape(s, 3, nh, hd)
        q, k, v = (qkv[:, j].transpose(1, 0, 2) for j in range(3))  # [nh, S, hd]
        theta = cfg["global_rope_theta"] if self.is_global(i) else cfg["local_rope_theta"]
        q, k = rope(q, theta), rope(k, theta)
        add = np.where(mask[None, :] > 0, 0.0, -1e9) * np.ones((s, 1))
        if not self.is_global(i):
            dist = np.abs(np.arange(s)[:, None] - np.arange(s)[None, :])
            add = add + np.where(dist <= cfg["local_attention"] // 2, 0.0, -1e9)
        probs = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + add[None])
        ctx = (probs @ v).transpose(1, 0, 2).reshape(s, nh * hd)
        return ctx @ t["layers.%d.attn.Wo.weight" % i].T

    def forward(self, ids, mask=None):
        cfg, t, eps = self.cfg, self.t, self.cfg["norm_eps"]
        ids = np.asarray(ids, dtype=np.int64)
        mask = np.ones(len(ids)) if mask is None else np.asarray(mask, dtype=np.float64)
        x = layer_norm(t["embeddings.tok_embeddings.weight"][ids], t["embeddings.norm.weight"], eps)
        for i in range(cfg["num_hidden_layers"]):
            p = "layers.%d." % i
            h = x if i == 0 else layer_norm(x, t[p + "attn_norm.weight"], eps)
            x = x + self.attention(h, i, mask)
            inp, gate = np.split(layer_norm(x, t[p + "mlp_norm.weight"], eps) @ t[p + "mlp.Wi.weight"].T, 2, -1)
            x = x + (gelu(inp) * gate) @ t[p + "mlp.Wo.weight"].T
        return layer_norm(x, t["final_norm.weight"], eps)

    def scores(self, ids):
        t = self.t
        hidden = self.forward(ids)
        p_keep = softmax(hidden @ t["kompress.token_head.weight"].T + t["kompress.token_head.bias"])[:, 1]
        c1 = gelu(conv1d(hidden.T, t["kompress.span_conv1.weight"], t["kompress.span_conv1.bias"], 2))
        c2 = conv1d(c1, t["kompress.span_conv2.weight"], t["kompress.span_conv2.bias"], 1)[0]
        span = 1.0 / (1.0 + np.exp(-c2))
        return p_keep * (0.5 + 0.5 * span), hidden


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--hidden", action="store_true")
    a = ap.parse_args(argv)
    m = ModernBert(a.model)
    for line in sys.stdin:
        if not line.strip():
            continue
        scores, hidden = m.scores(json.loads(line))
        out = {"final_scores": [round(float(v), 7) for v in scores]}
        if a.hidden:
            out["hidden"] = [[round(float(v), 6) for v in row] for row in hidden]
        sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
