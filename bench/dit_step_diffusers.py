#!/usr/bin/env python3
"""One guided DiT step (both CFG branches batched, as bench/dit_step runs them) of diffusers'
WanTransformer3DModel on CPU in fp32, the peer of bench/dit_step.c in BENCHMARKS.md.

Loads the official-layout weights `shotfarm mkmodel` wrote (any dtype; widened to fp32) by
mapping every diffusers parameter name through scripts/golden/dit.py's diffusers_to_official
(WAN-FACTS § 4), warms up with a 1x2x2 latent, then times one step per --latent.

Run: /opt/sf-ref/bin/python bench/dit_step_diffusers.py --model /tmp/m13 [--threads 2]
     [--latent 2,32,32] [--latent 2,60,104]
On a GPU (the peer of bench/dit_step --device cuda, docs/gpu.md): --device cuda --dtype bf16;
a diffusers-layout model (`shotfarm mkmodel --component dit`) loads too.
"""
import argparse
import json
import os
import sys
import time

import torch
from diffusers import WanTransformer3DModel
from safetensors import safe_open

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                                "golden"))
from dit import diffusers_to_official  # noqa: E402


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if "num_attention_heads" in cfg:  # a diffusers config: the official keys used below
        cfg = dict(cfg, num_heads=cfg["num_attention_heads"],
                   dim=cfg["num_attention_heads"] * cfg["attention_head_dim"],
                   in_dim=cfg["in_channels"], out_dim=cfg["out_channels"])
    heads = cfg["num_heads"]
    m = WanTransformer3DModel(
        patch_size=tuple(cfg.get("patch_size", (1, 2, 2))), num_attention_heads=heads,
        attention_head_dim=cfg["dim"] // heads, in_channels=cfg["in_dim"],
        out_channels=cfg["out_dim"], text_dim=cfg.get("text_dim", 4096), freq_dim=cfg["freq_dim"],
        ffn_dim=cfg["ffn_dim"], num_layers=cfg["num_layers"], cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", eps=cfg.get("eps", 1e-6))
    files = [f for f in os.listdir(model_dir) if f.endswith(".safetensors")]
    handles = [safe_open(os.path.join(model_dir, f), "pt") for f in files]
    where = {k: h for h in handles for k in h.keys()}
    with torch.no_grad():  # one tensor at a time: the fp32 model alone is 5.7 GB
        for name, p in m.state_dict().items():
            off = name if name in where else diffusers_to_official(name)
            p.copy_(where[off].get_tensor(off).float().reshape(p.shape))
    return m.eval(), cfg


def step(m, cfg, lat, device="cpu", dtype=torch.float32):
    x = torch.randn(2, cfg["in_dim"], *lat, device=device, dtype=dtype)
    ctx = torch.zeros(2, 512, cfg.get("text_dim", 4096), device=device, dtype=dtype)
    t = torch.tensor([500.0, 500.0], device=device)
    with torch.no_grad():
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        m(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--latent", action="append")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    lats = [tuple(int(v) for v in s.split(",")) for s in (a.latent or ["2,32,32", "2,60,104"])]
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    m, cfg = load(a.model)
    m = m.to(device=a.device, dtype=dtype)
    print("warm-up (1x2x2): %.1f s" % step(m, cfg, (1, 2, 2), a.device, dtype), flush=True)
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for lat in lats:
        dt = step(m, cfg, lat, a.device, dtype)
        tokens = lat[0] * (lat[1] // 2) * (lat[2] // 2)
        mem = (", peak %.2f GiB" % (torch.cuda.max_memory_allocated() / 2**30)
               if a.device == "cuda" else "")
        print("diffusers %s %s %s tokens %d: step %.2f s (load %.1f)%s"
              % (a.dtype, a.device, "x".join(map(str, lat)), tokens, dt, os.getloadavg()[0], mem),
              flush=True)


if __name__ == "__main__":
    main()
