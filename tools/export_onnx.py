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
        """x @ weight.T (+ bias), with weight in PyTorch layout [out, in]."""
        w = np.ascontiguousarray(weight.T.astype(np.float32))  # [in, out]
        if not self.quantize:
            y = self.op("MatMul", [x, self.const(base + ".weight", w)], base + "_matmul")
        else:
            y = self.quantized_matmul(x, w, base)
        if bias is None:
            return y
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


def finish_model(g, name, inputs, outputs):
    """The graph's nodes and initializers as a checked opset-17 model (IR 8)."""
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="headroom tools/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


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


def classifier_logits(g, x, t):
    """BertForSequenceClassification's head: logits = W_c tanh(W_p h[:, 0] + b_p) + b_c."""
    cls = g.op("Gather", [x, g.const("cls_idx", np.int64(0))], axis=1)  # [B, H]
    pooled = g.op("Tanh", [g.linear(cls, t["pooler.dense.weight"], t["pooler.dense.bias"], "pooler")])
    y = g.linear(pooled, t["classifier.weight"], t["classifier.bias"], "classifier")
    g.nodes.append(helper.make_node("Identity", [y], ["logits"], name="logits_node"))


def strip_bert_prefix(t):
    """BertForSequenceClassification keeps the encoder under "bert."; the graph builder
    uses BertModel names."""
    return {k[5:] if k.startswith("bert.") else k: v for k, v in t.items()}


def build_graph(t, cfg, quantize):
    t = strip_bert_prefix(t)
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


def build_modernbert_graph(t, cfg, quantize):
    g = GraphBuilder(quantize)
    eps = float(cfg["norm_eps"])
    h, nh, inter = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    hd = h // nh
    ids, mask = "input_ids", "attention_mask"

    def norm(x, name):  # LayerNorm with weight, no bias
        return g.op("LayerNormalization", [x, g.const(name, t[name])], name, axis=-1, epsilon=eps)

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

    x = norm(g.op("Gather", [g.const("embeddings.tok_embeddings.weight", t["embeddings.tok_embeddings.weight"]), ids]),
             "embeddings.norm.weight")
    qkv_shape = g.const("qkv_shape", np.array([0, 0, 3, nh, hd], dtype=np.int64))
    merged = g.const("merged_shape", np.array([0, 0, h], dtype=np.int64))
    split_mlp = g.const("mlp_split", np.array([inter, inter], dtype=np.int64))
    for i in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % i
        is_global = i % cfg["global_attn_every_n_layers"] == 0
        theta = cfg["global_rope_theta"] if is_global else cfg["local_rope_theta"]
        hn = x if i == 0 else norm(x, p + "attn_norm.weight")
        qkv = g.op("Reshape", [g.linear(hn, t[p + "attn.Wqkv.weight"], None, p + "Wqkv"), qkv_shape])

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
        x = g.op("Add", [x, g.linear(ctx, t[p + "attn.Wo.weight"], None, p + "Wo")])
        wi = g.linear(norm(x, p + "mlp_norm.weight"), t[p + "mlp.Wi.weight"], None, p + "Wi")
        inp, gate = g.op("Split", [wi, split_mlp], p + "geglu", n_out=2, axis=-1)
        act = g.op("Mul", [gelu_erf(g, inp, p + "gelu"), gate])
        x = g.op("Add", [x, g.linear(act, t[p + "mlp.Wo.weight"], None, p + "mlp_Wo")])
    hidden = norm(x, "final_norm.weight")
    g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="last_hidden_state_node"))

    # Kompress heads: p_keep from the token head, span from two convolutions along the sequence.
    logits = g.linear(hidden, t["kompress.token_head.weight"], t["kompress.token_head.bias"], "token_head")
    p_keep = g.op("Gather", [g.op("Softmax", [logits], axis=-1), g.const("keep_idx", np.int64(1))], axis=2)
    hs = g.op("Transpose", [hidden], perm=[0, 2, 1])  # [B, H, S]
    c1 = g.op("Conv", [hs, g.const("span_conv1.w", t["kompress.span_conv1.weight"]),
                       g.const("span_conv1.b", t["kompress.span_conv1.bias"])], pads=[2, 2])
    c2 = g.op("Conv", [gelu_erf(g, c1, "span_gelu"), g.const("span_conv2.w", t["kompress.span_conv2.weight"]),
                       g.const("span_conv2.b", t["kompress.span_conv2.bias"])], pads=[1, 1])
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


def build_siglip_graph(t, cfg, quantize):
    g = GraphBuilder(quantize)
    t = {k[len("vision_model."):] if k.startswith("vision_model.") else k: v for k, v in t.items()}
    h, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], float(cfg["layer_norm_eps"])
    hd, p = h // nh, cfg["patch_size"]

    def ln(x, name):
        return g.op("LayerNormalization", [x, g.const(name + ".weight", t[name + ".weight"]),
                                           g.const(name + ".bias", t[name + ".bias"])], name, axis=-1, epsilon=eps)

    def lin(x, name):
        return g.linear(x, t[name + ".weight"], t[name + ".bias"], name)

    e = g.op("Conv", ["pixel_values", g.const("patch.w", t["embeddings.patch_embedding.weight"]),
                      g.const("patch.b", t["embeddings.patch_embedding.bias"])],
             kernel_shape=[p, p], strides=[p, p])                      # [B, H, S/P, S/P]
    e = g.op("Reshape", [e, g.const("flat", np.array([0, h, -1], dtype=np.int64))])
    x = g.op("Add", [g.op("Transpose", [e], perm=[0, 2, 1]),
                     g.const("pos", t["embeddings.position_embedding.weight"])])
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
    probe = g.const("probe", t["head.probe"])
    q = g.linear(probe, wi[:h], bi[:h], "head.q")
    k = g.linear(x, wi[h:2 * h], bi[h:2 * h], "head.k")
    v = g.linear(x, wi[2 * h:], bi[2 * h:], "head.v")
    o = g.linear(mha(g, q, k, v, nh, hd, h), t["head.attention.out_proj.weight"],
                 t["head.attention.out_proj.bias"], "head.out")
    o = g.op("Add", [o, lin(gelu_tanh(g, lin(ln(o, "head.layernorm"), "head.mlp.fc1"), "head.gelu"), "head.mlp.fc2")])
    pooled = g.op("Squeeze", [o, g.const("axes1", np.array([1], dtype=np.int64))])
    g.nodes.append(helper.make_node("Identity", [pooled], ["pooler_output"], name="pooler_output_node"))
    s = cfg["image_size"]
    inputs = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, s, s])]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, (s // p) ** 2, h]),
               helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, [1, h])]
    return finish_model(g, "headroom_siglip" + ("_int8" if quantize else ""), inputs, outputs)


def export(model_dir, out, int8_out=None):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    builders = {"bert": build_graph, "modernbert": build_modernbert_graph,
                "siglip_vision_model": build_siglip_graph}
    if cfg.get("model_type") not in builders:
        raise SystemExit("export_onnx: model_type %r is not exported" % cfg.get("model_type"))
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    written = []
    for path, quantize in ((out, False), (int8_out, True)):
        if path:
            onnx.save(builders[cfg["model_type"]](t, cfg, quantize), path)
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
