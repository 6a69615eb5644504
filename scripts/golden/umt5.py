#!/usr/bin/env python3
"""Golden fixtures for the umT5 text encoder (node/umt5.c), from transformers' UMT5EncoderModel.

Two tiny random configs; for each, a batch of two right-padded sequences of 224 tokens (one with
more than 200 valid tokens, so the logarithmic position buckets and the max-distance clamp are
reached). Writes, under tests/fixtures/umt5/:

  <cfg>/text_encoder/{config.json, model.safetensors}       fp32 weights, transformers names
  <cfg>_bf16/text_encoder/{config.json, model.safetensors}  the same weights rounded to bf16
                                                            (cfg b keeps `wo` in fp32 as
                                                            transformers' _keep_in_fp32_modules)
  <cfg>_wan/text_encoder/model.safetensors [+config.json]   the <cfg>_bf16 weights under Wan's
                                                            t5.py names (cfg a without
                                                            config.json: the loader infers it
                                                            from the shapes)
  <cfg>_io.safetensors   input_ids, attention_mask (int64, [2, 224]);
                         last_hidden_state      fp32 reference on the fp32 weights  [2, 224, D]
                         last_hidden_state_bf16 fp32 reference on the bf16-rounded weights
                         buckets                int64 [2*1100+1]: the reference's bucket of
                                                relative position (index - 1100)

Run: /opt/sf-ref/bin/python scripts/golden/umt5.py [--wan-repo GIT_DIR]
With --wan-repo (a clone of Wan-Video/Wan2.1), Wan's own T5Encoder (wan/modules/t5.py) is built
from the Wan-named file with strict loading and must give the same output, which proves the name
map. The fixtures never come from shotfarm.
"""
import argparse
import json
import math
import os
import subprocess
import types

import torch
from safetensors.torch import save_file
from transformers import UMT5Config, UMT5EncoderModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "umt5")
SEQ = 224
BUCKET_SPAN = 1100

CONFIGS = {
    # d_kv * heads == d_model, the umT5-XXL shape family
    "a": dict(vocab_size=256, d_model=64, d_kv=16, num_heads=4, d_ff=96, num_layers=2,
              relative_attention_num_buckets=32, relative_attention_max_distance=128,
              valid=(211, 57), seed=1301),
    # inner dim 60 != d_model 48, fewer buckets: nothing may assume the XXL ratios
    "b": dict(vocab_size=200, d_model=48, d_kv=20, num_heads=3, d_ff=64, num_layers=2,
              relative_attention_num_buckets=20, relative_attention_max_distance=128,
              valid=(224, 203), seed=1302),
}


def hf_config(c):
    keys = ("vocab_size", "d_model", "d_kv", "num_heads", "d_ff", "num_layers",
            "relative_attention_num_buckets", "relative_attention_max_distance")
    return UMT5Config(**{k: c[k] for k in keys}, feed_forward_proj="gated-gelu",
                      layer_norm_epsilon=1e-6, dropout_rate=0.0, is_encoder_decoder=False)


def randomise(model, gen):
    """transformers' init leaves the norms at 1 and the position bias tiny; spread them so that
    a wrong norm weight or a wrong bucket shows in the output."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif "relative_attention_bias" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            elif name == "shared.weight":
                p.copy_(torch.randn(p.shape, generator=gen))
            else:  # Linear (out, in)
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))


def hf_state(model, embed_name):
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    sd.pop("encoder.embed_tokens.weight", None)
    emb = sd.pop("shared.weight")
    sd[embed_name] = emb
    return sd


def to_wan(sd_hf):
    """transformers UMT5EncoderModel names -> Wan t5.py T5Encoder names (WAN-FACTS § 4)."""
    out = {}
    for k, v in sd_hf.items():
        if k in ("shared.weight", "encoder.embed_tokens.weight"):
            out["token_embedding.weight"] = v
            continue
        if k == "encoder.final_layer_norm.weight":
            out["norm.weight"] = v
            continue
        parts = k.split(".")  # encoder.block.N.layer.L.<rest>
        n, l, rest = parts[2], parts[4], ".".join(parts[5:])
        m = {
            ("0", "layer_norm.weight"): "norm1.weight",
            ("0", "SelfAttention.q.weight"): "attn.q.weight",
            ("0", "SelfAttention.k.weight"): "attn.k.weight",
            ("0", "SelfAttention.v.weight"): "attn.v.weight",
            ("0", "SelfAttention.o.weight"): "attn.o.weight",
            ("0", "SelfAttention.relative_attention_bias.weight"): "pos_embedding.embedding.weight",
            ("1", "layer_norm.weight"): "norm2.weight",
            ("1", "DenseReluDense.wi_0.weight"): "ffn.gate.0.weight",
            ("1", "DenseReluDense.wi_1.weight"): "ffn.fc1.weight",
            ("1", "DenseReluDense.wo.weight"): "ffn.fc2.weight",
        }[(l, rest)]
        out[f"blocks.{n}.{m}"] = v
    return out


def write_dir(path, sd, config):
    os.makedirs(path, exist_ok=True)
    save_file(sd, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    cfg_path = os.path.join(path, "config.json")
    if config is not None:
        with open(cfg_path, "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    elif os.path.exists(cfg_path):
        os.remove(cfg_path)


def config_json(model, dtype):
    d = model.config.to_dict()
    keep = ("vocab_size", "d_model", "d_kv", "num_heads", "d_ff", "num_layers",
            "relative_attention_num_buckets", "relative_attention_max_distance",
            "layer_norm_epsilon", "feed_forward_proj", "dense_act_fn", "is_gated_act",
            "model_type", "pad_token_id", "eos_token_id")
    out = {k: d[k] for k in keep}
    out["architectures"] = ["UMT5EncoderModel"]
    out["torch_dtype"] = dtype
    return out


def inputs(c, gen):
    ids = torch.zeros(2, SEQ, dtype=torch.int64)
    mask = torch.zeros(2, SEQ, dtype=torch.int64)
    for b, n in enumerate(c["valid"]):
        # ids 2..vocab-1 (0 pad, 1 eos), ending in eos like the tokenizer's output
        ids[b, :n] = torch.randint(2, c["vocab_size"], (n,), generator=gen)
        ids[b, n - 1] = 1
        mask[b, :n] = 1
    return ids, mask


def wan_check(git_dir, sd_wan, c, ids, mask, ref):
    src = subprocess.run(["git", "--git-dir", git_dir, "show", "HEAD:wan/modules/t5.py"],
                         check=True, capture_output=True, text=True).stdout
    # only the T5Encoder class is used: drop the package import and the CUDA default argument
    src = src.replace("from .tokenizers import HuggingfaceTokenizer", "HuggingfaceTokenizer = None")
    src = src.replace("torch.cuda.current_device()", "'cpu'")
    mod = types.ModuleType("wan_t5")
    exec(compile(src, "wan/modules/t5.py", "exec"), mod.__dict__)
    enc = mod.T5Encoder(vocab=c["vocab_size"], dim=c["d_model"],
                        dim_attn=c["d_kv"] * c["num_heads"], dim_ffn=c["d_ff"],
                        num_heads=c["num_heads"], num_layers=c["num_layers"],
                        num_buckets=c["relative_attention_num_buckets"], shared_pos=False,
                        dropout=0.0)
    enc.load_state_dict({k: v.float() for k, v in sd_wan.items()}, strict=True)
    enc.eval()
    with torch.no_grad():
        out = enc(ids, mask)
    err = 0.0
    for b, n in enumerate(c["valid"]):
        err = max(err, (out[b, :n] - ref[b, :n]).abs().max().item())
    scale = max(ref[b, :n].abs().max().item() for b, n in enumerate(c["valid"]))
    print(f"  Wan t5.py T5Encoder on the Wan names: max|diff| {err:.3g} (max|ref| {scale:.3g})")
    assert err <= 1e-5 * scale, "Wan's encoder disagrees with transformers on the converted weights"


def build(name, c, wan_repo):
    gen = torch.Generator().manual_seed(c["seed"])
    model = UMT5EncoderModel(hf_config(c)).eval()
    randomise(model, gen)
    # a: the embedding under `shared.weight`; b: under the tied alias encoder.embed_tokens.weight
    embed_name = "shared.weight" if name == "a" else "encoder.embed_tokens.weight"
    sd32 = hf_state(model, embed_name)
    ids, mask = inputs(c, gen)
    with torch.no_grad():
        ref32 = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()

    # bf16: round every weight, compute the reference in fp32 on the rounded values
    sd16 = {}
    for k, v in sd32.items():
        keep32 = name == "b" and k.endswith("DenseReluDense.wo.weight")
        sd16[k] = v if keep32 else v.to(torch.bfloat16)
    with torch.no_grad():
        for k, p in model.state_dict().items():
            src = sd16.get(k, sd16.get("shared.weight", sd16.get("encoder.embed_tokens.weight")))
            p.copy_(src.float())
        ref16 = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()

    attn = model.encoder.block[0].layer[0].SelfAttention
    rel = torch.arange(-BUCKET_SPAN, BUCKET_SPAN + 1, dtype=torch.long)
    buckets = attn._relative_position_bucket(rel).to(torch.int64)

    write_dir(os.path.join(OUT, name, "text_encoder"), sd32, config_json(model, "float32"))
    write_dir(os.path.join(OUT, name + "_bf16", "text_encoder"), sd16,
              config_json(model, "bfloat16"))
    sd_wan = to_wan(sd16)
    write_dir(os.path.join(OUT, name + "_wan", "text_encoder"), sd_wan,
              None if name == "a" else config_json(model, "bfloat16"))
    save_file({"input_ids": ids, "attention_mask": mask,
               "last_hidden_state": ref32.contiguous(),
               "last_hidden_state_bf16": ref16.contiguous(),
               "buckets": buckets.contiguous()},
              os.path.join(OUT, name + "_io.safetensors"))
    print(f"{name}: d_model {c['d_model']}, heads {c['num_heads']}x{c['d_kv']}, "
          f"layers {c['num_layers']}, buckets {c['relative_attention_num_buckets']}/"
          f"{c['relative_attention_max_distance']}, valid {c['valid']}, "
          f"max|ref| {ref32.abs().max().item():.3g}")
    if wan_repo:
        wan_check(wan_repo, sd_wan, c, ids, mask, ref16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wan-repo", help="git dir of Wan-Video/Wan2.1 to cross-check t5.py names")
    args = ap.parse_args()
    torch.manual_seed(0)
    for name, c in CONFIGS.items():
        build(name, c, args.wan_repo)


if __name__ == "__main__":
    main()
