#!/usr/bin/env python3
"""The GPU peer of bench/dit_step --device cuda: one guided step (both CFG branches as a batch of
two) of the Wan2.1 DiT written in plain PyTorch (bf16 weights and activations, attention by
torch's scaled_dot_product_attention, i.e. its flash kernel), for GPU machines that have torch but
not diffusers (NOTES-infra § A GPU machine). The computation is Wan's (WAN-FACTS § 3), written
here from that description; `--check` holds it to a diffusers reference fixture first, so the
timing is of the same model.

Run:  python3 bench/dit_step_torch.py --model /tmp/sf-m13-bf16 --latent 21,60,104
      python3 bench/dit_step_torch.py --check tests/fixtures/dit/h3-f32   (CPU, fp32, 1e-4)
Reads a diffusers-layout DiT (`shotfarm mkmodel --component dit`): config.json and
diffusion_pytorch_model*.safetensors.
"""
import argparse
import glob
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

TEXT_LEN = 512


def load(model_dir, device, dtype):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "*.safetensors"))):
        w.update(load_file(path))
    w = {k: v.to(device=device, dtype=dtype) for k, v in w.items()}
    return cfg, w


def rope_tables(d, grid, device):
    """cos/sin (L, d/2) for Wan's 3D RoPE: frame, row, column groups of pairs, in float64."""
    n_hw = d // 6
    n_f = d // 2 - 2 * n_hw
    parts = []
    for n_pairs, positions in ((n_f, grid[0]), (n_hw, grid[1]), (n_hw, grid[2])):
        i = torch.arange(n_pairs, dtype=torch.float64)
        freq = 10000.0 ** (-(2 * i) / (2 * n_pairs))
        parts.append(torch.arange(positions, dtype=torch.float64)[:, None] * freq[None, :])
    f, h, w = parts
    ang = torch.cat([f[:, None, None, :].expand(grid[0], grid[1], grid[2], -1),
                     h[None, :, None, :].expand(grid[0], grid[1], grid[2], -1),
                     w[None, None, :, :].expand(grid[0], grid[1], grid[2], -1)], dim=-1)
    ang = ang.reshape(-1, d // 2)
    return torch.cos(ang).to(device), torch.sin(ang).to(device)


def rope(x, cos, sin):
    """x (B, L, H, d) with interleaved (re, im) pairs, rotated in float64 as the reference."""
    xd = x.double().unflatten(-1, (-1, 2))
    re, im = xd[..., 0], xd[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack([re * c - im * s, re * s + im * c], dim=-1).flatten(-2)
    return out.to(x.dtype)


def rms(x, wgt, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * wgt


def lin(w, name, x):
    return F.linear(x, w[name + ".weight"], w.get(name + ".bias"))


def attention(q, k, v, heads):
    B, Lq, D = q.shape
    split = lambda t: t.unflatten(-1, (heads, D // heads)).transpose(1, 2)
    o = F.scaled_dot_product_attention(split(q), split(k), split(v))
    return o.transpose(1, 2).flatten(2)


def forward(cfg, w, x, t, ctx, cos_sin):
    """x (B, C, F, H, W); t (B,); ctx (B, TEXT_LEN, text_dim), zero-padded. Returns (B, C, F, H, W)."""
    heads, eps = cfg["num_attention_heads"], cfg.get("eps", 1e-6)
    D = heads * cfg["attention_head_dim"]
    pt, ph, pw = cfg["patch_size"]
    B, C, Fr, H, W = x.shape
    grid = (Fr // pt, H // ph, W // pw)
    h = F.conv3d(x, w["patch_embedding.weight"], w["patch_embedding.bias"], stride=(pt, ph, pw))
    xs = h.flatten(2).transpose(1, 2).float()  # (B, L, D): the fp32 residual stream
    half = cfg["freq_dim"] // 2
    f = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / half)
    arg = t.double()[:, None].cpu() * f[None, :]
    sinus = torch.cat([torch.cos(arg), torch.sin(arg)], dim=1).to(x.device, x.dtype)
    e = lin(w, "condition_embedder.time_embedder.linear_2",
            F.silu(lin(w, "condition_embedder.time_embedder.linear_1", sinus)))
    e0 = lin(w, "condition_embedder.time_proj", F.silu(e)).unflatten(1, (6, D))
    c = lin(w, "condition_embedder.text_embedder.linear_2",
            F.gelu(lin(w, "condition_embedder.text_embedder.linear_1", ctx), approximate="tanh"))
    cos, sin = cos_sin
    dt = x.dtype
    for i in range(cfg["num_layers"]):
        p = f"blocks.{i}."
        mod = (w[p + "scale_shift_table"].float() + e0.float()).chunk(6, dim=1)
        shift, scale, gate, c_shift, c_scale, c_gate = (m.squeeze(1) for m in mod)
        n = F.layer_norm(xs, (D,), eps=eps) * (1 + scale[:, None]) + shift[:, None]
        n = n.to(dt)
        q = rms(lin(w, p + "attn1.to_q", n), w[p + "attn1.norm_q.weight"], eps)
        k = rms(lin(w, p + "attn1.to_k", n), w[p + "attn1.norm_k.weight"], eps)
        v = lin(w, p + "attn1.to_v", n)
        q = rope(q.unflatten(-1, (heads, -1)), cos, sin).flatten(2)
        k = rope(k.unflatten(-1, (heads, -1)), cos, sin).flatten(2)
        xs = xs + lin(w, p + "attn1.to_out.0", attention(q, k, v, heads)).float() * gate[:, None]
        n = F.layer_norm(xs, (D,), w[p + "norm2.weight"].float(), w[p + "norm2.bias"].float(),
                         eps=eps).to(dt)
        q = rms(lin(w, p + "attn2.to_q", n), w[p + "attn2.norm_q.weight"], eps)
        k = rms(lin(w, p + "attn2.to_k", c), w[p + "attn2.norm_k.weight"], eps)
        v = lin(w, p + "attn2.to_v", c)
        xs = xs + lin(w, p + "attn2.to_out.0", attention(q, k, v, heads)).float()
        n = (F.layer_norm(xs, (D,), eps=eps) * (1 + c_scale[:, None]) + c_shift[:, None]).to(dt)
        ff = lin(w, p + "ffn.net.2", F.gelu(lin(w, p + "ffn.net.0.proj", n), approximate="tanh"))
        xs = xs + ff.float() * c_gate[:, None]
    shift, scale = (w["scale_shift_table"].float() + e.float()[:, None]).chunk(2, dim=1)
    n = (F.layer_norm(xs, (D,), eps=eps) * (1 + scale) + shift).to(dt)
    rows = lin(w, "proj_out", n)  # (B, L, pt*ph*pw*C)
    rows = rows.reshape(B, *grid, pt, ph, pw, C)
    return rows.permute(0, 7, 1, 4, 2, 5, 3, 6).reshape(B, C, Fr, H, W)


def check(fixture):
    cfg, w = load(fixture, "cpu", torch.float32)
    ins = load_file(fixture + ".in.safetensors")
    ref = load_file(fixture + ".ref.safetensors")["out"]
    x, ctx = ins["x"][None].float(), ins["context"].float()
    t = ins["t"].reshape(-1)[:1].float()
    pad = torch.zeros(1, TEXT_LEN, ctx.shape[1])
    pad[0, :ctx.shape[0]] = ctx
    pt, ph, pw = cfg["patch_size"]
    grid = (x.shape[2] // pt, x.shape[3] // ph, x.shape[4] // pw)
    out = forward(cfg, w, x, t, pad, rope_tables(cfg["attention_head_dim"], grid, "cpu"))[0]
    err = (out - ref).abs().max().item() / ref.abs().max().item()
    print(f"{fixture}: max|a-b| = {err:.3g} max|ref| (tolerance 1e-4)")
    return err <= 1e-4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--latent", default="21,60,104")
    ap.add_argument("--check", help="a diffusers fixture (tests/fixtures/dit/NAME): compare, exit")
    a = ap.parse_args()
    if a.check:
        raise SystemExit(0 if check(a.check) else 1)
    dev = "cuda"
    cfg, w = load(a.model, dev, torch.bfloat16)
    Fr, H, W = (int(v) for v in a.latent.split(","))
    pt, ph, pw = cfg["patch_size"]
    grid = (Fr // pt, H // ph, W // pw)
    cs = rope_tables(cfg["attention_head_dim"], grid, dev)
    C = cfg["in_channels"]
    x = torch.randn(2, C, Fr, H, W, device=dev, dtype=torch.bfloat16)
    ctx = torch.zeros(2, TEXT_LEN, cfg["text_dim"], device=dev, dtype=torch.bfloat16)
    t = torch.full((2,), 500.0, device=dev)
    with torch.no_grad():
        forward(cfg, w, x[:, :, :1, :2, :2].contiguous(), t, ctx,
                rope_tables(cfg["attention_head_dim"], (1, 1, 1), dev))  # warm-up
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        forward(cfg, w, x, t, ctx, cs)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    L = grid[0] * grid[1] * grid[2]
    print(json.dumps({"impl": "torch (plain Wan2.1 DiT, bf16, sdpa)", "device":
                      torch.cuda.get_device_name(), "torch": torch.__version__, "latent": a.latent,
                      "tokens": L, "step_seconds": round(dt, 3),
                      "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}))


if __name__ == "__main__":
    main()
