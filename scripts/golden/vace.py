#!/usr/bin/env python3
"""Golden fixtures for Wan2.1-VACE (tests/vace/, docs/forward.md § VACE).

Everything here is built by the reference implementations on random weights, never by shotfarm:

1. The VACE DiT forward pass (diffusers WanVACETransformer3DModel), two tiny configs:
     v3-f32   3 heads of 8, 4 layers, vace_layers [0, 1, 3] (uneven: layer 2 gets no hint),
              latent (3, 6, 10) (non-square), 7 context rows (padded to 512 inside), fp32,
              per-layer scale [1, 0.5, 1.5] (`vace_scale`), diffusers names
     v2-bf16  2 heads of 16, 3 layers, vace_layers [0, 2], latent (2, 8, 4), bf16 weights (the
              reference runs fp32 on the rounded values), scale 1; also run through the official
              Wan2.1 VaceWanModel (wan/modules/vace_model.py) on the same weights under the
              official names: v2-bf16-official
   NAME.in.safetensors   x, t, context (unpadded), vace (96, F, H, W) [, vace_scale]
   NAME.ref.safetensors  out (16, F, H, W)
   NAME/                 the model directory (config.json + diffusion_pytorch_model.safetensors)

2. The conditioning tensor, by WanVACEPipeline's own preparation (preprocess_conditions,
   prepare_video_latents, prepare_masks, concatenated as __call__ does) with the small random
   AutoencoderKLWan of scripts/golden/vae.py (tests/fixtures/vae/small/vae, base_dim 4, z_dim 16,
   loaded from that local directory; its fixtures are not rewritten here):
     refs     2 references, 24x40 (landscape) and 48x16 (portrait), no video, no mask
     video    a 5-frame 32x32 video with a mask, no references
     both     the video, the mask and the two references
     mask81   81 frames of 16x16, a mask whose every pixel frame differs, no video: shows the
              nearest-exact time resampling (latent frame 0 takes pixel frame 1)
   cond-CASE.in.safetensors  the inputs of each case, as the pipeline preprocesses them: video
                         (3, 5, 32, 32) in [-1, 1], mask (5, 32, 32) = (m + 1) / 2 clamped,
                         channel 0; ref0 (3, 24, 40), ref1 (3, 48, 16) in [-1, 1]; mask81's
                         mask (81, 16, 16) in bf16 (0 or 1, exact)
   cond.ref.safetensors  {refs,video,both,mask81} (96, T, h, w)
   ref0.png, ref1.png    the two references as PNG files and cond-files.in.safetensors (no
                         tensors): `--ref ref0.png --ref ref1.png` must give `refs` again

3. A 4-step guided denoise through WanVACEPipeline (UniPC flow_prediction, use_flow_sigmas,
   flow_shift 16 = the official VACE shift, guidance 5) with the two references, on the v2-bf16
   DiT above and that VAE: denoise.in.safetensors holds noise (16, 2 + 2, 4, 4: two
   reference frames first), context, negative_context, ref0, ref1; denoise.ref.safetensors the
   final latent of every frame (`latent_full`, output_type="latent" keeps the reference frames)
   and of the video frames alone (`latent`, what the pipeline decodes).

Run: /opt/sf-ref/bin/python scripts/golden/vace.py --wan /path/to/Wan2.1 [--out DIR]
"""
import json
import os
import sys

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import diffusers
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline
from diffusers import WanVACETransformer3DModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit as dit_golden  # noqa: E402  (scripts/golden/dit.py: name map, attention stand-in)
import wan_ref  # noqa: E402

TEXT_LEN = 512

CONFIGS = [
    dict(name="v3-f32", heads=3, head_dim=8, ffn=32, text_dim=32, freq_dim=32, layers=4,
         vace_layers=[0, 1, 3], latent=(3, 6, 10), ctx_rows=7, t=999.0,
         scale=[1.0, 0.5, 1.5], dtype=torch.float32, official=False, seed=11),
    dict(name="v2-bf16", heads=2, head_dim=16, ffn=48, text_dim=24, freq_dim=64, layers=3,
         vace_layers=[0, 2], latent=(2, 8, 4), ctx_rows=11, t=437.0, scale=None,
         dtype=torch.bfloat16, official=True, seed=12),
]


def vace_to_official(name):
    """diffusers WanVACETransformer3DModel name -> VaceWanModel name (the inverse of
    convert_wan_to_diffusers.py's VACE_TRANSFORMER_KEYS_RENAME_DICT)."""
    if name.startswith("vace_patch_embedding."):
        return name
    if name.startswith("vace_blocks."):
        parts = name.split(".")
        rest = ".".join(parts[2:])
        for k, v in (("proj_in", "before_proj"), ("proj_out", "after_proj")):
            if rest.startswith(k + "."):
                return "vace_blocks.%s.%s%s" % (parts[1], v, rest[len(k):])
        return "vace_" + dit_golden.diffusers_to_official("blocks." + ".".join(parts[1:]))
    return dit_golden.diffusers_to_official(name)


def perturb(m, dtype=torch.float32):
    """Default inits leave norms at 1/0 and biases at 0: perturb them so a swapped or ignored
    weight shows in the output; round to the storage dtype so the reference sees the file."""
    with torch.no_grad():
        for n, p in m.named_parameters():
            if ("norm" in n or n.endswith("gamma")) and (n.endswith("weight") or
                                                          n.endswith("gamma")):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
        if dtype != torch.float32:
            for p in m.parameters():
                p.copy_(p.to(dtype).float())
    return m.eval()


def make_vace(c):
    torch.manual_seed(c["seed"])
    m = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=c["heads"], attention_head_dim=c["head_dim"],
        in_channels=16, out_channels=16, text_dim=c["text_dim"], freq_dim=c["freq_dim"],
        ffn_dim=c["ffn"], num_layers=c["layers"], cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
        vace_layers=c["vace_layers"], vace_in_channels=96)
    return perturb(m, c["dtype"])


def pad(ctx):
    return torch.cat([ctx, ctx.new_zeros(TEXT_LEN - ctx.shape[0], ctx.shape[1])])


def run_diffusers(m, x, t, ctx, vace, scale):
    s = None if scale is None else torch.tensor(scale, dtype=torch.float32)
    with torch.no_grad():
        return m(hidden_states=x[None], timestep=torch.tensor([t], dtype=torch.float32),
                 encoder_hidden_states=pad(ctx)[None], control_hidden_states=vace[None],
                 control_hidden_states_scale=s, return_dict=False)[0][0]


def load_official_vace(wan):
    """wan/modules/vace_model.py, imported next to model.py without wan/__init__.py."""
    import importlib.util
    import subprocess
    import tempfile
    path, commit = wan_ref.wan_model_py(wan)
    wan_ref.load_wan_model(path, dit_golden.fp32_flash_attention)
    if os.path.isfile(os.path.join(wan, "wan", "modules", "vace_model.py")):
        vpath = os.path.join(wan, "wan", "modules", "vace_model.py")
    else:
        src = subprocess.check_output(["git", "--git-dir", wan, "show",
                                       commit + ":wan/modules/vace_model.py"], text=True)
        tmp = tempfile.NamedTemporaryFile("w", suffix="_vace_model.py", delete=False)
        tmp.write(src)
        tmp.close()
        vpath = tmp.name
    spec = importlib.util.spec_from_file_location("wan.modules.vace_model", vpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules["wan.modules.vace_model"] = module
    spec.loader.exec_module(module)
    return module, commit


def run_official(vmod, c, dif, x, t, ctx, vace):
    m = vmod.VaceWanModel(
        vace_layers=c["vace_layers"], vace_in_dim=96, model_type="vace", patch_size=(1, 2, 2),
        text_len=TEXT_LEN, in_dim=16, dim=c["heads"] * c["head_dim"], ffn_dim=c["ffn"],
        freq_dim=c["freq_dim"], text_dim=c["text_dim"], out_dim=16, num_heads=c["heads"],
        num_layers=c["layers"], window_size=(-1, -1), qk_norm=True, cross_attn_norm=True,
        eps=1e-6)
    sd = {vace_to_official(k): v for k, v in dif.state_dict().items()}
    m.load_state_dict(sd, strict=True)
    m.eval()
    tokens = x.shape[1] * (x.shape[2] // 2) * (x.shape[3] // 2)
    with torch.no_grad():
        out = m([x], torch.tensor([t], dtype=torch.float32), [vace], [ctx],
                seq_len=tokens + 3, vace_context_scale=1.0)
    return out[0], m


def save_model_dir(m, path, dtype):
    os.makedirs(path, exist_ok=True)
    m.to(dtype).save_pretrained(path, safe_serialization=True)
    m.float()
    for extra in os.listdir(path):
        assert extra in ("config.json", "diffusion_pytorch_model.safetensors"), extra


def save_official_dir(m, c, path, dtype):
    os.makedirs(path, exist_ok=True)
    sd = {k: v.to(dtype).contiguous() for k, v in m.state_dict().items() if k != "freqs"}
    save_file(sd, os.path.join(path, "diffusion_pytorch_model.safetensors"))
    # VaceWanModel's own register_to_config records its arguments shifted (it hands them to
    # WanModel positionally), so write the keys a released Wan2.1-VACE config.json holds.
    cfg = {"_class_name": "VaceWanModel", "_diffusers_version": diffusers.__version__,
           "dim": c["heads"] * c["head_dim"], "eps": 1e-06, "ffn_dim": c["ffn"],
           "freq_dim": c["freq_dim"], "in_dim": 16, "model_type": "vace",
           "num_heads": c["heads"], "num_layers": c["layers"], "out_dim": 16,
           "text_len": TEXT_LEN, "vace_in_dim": 96, "vace_layers": list(c["vace_layers"])}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def forward_fixtures(out, meta, wan):
    """Writes the forward fixtures; returns the models by name (fp32 on the stored values)."""
    vmod, commit = load_official_vace(wan)
    models = {}
    for c in CONFIGS:
        g = torch.Generator().manual_seed(200 + c["seed"])
        fr, h, w = c["latent"]
        x = torch.randn(16, fr, h, w, generator=g)
        ctx = torch.randn(c["ctx_rows"], c["text_dim"], generator=g)
        vace = torch.randn(96, fr, h, w, generator=g)
        m = make_vace(c)
        ref = run_diffusers(m, x, c["t"], ctx, vace, c["scale"])
        zero = run_diffusers(m, x, c["t"], ctx, torch.zeros_like(vace), c["scale"])
        print("%s: out %s max|ref| %.4g; VACE input moves it by rel %.3g" % (
            c["name"], tuple(ref.shape), float(ref.abs().max()), rel(zero, ref)))
        assert rel(zero, ref) > 1e-2, "the VACE input must matter for the fixture to prove it"
        inputs = {"x": x, "t": torch.tensor(c["t"]), "context": ctx, "vace": vace}
        if c["scale"] is not None:
            inputs["vace_scale"] = torch.tensor(c["scale"], dtype=torch.float32)
            ones = run_diffusers(m, x, c["t"], ctx, vace, None)
            assert rel(ones, ref) > 1e-3, "the scale must matter"
        cmeta = dict(meta, config=json.dumps({k: str(v) for k, v in c.items()}))
        save_file({k: v.contiguous() for k, v in inputs.items()},
                  os.path.join(out, c["name"] + ".in.safetensors"), metadata=cmeta)
        save_file({"out": ref.contiguous()}, os.path.join(out, c["name"] + ".ref.safetensors"),
                  metadata=dict(cmeta, reference="diffusers WanVACETransformer3DModel, fp32"))
        save_model_dir(m, os.path.join(out, c["name"]), c["dtype"])
        # a fresh copy: save_model_dir's round trip through bf16 also rounded m's RoPE tables
        models[c["name"]] = make_vace(c)
        if c["official"]:
            oref, om = run_official(vmod, c, m, x, c["t"], ctx, vace)
            print("%s: official VaceWanModel vs diffusers rel %.3g" % (c["name"], rel(oref, ref)))
            assert rel(oref, ref) < 1e-5, "the name map or the attention stand-in is wrong"
            name = c["name"] + "-official"
            save_file({k: v.contiguous() for k, v in inputs.items()},
                      os.path.join(out, name + ".in.safetensors"), metadata=cmeta)
            save_file({"out": oref.contiguous()}, os.path.join(out, name + ".ref.safetensors"),
                      metadata=dict(cmeta, wan_commit=commit, reference="Wan2.1 VaceWanModel "
                                    "(wan/modules/vace_model.py), fp32, fp32 SDPA"))
            save_official_dir(om, c, os.path.join(out, name), c["dtype"])
    return models


# ---- the pipeline: conditioning and denoise ----------------------------------------------

def load_vae():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "tests", "fixtures", "vae", "small", "vae")
    return AutoencoderKLWan.from_pretrained(os.path.normpath(path), torch_dtype=torch.float32,
                                            local_files_only=True).eval()


def gray_frames(u8):
    """(F, H, W) uint8 -> list of RGB PIL images (the pipeline's video / mask input)."""
    return [PIL.Image.fromarray(np.repeat(f[:, :, None], 3, axis=2)) for f in u8]


def rgb_image(g, h, w):
    a = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()
    return PIL.Image.fromarray(a)


def pipe_cond(pipe, video, mask, refs, F_, H, W):
    """WanVACEPipeline.__call__ steps 5's conditioning, by the pipeline's own methods."""
    with torch.no_grad():
        v, m, r = pipe.preprocess_conditions(video, mask, refs, 1, H, W, F_, torch.float32,
                                             "cpu")
        lat = pipe.prepare_video_latents(v, m, r, None, "cpu")
        mk = pipe.prepare_masks(m, r, None)
    return torch.cat([lat, mk], dim=1)[0], v[0], m[0]


def to_minus1_1(img):
    """What VideoProcessor.preprocess makes of a PIL image whose sides are multiples of 8."""
    a = torch.from_numpy(np.array(img).astype(np.float32) / 255.0).permute(2, 0, 1)
    return 2.0 * a - 1.0


def cond_fixtures(out, meta, vace_model):
    vae = load_vae()
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    num_train_timesteps=1000, flow_shift=16.0)
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=sched,
                           transformer=vace_model)
    pipe.set_progress_bar_config(disable=True)

    g = torch.Generator().manual_seed(77)
    F_, H, W = 5, 32, 32
    vid_u8 = torch.randint(0, 256, (F_, H, W), generator=g, dtype=torch.uint8).numpy()
    # a mask with values on both sides of 0.5 and exactly 0.5 (127.5 is not a code: 127/128)
    mask_u8 = torch.randint(0, 256, (F_, H, W), generator=g, dtype=torch.uint8).numpy()
    mask_u8[:, :8, :] = 255
    mask_u8[:, 8:16, :] = 0
    refs = [rgb_image(g, 24, 40), rgb_image(g, 48, 16)]
    video, mask = gray_frames(vid_u8), gray_frames(mask_u8)

    res = {}
    c_refs, _, _ = pipe_cond(pipe, None, None, refs, F_, H, W)
    c_video, v_t, m_t = pipe_cond(pipe, video, mask, None, F_, H, W)
    c_both, v_t2, m_t2 = pipe_cond(pipe, video, mask, refs, F_, H, W)
    assert torch.equal(v_t, v_t2) and torch.equal(m_t, m_t2)
    res["refs"], res["video"], res["both"] = c_refs, c_video, c_both
    # the order: the LAST reference is frame 0
    solo1, _, _ = pipe_cond(pipe, None, None, [refs[1]], F_, H, W)
    assert torch.equal(c_refs[:, 0], solo1[:, 0]), "diffusers puts the last reference first"

    m81 = (torch.rand(81, 16, 16, generator=g) > 0.5).to(torch.uint8).numpy() * 255
    c81, _, m81_t = pipe_cond(pipe, None, gray_frames(m81), None, 81, 16, 16)
    res["mask81"] = c81
    assert torch.equal(c81[32:, 0], m81_t[0, 1].reshape(2, 8, 2, 8).permute(1, 3, 0, 2)
                       .reshape(64, 2, 2)), "latent frame 0 takes pixel frame 1"
    for k, v in res.items():
        print("cond %s: %s max|.| %.4g" % (k, tuple(v.shape), float(v.abs().max())))

    inputs = {"video": v_t, "mask": m_t[0], "ref0": to_minus1_1(refs[0]),
              "ref1": to_minus1_1(refs[1])}
    cases = {"refs": ["ref0", "ref1"], "video": ["video", "mask"],
             "both": ["video", "mask", "ref0", "ref1"]}
    for case, names in cases.items():
        save_file({k: inputs[k].contiguous() for k in names},
                  os.path.join(out, "cond-%s.in.safetensors" % case),
                  metadata=dict(meta, frames=str(F_), height=str(H), width=str(W)))
    # the same two references as image files, for `forward vace --ref FILE` (an IN without tensors)
    for i, r in enumerate(refs):
        r.save(os.path.join(out, "ref%d.png" % i), optimize=False)
    save_file({}, os.path.join(out, "cond-files.in.safetensors"), metadata=meta)
    mask81 = m81_t[0].to(torch.bfloat16)
    assert torch.equal(mask81.float(), m81_t[0])
    save_file({"mask": mask81.contiguous()}, os.path.join(out, "cond-mask81.in.safetensors"),
              metadata=meta)
    save_file({k: v.contiguous() for k, v in res.items()},
              os.path.join(out, "cond.ref.safetensors"),
              metadata=dict(meta, reference="diffusers WanVACEPipeline preprocess_conditions + "
                            "prepare_video_latents + prepare_masks, fp32"))
    return pipe, refs, inputs


def denoise_fixture(out, meta, pipe, refs, inputs):
    g = torch.Generator().manual_seed(91)
    F_, H, W = 5, 32, 32
    text_dim = pipe.transformer.config.text_dim
    noise = torch.randn(16, 2 + 2, H // 8, W // 8, generator=g)
    ctx = torch.randn(7, text_dim, generator=g)
    neg = torch.randn(5, text_dim, generator=g)
    with torch.no_grad():
        lat = pipe(prompt_embeds=pad(ctx)[None], negative_prompt_embeds=pad(neg)[None],
                   reference_images=refs, height=H, width=W, num_frames=F_,
                   num_inference_steps=4, guidance_scale=5.0, latents=noise[None].clone(),
                   output_type="latent").frames[0]
    print("denoise: latent %s max|.| %.4g" % (tuple(lat.shape), float(lat.abs().max())))
    save_file({k: v.contiguous() for k, v in dict(
        noise=noise, context=ctx, negative_context=neg, ref0=inputs["ref0"],
        ref1=inputs["ref1"]).items()}, os.path.join(out, "denoise.in.safetensors"),
              metadata=dict(meta, steps="4", guidance="5.0", shift="16.0",
                            scheduler="UniPCMultistepScheduler flow_prediction use_flow_sigmas"))
    save_file({"latent_full": lat.contiguous(), "latent": lat[:, 2:].contiguous()},
              os.path.join(out, "denoise.ref.safetensors"),
              metadata=dict(meta, reference="diffusers WanVACEPipeline, output_type=latent"))


def main():
    args, out = wan_ref.golden_args(__doc__, "vace")
    torch.set_num_threads(1)
    meta = {"generator": "scripts/golden/vace.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__}
    models = forward_fixtures(out, meta, args.wan)
    pipe, refs, inputs = cond_fixtures(out, meta, models["v2-bf16"])
    denoise_fixture(out, meta, pipe, refs, inputs)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print("fixtures in %s: %d bytes" % (out, total))
    assert total < 2 * 1024 * 1024, "fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
