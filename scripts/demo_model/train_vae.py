"""train_vae.py — trains the reduced-width Wan-VAE (diffusers AutoencoderKLWan) of the demo model
on clips of the synthetic world (world.py), on CPU or GPU, until a wall-time budget runs out.

The latent space is the fixed code of latents.py (why: see there). The decoder learns to turn a
clip's designed latents into its frames (L1 + MSE on frames in [-1, 1], pixels far from their
frame's mean colour, the objects, weighted 5x); every --enc-every steps
the encoder also learns to reproduce the designed latents from the frames (MSE on the posterior
mean). The architecture is the config of `shotfarm mkmodel --vae-dim N` (base width N, z_dim 16,
strides 4x8x8), so the weights load in shotfarm unchanged. The taps of every causal 3D
convolution on past frames are held at zero (zero_temporal_taps): each latent frame decodes on
its own (its four frames from it alone), since a decoder trained briefly on short clips otherwise
drifts in colour over a long shot through its causal caches. Writes OUT/vae/ (config.json with
the designed latents' per-channel mean/std, which shotfarm normalises with;
diffusion_pytorch_model.safetensors, fp32), the loss log OUT/vae_loss.tsv and a checkpoint
OUT/vae_ckpt.pt every --ckpt-every steps (a rerun resumes from it).

  /opt/sf-ref/bin/python scripts/demo_model/train_vae.py --skeleton SKEL/vae --out OUT \
      --minutes 14 --seed 30
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from diffusers import AutoencoderKLWan

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latents  # noqa: E402
import world  # noqa: E402

SIZES = ((64, 64), (128, 64), (64, 128))


def zero_temporal_taps(vae):
    """Holds every causal 3D convolution's taps on past frames at zero (the last tap is the
    current frame): each latent frame then decodes from itself alone, so decoding a long shot
    cannot drift through the causal caches, and what is learnt on 2 latent frames holds for 27."""
    with torch.no_grad():
        for m in vae.modules():
            if isinstance(m, torch.nn.Conv3d) and m.kernel_size[0] > 1:
                m.weight[:, :, :-1].zero_()


def batch(rng, n, frames, crop=0):
    """n clips of the world as (frames [n,3,F,H,W] in [-1,1], raw designed latents); with crop,
    a crop x crop window (multiple of 8) of each."""
    W, H = SIZES[int(rng.integers(len(SIZES)))] if rng.random() < 0.3 else (64, 64)
    clips = []
    for _ in range(n):
        v = world.render_clip(world.random_spec(rng, allow_held_out=True), W, H, frames)
        if crop:
            y0 = 8 * int(rng.integers((H - crop) // 8 + 1))
            x0 = 8 * int(rng.integers((W - crop) // 8 + 1))
            v = v[:, y0:y0 + crop, x0:x0 + crop]
        clips.append(v)
    x = torch.from_numpy(np.stack(clips)).float().permute(0, 4, 1, 2, 3) / 127.5 - 1
    z = torch.from_numpy(np.stack([latents.encode(v) for v in clips]))
    return x, z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skeleton", required=True, help="mkmodel's vae/ directory (the config)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=14)
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--crop", type=int, default=32, help="train on crops this size (0: whole)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--enc-every", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    # the designed latents' statistics (what shotfarm normalises with)
    srng = np.random.default_rng(a.seed + 7)
    zs = [latents.encode(world.render_clip(world.random_spec(srng, allow_held_out=True), 64, 64,
                                           17)) for _ in range(300)]
    mean, std = latents.stats(zs)
    cfg = json.load(open(os.path.join(a.skeleton, "config.json")))
    keep = {k: v for k, v in cfg.items() if not k.startswith("_")}
    keep["latents_mean"] = [round(float(v), 5) for v in mean]
    keep["latents_std"] = [round(float(max(v, 1e-3)), 5) for v in std]
    vae = AutoencoderKLWan(**keep)
    opt = torch.optim.AdamW(vae.parameters(), lr=a.lr, weight_decay=0.0)
    ck = os.path.join(a.out, "vae_ckpt.pt")
    step, spent = 0, 0.0
    if os.path.exists(ck):
        st = torch.load(ck, weights_only=False)
        vae.load_state_dict(st["model"])
        if st["opt"]:
            opt.load_state_dict(st["opt"])
        step, spent = st["step"], st["spent"]
    zero_temporal_taps(vae)
    rng = np.random.default_rng(a.seed * 1000 + step)
    log = open(os.path.join(a.out, "vae_loss.tsv"), "a")
    if step == 0:
        log.write("step\twall_s\tdecoder_loss\tencoder_mse\n")
    t0 = time.time() - spent
    sd = torch.tensor(keep["latents_std"]).view(1, 16, 1, 1, 1)
    while time.time() - t0 < a.minutes * 60:
        x, z = batch(rng, a.batch, a.frames, a.crop)
        y = vae.decode(z).sample
        # objects are few pixels: weight those far from their frame's mean colour 5x
        far = ((x - x.mean(dim=(3, 4), keepdim=True)).abs().sum(1, keepdim=True) > 0.6).float()
        w = 1 + 4 * far
        loss = (w * (y - x).abs()).mean() + (w * (y - x).pow(2)).mean()
        enc = float("nan")
        if step % a.enc_every == 0:
            mu = vae.encode(x).latent_dist.mean
            e = ((mu - z) / sd).pow(2).mean()
            loss = loss + e
            enc = e.item()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        zero_temporal_taps(vae)
        step += 1
        log.write(f"{step}\t{time.time() - t0:.1f}\t{loss.item() - (0 if enc != enc else enc):.5f}"
                  f"\t{enc:.5f}\n")
        log.flush()
        if step % a.ckpt_every == 0:
            torch.save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step,
                        "spent": time.time() - t0}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    vae.save_pretrained(os.path.join(a.out, "vae"), safe_serialization=True)
    print(f"train_vae: {step} steps in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
