"""windows.py — golden trajectories of a long latent denoised as overlapping temporal windows
(docs/windows.md, node/sf_window.h), for `shotfarm forward denoise --window W --overlap O`
(tests/sampler/test_denoise.c, label golden).

The reference implements the windowing on diffusers' WanTransformer3DModel (the tiny DiT that
scripts/golden/sampler_dit.py saved, tests/fixtures/sampler/tiny-dit) and the reference
schedulers of sampler_ref.py, in fp32 on CPU:
  - the F latent frames are cut into windows of W frames starting every W - O frames; the last
    window is moved back to end at frame F (an uneven tail overlaps more); F <= W is one window;
  - at every step each window's frames alone go through the DiT (positions from 0 per window),
    cond and uncond, uncond + g·(cond − uncond);
  - the window predictions are blended with linear ramps across each overlap of L frames (left
    window (L - j) / (L + 1), right window (j + 1) / (L + 1) at overlap frame j), accumulated in
    window order into a zero fp32 tensor;
  - ONE scheduler.step on the whole latent.
The cut and weights are written here from the description above, not from shotfarm's code.

A Wan2.1-VACE case (vace_w3) on the tiny VACE DiT of scripts/golden/vace.py
(tests/fixtures/vace/v2-bf16, run in fp32 on its bf16-rounded weights) with the small VAE of
scripts/golden/vae.py: the conditioning of the whole shot (two references, no video, no mask)
is built once by WanVACEPipeline's own preparation; every window carries the reference frames in
front of its own frames, for the latent and for the conditioning (the conditioning's window is
its reference frames plus its slice of the video frames), and the reference frames' prediction
is window 0's (never blended).

Writes under tests/fixtures/windows/:
  CASE.in.safetensors   noise (16, F, 4, 6), context (7, 32), negative_context (5, 32)
  windows.ref.safetensors  CASE.x (N+1, 16, F, 4, 6): noise then every latent;
                        CASE.timesteps (N,); metadata: each case's F, W, O, sampler, schedule,
                        shift, windows' starts
Run: /opt/sf-ref/bin/python scripts/golden/windows.py   (WAN_GIT as in sampler_ref.py)
"""
import json
import os

import diffusers
import torch
from safetensors.torch import load_file, save_file

import sampler_dit
import sampler_ref
from window_cut import cut

TEXT_LEN = 512
STEPS = 10
GUIDANCE = 5.0
H, W_ = 4, 6
# name: (latent frames, window, overlap, sampler, schedule, shift)
CASES = {
    "w2": (6, 4, 1, "unipc", "diffusers", 3.0),   # 2 windows: starts 0, 2 (tail overlap 2)
    "w3": (10, 5, 2, "unipc", "wan", 5.0),        # 3 windows: starts 0, 3, 5 (tail overlap 3)
    "w4": (12, 4, 1, "unipc", "wan", 5.0),        # 4 windows: starts 0, 3, 6, 8 (tail overlap 2)
}


def weights(starts, length):
    """(n, length) fp32 blend weights."""
    n = len(starts)
    w = torch.ones(n, length, dtype=torch.float32)
    for k in range(n - 1):
        ov = starts[k] + length - starts[k + 1]
        for j in range(ov):
            w[k, length - ov + j] = (ov - j) / (ov + 1)
            w[k + 1, j] = (j + 1) / (ov + 1)
    return w


VACE_CASE = ("vace_w3", 10, 4, 1, 16.0)  # 10 video latent frames + 2 refs: starts 0, 3, 6


def pad(ctx):
    return torch.cat([ctx, ctx.new_zeros(TEXT_LEN - ctx.shape[0], ctx.shape[1])])


def windowed_loop(s, noise, nl, frames, window, overlap, predict):
    """The windowed denoising loop on scheduler s: noise (16, nl + frames, h, w), nl leading
    (reference) frames carried by every window; predict(xw, idx, timestep) gives the guided
    prediction of the window whose frames (of the whole latent) are idx. Returns the trajectory
    (N+1, ...) and the windows' starts."""
    starts, length = cut(frames, window, overlap)
    wts = weights(starts, length)
    x = noise.clone()
    xs = [x.clone()]
    with torch.no_grad():
        for t in s.timesteps:
            timestep = torch.stack([t])
            vel = torch.zeros_like(x)
            for k, a in enumerate(starts):
                idx = list(range(nl)) + list(range(nl + a, nl + a + length))
                pred = predict(x[:, idx].contiguous()[None], idx, timestep)
                if k == 0:  # the reference frames: window 0's prediction, never blended
                    vel[:, :nl] = pred[:, :nl]
                vel[:, nl + a:nl + a + length] += wts[k][None, :, None, None] * pred[:, nl:]
            x = s.step(vel[None], t, x[None], return_dict=False)[0][0]
            xs.append(x.clone())
    return torch.stack(xs), starts


def guided(model, ctx, neg, **kw):
    c = model(encoder_hidden_states=pad(ctx)[None], return_dict=False, **kw)[0][0]
    u = model(encoder_hidden_states=pad(neg)[None], return_dict=False, **kw)[0][0]
    return u + GUIDANCE * (c - u)


def run_case(model, noise, ctx, neg, window, overlap, sampler, schedule, shift):
    s = sampler_ref.make_scheduler(sampler, schedule, STEPS, shift)
    xs, starts = windowed_loop(
        s, noise, 0, noise.shape[1], window, overlap,
        lambda xw, idx, ts: guided(model, ctx, neg, hidden_states=xw, timestep=ts))
    return xs, s, starts


def run_vace_case(fix, out, meta):
    import PIL.Image
    from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline,
                           WanVACETransformer3DModel)
    name, frames, window, overlap, shift = VACE_CASE
    vdir = os.path.join(fix, "vace", "v2-bf16")
    with open(os.path.join(vdir, "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    model = WanVACETransformer3DModel(**cfg)
    sd = load_file(os.path.join(vdir, "diffusion_pytorch_model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    model = model.float().eval()
    vae = AutoencoderKLWan.from_pretrained(os.path.join(fix, "vae", "small", "vae"),
                                           torch_dtype=torch.float32,
                                           local_files_only=True).eval()
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    num_train_timesteps=1000, flow_shift=shift)
    sched.set_timesteps(STEPS, device="cpu")
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=sched,
                           transformer=model)
    din = load_file(os.path.join(fix, "vace", "denoise.in.safetensors"))
    refs_t = [din["ref0"], din["ref1"]]
    refs = [PIL.Image.fromarray(((r + 1) / 2 * 255).round().clamp(0, 255).to(torch.uint8)
                                .permute(1, 2, 0).numpy()) for r in refs_t]
    for r, t in zip(refs, refs_t):  # the PNGs' pixels exactly
        back = torch.from_numpy(__import__("numpy").array(r).astype("float32") / 255.0)
        assert torch.equal(2.0 * back.permute(2, 0, 1) - 1.0, t)
    nl = len(refs)
    H, W = 32, 32
    F_ = 4 * (frames - 1) + 1
    with torch.no_grad():
        v, m, r = pipe.preprocess_conditions(None, None, refs, 1, H, W, F_, torch.float32,
                                             "cpu")
        lat = pipe.prepare_video_latents(v, m, r, None, "cpu")
        mk = pipe.prepare_masks(m, r, None)
    cond = torch.cat([lat, mk], dim=1)[0]
    assert cond.shape[1] == nl + frames, cond.shape
    g = torch.Generator().manual_seed(2324)
    text_dim = model.config.text_dim
    noise = torch.randn(16, nl + frames, H // 8, W // 8, generator=g)
    ctx = torch.randn(7, text_dim, generator=g)
    neg = torch.randn(5, text_dim, generator=g)
    xs, starts = windowed_loop(
        sched, noise, nl, frames, window, overlap,
        lambda xw, idx, ts: guided(model, ctx, neg, hidden_states=xw, timestep=ts,
                                   control_hidden_states=cond[:, idx].contiguous()[None]))
    save_file({"noise": noise.contiguous(), "context": ctx.contiguous(),
               "negative_context": neg.contiguous(), "ref0": refs_t[0].contiguous(),
               "ref1": refs_t[1].contiguous()},
              os.path.join(out, name + ".in.safetensors"),
              metadata={"generator": "scripts/golden/windows.py"})
    print("%s: %d refs + %d frames, window %d overlap %d, starts %s, unipc/diffusers shift %g, "
          "max|x_N| %.4g" % (name, nl, frames, window, overlap, starts, shift,
                             float(xs[-1].abs().max())))
    info = {"frames": frames, "refs": nl, "window": window, "overlap": overlap,
            "sampler": "unipc", "schedule": "diffusers", "shift": shift, "starts": starts}
    return xs, torch.from_numpy(sampler_ref.timesteps_f32(sched)), info


def main():
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    fix = os.path.normpath(os.path.join(here, "..", "..", "tests", "fixtures"))
    out = os.path.join(fix, "windows")
    os.makedirs(out, exist_ok=True)
    # the architecture of sampler_dit.py, with the weights of its committed fixture
    model = sampler_dit.make_model()
    model.load_state_dict(load_file(os.path.join(fix, "sampler", "tiny-dit",
                                                 "diffusion_pytorch_model.safetensors")),
                          strict=True)
    model = model.float().eval()
    inp = load_file(os.path.join(fix, "sampler", "dit.in.safetensors"))
    ctx, neg = inp["context"], inp["negative_context"]
    g = torch.Generator().manual_seed(2323)
    ref, cases = {}, {}
    for name, (frames, window, overlap, sampler, schedule, shift) in CASES.items():
        noise = torch.randn((16, frames, H, W_), generator=g)
        xs, s, starts = run_case(model, noise, ctx, neg, window, overlap, sampler, schedule,
                                 shift)
        assert xs.shape[0] == STEPS + 1
        ref[name + ".x"] = xs.contiguous()
        ref[name + ".timesteps"] = torch.from_numpy(sampler_ref.timesteps_f32(s))
        cases[name] = {"frames": frames, "window": window, "overlap": overlap,
                       "sampler": sampler, "schedule": schedule, "shift": shift,
                       "starts": starts}
        save_file({"noise": noise.contiguous(), "context": ctx.contiguous(),
                   "negative_context": neg.contiguous()},
                  os.path.join(out, name + ".in.safetensors"),
                  metadata={"generator": "scripts/golden/windows.py"})
        print("%s: %d frames, window %d overlap %d, starts %s, %s/%s shift %g, max|x_N| %.4g"
              % (name, frames, window, overlap, starts, sampler, schedule, shift,
                 float(xs[-1].abs().max())))
    xs, ts, info = run_vace_case(fix, out, None)
    ref[VACE_CASE[0] + ".x"], ref[VACE_CASE[0] + ".timesteps"] = xs.contiguous(), ts
    cases[VACE_CASE[0]] = info
    meta = {"generator": "scripts/golden/windows.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__, "wan_rev": sampler_ref.WAN_REV,
            "steps": str(STEPS), "guidance": repr(GUIDANCE), "cases": json.dumps(cases)}
    save_file(ref, os.path.join(out, "windows.ref.safetensors"), metadata=meta)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print("fixtures in %s: %d bytes" % (out, total))
    assert total < 2 * 1024 * 1024, "fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
