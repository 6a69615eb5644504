#!/usr/bin/env python3
"""Golden fixtures for continuation and key art (issue 22; tests/identity/test_continue_golden.c,
docs/campaign.md § Keyframes and continuation).

A `continues:` shot's first K frames are the last K frames of the continued take's shot file and
are kept (mask 0); the other frames are generated (mask 1, video 0); key art for the last frame
is kept the same way. This script builds that video and mask for diffusers' WanVACEPipeline and
lets the PIPELINE turn them into the conditioning (preprocess_conditions, prepare_video_latents,
prepare_masks, concatenated as __call__ does), with the small random AutoencoderKLWan of
scripts/golden/vae.py (tests/fixtures/vae/small/vae, loaded from that local directory):

  prev.safetensors   `prev` (9, 32, 32, 3) uint8: the continued shot's decoded frames (random
                     codes), which the test writes into a shot file as a decode unit would
  last.png           a 32x32 RGB key art image (random codes; its size is the frame's, so
                     covering the frame is the identity)
  cond.ref.safetensors  (96, 4, 4, 4) each: `continue` (a 13-frame shot whose first 5 frames
                     are prev's last 5) and `continue_last` (the same with last.png as its last
                     frame)

The video goes to the pipeline as one (1, F, H, W, 3) float array in [0, 1] (the generated
frames 0.5, which its normalisation 2x - 1 makes exactly 0; the kept frames code / 255) and the
mask as 0 / 1 arrays of the same shape; the script checks that the pipeline's preprocessing made
exactly that video (within float rounding of code / 255 * 2 - 1) and mask.

Regenerate with `/opt/sf-ref/bin/python scripts/golden/continuation.py`.
"""
import argparse
import os

import diffusers
import numpy as np
import PIL.Image
import torch
from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline,
                       WanVACETransformer3DModel)
from safetensors.torch import save_file

FP, F, K, H, W = 9, 13, 5, 32, 32


def load_vae():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "tests", "fixtures", "vae", "small", "vae")
    return AutoencoderKLWan.from_pretrained(os.path.normpath(path), torch_dtype=torch.float32,
                                            local_files_only=True).eval()


def pipeline():
    # the pipeline reads only the transformer's patch size while preparing the conditioning
    torch.manual_seed(0)
    tr = WanVACETransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2,
                                   attention_head_dim=8, in_channels=16, out_channels=16,
                                   text_dim=16, freq_dim=16, ffn_dim=32, num_layers=1,
                                   vace_layers=[0], vace_in_channels=96).eval()
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    num_train_timesteps=1000, flow_shift=16.0)
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=load_vae(), scheduler=sched,
                           transformer=tr)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def cond(pipe, prev, last):
    video = np.full((1, F, H, W, 3), 0.5, np.float32)
    mask = np.ones((1, F, H, W, 3), np.float32)
    kept = {k: prev[FP - K + k] for k in range(K)}
    if last is not None:
        kept[F - 1] = last
    for f, codes in kept.items():
        video[0, f] = codes.astype(np.float32) / 255.0
        mask[0, f] = 0.0
    with torch.no_grad():
        v, m, r = pipe.preprocess_conditions(video, mask, None, 1, H, W, F, torch.float32, "cpu")
        lat = pipe.prepare_video_latents(v, m, r, None, "cpu")
        mk = pipe.prepare_masks(m, r, None)
    # what the pipeline made of them: the video we meant (generated frames exactly 0) and the mask
    want = torch.zeros(3, F, H, W)
    for f, codes in kept.items():
        want[:, f] = torch.from_numpy(codes.astype(np.float32)).permute(2, 0, 1) / 127.5 - 1.0
    assert v.shape == (1, 3, F, H, W) and (v[0] - want).abs().max() < 1e-6
    gen = [f for f in range(F) if f not in kept]
    assert torch.equal(v[0][:, gen], torch.zeros(3, len(gen), H, W))
    assert torch.equal(m[0][0], torch.from_numpy(mask[0, :, :, :, 0]))
    return torch.cat([lat, mk], dim=1)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures",
                                                  "continuation"))
    out = os.path.abspath(ap.parse_args().out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    meta = {"generator": "scripts/golden/continuation.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__}
    g = torch.Generator().manual_seed(2222)
    prev = torch.randint(0, 256, (FP, H, W, 3), generator=g, dtype=torch.uint8).numpy()
    last = torch.randint(0, 256, (H, W, 3), generator=g, dtype=torch.uint8).numpy()
    PIL.Image.fromarray(last).save(os.path.join(out, "last.png"))
    pipe = pipeline()
    ref = {"continue": cond(pipe, prev, None), "continue_last": cond(pipe, prev, last)}
    save_file({"prev": torch.from_numpy(prev).contiguous()},
              os.path.join(out, "prev.safetensors"), metadata=meta)
    save_file({k: v.contiguous() for k, v in ref.items()},
              os.path.join(out, "cond.ref.safetensors"),
              metadata=dict(meta, what="WanVACEPipeline preprocess_conditions + "
                            "prepare_video_latents + prepare_masks, fp32"))
    for k, v in ref.items():
        print("%s: %s, max|x| %.4g" % (k, tuple(v.shape), v.abs().max().item()))


if __name__ == "__main__":
    main()
