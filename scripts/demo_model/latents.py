"""latents.py — the demo model's fixed latent code: what the DiT is trained to generate and the
Wan-VAE decoder is trained to turn back into frames (train_vae.py, train_dit.py).

Encoding clips with the Wan-VAE encoder in diffusers is far too slow on 2 CPU cores to make the
DiT's training set (seconds per clip), so the latent space is designed rather than learnt: for
latent frame k (pixel frame 4k, Wan's causal 1 + 4(T-1) layout) and each 8x8 pixel block, 16
channels: the block's mean RGB (3), the Haar details of its four 4x4 quadrants' mean RGB
(horizontal, vertical, diagonal: 9) and the luminance standard deviation in each quadrant (4:
texture). The Wan-VAE decoder learns to invert it (to all 4 frames a latent frame stands for),
and the encoder is trained to reproduce it, so a decoded latent is a picture and an encoded
picture is a latent of the same space.

Normalisation (`stats`, written into vae/config.json, which shotfarm reads): every channel is
divided by the standard deviation of the mean-colour channels, not its own, so the detail
channels stay small in the DiT's space and the model's errors there stay small in the picture;
the mean colour carries what the prompt names (object colour, background, position).
"""
import numpy as np


def encode(frames, subsampled=False):
    """frames uint8 [F, H, W, 3] (F = 4n+1, H, W multiples of 8) -> float32 [16, T, H/8, W/8];
    subsampled: frames holds only frames 0, 4, 8, ... already (world.render_clip every=4)."""
    F, H, W, _ = frames.shape
    x = (frames if subsampled else frames[::4]).astype(np.float32) / 127.5 - 1  # [T, H, W, 3]
    T = x.shape[0]
    h, w = H // 8, W // 8
    q = x.reshape(T, H // 4, 4, W // 4, 4, 3)
    qm = q.mean(axis=(2, 4)).reshape(T, h, 2, w, 2, 3)    # quadrant means [T,h,qy,w,qx,3]
    a, b = qm[:, :, 0, :, 0], qm[:, :, 0, :, 1]            # top-left, top-right
    c, d = qm[:, :, 1, :, 0], qm[:, :, 1, :, 1]            # bottom-left, bottom-right
    mean = (a + b + c + d) / 4
    dh = (a - b + c - d) / 4                               # left minus right
    dv = (a + b - c - d) / 4                               # top minus bottom
    dd = (a - b - c + d) / 4
    lum = q.mean(axis=5)                                   # [T, H/4, 4, W/4, 4]
    sd = lum.std(axis=(2, 4)).reshape(T, h, 2, w, 2).transpose(0, 1, 3, 2, 4).reshape(T, h, w, 4)
    z = np.concatenate([mean, dh, dv, dd, sd], axis=-1)   # [T, h, w, 16]
    return np.ascontiguousarray(z.transpose(3, 0, 1, 2))


def stats(latents):
    """Per-channel mean, and the std every channel is normalised by (the mean-colour channels'
    own; the detail channels take the mean-colour channels' average), over a list of latents."""
    z = np.concatenate([x.reshape(16, -1) for x in latents], axis=1)
    std = z.std(axis=1)
    std[3:] = std[:3].mean()
    return z.mean(axis=1), std
