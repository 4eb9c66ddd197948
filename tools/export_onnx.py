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

A BertForSequenceClassification directory (gen_model.py --head classifier: "bert."
prefixed names, "classifier.*") gets one more output, logits [batch, labels] =
classifier(tanh(pooler([CLS] hidden state))), as transformers computes it.

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
    MatMuls into ORT's dynamic-quantisation pattern. With torch_name (a function from a
    builder-local module path to the checkpoint's name) the graph is named the way
    torch.onnx.export names it instead: parameters keep their checkpoint names, each
    Linear's transposed weight is an anonymous "onnx::MatMul_N" initializer, nodes carry
    the module scope ("/bert/encoder/layer.0/attention/self/query/MatMul")."""

    def __init__(self, quantize, torch_name=None):
        global LAST_GRAPH
        self.nodes, self.inits, self.quantize, self.n = [], [], quantize, 0
        self.torch = torch_name
        self.origin = {}  # initializer -> (builder-local checkpoint name, first row or None)
        LAST_GRAPH = self  # read by export() for --dequantized-out

    def name(self, base):
        self.n += 1
        if self.torch:
            return "onnx::%s_%d" % (base.replace(".", "_"), self.n)
        return "%s_%d" % (base, self.n)

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def param(self, local, array):
        """A checkpoint parameter (norms, biases, tables): torch keeps its name."""
        if not self.torch:
            return self.const(local, array)
        name = self.torch(local)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        self.origin[name] = (local, None)
        return name

    def op(self, op_type, inputs, base=None, n_out=1, node_name=None, **attrs):
        outs = [self.name(base or op_type) for _ in range(n_out)]
        self.n += 1
        name = node_name or ("/%s_%d" % (op_type, self.n) if self.torch else "%s_node_%d" % (op_type, self.n))
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def scoped(self, scope, op_type):
        """torch's node name: scope + op, "_1", "_2" ... on repeats."""
        self.seen = getattr(self, "seen", {})
        k = self.seen.get((scope, op_type), 0)
        self.seen[(scope, op_type)] = k + 1
        return "%s/%s%s" % (scope, op_type, "_%d" % k if k else "")

    def linear(self, x, weight, bias, base, anonymous_bias=False, origin=None):
        """x @ weight.T (+ bias), with weight in PyTorch layout [out, in]; base is the
        builder-local module path ("encoder.layer.0.attention.self.query"); origin
        (checkpoint name, first row) when weight is a slice of another tensor."""
        w = np.ascontiguousarray(weight.T.astype(np.float32))  # [in, out]
        scope = "/" + self.torch(base).replace(".", "/") if self.torch else None
        if self.torch:
            wname = self.const("MatMul", w)
            self.origin[wname] = origin or (base + ".weight", 0)
            y = self.op("MatMul", [x, wname], node_name=self.scoped(scope, "MatMul"))
        elif not self.quantize:
            y = self.op("MatMul", [x, self.const(base + ".weight", w)], base + "_matmul")
        else:
            y = self.quantized_matmul(x, w, base)
        if bias is None:
            return y
        b = bias.astype(np.float32)
        bname = self.const("Add", b) if anonymous_bias or not self.torch else self.param(base + ".bias", b)
        return self.op("Add", [y, bname], base, node_name=self.scoped(scope, "Add") if scope else None)

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


def finish_model(g, name, inputs, outputs):
    """The graph's nodes and initializers as a checked opset-17 model (IR 8)."""
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="headroom tools/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def layer_norm(g, x, t, prefix, eps):
    return g.op("LayerNormalization", [x, g.param(prefix + ".weight", t[prefix + ".weight"]),
                                       g.param(prefix + ".bias", t[prefix + ".bias"])],
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
                     t[p + "attention.self.%s.bias" % part], p + "attention.self." + part)
        return g.op("Transpose", [g.op("Reshape", [y, heads_shape])], perm=perm)

    q = proj("query", [0, 2, 1, 3])   # [B, nh, S, hd]
    k = proj("key", [0, 2, 3, 1])     # [B, nh, hd, S]
    v = proj("value", [0, 2, 1, 3])   # [B, nh, S, hd]
    scores = g.op("Mul", [g.op("MatMul", [q, k]), g.const("attn_scale", np.float32(1.0 / np.sqrt(hd)))])
    probs = g.op("Softmax", [g.op("Add", [scores, mask_add])], axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, merged_shape])
    return g.linear(ctx, t[p + "attention.output.dense.weight"],
                    t[p + "attention.output.dense.bias"], p + "attention.output.dense")


def classifier_logits(g, x, t):
    """BertForSequenceClassification's head: logits = W_c tanh(W_p h[:, 0] + b_p) + b_c."""
    cls = g.op("Gather", [x, g.const("cls_idx", np.int64(0))], axis=1)  # [B, H]
    pooled = g.op("Tanh", [g.linear(cls, t["pooler.dense.weight"], t["pooler.dense.bias"], "pooler.dense")])
    y = g.linear(pooled, t["classifier.weight"], t["classifier.bias"], "classifier")
    g.nodes.append(helper.make_node("Identity", [y], ["logits"], name="logits_node"))


def strip_bert_prefix(t):
    """BertForSequenceClassification keeps the encoder under "bert."; the graph builder
    uses BertModel names."""
    return {k[5:] if k.startswith("bert.") else k: v for k, v in t.items()}


def build_graph(t, cfg, quantize, torch_style=False):
    prefixed = any(k.startswith("bert.") for k in t)
    t = strip_bert_prefix(t)
    g = GraphBuilder(quantize, (lambda local: local if local.startswith("classifier") or not prefixed
                                else "bert." + local) if torch_style else None)
    eps = float(cfg["layer_norm_eps"])
    ids, mask, types = "input_ids", "attention_mask", "token_type_ids"

    # Embeddings: word + position (0..S-1) + token type, then LayerNorm.
    seq_len = g.op("Gather", [g.op("Shape", [ids]), g.const("one_idx", np.int64(1))], axis=0)
    positions = g.op("Range", [g.const("zero64", np.int64(0)), seq_len, g.const("one64", np.int64(1))])
    positions = g.op("Unsqueeze", [positions, g.const("axes0", np.array([0], dtype=np.int64))])
    word = g.op("Gather", [g.param("embeddings.word_embeddings.weight", t["embeddings.word_embeddings.weight"]), ids])
    pos = g.op("Gather", [g.param("embeddings.position_embeddings.weight", t["embeddings.position_embeddings.weight"]), positions])
    typ = g.op("Gather", [g.param("embeddings.token_type_embeddings.weight", t["embeddings.token_type_embeddings.weight"]), types])
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
        h = g.linear(x, t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"], p + "intermediate.dense")
        o = g.linear(gelu_erf(g, h, p + "gelu"), t[p + "output.dense.weight"], t[p + "output.dense.bias"], p + "output.dense")
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
    if "classifier.weight" in t:
        classifier_logits(g, x, t)
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                     ["batch", int(t["classifier.weight"].shape[0])]))
    return finish_model(g, "headroom_bert" + ("_int8" if quantize else ""), inputs, outputs)


# ---- ModernBERT + Kompress heads (tools/gen_modernbert.py, tools/ref_modernbert.py) ------

ROPE_MAX = 1024  # longest sequence the ModernBERT graph accepts (Kompress uses <= 512)


def rope_tables(g, theta, hd):
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    freqs = np.arange(ROPE_MAX)[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], -1)
    return (g.const("rope_cos_%g" % theta, np.cos(emb).astype(np.float32)),
            g.const("rope_sin_%g" % theta, np.sin(emb).astype(np.float32)))


def apply_rope(g, x, cos, sin, hd):
    """x [B, nh, S, hd] * cos + rotate_half(x) * sin; cos/sin already sliced to [S, hd]."""
    half = g.const("rope_split", np.array([hd // 2, hd // 2], dtype=np.int64))
    x1, x2 = g.op("Split", [x, half], "rope_half", n_out=2, axis=-1)
    rot = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rot, sin])])


KOMPRESS_HEADS = {"kompress.token_head": "token_head", "kompress.span_conv1": "span_conv.0",
                  "kompress.span_conv2": "span_conv.2"}


def kompress_name(local):
    """HeadroomCompressorModel's names: the encoder under "encoder.", heads beside it."""
    for ours, theirs in KOMPRESS_HEADS.items():
        if local.startswith(ours):
            return theirs + local[len(ours):]
    return "encoder." + local


def build_modernbert_graph(t, cfg, quantize, torch_style=False):
    g = GraphBuilder(quantize, kompress_name if torch_style else None)
    eps = float(cfg["norm_eps"])
    h, nh, inter = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    hd = h // nh
    ids, mask = "input_ids", "attention_mask"

    def norm(x, name):  # LayerNorm with weight, no bias
        return g.op("LayerNormalization", [x, g.param(name, t[name])], name, axis=-1, epsilon=eps)

    seq = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [ids]), g.const("one_idx", np.int64(1))], axis=0),
                             g.const("axes0", np.array([0], dtype=np.int64))])  # [1]: S

    def first_rows(table, axes):
        return g.op("Slice", [table, g.const("starts", np.zeros(len(axes), dtype=np.int64)),
                              g.op("Concat", [seq] * len(axes), axis=0),
                              g.const("axes", np.array(axes, dtype=np.int64))])

    tables = {}
    for theta in (cfg["global_rope_theta"], cfg["local_rope_theta"]):
        c, s_ = rope_tables(g, theta, hd)
        tables[theta] = (first_rows(c, [0]), first_rows(s_, [0]))
    dist = np.abs(np.arange(ROPE_MAX)[:, None] - np.arange(ROPE_MAX)[None, :])
    band = np.where(dist <= cfg["local_attention"] // 2, 0.0, -1e9).astype(np.float32)
    window_add = first_rows(g.const("window_band", band), [0, 1])  # [S, S]
    maskf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    pad_add = g.op("Mul", [g.op("Unsqueeze", [g.op("Sub", [g.const("one_f", np.float32(1.0)), maskf]),
                                              g.const("axes12", np.array([1, 2], dtype=np.int64))]),
                           g.const("mask_neg", np.float32(-1e9))])
    local_add = g.op("Add", [pad_add, window_add])

    x = norm(g.op("Gather", [g.param("embeddings.tok_embeddings.weight", t["embeddings.tok_embeddings.weight"]), ids]),
             "embeddings.norm.weight")
    qkv_shape = g.const("qkv_shape", np.array([0, 0, 3, nh, hd], dtype=np.int64))
    merged = g.const("merged_shape", np.array([0, 0, h], dtype=np.int64))
    split_mlp = g.const("mlp_split", np.array([inter, inter], dtype=np.int64))
    for i in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % i
        is_global = i % cfg["global_attn_every_n_layers"] == 0
        theta = cfg["global_rope_theta"] if is_global else cfg["local_rope_theta"]
        hn = x if i == 0 else norm(x, p + "attn_norm.weight")
        qkv = g.op("Reshape", [g.linear(hn, t[p + "attn.Wqkv.weight"], None, p + "attn.Wqkv"), qkv_shape])

        def part(j, perm):
            y = g.op("Gather", [qkv, g.const("qkv_idx", np.int64(j))], axis=2)  # [B, S, nh, hd]
            return g.op("Transpose", [y], perm=perm)

        cos, sin = tables[theta]
        q = apply_rope(g, part(0, [0, 2, 1, 3]), cos, sin, hd)
        k = apply_rope(g, part(1, [0, 2, 1, 3]), cos, sin, hd)
        v = part(2, [0, 2, 1, 3])
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                              g.const("attn_scale", np.float32(1.0 / np.sqrt(hd)))])
        probs = g.op("Softmax", [g.op("Add", [scores, pad_add if is_global else local_add])], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merged])
        x = g.op("Add", [x, g.linear(ctx, t[p + "attn.Wo.weight"], None, p + "attn.Wo")])
        wi = g.linear(norm(x, p + "mlp_norm.weight"), t[p + "mlp.Wi.weight"], None, p + "mlp.Wi")
        inp, gate = g.op("Split", [wi, split_mlp], p + "geglu", n_out=2, axis=-1)
        act = g.op("Mul", [gelu_erf(g, inp, p + "gelu"), gate])
        x = g.op("Add", [x, g.linear(act, t[p + "mlp.Wo.weight"], None, p + "mlp.Wo")])
    hidden = norm(x, "final_norm.weight")
    g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="last_hidden_state_node"))

    # Kompress heads: p_keep from the token head, span from two convolutions along the sequence.
    logits = g.linear(hidden, t["kompress.token_head.weight"], t["kompress.token_head.bias"], "kompress.token_head")
    p_keep = g.op("Gather", [g.op("Softmax", [logits], axis=-1), g.const("keep_idx", np.int64(1))], axis=2)
    hs = g.op("Transpose", [hidden], perm=[0, 2, 1])  # [B, H, S]
    c1 = g.op("Conv", [hs, g.param("kompress.span_conv1.weight", t["kompress.span_conv1.weight"]),
                       g.param("kompress.span_conv1.bias", t["kompress.span_conv1.bias"])], pads=[2, 2])
    c2 = g.op("Conv", [gelu_erf(g, c1, "span_gelu"), g.param("kompress.span_conv2.weight", t["kompress.span_conv2.weight"]),
                       g.param("kompress.span_conv2.bias", t["kompress.span_conv2.bias"])], pads=[1, 1])
    span = g.op("Squeeze", [g.op("Sigmoid", [c2]), g.const("axes1", np.array([1], dtype=np.int64))])
    half = g.const("half_f", np.float32(0.5))
    g.nodes.append(helper.make_node("Mul", [p_keep, g.op("Add", [half, g.op("Mul", [half, span])])],
                                    ["final_scores"], name="final_scores_node"))

    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in (ids, mask)]
    outputs = [helper.make_tensor_value_info("final_scores", TensorProto.FLOAT, dims),
               helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [h])]
    return finish_model(g, "headroom_modernbert" + ("_int8" if quantize else ""), inputs, outputs)


# ---- SigLIP vision tower (tools/gen_siglip.py) ------------------------------------------

def gelu_tanh(g, x, base):
    # gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
    inner = g.op("Add", [x, g.op("Mul", [x3, g.const("c044715", np.float32(0.044715))])])
    t = g.op("Tanh", [g.op("Mul", [inner, g.const("sqrt2pi", np.float32(np.sqrt(2.0 / np.pi)))])])
    one = g.op("Add", [t, g.const("one", np.float32(1.0))])
    return g.op("Mul", [g.op("Mul", [x, one]), g.const("half", np.float32(0.5))], base)


def mha(g, q, k, v, nh, hd, h):
    """Multi-head attention on projected q [B, Sq, H], k, v [B, Sk, H] -> [B, Sq, H]."""
    heads = g.const("heads_shape", np.array([0, -1, nh, hd], dtype=np.int64))
    split = lambda x, perm: g.op("Transpose", [g.op("Reshape", [x, heads])], perm=perm)  # noqa: E731
    scores = g.op("Mul", [g.op("MatMul", [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]),
                          g.const("attn_scale", np.float32(1.0 / np.sqrt(hd)))])
    ctx = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), split(v, [0, 2, 1, 3])])
    ctx = g.op("Transpose", [ctx], perm=[0, 2, 1, 3])
    return g.op("Reshape", [ctx, g.const("merged_shape", np.array([0, -1, h], dtype=np.int64))])


def build_siglip_graph(t, cfg, quantize, torch_style=False):
    g = GraphBuilder(quantize, (lambda local: "vision_model." + local) if torch_style else None)
    t = {k[len("vision_model."):] if k.startswith("vision_model.") else k: v for k, v in t.items()}
    h, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], float(cfg["layer_norm_eps"])
    hd, p = h // nh, cfg["patch_size"]

    def ln(x, name):
        return g.op("LayerNormalization", [x, g.param(name + ".weight", t[name + ".weight"]),
                                           g.param(name + ".bias", t[name + ".bias"])], name, axis=-1, epsilon=eps)

    def lin(x, name):
        return g.linear(x, t[name + ".weight"], t[name + ".bias"], name)

    e = g.op("Conv", ["pixel_values", g.param("embeddings.patch_embedding.weight", t["embeddings.patch_embedding.weight"]),
                      g.param("embeddings.patch_embedding.bias", t["embeddings.patch_embedding.bias"])],
             kernel_shape=[p, p], strides=[p, p])                      # [B, H, S/P, S/P]
    e = g.op("Reshape", [e, g.const("flat", np.array([0, h, -1], dtype=np.int64))])
    pos = t["embeddings.position_embedding.weight"]
    if g.torch:  # HF looks the table up with a constant position_ids: torch folds it to [1, N, H]
        x = g.op("Add", [g.op("Transpose", [e], perm=[0, 2, 1]), g.const("Add", pos[None])],
                 node_name="/vision_model/embeddings/Add")
    else:
        x = g.op("Add", [g.op("Transpose", [e], perm=[0, 2, 1]), g.param("embeddings.position_embedding.weight", pos)])
    for i in range(cfg["num_hidden_layers"]):
        L = "encoder.layers.%d." % i
        a = ln(x, L + "layer_norm1")
        ctx = mha(g, lin(a, L + "self_attn.q_proj"), lin(a, L + "self_attn.k_proj"),
                  lin(a, L + "self_attn.v_proj"), nh, hd, h)
        x = g.op("Add", [x, lin(ctx, L + "self_attn.out_proj")])
        m = lin(gelu_tanh(g, lin(ln(x, L + "layer_norm2"), L + "mlp.fc1"), L + "gelu"), L + "mlp.fc2")
        x = g.op("Add", [x, m])
    x = ln(x, "post_layernorm")
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state_node"))
    # attention-pooling head: the probe attends over every patch
    wi, bi = t["head.attention.in_proj_weight"], t["head.attention.in_proj_bias"]
    probe = g.param("head.probe", t["head.probe"])
    # nn.MultiheadAttention with key is value: torch projects the query and the packed
    # key|value separately (two products under the "head.attention" scope), biases sliced
    # from in_proj_bias (anonymous constants once exported)
    q = g.linear(probe, wi[:h], bi[:h], "head.attention", anonymous_bias=True,
                 origin=("head.attention.in_proj_weight", 0))
    kv = g.linear(x, wi[h:], bi[h:], "head.attention", anonymous_bias=True,
                  origin=("head.attention.in_proj_weight", h))
    k, v = g.op("Split", [kv, g.const("kv_split", np.array([h, h], dtype=np.int64))], n_out=2, axis=-1)
    o = g.linear(mha(g, q, k, v, nh, hd, h), t["head.attention.out_proj.weight"],
                 t["head.attention.out_proj.bias"], "head.attention.out_proj")
    o = g.op("Add", [o, lin(gelu_tanh(g, lin(ln(o, "head.layernorm"), "head.mlp.fc1"), "head.gelu"), "head.mlp.fc2")])
    pooled = g.op("Squeeze", [o, g.const("axes1", np.array([1], dtype=np.int64))])
    g.nodes.append(helper.make_node("Identity", [pooled], ["pooler_output"], name="pooler_output_node"))
    s = cfg["image_size"]
    inputs = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, s, s])]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, (s // p) ** 2, h]),
               helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, [1, h])]
    return finish_model(g, "headroom_siglip" + ("_int8" if quantize else ""), inputs, outputs)


# ---- ONNX Runtime's quantize_dynamic, rewritten for a graph in memory ------------------

def quantize_weight(w, dtype, axis=None):
    """quantize_dynamic's weight quantisation: int8 symmetric (scale = max|w| / 127, zero
    point 0, q in [-127, 127]) or uint8 asymmetric over [min(w, 0), max(w, 0)]; per tensor
    or per channel along axis. Returns q, scale, zero point."""
    red = None if axis is None else tuple(d for d in range(w.ndim) if d != axis)
    if dtype == "int8":
        amax = np.maximum(np.abs(w).max(axis=red), 1e-8).astype(np.float32)
        scale = (amax / np.float32(127.0)).astype(np.float32)
        zp = np.zeros_like(scale, dtype=np.int8)
        lo, hi, qt = -127, 127, np.int8
    else:
        rmin = np.minimum(w.min(axis=red), 0).astype(np.float32)
        rmax = np.maximum(w.max(axis=red), 0).astype(np.float32)
        scale = np.maximum((rmax - rmin) / np.float32(255.0), np.float32(1e-8)).astype(np.float32)
        zp = np.clip(np.rint(-rmin / scale), 0, 255).astype(np.uint8)
        lo, hi, qt = 0, 255, np.uint8
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)) + zp.reshape(shape).astype(np.float32), lo, hi)
    return q.astype(qt), scale, zp


def quantize_like_ort(model, dtype="int8", per_channel=False, gather=False, weight_only=False):
    """Rewrites each weight MatMul (and Conv, and with gather=True each embedding Gather) the
    way onnxruntime.quantization.quantize_dynamic does, names included: the weight becomes
    "<w>_quantized" with "<w>_scale" and "<w>_zero_point"; MatMul -> DynamicQuantizeLinear
    on the activation + MatMulInteger ("<node>_quant") + Cast + Mul by (activation scale x
    weight scale); Conv -> ConvInteger likewise (uint8 only), its bias added after; Gather -> Gather on
    the int8 table + DequantizeLinear. weight_only=True writes the QDQ weight-only form
    instead (DequantizeLinear on the weight feeding the float MatMul), as int8
    "weight-only" exports are made."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, drop = [], set()
    model_dequantized.clear()

    def qinit(wname, axis):
        w = numpy_helper.to_array(inits[wname]).astype(np.float32)
        q, sc, zp = quantize_weight(w, dtype, axis)
        shape = [1] * w.ndim
        if axis is not None:
            shape[axis] = -1
        # what DequantizeLinear gives back: (q - zero point) * scale in fp32
        model_dequantized[wname] = ((q.astype(np.float32) - zp.reshape(shape).astype(np.float32))
                                    * sc.reshape(shape)).astype(np.float32)
        if axis is None:
            sc, zp = sc.reshape(()), zp.reshape(())
        g.initializer.extend([numpy_helper.from_array(q, wname + "_quantized"),
                              numpy_helper.from_array(sc, wname + "_scale"),
                              numpy_helper.from_array(zp, wname + "_zero_point")])
        drop.add(wname)
        return wname + "_quantized", wname + "_scale", wname + "_zero_point"

    def dynamic(node, integer_op, w, axis, extra=None):
        x, y = node.input[0], node.output[0]
        qw, sc, zp = qinit(w, axis)
        xq, xs, xz = y + "_xq", y + "_xs", y + "_xz"
        new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=node.name + "_input_quant"))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        new_nodes.append(helper.make_node(integer_op, [xq, qw, xz, zp], [y + "_int"], name=node.name + "_quant", **attrs))
        new_nodes.append(helper.make_node("Cast", [y + "_int"], [y + "_cast"], name=node.name + "_quant_cast", to=TensorProto.FLOAT))
        new_nodes.append(helper.make_node("Mul", [xs, sc], [y + "_scales"], name=node.name + "_quant_scales_mul"))
        out = y if extra is None else y + "_nobias"
        new_nodes.append(helper.make_node("Mul", [y + "_cast", y + "_scales"], [out], name=node.name + "_quant_output_scale_mul"))
        if extra is not None:  # ConvInteger has no bias input: reshape and add it
            shape = y + "_bias_shape"
            g.initializer.append(numpy_helper.from_array(np.array([1, -1, 1, 1], dtype=np.int64), shape))
            new_nodes.append(helper.make_node("Reshape", [extra, shape], [y + "_bias"], name=node.name + "_bias_reshape"))
            new_nodes.append(helper.make_node("Add", [out, y + "_bias"], [y], name=node.name + "_bias_add"))

    for node in g.node:
        w = node.input[1] if len(node.input) > 1 else None
        if node.op_type == "MatMul" and w in inits and len(inits[w].dims) == 2:
            if weight_only:
                qw, sc, zp = qinit(w, 1 if per_channel else None)
                new_nodes.append(helper.make_node("DequantizeLinear", [qw, sc, zp], [w + "_dequantized"],
                                                  name=node.name + "_weight_dq", axis=1))
                new_nodes.append(helper.make_node("MatMul", [node.input[0], w + "_dequantized"], list(node.output),
                                                  name=node.name))
            else:
                dynamic(node, "MatMulInteger", w, 1 if per_channel else None)
        elif node.op_type == "Conv" and w in inits and not weight_only and dtype == "uint8":
            # ONNX Runtime's CPU ConvInteger takes uint8 weights only, so a runnable int8
            # export keeps its convolutions fp32 (quantize_dynamic's output otherwise fails
            # to load); uint8 exports get ConvInteger
            dynamic(node, "ConvInteger", w, None, node.input[2] if len(node.input) > 2 else None)
        elif node.op_type == "Gather" and gather and node.input[0] in inits and len(inits[node.input[0]].dims) == 2:
            qw, sc, zp = qinit(node.input[0], None)
            y = node.output[0]
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            new_nodes.append(helper.make_node("Gather", [qw, node.input[1]], [y + "_quantized"], name=node.name, **attrs))
            new_nodes.append(helper.make_node("DequantizeLinear", [y + "_quantized", sc, zp], [y],
                                              name=node.name + "_DequantizeLinear"))
        else:
            new_nodes.append(node)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep)
    del g.node[:]
    g.node.extend(new_nodes)
    onnx.checker.check_model(model)
    return model


model_dequantized = {}  # initializer -> its dequantised values, from the last quantize_like_ort
LAST_GRAPH = None


def write_dequantized(model_dir, t, source_key, out_dir):
    """The checkpoint directory whose weights are the quantised graph's dequantised values:
    importing it must give the same model file as importing the int8 graph (the importer's
    dequantisation is exact and its graph mapping right)."""
    import shutil
    from gen_model import write_safetensors
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(model_dir):
        if f.endswith(".json") or f.endswith(".txt"):
            shutil.copyfile(os.path.join(model_dir, f), os.path.join(out_dir, f))
    t = {k: v.copy() for k, v in t.items()}
    for name, deq in model_dequantized.items():
        local, row = LAST_GRAPH.origin[name]
        key = source_key(local)
        if row is None:
            t[key] = deq.reshape(t[key].shape)
        else:
            t[key][row:row + deq.shape[1]] = deq.T
    write_safetensors(os.path.join(out_dir, "model.safetensors"), t)


BUILDERS = {"bert": build_graph, "modernbert": build_modernbert_graph,
            "siglip_vision_model": build_siglip_graph}


def export(model_dir, out, int8_out=None, style="headroom", quant="int8", gather=False,
           dequantized_out=None):
    """style "torch" names the graph as torch.onnx.export does and quantises the int8 file
    with quantize_like_ort (quant: int8, uint8, int8-channel or weight-only); "headroom"
    keeps this tool's own names and inline int8 pattern (what the benches compare)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") not in BUILDERS:
        raise SystemExit("export_onnx: model_type %r is not exported" % cfg.get("model_type"))
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    build = BUILDERS[cfg["model_type"]]
    written = []
    for path, quantize in ((out, False), (int8_out, True)):
        if not path:
            continue
        if style == "torch":
            model = build(t, cfg, False, torch_style=True)
            if quantize:
                model = quantize_like_ort(model, "uint8" if quant == "uint8" else "int8",
                                          per_channel=quant == "int8-channel", gather=gather,
                                          weight_only=quant == "weight-only")
        else:
            model = build(t, cfg, quantize)
        onnx.save(model, path)
        os.chmod(path, 0o600)
        written.append(path)
        if quantize and style == "torch" and dequantized_out:
            source_key = (lambda local: local) if cfg["model_type"] == "modernbert" else LAST_GRAPH.torch
            write_dequantized(model_dir, t, source_key, dequantized_out)
            written.append(os.path.join(dequantized_out, "model.safetensors"))
    return written


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="directory written by tools/gen_model.py")
    ap.add_argument("--out", required=True, help="fp32 ONNX file")
    ap.add_argument("--int8-out", help="int8 (dynamic quantisation layout) ONNX file")
    ap.add_argument("--style", choices=["headroom", "torch"], default="headroom",
                    help="torch: names and quantisation as the published exports have them")
    ap.add_argument("--quant", choices=["int8", "uint8", "int8-channel", "weight-only"], default="int8",
                    help="with --style torch: the quantize_dynamic variant of --int8-out")
    ap.add_argument("--quant-gather", action="store_true",
                    help="with --style torch: quantise the embedding tables (Gather) too")
    ap.add_argument("--dequantized-out", help="with --style torch: a checkpoint directory holding "
                    "the int8 graph's dequantised weights (what an exact importer recovers)")
    a = ap.parse_args(argv)
    for p in export(a.model, a.out, a.int8_out, a.style, a.quant, a.quant_gather, a.dequantized_out):
        print("export_onnx: wrote %s (%d bytes)" % (p, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
