"""toy_direction.py — can the demo's DiT learn the direction word at all? (docs/demo-model.md § How
the direction word was learnt). A diagnostic, not part of making the model: trains a fresh DiT
(train_dit.py's numbers, loss and padding initialisation) for --minutes on one thread on a narrowed
world (one object, static camera, 64x64, 3 s clips, English captions; with --same, always a plain
red ball over the night, so that the captions differ in the direction word alone), then

  probes   the flow-matching loss at sigma in [0.85, 1.0] with each clip's own caption and with
           its direction word swapped (left <-> right, up <-> down): a DiT that reads the word
           does worse with it swapped;
  samples  6 clips per direction (Euler, 8 steps, shift 3, guidance 5 against the demo's
           negative; the same seeds for every direction) and scores the direction of motion of
           each with evaluate.analyse, the latent's mean colour taken as a blocky picture per
           latent frame.

--faces trains and samples the world with faces (world.FACES); --contrast W adds train_dit.py's
direction contrast term. Measured on 2026-12-06 (one thread, 14 min each): without faces the DiT
ignores the word entirely (--same: 2,148 steps, 5 of 24 right, the same motion for every word);
with faces and --same, 24 of 24; with faces in the varied world, 4 of 24 after 1,709 steps
(probe 0.0759 / 0.0771), and with --contrast 1 --contrast-with opposite, 7 of 24 after 892 steps
(0.0948 / 0.1018), every clip that moved but one moving the way its word said.

  /opt/sf-ref/bin/python scripts/demo_model/toy_direction.py --out DIR [--faces] [--same]
      [--contrast W [--contrast-with other|opposite]]
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402
import latents  # noqa: E402
import train_dit  # noqa: E402
import world  # noqa: E402

MODEL = os.path.join(train_dit.ROOT, "examples", "models", "demo")
F, T = 49, 13   # 3 s at 16 fps: 13 latent frames of 8x8 at 64x64


def spec_for(rng, same, direction=None, background="night"):
    s = world.random_spec(rng, n_objects=1, allow_held_out=True)
    s["camera"] = "static"
    o = s["objects"][0]
    o["element"] = None
    if direction:
        o["direction"] = direction
    if same:
        o.update(shape="ball", colour="red", pattern="plain")
        s["background"] = background
    return s


def latent(spec, mean, std):
    z = latents.encode(world.render_clip(spec, 64, 64, F, every=4), subsampled=True)
    return (z - mean[:, None, None, None]) / std[:, None, None, None]


def direction_of(z):
    """Direction of motion in a de-normalised latent [16, T, h, w]: its mean colour (channels
    0-2, in [-1, 1]) as a picture per latent frame, each latent pixel an 8x8 block as it stands
    for in the frame, scored by evaluate.analyse."""
    rgb = np.clip((z[:3].transpose(1, 2, 3, 0) + 1) * 127.5, 0, 255).astype(np.uint8)
    return evaluate.analyse(rgb.repeat(8, axis=1).repeat(8, axis=2))[1] or "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=14)
    ap.add_argument("--faces", action="store_true")
    ap.add_argument("--same", action="store_true", help="one plain red ball over one background")
    ap.add_argument("--background", default="night", choices=sorted(world.BACKGROUNDS),
                    help="with --same: the background")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--contrast", type=float, default=0.0,
                    help="train_dit.py's --contrast: weight of the direction contrast term")
    ap.add_argument("--contrast-with", choices=("other", "opposite"), default="other",
                    help="train_dit.py's --contrast-with")
    a = ap.parse_args()
    world.FACES = a.faces
    torch.set_num_threads(1)
    torch.manual_seed(0)
    vcfg = json.load(open(os.path.join(MODEL, "vae", "config.json")))
    mean = np.array(vcfg["latents_mean"], np.float32)
    std = np.array(vcfg["latents_std"], np.float32)
    model = train_dit.fresh_dit(MODEL)
    ema = copy.deepcopy(model).requires_grad_(False)
    te = train_dit.TextEncoder(os.path.join(MODEL, "text_encoder"),
                               os.path.join(MODEL, "tokenizer", "tokenizer.json"))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.99), weight_decay=0.0)
    rng = np.random.default_rng(1)
    arng = np.random.default_rng(2)   # --contrast-with other: the other directions
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "loss.tsv"), "w")
    t0, step, recent = time.time(), 0, []
    while time.time() - t0 < a.minutes * 60:
        zs, cols = [], []
        for _ in range(max(1, a.tokens // (T * 16))):
            s = spec_for(rng, a.same, background=a.background)
            zs.append(latent(s, mean, std))
            neg = train_dit.DEMO_NEGATIVE if rng.random() < 0.1 else None
            cols.append(train_dit.contexts(te, s, "en", neg, train_dit.contrast_kind(a),
                                           arng))
        x0 = torch.from_numpy(np.stack(zs)).float()
        ctx, *alt = (torch.stack(c) if torch.is_tensor(c[0]) else torch.tensor(c)
                     for c in zip(*cols))
        eps, s, xt = train_dit.noised(x0, 3.0)
        loss = train_dit.flow_loss(model, x0, eps, xt, s, ctx, *alt, contrast=a.contrast)
        train_dit.optimise(model, ema, opt, loss, a.lr, step, 0.998)
        step += 1
        recent = (recent + [loss.item()])[-100:]
        if step % 50 == 0:
            log.write(f"{step}\t{time.time() - t0:.0f}\t{np.mean(recent):.4f}\n")
            log.flush()
    ema.eval()

    def run(x, sigma, cap):
        with torch.no_grad():
            return ema(hidden_states=x, timestep=torch.tensor([sigma * 1000]),
                       encoder_hidden_states=te(cap)[None], return_dict=False)[0]

    prng = np.random.default_rng(7)
    probe = {"own": [], "swapped": []}
    for i in range(24):
        s = spec_for(prng, a.same, background=a.background)
        x0 = torch.from_numpy(latent(s, mean, std)).float()[None]
        sigma = float(prng.uniform(0.85, 1.0))
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(i))
        xt = (1 - sigma) * x0 + sigma * eps
        alt = world.redirected_spec(s)
        for k, cap in (("own", world.caption(s, "en")), ("swapped", world.caption(alt, "en"))):
            probe[k].append(float(((run(xt, sigma, cap) - (eps - x0)) ** 2).mean()))
    got, right = {}, 0
    sig = [3 * t / (1 + 2 * t) for t in np.linspace(1, 0, 9)]
    for d in world.DIRECTIONS:
        for k in range(6):
            cap = world.caption(spec_for(np.random.default_rng(100 + k), a.same, d, a.background),
                                "en")
            x = torch.randn(1, 16, T, 8, 8, generator=torch.Generator().manual_seed(1000 + k))
            for i in range(8):
                vc, vu = run(x, sig[i], cap), run(x, sig[i], train_dit.DEMO_NEGATIVE)
                x = x + (sig[i + 1] - sig[i]) * (vu + 5.0 * (vc - vu))
            z = x[0].numpy() * std[:, None, None, None] + mean[:, None, None, None]
            got.setdefault(d, []).append(direction_of(z))
            right += got[d][-1] == d
    print(f"toy_direction: {step} steps in {time.time() - t0:.0f} s, loss {np.mean(recent):.4f}; "
          f"probe: own caption {np.mean(probe['own']):.4f}, direction swapped "
          f"{np.mean(probe['swapped']):.4f}; direction right in {right} of 24 samples")
    print(json.dumps(got))


if __name__ == "__main__":
    main()
