#!/opt/sf-ref/bin/python
"""Golden fixtures for the Wan-VAE (node/vae.c), made by the reference implementations.

Writes under tests/fixtures/vae/:
  small/vae/{config.json,diffusion_pytorch_model.safetensors}  reduced-width AutoencoderKLWan
      (base_dim 4, dim_mult [1,2,4,4]), fp32, diffusers names: a pipeline dir's vae component.
  official/Wan2.1_VAE.safetensors  the same architecture with the official Wan2.1 names
      (wan/modules/vae.py WanVAE_), bf16 weights, other values.
  cases.safetensors  inputs and reference outputs (see CASES below).
  names_full.txt  "name shape" of every tensor of the full AutoencoderKLWan() (base_dim 96),
      diffusers layout, for the mkmodel/name-map test.

Weights come from a counter hash that sf_vae_fill (node/vae_names.c, used by `shotfarm mkmodel
--component vae`) reproduces bit for bit, so the full base-width model (127M parameters, too big
to commit) is rebuilt by the C test with mkmodel (seed 0, bf16):
  seed = fnv1a32(name); h = fmix32(seed + i * 0x9E3779B9) (uint32 wrap); u = (h >> 8) / 2^24
  value = (2u - 1) * scale, in double, rounded to fp32 (bf16 files: then rounded to bf16)
  scale: 1/sqrt(fan_in) for tensors with >= 2 dims, gamma: value + 1 with scale 0.25,
  bias: 0.05.
Run: /opt/sf-ref/bin/python scripts/golden/vae.py --wan-vae /path/to/Wan2.1/wan/modules/vae.py
(Wan-Video/Wan2.1 @9737cba; needs einops). The official fixture's outputs come from WanVAE_ and
the script checks that diffusers gives the same numbers with the mapped names.
"""
import argparse
import importlib.util
import json
import math
import os
import sys

import numpy as np
import torch
from diffusers import AutoencoderKLWan
from diffusers.video_processor import VideoProcessor
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_num_threads(2)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "vae")


def fnv1a32(s):
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def fmix32(h):
    h = h.astype(np.uint64)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return h


def hash_tensor(name, shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    h = fmix32((np.uint64(fnv1a32(name)) + i * np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF))
    u = (h >> np.uint64(8)).astype(np.float64) / 16777216.0
    if name.endswith("gamma"):
        v = (2 * u - 1) * 0.25 + 1.0
    elif len(shape) >= 2:
        v = (2 * u - 1) * (1.0 / math.sqrt(int(np.prod(shape[1:]))))
    else:
        v = (2 * u - 1) * 0.05
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def hash_fill(model, bf16=False):
    sd = model.state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            v = hash_tensor(name, tuple(t.shape))
            t.copy_(v.bfloat16().float() if bf16 else v)


RES = {"residual.0": "norm1", "residual.2": "conv1", "residual.3": "norm2", "residual.6": "conv2",
       "shortcut": "conv_shortcut"}


def official_to_diffusers(name, cfg):
    """Official Wan2.1 VAE name -> diffusers AutoencoderKLWan name (WAN-FACTS § 4)."""
    p = name.split(".")
    if p[0] in ("conv1", "conv2"):
        return {"conv1": "quant_conv", "conv2": "post_quant_conv"}[p[0]] + "." + p[1]
    side, part = p[0], p[1]
    if part == "conv1":
        return f"{side}.conv_in.{p[2]}"
    if part == "head":
        return f"{side}.{ {'0': 'norm_out', '2': 'conv_out'}[p[2]] }.{p[3]}"
    rest = ".".join(p[3:])
    for k, v in RES.items():
        if rest.startswith(k + "."):
            rest = v + rest[len(k):]
    if part == "middle":
        k = int(p[2])
        blk = "attentions.0" if k == 1 else f"resnets.{k // 2}"
        return f"{side}.mid_block.{blk}.{rest}"
    if part == "downsamples":
        return f"{side}.down_blocks.{p[2]}.{rest}"
    if part == "upsamples":
        k, per, n = int(p[2]), cfg["num_res_blocks"] + 1, len(cfg["dim_mult"])
        flat = 0
        for i in range(n):
            for j in range(per):
                if flat == k:
                    return f"{side}.up_blocks.{i}.resnets.{j}.{rest}"
                flat += 1
            if i != n - 1:
                if flat == k:
                    return f"{side}.up_blocks.{i}.upsamplers.0.{rest}"
                flat += 1
    raise KeyError(name)


def load_official(path):
    spec = importlib.util.spec_from_file_location("wan_vae", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def u8_frames(x):
    """The diffusers pipeline's output mapping: (x/2 + 0.5).clamp(0, 1), *255, round."""
    vp = VideoProcessor(vae_scale_factor=8)
    v = vp.postprocess_video(x, output_type="np")[0]  # (frames, H, W, 3) in [0, 1]
    return torch.from_numpy(np.round(v * 255.0).astype(np.float32))


def psnr(a, b):
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(4.0 / mse) if mse > 0 else float("inf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wan-vae", help="path of Wan2.1 wan/modules/vae.py (optional)")
    args = ap.parse_args()
    cases = {}
    g = torch.Generator().manual_seed(11)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).float()

    def urnd(*shape):
        return (torch.rand(*shape, generator=g) * 2 - 1).float()

    # ---- reduced width, diffusers layout, fp32 ------------------------------------------
    cfg = dict(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2)
    vae = AutoencoderKLWan(**cfg).eval()
    hash_fill(vae)
    vae.save_pretrained(os.path.join(OUT, "small", "vae"), safe_serialization=True)
    with torch.no_grad():
        z = rnd(1, 16, 1, 4, 6, scale=1.5)
        cases["dec1.z"], cases["dec1.x"] = z[0], vae.decode(z).sample[0]
        z = rnd(1, 16, 3, 3, 5, scale=1.5)
        x = vae.decode(z).sample
        cases["dec3.z"], cases["dec3.x"] = z[0], x[0]
        cases["dec3.u8"] = u8_frames(x)
        cases["dec3.u16"] = torch.round(((x[0] / 2 + 0.5).clamp(0, 1)) * 65535.0)
        x = urnd(1, 3, 1, 32, 48)
        cases["enc1.x"], cases["enc1.z"] = x[0], vae.encode(x).latent_dist.mode()[0]
        x = urnd(1, 3, 9, 24, 40)
        cases["enc9.x"], cases["enc9.z"] = x[0], vae.encode(x).latent_dist.mode()[0]
        # tiled decode: tiles of 32 px with stride 24 px over a 48x64 frame (latent 6x8)
        z = rnd(1, 16, 2, 6, 8, scale=1.5)
        full = vae.decode(z).sample
        vae.enable_tiling(tile_sample_min_height=32, tile_sample_min_width=32,
                          tile_sample_stride_height=24, tile_sample_stride_width=24)
        tiled = vae.decode(z).sample
        vae.use_tiling = False
        cases["tile.z"], cases["tile.x"], cases["tile.full"] = z[0], tiled[0], full[0]
        print(f"tiled vs untiled decode (diffusers): PSNR {psnr(tiled, full):.2f} dB")
        for k in ("dec1.x", "dec3.x", "tile.x"):
            v = cases[k]
            print(f"{k}: max|x| {float(v.abs().max()):.3f}, clamped {float((v.abs() >= 1).float().mean()):.3f}")

    # ---- the same architecture in the official layout, bf16 weights -----------------------
    off_sd = {}
    dif_sd = vae.state_dict()
    names = list(dif_sd.keys())
    ocfg = dict(dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                temperal_downsample=[False, True, True], dropout=0.0)
    if args.wan_vae:
        wan = load_official(args.wan_vae)
        ovae = wan.WanVAE_(**ocfg).eval()
        onames = list(ovae.state_dict().keys())
    else:
        ovae, onames = None, None
    # values: hash of "official/" + diffusers name, rounded to bf16
    vae2 = AutoencoderKLWan(**cfg).eval()
    with torch.no_grad():
        for n, t in vae2.state_dict().items():
            t.copy_(hash_tensor("official/" + n, tuple(t.shape)).bfloat16().float())
    d2 = vae2.state_dict()
    if onames is not None:
        mapped = {official_to_diffusers(o, cfg): o for o in onames}
        assert sorted(mapped) == sorted(names), "official/diffusers name sets differ"
        osd = ovae.state_dict()
        with torch.no_grad():
            for dn, on in mapped.items():
                osd[on].copy_(d2[dn])
        off_names = onames
    else:
        raise SystemExit("--wan-vae is required to build the official fixture")
    for on in off_names:
        off_sd[on] = osd[on].bfloat16().contiguous()
    os.makedirs(os.path.join(OUT, "official"), exist_ok=True)
    save_file(off_sd, os.path.join(OUT, "official", "Wan2.1_VAE.safetensors"))
    with torch.no_grad():
        z = rnd(1, 16, 2, 3, 5, scale=1.5)
        ident = [torch.zeros(16), torch.ones(16)]
        xo = ovae.decode(z, ident).clamp(-1, 1)
        xd = vae2.decode(z).sample
        print(f"official vs diffusers decode: max diff {float((xo - xd).abs().max()):.2e}")
        assert float((xo - xd).abs().max()) < 1e-4
        cases["off_dec.z"], cases["off_dec.x"] = z[0], xo[0]
        x = urnd(1, 3, 5, 24, 40)
        mo = ovae.encode(x, ident)
        md = vae2.encode(x).latent_dist.mode()
        print(f"official vs diffusers encode: max diff {float((mo - md).abs().max()):.2e}")
        assert float((mo - md).abs().max()) < 1e-4
        cases["off_enc.x"], cases["off_enc.z"] = x[0], mo[0]

    # ---- full base width 96 (weights rebuilt by the test from the hash) -------------------
    full = AutoencoderKLWan().eval()
    hash_fill(full, bf16=True)  # = shotfarm mkmodel --component vae --seed 0 (bf16)
    with torch.no_grad():
        z = rnd(1, 16, 2, 4, 6, scale=1.5)
        x = full.decode(z).sample
        cases["full_dec.z"], cases["full_dec.x"] = z[0], x[0]
        print(f"full_dec.x: max|x| {float(x.abs().max()):.3f}, clamped {float((x.abs() >= 1).float().mean()):.3f}")
        x = urnd(1, 3, 1, 32, 48)
        cases["full_enc.x"], cases["full_enc.z"] = x[0], full.encode(x).latent_dist.mode()[0]
    with open(os.path.join(OUT, "names_full.txt"), "w") as f:
        for n, t in full.state_dict().items():
            f.write(f"{n} {','.join(str(s) for s in t.shape)}\n")

    save_file({k: v.contiguous() for k, v in cases.items()}, os.path.join(OUT, "cases.safetensors"))
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
