#!/usr/bin/env python3
"""Reference tensor names and shapes of the Wan2.1 DiT, and small real safetensors files.

Writes (tests/fixtures/, committed):
  names/CONFIG.diffusers.txt  state_dict() of diffusers' WanTransformer3DModel(CONFIG) built on
                              torch.device("meta") (nothing allocated), one "name<TAB>d0,d1,..."
                              line per tensor in state_dict order; CONFIG = tiny, wan2.1-t2v-1.3b,
                              wan2.1-t2v-14b (node/config.c has the same numbers).
  names/CONFIG.official.txt   the same for the official Wan2.1 WanModel (wan/modules/model.py),
                              when --wan is given.
  safetensors/micro-diffusers/        save_pretrained() of a random bf16 WanTransformer3DModel
                                      (config.json + diffusion_pytorch_model.safetensors)
  safetensors/micro-diffusers-sharded/  the same weights, save_pretrained(max_shard_size=40KB):
                                      shards + diffusion_pytorch_model.safetensors.index.json
  safetensors/micro-official/         save_pretrained() of the official WanModel (bf16), the
                                      layout of the Wan-AI/Wan2.1-T2V-* checkpoints
  safetensors/micro-*.values.json     a few leading values of some tensors, as floats
  safetensors/dtypes.safetensors      safetensors.torch.save_file of one tensor per dtype
                                      (arange-based values), a scalar and an empty tensor
  safetensors/dtypes.values.json      their values

Run: /opt/sf-ref/bin/python scripts/golden/dit_names.py --wan /path/to/Wan2.1 [--out tests/fixtures]
where --wan is a Wan2.1 checkout or a bare/mirror git directory (read with `git show`).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types

import torch
from diffusers import WanTransformer3DModel
from safetensors.torch import save_file

# node/config.c (sf_dit_config): name -> (dim, ffn_dim, freq_dim, text_dim, heads, layers)
CONFIGS = {
    "tiny": (128, 256, 256, 64, 4, 2),
    "wan2.1-t2v-1.3b": (1536, 8960, 256, 4096, 12, 30),
    "wan2.1-t2v-14b": (5120, 13824, 256, 4096, 40, 40),
}
MICRO = (32, 64, 32, 24, 2, 2)


def diffusers_kwargs(c):
    dim, ffn, freq, text, heads, layers = c
    return dict(patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=dim // heads,
                in_channels=16, out_channels=16, text_dim=text, freq_dim=freq, ffn_dim=ffn,
                num_layers=layers, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                eps=1e-6)


def official_kwargs(c):
    dim, ffn, freq, text, heads, layers = c
    return dict(model_type="t2v", patch_size=(1, 2, 2), text_len=512, in_dim=16, dim=dim,
                ffn_dim=ffn, freq_dim=freq, text_dim=text, out_dim=16, num_heads=heads,
                num_layers=layers, window_size=(-1, -1), qk_norm=True, cross_attn_norm=True,
                eps=1e-6)


def wan_model_py(wan):
    if os.path.isfile(os.path.join(wan, "wan", "modules", "model.py")):
        return os.path.join(wan, "wan", "modules", "model.py")
    git = ["git", "--git-dir", wan]
    commit = subprocess.check_output(git + ["rev-parse", "HEAD"], text=True).strip()
    src = subprocess.check_output(git + ["show", commit + ":wan/modules/model.py"], text=True)
    tmp = tempfile.NamedTemporaryFile("w", suffix="_wan_model.py", delete=False)
    tmp.write(src)
    tmp.close()
    return tmp.name


def load_wan(path):
    """Imports wan/modules/model.py without wan/__init__.py (which imports the whole pipeline).
    Attention is never called here: only module construction and state_dict()."""
    for pkg in ("wan", "wan.modules"):
        mod = types.ModuleType(pkg)
        mod.__path__ = []
        sys.modules[pkg] = mod
    att = types.ModuleType("wan.modules.attention")
    att.flash_attention = None
    sys.modules["wan.modules.attention"] = att
    spec = importlib.util.spec_from_file_location("wan.modules.model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["wan.modules.model"] = module
    spec.loader.exec_module(module)
    return module


def write_names(path, sd):
    with open(path, "w") as f:
        for k, v in sd.items():
            f.write("%s\t%s\n" % (k, ",".join(str(d) for d in v.shape)))


def leading_values(sd, names, n=6):
    return {k: [float(x) for x in sd[k].float().flatten()[:n]] for k in names}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures")
    ap.add_argument("--wan", help="Wan2.1 checkout or its git directory (official layout)")
    args = ap.parse_args()
    names_dir = os.path.join(args.out, "names")
    st_dir = os.path.join(args.out, "safetensors")
    os.makedirs(names_dir, exist_ok=True)
    os.makedirs(st_dir, exist_ok=True)
    wan = load_wan(wan_model_py(args.wan)) if args.wan else None

    for name, c in CONFIGS.items():
        with torch.device("meta"):
            m = WanTransformer3DModel(**diffusers_kwargs(c))
        write_names(os.path.join(names_dir, name + ".diffusers.txt"), m.state_dict())
        if wan:
            with torch.device("meta"):
                w = wan.WanModel(**official_kwargs(c))
            write_names(os.path.join(names_dir, name + ".official.txt"), w.state_dict())

    # Real files written by the reference writers, read back by tests/safetensors.
    torch.manual_seed(0)
    m = WanTransformer3DModel(**diffusers_kwargs(MICRO)).to(torch.bfloat16)
    m.save_pretrained(os.path.join(st_dir, "micro-diffusers"))
    m.save_pretrained(os.path.join(st_dir, "micro-diffusers-sharded"), max_shard_size="40KB")
    sd = m.state_dict()
    picks = ["patch_embedding.weight", "blocks.1.attn1.to_q.weight", "proj_out.bias",
             "scale_shift_table", "blocks.0.ffn.net.2.weight"]
    with open(os.path.join(st_dir, "micro-diffusers.values.json"), "w") as f:
        json.dump(leading_values(sd, picks), f, indent=1)
    if wan:
        torch.manual_seed(1)
        w = wan.WanModel(**official_kwargs(MICRO)).to(torch.bfloat16)
        for p in w.parameters():  # WanModel zero-initialises head and biases: make them visible
            p.data.normal_(0, 0.5)
        w.save_pretrained(os.path.join(st_dir, "micro-official"))
        picks = ["patch_embedding.weight", "blocks.1.self_attn.q.weight", "head.head.bias",
                 "head.modulation", "time_projection.1.weight"]
        with open(os.path.join(st_dir, "micro-official.values.json"), "w") as f:
            json.dump(leading_values(w.state_dict(), picks), f, indent=1)

    t = {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 2,
        "f16": (torch.arange(6, dtype=torch.float32) * 0.25 - 0.5).to(torch.float16).reshape(2, 3),
        "bf16": (torch.arange(8, dtype=torch.float32) * 1.5 - 3).to(torch.bfloat16).reshape(2, 2, 2),
        "f64": torch.arange(3, dtype=torch.float64) / 3,
        "i64": torch.arange(4, dtype=torch.int64) - 2**40,
        "i32": torch.arange(5, dtype=torch.int32) * -7,
        "u8": torch.arange(7, dtype=torch.uint8) * 30,
        "scalar": torch.tensor(3.25, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.float32),
    }
    save_file(t, os.path.join(st_dir, "dtypes.safetensors"), metadata={"format": "pt"})  # one key: safetensors orders metadata by hash
    with open(os.path.join(st_dir, "dtypes.values.json"), "w") as f:
        json.dump({k: {"shape": list(v.shape), "values": [float(x) for x in v.double().flatten()]}
                   for k, v in t.items()}, f, indent=1)


if __name__ == "__main__":
    main()
