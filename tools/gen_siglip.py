#!/usr/bin/env python3
"""gen_siglip.py: the SigLIP vision half of tools/gen_model.py --arch siglip.

Why: the image-signal encoder of the original (chopratejas/siglip-image-encoder-onnx) is a
SigLIP vision tower; our C ViT (src/ml/vision.c) needs a model of that shape and an
independent reference without downloading ~95 MB. This writes, deterministically from a
seed, a SiglipVisionModel directory:

  config.json        model_type "siglip_vision_model": hidden_size, num_hidden_layers,
                     num_attention_heads, intermediate_size, image_size, patch_size,
                     num_channels 3, layer_norm_eps 1e-6, hidden_act gelu_pytorch_tanh,
                     vision_use_head true (+ "headroom_generated")
  model.safetensors  vision_model.embeddings.patch_embedding (Conv2d H x 3 x P x P + bias),
                     vision_model.embeddings.position_embedding [N, H],
                     vision_model.encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj,
                     layer_norm2, mlp.fc1, mlp.fc2}, vision_model.post_layernorm,
                     vision_model.head.{probe [1,1,H], attention.in_proj_weight [3H,H],
                     attention.in_proj_bias, attention.out_proj, layernorm, mlp.fc1, mlp.fc2}
                     (the attention-pooling "MAP" head)
  preprocessor_config.json  resize to image_size, rescale 1/255, normalise mean 0.5 std 0.5
                     (pixels in [-1, 1], CHW), as SigLIP's image processor

Sizes: tiny (hidden 64, 2 layers, 4 heads, image 64, patch 16: 16 patches) and base (the
siglip-base-patch16-224 tower: 768, 12 layers, 12 heads, intermediate 3072, 224 / 16).
"""
import os

import numpy as np

SIZES = {
    "tiny": dict(hidden=64, layers=2, heads=4, intermediate=128, image=64, patch=16),
    "base": dict(hidden=768, layers=12, heads=12, intermediate=3072, image=224, patch=16),
}


def model_config(size, seed):
    s = SIZES[size]
    return {
        "architectures": ["SiglipVisionModel"],
        "model_type": "siglip_vision_model",
        "hidden_size": s["hidden"],
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "intermediate_size": s["intermediate"],
        "image_size": s["image"],
        "patch_size": s["patch"],
        "num_channels": 3,
        "layer_norm_eps": 1e-6,
        "hidden_act": "gelu_pytorch_tanh",
        "vision_use_head": True,
        "torch_dtype": "float32",
        "headroom_generated": {"tool": "tools/gen_model.py", "size": size, "seed": seed},
    }


def build_weights(cfg, rng):
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    p, c = cfg["patch_size"], cfg["num_channels"]
    n = (cfg["image_size"] // p) ** 2
    t = {}

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(name):
        t[name + ".weight"] = (1.0 + normal((h,), 0.1)).astype(np.float32)
        t[name + ".bias"] = normal((h,), 0.05)

    def linear(name, n_out, n_in, gain=1.0):
        t[name + ".weight"] = normal((n_out, n_in), gain / np.sqrt(n_in))
        t[name + ".bias"] = normal((n_out,), 0.02)

    v = "vision_model."
    t[v + "embeddings.patch_embedding.weight"] = normal((h, c, p, p), 1.0 / np.sqrt(c * p * p))
    t[v + "embeddings.patch_embedding.bias"] = normal((h,), 0.02)
    t[v + "embeddings.position_embedding.weight"] = normal((n, h), 0.3)
    for i in range(cfg["num_hidden_layers"]):
        L = v + "encoder.layers.%d." % i
        norm(L + "layer_norm1")
        linear(L + "self_attn.q_proj", h, h, 1.5)
        linear(L + "self_attn.k_proj", h, h, 1.5)
        linear(L + "self_attn.v_proj", h, h)
        linear(L + "self_attn.out_proj", h, h)
        norm(L + "layer_norm2")
        linear(L + "mlp.fc1", inter, h)
        linear(L + "mlp.fc2", h, inter)
    norm(v + "post_layernorm")
    t[v + "head.probe"] = normal((1, 1, h), 1.0)
    t[v + "head.attention.in_proj_weight"] = normal((3 * h, h), 1.5 / np.sqrt(h))
    t[v + "head.attention.in_proj_bias"] = normal((3 * h,), 0.02)
    linear(v + "head.attention.out_proj", h, h)
    norm(v + "head.layernorm")
    linear(v + "head.mlp.fc1", inter, h)
    linear(v + "head.mlp.fc2", h, inter)
    return t


def generate(size, seed, out, write_json, write_safetensors):
    if size not in SIZES:
        raise SystemExit("gen_model: siglip sizes are %s" % ", ".join(SIZES))
    rng = np.random.default_rng(seed)
    cfg = model_config(size, seed)
    weights = build_weights(cfg, rng)
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), cfg)
    write_safetensors(os.path.join(out, "model.safetensors"), weights)
    write_json(os.path.join(out, "preprocessor_config.json"), {
        "image_processor_type": "SiglipImageProcessor", "do_resize": True,
        "size": {"height": cfg["image_size"], "width": cfg["image_size"]}, "resample": 3,
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})
    cfg["vocab_size"] = 0  # for gen_model's summary line
    return cfg
