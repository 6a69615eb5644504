#!/opt/sf-ref/bin/python
"""Same-run baseline for bench/vae_decode: diffusers AutoencoderKLWan (base width 96, random
weights: speed does not depend on the values) decoding a random latent on CPU with 2 threads.
Prints time, per-chunk time and peak RSS.
  /opt/sf-ref/bin/python bench/vae_decode_diffusers.py [--frames 2] [--height 256] [--width 256]"""
import argparse
import resource
import time

import torch
from diffusers import AutoencoderKLWan

ap = argparse.ArgumentParser()
ap.add_argument("--frames", type=int, default=2)
ap.add_argument("--height", type=int, default=256)
ap.add_argument("--width", type=int, default=256)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
vae = AutoencoderKLWan().eval()
z = torch.randn(1, 16, a.frames, a.height // 8, a.width // 8) * 1.5
with torch.no_grad():
    t0, c0 = time.time(), time.process_time()
    vae.clear_cache()
    x = vae.post_quant_conv(z)
    times, ctimes = [], []
    for i in range(a.frames):
        t1, c1 = time.time(), time.process_time()
        vae._conv_idx = [0]
        vae.decoder(x[:, :, i:i + 1], feat_cache=vae._feat_map, feat_idx=vae._conv_idx,
                    first_chunk=(i == 0))
        times.append(time.time() - t1)
        ctimes.append(time.process_time() - c1)
    total, ctotal = time.time() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
per = sum(times[1:]) / max(1, len(times) - 1) if len(times) > 1 else times[0]
cper = sum(ctimes[1:]) / max(1, len(ctimes) - 1) if len(ctimes) > 1 else ctimes[0]
print(f"diffusers vae decode: {a.frames} latent frames -> {1 + 4 * (a.frames - 1)} frames of "
      f"{a.width}x{a.height}, {a.threads} threads: wall {total:.2f} s (first chunk {times[0]:.2f} s, "
      f"then {per:.2f} s per latent frame; 81 frames extrapolated {times[0] + 20 * per:.0f} s), "
      f"CPU {ctotal:.2f} s (first {ctimes[0]:.2f}, then {cper:.2f}; 81 frames "
      f"{ctimes[0] + 20 * cper:.0f} s), peak RSS {rss:.0f} MB")
