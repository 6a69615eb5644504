"""sampler_dit.py — golden 10-step denoising trajectories through a tiny Wan DiT with
classifier-free guidance, for `shotfarm forward denoise` (tests/sampler/, docs/forward.md).

References, all in fp32 on CPU, on one random tiny WanTransformer3DModel:
  unipc.diffusers  diffusers WanPipeline with UniPCMultistepScheduler(flow_prediction,
                   use_flow_sigmas, flow_shift=3), latents=noise, output_type="latent",
                   every latent recorded through callback_on_step_end
  euler.diffusers  the same pipeline with FlowMatchEulerDiscreteScheduler(shift=3)
  unipc.wan        the official FlowUniPCMultistepScheduler (wan/utils/fm_solvers_unipc.py of a
                   fetched Wan2.1, sampler_ref.py) driven the way wan/text2video.py drives it:
                   shift=1 at construction, set_timesteps(N, shift=5), cond and uncond passes,
                   uncond + g·(cond − uncond), scheduler.step on the batch-1 latent
Contexts are handed to the model already zero-padded to 512 rows (the pipeline pads only when it
encodes prompts itself); the input file keeps them unpadded, as `forward dit` takes them.

Writes under tests/fixtures/sampler/:
  tiny-dit/                  config.json + diffusion_pytorch_model.safetensors (save_pretrained)
  dit.in.safetensors         noise (16, F, H, W), context (7, 32), negative_context (5, 32)
  dit.ref.safetensors        {sampler}.{schedule}.x (N+1, 16, F, H, W): noise then every latent,
                             {sampler}.{schedule}.timesteps (N,) fp32; metadata: steps, guidance,
                             and the shift of each run
Run: /opt/sf-ref/bin/python scripts/golden/sampler_dit.py   (WAN_GIT as in sampler_ref.py)
"""
import json
import os

import diffusers
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline
from diffusers import WanTransformer3DModel
from safetensors.torch import save_file

import sampler_ref

TEXT_LEN = 512
STEPS = 10
GUIDANCE = 5.0
LATENT = (16, 3, 4, 6)  # (C, F, H, W): 9 frames of 32 x 48 pixels
RUNS = {"unipc.diffusers": 3.0, "euler.diffusers": 3.0, "unipc.wan": 5.0}


def make_model():
    torch.manual_seed(9)
    m = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16,
        out_channels=16, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
    with torch.no_grad():  # default init leaves norms at 1/0 and biases at 0: perturb them
        for n, p in m.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
    return m.eval()


def pad(ctx):
    return torch.cat([ctx, ctx.new_zeros(TEXT_LEN - ctx.shape[0], ctx.shape[1])])


def run_pipeline(model, scheduler, noise, ctx, neg):
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=None, scheduler=scheduler,
                       transformer=model)
    pipe.set_progress_bar_config(disable=True)
    xs = [noise.clone()]

    def record(p, i, t, kw):
        xs.append(kw["latents"][0].clone())
        return kw

    c, f, h, w = LATENT
    with torch.no_grad():
        pipe(prompt_embeds=pad(ctx)[None], negative_prompt_embeds=pad(neg)[None],
             height=h * 8, width=w * 8, num_frames=(f - 1) * 4 + 1, num_inference_steps=STEPS,
             guidance_scale=GUIDANCE, latents=noise[None].clone(), output_type="latent",
             callback_on_step_end=record, callback_on_step_end_tensor_inputs=["latents"])
    return torch.stack(xs), scheduler


def run_official(model, noise, ctx, neg, shift):
    """wan/text2video.py's loop (lines 207-253) with the official scheduler."""
    s = sampler_ref.make_scheduler("unipc", "wan", STEPS, shift)
    latents = noise.clone()
    xs = [latents.clone()]
    with torch.no_grad():
        for t in s.timesteps:
            timestep = torch.stack([t])
            cond = model(hidden_states=latents[None], timestep=timestep,
                         encoder_hidden_states=pad(ctx)[None], return_dict=False)[0][0]
            uncond = model(hidden_states=latents[None], timestep=timestep,
                           encoder_hidden_states=pad(neg)[None], return_dict=False)[0][0]
            v = uncond + GUIDANCE * (cond - uncond)
            latents = s.step(v[None], t, latents[None], return_dict=False)[0][0]
            xs.append(latents.clone())
    return torch.stack(xs), s


def main():
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.normpath(os.path.join(here, "..", "..", "tests", "fixtures", "sampler"))
    model = make_model()
    g = torch.Generator().manual_seed(4242)
    noise = torch.randn(LATENT, generator=g)
    ctx = torch.randn(7, 32, generator=g)
    neg = torch.randn(5, 32, generator=g)

    ref = {}
    for key, shift in RUNS.items():
        if key == "unipc.diffusers":
            sch = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                          num_train_timesteps=1000, flow_shift=shift)
            xs, s = run_pipeline(model, sch, noise, ctx, neg)
        elif key == "euler.diffusers":
            xs, s = run_pipeline(model, FlowMatchEulerDiscreteScheduler(shift=shift), noise, ctx,
                                 neg)
        else:
            xs, s = run_official(model, noise, ctx, neg, shift)
        assert xs.shape[0] == STEPS + 1, xs.shape
        ref[key + ".x"] = xs.contiguous()
        ref[key + ".timesteps"] = torch.from_numpy(sampler_ref.timesteps_f32(s))
        print("%s: shift %g, t %s, max|x_N| %.4g" % (key, shift, ref[key + ".timesteps"].tolist(),
                                                      float(xs[-1].abs().max())))
    d = ref["unipc.diffusers.x"][-1] - ref["euler.diffusers.x"][-1]
    print("unipc vs euler final latent differ by %.3g (the two must not coincide)"
          % float(d.abs().max()))

    meta = {"generator": "scripts/golden/sampler_dit.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__, "wan_rev": sampler_ref.WAN_REV,
            "steps": str(STEPS), "guidance": repr(GUIDANCE), "shifts": json.dumps(RUNS)}
    save_file({"noise": noise.contiguous(), "context": ctx.contiguous(),
               "negative_context": neg.contiguous()},
              os.path.join(out, "dit.in.safetensors"), metadata=meta)
    save_file(ref, os.path.join(out, "dit.ref.safetensors"), metadata=meta)
    mdir = os.path.join(out, "tiny-dit")
    model.save_pretrained(mdir, safe_serialization=True)
    for extra in os.listdir(mdir):
        assert extra in ("config.json", "diffusion_pytorch_model.safetensors"), extra
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print("fixtures in %s: %d bytes" % (out, total))
    assert total < 2 * 1024 * 1024, "fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
