"""export_model.py — assembles the demo model (examples/models/demo/) from the trained weights:
a diffusers WanVACEPipeline directory with exactly the tensor names and shapes of
`shotfarm mkmodel --config tiny-vace --vae-dim 8` (checked tensor by tensor), in fp16:

  transformer/  the trained DiT (EMA of train_dit.py) in the tiny-vace layout; the VACE blocks are
                mkmodel's random ones except their output projections (`vace_blocks.N.proj_out`,
                official `after_proj`), which are zero, so every hint is exactly zero and the
                pipeline renders exactly like the plain text-to-video DiT until the follow-up
                trains them (the tensors a hint passes through end in proj_out)
  vae/          train_vae.py's Wan-VAE, its config carrying the designed latents' mean/std, its
                decoder's four frames per latent frame tied to the last one (hold_phases)
  text_encoder/ mkmodel's random tiny umT5 (seed 0), rounded to fp16 (frozen: never trained)
  tokenizer/    the demo tokenizer (make_tokenizer.py writes it there first)
  scheduler/, model_index.json  as mkmodel writes them
and SHA256SUMS over every file. Run:

  /opt/sf-ref/bin/python scripts/demo_model/export_model.py --skeleton SKEL --run RUN \
      [-o examples/models/demo]
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = {"transformer": "diffusion_pytorch_model.safetensors",
           "vae": "diffusion_pytorch_model.safetensors", "text_encoder": "model.safetensors"}


def write_component(skel, out, comp, tensors):
    """Writes comp's tensors (a dict name -> tensor) as fp16 under the skeleton's names."""
    f = safe_open(os.path.join(skel, comp, WEIGHTS[comp]), "pt")
    names = list(f.keys())
    if set(names) != set(tensors):
        sys.exit(f"export_model: {comp}: names differ from mkmodel's: "
                 f"{sorted(set(names) ^ set(tensors))[:5]}")
    res = {}
    for n in names:
        want = tuple(f.get_slice(n).get_shape())
        if tuple(tensors[n].shape) != want:
            sys.exit(f"export_model: {comp}: {n} has shape {tuple(tensors[n].shape)}, mkmodel {want}")
        res[n] = tensors[n].detach().to(torch.float16).contiguous()
    os.makedirs(os.path.join(out, comp), exist_ok=True)
    save_file(res, os.path.join(out, comp, WEIGHTS[comp]))
    os.chmod(os.path.join(out, comp, WEIGHTS[comp]), 0o644)


def hold_phases(vae):
    """The decoder with each latent frame's four frames tied to its last one (frame 4k, the one
    the designed latent describes; docs/demo-model.md § Latent space). The trained VAE's temporal
    taps are zero, so the frames a latent frame stands for differ only by which half of each
    `upsamplers.0.time_conv` made them (channels [0, c) become frame 2t, [c, 2c) frame 2t + 1),
    and its in-between phases, which no latent describes, came out up to 50 levels darker or
    brighter than the last one: a 4 Hz pulse that QC rightly calls flashes (ITU-R BT.1702).
    Copying the last phase's half into the first makes all four frames that same picture:
    motion advances in holds of 4 frames, and the picture does not pulse."""
    for n, t in vae.items():
        if n.startswith("decoder.") and t.dim() == 5 and t.shape[2] > 1 and \
                t[:, :, :-1].abs().max() != 0:
            sys.exit(f"export_model: vae {n} has non-zero temporal taps: the phases cannot be tied")
    out = dict(vae)
    for n in vae:
        if n.startswith("decoder.") and ".upsamplers.0.time_conv." in n:
            t = vae[n].clone()
            c = t.shape[0] // 2
            t[:c] = t[c:]
            out[n] = t
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skeleton", required=True, help="`shotfarm mkmodel --config tiny-vace "
                    "--dtype fp32 --vae-dim 8` output")
    ap.add_argument("--run", required=True, help="the training directory (dit_ckpt.pt, vae/)")
    ap.add_argument("-o", default=os.path.join(ROOT, "examples", "models", "demo"))
    a = ap.parse_args()
    skel, out = a.skeleton, a.o
    os.makedirs(out, exist_ok=True)
    # DiT: the EMA weights, VACE blocks from mkmodel with zero output projections
    ema = torch.load(os.path.join(a.run, "dit_ckpt.pt"), weights_only=False,
                     map_location="cpu")["ema"]
    f = safe_open(os.path.join(skel, "transformer", WEIGHTS["transformer"]), "pt")
    dit = {}
    for n in f.keys():
        if n.startswith("vace_"):
            t = f.get_tensor(n)
            dit[n] = torch.zeros_like(t) if ".proj_out." in n else t
        else:
            dit[n] = ema[n]
    write_component(skel, out, "transformer", dit)
    shutil.copy(os.path.join(skel, "transformer", "config.json"), os.path.join(out, "transformer"))
    # VAE: trained; its config (latent mean/std) must be what the DiT was trained with
    vdir = os.path.join(a.run, "vae")
    from safetensors.torch import load_file
    write_component(skel, out, "vae", hold_phases(load_file(os.path.join(vdir, WEIGHTS["vae"]))))
    vcfg = json.load(open(os.path.join(vdir, "config.json")))
    stats = json.load(open(os.path.join(a.run, "stats", "config.json")))
    for k in ("latents_mean", "latents_std"):
        if [round(v, 5) for v in vcfg[k]] != stats[k]:
            sys.exit(f"export_model: vae {k} differs from the DiT's training statistics")
    shutil.copy(os.path.join(vdir, "config.json"), os.path.join(out, "vae", "config.json"))
    # text encoder: mkmodel's, fp16
    g = safe_open(os.path.join(skel, "text_encoder", WEIGHTS["text_encoder"]), "pt")
    write_component(skel, out, "text_encoder", {n: g.get_tensor(n) for n in g.keys()})
    tcfg = json.load(open(os.path.join(skel, "text_encoder", "config.json")))
    tcfg["torch_dtype"] = "float16"
    with open(os.path.join(out, "text_encoder", "config.json"), "w") as fo:
        json.dump(tcfg, fo, indent=2)
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    shutil.copy(os.path.join(skel, "scheduler", "scheduler_config.json"),
                os.path.join(out, "scheduler"))
    shutil.copy(os.path.join(skel, "model_index.json"), out)
    if not os.path.exists(os.path.join(out, "tokenizer", "tokenizer.json")):
        sys.exit(f"export_model: {out}/tokenizer/tokenizer.json missing: run make_tokenizer.py")
    sums = []
    for d, _, files in sorted(os.walk(out)):
        for fn in sorted(files):
            if fn == "SHA256SUMS":
                continue
            p = os.path.join(d, fn)
            sums.append(f"{hashlib.sha256(open(p, 'rb').read()).hexdigest()}  "
                        f"{os.path.relpath(p, out)}")
    with open(os.path.join(out, "SHA256SUMS"), "w") as fo:
        fo.write("\n".join(sums) + "\n")
    total = sum(os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(out) for x in fs)
    print(f"export_model: wrote {out} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
