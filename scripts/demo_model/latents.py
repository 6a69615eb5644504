"""latents.py — the demo model's fixed latent code: what the DiT is trained to generate and the
Wan-VAE decoder is trained to turn back into frames (train_vae.py, train_dit.py).

Encoding clips with the Wan-VAE encoder in diffusers is far too slow on 2 CPU cores to make the
DiT's training set (seconds per clip), so the latent space is designed rather than learnt: for
latent frame k (pixel frame 4k, Wan's causal 1 + 4(T-1) layout) and each 8x8 pixel block, 16
channels = the mean RGB of the block's four 4x4 quadrants (12) and the luminance standard
deviation in each quadrant (4: texture). The Wan-VAE decoder learns to invert it (to all 4 frames
a latent frame stands for), and the encoder is trained to reproduce it, so a decoded latent is a
picture and an encoded picture is a latent of the same space. Normalised by the per-channel
mean/std of the training world (written into vae/config.json, which shotfarm reads).
"""
import numpy as np


def encode(frames, subsampled=False):
    """frames uint8 [F, H, W, 3] (F = 4n+1, H, W multiples of 8) -> float32 [16, T, H/8, W/8];
    subsampled: frames holds only frames 0, 4, 8, ... already (world.render_clip every=4)."""
    F, H, W, _ = frames.shape
    x = (frames if subsampled else frames[::4]).astype(np.float32) / 127.5 - 1  # [T, H, W, 3]
    T = x.shape[0]
    q = x.reshape(T, H // 4, 4, W // 4, 4, 3)
    mean = q.mean(axis=(2, 4))                       # [T, H/4, W/4, 3]
    lum = q.mean(axis=5)                             # [T, H/4, 4, W/4, 4]
    sd = lum.std(axis=(2, 4))                        # [T, H/4, W/4]
    h, w = H // 8, W // 8
    m = mean.reshape(T, h, 2, w, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(T, h, w, 12)
    s = sd.reshape(T, h, 2, w, 2).transpose(0, 1, 3, 2, 4).reshape(T, h, w, 4)
    z = np.concatenate([m, s], axis=-1)             # [T, h, w, 16]
    return np.ascontiguousarray(z.transpose(3, 0, 1, 2))


def stats(latents):
    """Per-channel mean and std over a list of [16, T, h, w] latents."""
    a = np.concatenate([z.reshape(16, -1) for z in latents], axis=1)
    return a.mean(axis=1), a.std(axis=1)
