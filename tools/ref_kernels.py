#!/usr/bin/env python3
"""ref_kernels.py: NumPy references for the ML kernels (tests/unit/test_ml_kernels.c).

Why: the C kernels (src/ml/kernels*.c) must match an independent implementation. This tool
draws random inputs from a seed, computes the expected outputs in float64 NumPy (exact erf
from math.erf, softmax with max subtraction) and writes both to a directory:

  manifest.txt          one case per line: "<kind> <name> <int params...>"
  <name>.<array>.f32    raw little-endian float32 arrays (uint8 masks as float 0/1)

Kinds and params:
  linear    m k n            x[m,k] w[n,k] b[n] -> y[m,n] = x w^T + b   (fp32 weights;
                             the C test quantises w itself, as the importer does)
  layernorm m n eps_e12      x[m,n] g[n] b[n] -> y   (eps = eps_e12 * 1e-12)
  gelu      n                x[n] -> y   (exact erf GELU)
  gelu_tanh n                x[n] -> y   (SigLIP's tanh approximation)
  softmax   m n              x[m,n] -> y
  attention seq heads dim window masked
                             qkv[seq, 3*heads*dim] valid[seq] -> y[seq, heads*dim]
  geglu     m n              x[m, 2n] -> y[m, n] = gelu(x[:, :n]) * x[:, n:]
  rope      seq heads dim theta
                             qkv[seq, 3*heads*dim] -> y: q and k parts rotated (NeoX)

Usage: tools/ref_kernels.py --out DIR [--seed N]
Only the standard library and NumPy (Debian python3-numpy) are used.
"""
import argparse
import math
import os
import sys

import numpy as np


def save(out, name, arrays):
    for key, a in arrays.items():
        np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(out, "%s.%s.f32" % (name, key)))


def case_linear(rng, m, k, n):
    x = rng.standard_normal((m, k))
    # heavy-ish tails in some rows, as GELU outputs and residual streams have
    x[::3] *= rng.uniform(0.2, 4.0, size=(x[::3].shape[0], 1))
    w = rng.standard_normal((n, k)) / math.sqrt(k)
    b = rng.standard_normal(n) * 0.1
    y = x.astype(np.float32).astype(np.float64) @ w.astype(np.float32).astype(np.float64).T + b
    return {"x": x, "w": w, "b": b, "y": y}


def case_layernorm(rng, m, n, eps):
    x = rng.standard_normal((m, n)) * rng.uniform(0.1, 10, size=(m, 1)) + rng.uniform(-3, 3, size=(m, 1))
    g = 1 + 0.1 * rng.standard_normal(n)
    b = 0.05 * rng.standard_normal(n)
    x32 = x.astype(np.float32).astype(np.float64)
    mu = x32.mean(-1, keepdims=True)
    var = ((x32 - mu) ** 2).mean(-1, keepdims=True)
    y = (x32 - mu) / np.sqrt(var + eps) * g.astype(np.float32) + b.astype(np.float32)
    return {"x": x, "g": g, "b": b, "y": y}


def case_gelu(rng, n):
    x = np.concatenate([rng.standard_normal(n - 16) * 3,
                        np.array([0, -0.0, 1e-8, -1e-8, 5, -5, 10, -10, 20, -20, 0.5, -0.5,
                                  3.3, -3.3, 1e-3, -7.9])])
    x32 = x.astype(np.float32).astype(np.float64)
    y = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x32])
    return {"x": x, "y": y}


def case_gelu_tanh(rng, n):
    """SigLIP's gelu_pytorch_tanh, in float64 from the float32 inputs."""
    x = np.concatenate([rng.standard_normal(n - 16) * 3,
                        np.array([0, -0.0, 1e-8, -1e-8, 5, -5, 10, -10, 20, -20, 0.5, -0.5,
                                  3.3, -3.3, 60, -60])])
    v = x.astype(np.float32).astype(np.float64)
    y = 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    return {"x": x, "y": y}


def softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def case_softmax(rng, m, n):
    x = rng.standard_normal((m, n)) * rng.uniform(0.1, 20, size=(m, 1))
    return {"x": x, "y": softmax(x.astype(np.float32).astype(np.float64))}


def case_attention(rng, seq, heads, dim, window, masked):
    H = heads * dim
    qkv = rng.standard_normal((seq, 3 * H)).astype(np.float32).astype(np.float64)
    valid = np.ones(seq)
    if masked:
        valid[seq - masked:] = 0  # right padding, as a padded batch has
    y = np.zeros((seq, H))
    for h in range(heads):
        q = qkv[:, h * dim:(h + 1) * dim]
        k = qkv[:, H + h * dim:H + (h + 1) * dim]
        v = qkv[:, 2 * H + h * dim:2 * H + (h + 1) * dim]
        s = q @ k.T / math.sqrt(dim)
        allowed = np.broadcast_to(valid > 0, (seq, seq)).copy()
        if window:
            idx = np.arange(seq)
            allowed &= np.abs(idx[:, None] - idx[None, :]) <= window
        s = np.where(allowed, s, -np.inf)
        p = softmax(s)
        y[:, h * dim:(h + 1) * dim] = p @ v
    return {"qkv": qkv, "valid": valid, "y": y}


def case_geglu(rng, m, n):
    x = rng.standard_normal((m, 2 * n)) * 2
    x32 = x.astype(np.float32).astype(np.float64)
    g = x32[:, :n]
    gelu = 0.5 * g * (1 + np.vectorize(math.erf)(g / math.sqrt(2)))
    return {"x": x, "y": gelu * x32[:, n:]}


def case_rope(rng, seq, heads, dim, theta):
    """As tools/ref_modernbert.py's rope(), applied to the q and k thirds of qkv."""
    H = heads * dim
    qkv = rng.standard_normal((seq, 3 * H)).astype(np.float32).astype(np.float64)
    inv = 1.0 / theta ** (np.arange(0, dim, 2) / dim)
    freqs = np.arange(seq)[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], -1)  # [seq, dim]
    y = qkv.copy()
    for part in range(2):
        for h in range(heads):
            c0 = part * H + h * dim
            x = qkv[:, c0:c0 + dim]
            rot = np.concatenate([-x[:, dim // 2:], x[:, :dim // 2]], -1)
            y[:, c0:c0 + dim] = x * np.cos(emb) + rot * np.sin(emb)
    return {"qkv": qkv, "y": y}


CASES = [
    ("linear", "lin_small", (1, 64, 40)),
    ("linear", "lin_tail", (5, 100, 37)),          # k not a multiple of 32, odd n
    ("linear", "lin_qkv", (33, 384, 1152)),
    ("linear", "lin_down", (17, 1536, 384)),
    ("layernorm", "ln_384", (9, 384, 1)),
    ("layernorm", "ln_odd", (3, 70, 100000)),     # eps 1e-7, n not a multiple of 8
    ("gelu", "gelu", (4099,)),
    ("gelu_tanh", "gelu_tanh", (4099,)),      # tail of 3 past 16 and 8 lanes
    ("softmax", "sm", (7, 257)),
    ("attention", "att_global", (40, 4, 16, 0, 0)),
    ("attention", "att_masked", (37, 3, 32, 0, 9)),
    ("attention", "att_window", (50, 2, 16, 4, 0)),
    ("attention", "att_window_masked", (45, 2, 32, 5, 3)),  # row pairs with unequal key ranges
    ("attention", "att_long", (130, 2, 64, 0, 0)),          # several 16-row and 64-key blocks
    ("attention", "att_window_band", (150, 2, 64, 20, 0)),  # ModernBERT local: in-band keys only
    ("attention", "att_window_wide", (203, 2, 32, 40, 0)),  # bands wider than a 64-key block
    ("attention", "att_vit", (196, 2, 64, 0, 0)),           # SigLIP's 196 patches: a last block of 4 keys
    ("attention", "att_tail3", (179, 1, 32, 0, 0)),         # last 51 keys: 4 chunks, the 4th partial
    ("geglu", "geglu", (5, 1152)),
    ("rope", "rope_global", (300, 2, 64, 160000)),          # ModernBERT global layers
    ("rope", "rope_local", (40, 3, 16, 10000)),
]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    lines = []
    for kind, name, params in CASES:
        if kind == "layernorm":
            m, n, eps_e12 = params
            arrays = case_layernorm(rng, m, n, eps_e12 * 1e-12)
        else:
            arrays = globals()["case_" + kind](rng, *params)
        save(a.out, name, arrays)
        lines.append(" ".join([kind, name] + [str(p) for p in params]))
    with open(os.path.join(a.out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
