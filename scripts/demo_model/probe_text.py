"""probe_text.py — what the demo DiT reads from its inputs (docs/demo-model.md § How the direction
word was learnt): on fresh one-object clips of the world (static camera, 64x64, 3 s) noised at a
sigma drawn in [--lo, --hi], the flow-matching loss of train_dit.py's EMA weights on

  ordered   the clip as it is, with its own caption;
  shuffled  the clip's latent frames in a random order (the caption kept): a model that uses
            motion and temporal coherence does worse here;
  swapped   the clip as it is, its caption's direction word swapped (left <-> right,
            up <-> down): a model that reads the direction word does worse here;
  turned    the same with the direction word turned a right angle (left -> up or down, ...):
            a model that only tells a direction from its opposite does no worse here;
  recolour  the clip as it is, its caption's colour replaced by another: the same test for the
            colour word.

Also prints, per kind of word, how far the frozen text encoder's output at that word moves when
the word changes (relative to its norm), to tell a word the encoder blurs from one the DiT ignores.

  /opt/sf-ref/bin/python scripts/demo_model/probe_text.py --run RUN [--clips 24] [--lo 0.5 --hi 0.9]
RUN is train_dit.py's --out (dit_ckpt.pt, skel/ or --skeleton, stats/ or --vae).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from diffusers import WanTransformer3DModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latents  # noqa: E402
import train_dit  # noqa: E402
import world  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--skeleton", default=None, help="default: RUN/skel")
    ap.add_argument("--vae", default=None, help="default: RUN/stats")
    ap.add_argument("--tokenizer", default=os.path.join(train_dit.ROOT, "examples/models/demo/tokenizer/tokenizer.json"))
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--lo", type=float, default=0.5)
    ap.add_argument("--hi", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--faces", action="store_true", help="clips with faces (train_dit.py --faces)")
    a = ap.parse_args()
    world.FACES = a.faces
    torch.set_num_threads(1)
    skel = a.skeleton or os.path.join(a.run, "skel")
    vcfg = json.load(open(os.path.join(a.vae or os.path.join(a.run, "stats"), "config.json")))
    mean = np.array(vcfg["latents_mean"], np.float32)[:, None, None, None]
    std = np.array(vcfg["latents_std"], np.float32)[:, None, None, None]
    tcfg = json.load(open(os.path.join(skel, "transformer", "config.json")))
    m = WanTransformer3DModel(**{k: v for k, v in tcfg.items()
                                 if not k.startswith("_") and not k.startswith("vace")})
    st = torch.load(os.path.join(a.run, "dit_ckpt.pt"), weights_only=False, map_location="cpu")
    m.load_state_dict(st["ema"])
    m.eval()
    te = train_dit.TextEncoder(os.path.join(skel, "text_encoder"), a.tokenizer)
    rng = np.random.default_rng(a.seed)
    loss = {"ordered": [], "shuffled": [], "swapped": [], "turned": [], "recolour": []}
    moved = {"direction": [], "colour": []}
    colours = list(world.COLOURS)
    for i in range(a.clips):
        spec = world.random_spec(rng, n_objects=1)
        spec["camera"] = "none"
        o = spec["objects"][0]
        o["element"] = None   # captions name the colour, not an element's name
        lang = world.LANGS[i % len(world.LANGS)]
        z = latents.encode(world.render_clip(spec, 64, 64, 49, every=4), subsampled=True)
        x0 = torch.from_numpy((z - mean) / std).float()[None]
        captions = {"ordered": world.caption(spec, lang)}
        for kind, field, new in (("swapped", "direction", world.REVERSED[o["direction"]]),
                                 ("turned", "direction", world.TURNED[o["direction"]][i % 2]),
                                 ("recolour", "colour",
                                  colours[(colours.index(o["colour"]) + 1) % len(colours)])):
            alt = dict(spec, objects=[dict(o, **{field: new})])
            captions[kind] = world.caption(alt, lang)
            a_, b_ = te(captions["ordered"]), te(captions[kind])
            n = len(te.tok.encode(captions["ordered"]).ids)
            if n == len(te.tok.encode(captions[kind]).ids):   # same length: the word's own row
                d = ((a_[:n] - b_[:n]).norm(dim=1) / a_[:n].norm(dim=1)).max()
                moved[field].append(float(d))
        s = float(rng.uniform(a.lo, a.hi))
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(i))
        perm = torch.from_numpy(rng.permutation(x0.shape[2]))
        for kind, x, cap in (("ordered", x0, captions["ordered"]),
                             ("shuffled", x0[:, :, perm], captions["ordered"]),
                             ("swapped", x0, captions["swapped"]),
                             ("turned", x0, captions["turned"]),
                             ("recolour", x0, captions["recolour"])):
            xt = (1 - s) * x + s * eps
            with torch.no_grad():
                v = m(hidden_states=xt, timestep=torch.tensor([s * 1000]),
                      encoder_hidden_states=te(cap)[None], return_dict=False)[0]
            loss[kind].append(float(((v - (eps - x)) ** 2).mean()))
    print(f"probe_text: {a.run}/dit_ckpt.pt step {st['step']}, {a.clips} clips, "
          f"sigma in [{a.lo}, {a.hi}]")
    for k, v in loss.items():
        print(f"  loss {k:9s} {np.mean(v):.4f}")
    for k, v in moved.items():
        if v:
            print(f"  text encoder: changing the {k} word moves its row by {np.mean(v):.0%} "
                  f"of its norm ({len(v)} captions)")


if __name__ == "__main__":
    main()
