#!/usr/bin/env python3
"""export_onnx.py: exports a generated BERT model directory to ONNX (python3-onnx).

Why: ONNX Runtime is the independent reference for our encoder and the baseline of the
memory benchmark, so it must run the very weights our importer reads. This writes, from
the directory's model.safetensors and config.json:

  fp32 graph  inputs input_ids, attention_mask, token_type_ids (int64 [batch, seq]);
              outputs last_hidden_state [batch, seq, hidden] and sentence_embedding
              [batch, hidden] (mean over the attention mask, then L2-normalised), i.e. the
              sentence-transformers all-MiniLM-L6-v2 pipeline in one graph.
  int8 graph  the same, with every weight MatMul rewritten the way ONNX Runtime's
              quantize_dynamic (weight_type QInt8, per tensor) writes it, as the original's
              int8 models are: DynamicQuantizeLinear on the activation (uint8, scale, zero
              point), MatMulInteger with the int8 weight (zero point 0), Cast to float, and a
              multiply by activation scale x weight scale. Embedding lookups, LayerNorm and
              the activation-by-activation attention MatMuls stay fp32, as there.

Opset 17 (LayerNormalization is native; GELU is written as the exact erf form because the
Gelu op only exists from opset 20). Usage:

  tools/export_onnx.py --model DIR --out DIR/model.onnx [--int8-out DIR/model_int8.onnx]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model import read_safetensors  # noqa: E402  (same reader for every tool)

OPSET = 17


class GraphBuilder:
    """Collects nodes and initializers with unique names; quantize=True rewrites weight
    MatMuls into ORT's dynamic-quantisation pattern."""

    def __init__(self, quantize):
        self.nodes, self.inits, self.quantize, self.n = [], [], quantize, 0

    def name(self, base):
        self.n += 1
        return "%s_%d" % (base, self.n)

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base=None, n_out=1, **attrs):
        outs = [self.name(base or op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type + "_node"),
                                           **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x, weight, bias, base):
        """x @ weight.T + bias, with weight in PyTorch layout [out, in]."""
        w = np.ascontiguousarray(weight.T.astype(np.float32))  # [in, out]
        if not self.quantize:
            y = self.op("MatMul", [x, self.const(base + ".weight", w)], base + "_matmul")
        else:
            y = self.quantized_matmul(x, w, base)
        return self.op("Add", [y, self.const(base + ".bias", bias.astype(np.float32))], base)

    def quantized_matmul(self, x, w, base):
        # Symmetric per-tensor int8 weights, as quantize_dynamic(QInt8) without reduce_range.
        scale = np.float32(max(float(np.abs(w).max()), 1e-8) / 127.0)
        wq = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        xq, xs, xz = self.op("DynamicQuantizeLinear", [x], base + "_quant", n_out=3)
        yi = self.op("MatMulInteger", [xq, self.const(base + ".weight_quantized", wq), xz,
                                       self.const(base + ".weight_zero_point", np.int8(0))],
                     base + "_matmul_int")
        yf = self.op("Cast", [yi], base + "_cast", to=TensorProto.FLOAT)
        s = self.op("Mul", [xs, self.const(base + ".weight_scale", scale)], base + "_scale")
        return self.op("Mul", [yf, s], base + "_matmul")


def layer_norm(g, x, t, prefix, eps):
    return g.op("LayerNormalization", [x, g.const(prefix + ".weight", t[prefix + ".weight"]),
                                       g.const(prefix + ".bias", t[prefix + ".bias"])],
                prefix, axis=-1, epsilon=eps)


def gelu_erf(g, x, base):
    # 0.5 * x * (1 + erf(x / sqrt(2))): the exact GELU BERT uses (hidden_act "gelu").
    e = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", np.float32(np.sqrt(2.0)))])])
    one = g.op("Add", [e, g.const("one", np.float32(1.0))])
    return g.op("Mul", [g.op("Mul", [x, one]), g.const("half", np.float32(0.5))], base)


def attention(g, x, mask_add, t, p, cfg):
    h, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = h // nh
    heads_shape = g.const("heads_shape", np.array([0, 0, nh, hd], dtype=np.int64))
    merged_shape = g.const("merged_shape", np.array([0, 0, h], dtype=np.int64))

    def proj(part, perm):
        y = g.linear(x, t[p + "attention.self.%s.weight" % part],
                     t[p + "attention.self.%s.bias" % part], p + part)
        return g.op("Transpose", [g.op("Reshape", [y, heads_shape])], perm=perm)

    q = proj("query", [0, 2, 1, 3])   # [B, nh, S, hd]
    k = proj("key", [0, 2, 3, 1])     # [B, nh, hd, S]
    v = proj("value", [0, 2, 1, 3])   # [B, nh, S, hd]
    scores = g.op("Mul", [g.op("MatMul", [q, k]), g.const("attn_scale", np.float32(1.0 / np.sqrt(hd)))])
    probs = g.op("Softmax", [g.op("Add", [scores, mask_add])], axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, merged_shape])
    return g.linear(ctx, t[p + "attention.output.dense.weight"],
                    t[p + "attention.output.dense.bias"], p + "attn_out")


def build_graph(t, cfg, quantize):
    g = GraphBuilder(quantize)
    eps = float(cfg["layer_norm_eps"])
    ids, mask, types = "input_ids", "attention_mask", "token_type_ids"

    # Embeddings: word + position (0..S-1) + token type, then LayerNorm.
    seq_len = g.op("Gather", [g.op("Shape", [ids]), g.const("one_idx", np.int64(1))], axis=0)
    positions = g.op("Range", [g.const("zero64", np.int64(0)), seq_len, g.const("one64", np.int64(1))])
    positions = g.op("Unsqueeze", [positions, g.const("axes0", np.array([0], dtype=np.int64))])
    word = g.op("Gather", [g.const("embeddings.word_embeddings.weight", t["embeddings.word_embeddings.weight"]), ids])
    pos = g.op("Gather", [g.const("embeddings.position_embeddings.weight", t["embeddings.position_embeddings.weight"]), positions])
    typ = g.op("Gather", [g.const("embeddings.token_type_embeddings.weight", t["embeddings.token_type_embeddings.weight"]), types])
    x = layer_norm(g, g.op("Add", [g.op("Add", [word, pos]), typ]), t, "embeddings.LayerNorm", eps)

    # Additive mask [B, 1, 1, S]: 0 where attended, a large negative where padded.
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.const("one_f", np.float32(1.0)), maskf])
    mask_add = g.op("Mul", [g.op("Unsqueeze", [inv, g.const("axes12", np.array([1, 2], dtype=np.int64))]),
                            g.const("mask_neg", np.float32(-1e9))])

    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        a = attention(g, x, mask_add, t, p, cfg)
        x = layer_norm(g, g.op("Add", [a, x]), t, p + "attention.output.LayerNorm", eps)
        h = g.linear(x, t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"], p + "inter")
        o = g.linear(gelu_erf(g, h, p + "gelu"), t[p + "output.dense.weight"], t[p + "output.dense.bias"], p + "out")
        x = layer_norm(g, g.op("Add", [o, x]), t, p + "output.LayerNorm", eps)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state_node"))

    # Mean pooling over the mask, then L2 normalisation (sentence-transformers Normalize).
    axis1 = g.const("axes1", np.array([1], dtype=np.int64))
    m3 = g.op("Unsqueeze", [maskf, g.const("axes2", np.array([2], dtype=np.int64))])
    total = g.op("ReduceSum", [g.op("Mul", [x, m3]), axis1], keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [m3, axis1], keepdims=0), g.const("min_count", np.float32(1e-9))])
    mean = g.op("Div", [total, count])
    norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [mean, mean]), axis1], keepdims=1)])
    norm = g.op("Max", [norm, g.const("min_norm", np.float32(1e-12))])
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="sentence_embedding_node"))

    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in (ids, mask, types)]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [cfg["hidden_size"]]),
               helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", cfg["hidden_size"]])]
    graph = helper.make_graph(g.nodes, "headroom_bert" + ("_int8" if quantize else ""), inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="headroom tools/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export(model_dir, out, int8_out=None):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "bert":
        raise SystemExit("export_onnx: only BERT models are exported (model_type %r)" % cfg.get("model_type"))
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    written = []
    for path, quantize in ((out, False), (int8_out, True)):
        if path:
            onnx.save(build_graph(t, cfg, quantize), path)
            os.chmod(path, 0o600)
            written.append(path)
    return written


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="directory written by tools/gen_model.py")
    ap.add_argument("--out", required=True, help="fp32 ONNX file")
    ap.add_argument("--int8-out", help="int8 (dynamic quantisation layout) ONNX file")
    a = ap.parse_args(argv)
    for p in export(a.model, a.out, a.int8_out):
        print("export_onnx: wrote %s (%d bytes)" % (p, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
