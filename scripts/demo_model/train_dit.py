"""train_dit.py — trains the demo model's DiT (diffusers WanTransformer3DModel, the `tiny` numbers
of node/config.c with 3 layers: dim 128, ffn 256, freq 256, text_dim 64, 4 heads, patch 1x2x2) on
the synthetic world (world.py) in the designed latent space (latents.py), until a wall-time
budget runs out.

Wan's flow matching: x_t = (1 - s) x0 + s eps, the model predicts eps - x0, at timestep 1000 s
with s drawn from the shifted distribution s = k u / (1 + (k - 1) u), u uniform (k = --shift).
Clips are drawn afresh every step (every clip is new: the data count is steps x batch), at the
demo's sizes (64x64, 128x64, 64x128) and shot lengths (3-6.5 s at 16 fps: 13-27 latent frames),
captioned in a random one of en, es, zh, ja, ko. The text encoder is the tiny umT5 that
`shotfarm mkmodel` makes (random, frozen; rounded to fp16 as shipped), fed the demo tokenizer's
ids plus </s>; its output is cut to the prompt's tokens and zero-padded to 512 rows, as shotfarm
and Wan do. Caption dropout (--drop) replaces the prompt with a negative prompt (Wan's default,
which shotfarm encodes when a campaign sets none, or the demo campaign's), so that guidance
uncond = negative works. The loss weights latent pixels whose colour stands out from the
frame's background (the objects) 5x; the text embedder's and the cross-attention's key/value
biases start at zero, so the ~500 padding rows start as zero keys and values. An EMA of the
weights is what export_model.py ships.

--faces (objects face the way they move) and --contrast (a loss term that makes the DiT read the
direction word: flow_loss), off by default, made the shipped DiT from the first one (docs/
demo-model.md § The shipped DiT); --mask (frames hidden in noise) is an experiment of § How the
direction word was learnt. With all three off the batches and the loss are the first DiT's.

Writes OUT/dit_loss.tsv (step, wall s, loss, mean of the last 100), OUT/dit_ckpt.pt every
--ckpt-every steps (a rerun resumes; touch OUT/STOP to end early). --init MODEL starts from a
shipped model's DiT instead of mkmodel's random one (to train on from the committed weights);
--device cuda trains on a GPU (the batches are drawn on the CPU as before, so only the arithmetic
moves); drawing a batch takes about 150 ms on one core, so --workers N draws them in N processes
ahead of the training.

  /opt/sf-ref/bin/python scripts/demo_model/train_dit.py --skeleton SKEL --out OUT --minutes 45
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from diffusers import WanTransformer3DModel
from tokenizers import Tokenizer
from transformers import UMT5EncoderModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latents  # noqa: E402
import world  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Wan's default negative prompt (coordinator/unit_text.c, WAN-FACTS.md § 2): what shotfarm
# encodes as the unconditional prompt when a campaign sets no `negative`
WAN_NEGATIVE = ("色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
                "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，"
                "毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走")
DEMO_NEGATIVE = "blurry, distorted, noise"   # examples/demo/campaign.yaml `negative`
NEGATIVES = (WAN_NEGATIVE, DEMO_NEGATIVE)
TEXT_LEN = 512
SIZES = (((64, 64), 0.6), ((128, 64), 0.2), ((64, 128), 0.2))
SECONDS = (3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5)
# --contrast: the margin by which the loss with the directions changed must exceed the clip's
# own, and the noise level from which it is asked (flow_loss)
CONTRAST_MARGIN = 0.2
CONTRAST_SIGMA = 0.5


class TextEncoder:
    """The frozen tiny umT5 with shotfarm's conventions; encodings cached by text."""

    def __init__(self, model_dir, tokenizer):
        self.tok = Tokenizer.from_file(tokenizer)
        self.m = UMT5EncoderModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
        with torch.no_grad():   # the weights as shipped (fp16), computed in fp32
            for p in self.m.parameters():
                p.copy_(p.half().float())
        self.cache = {}

    def __call__(self, text):
        if text not in self.cache:
            ids = self.tok.encode(text).ids[:TEXT_LEN]
            with torch.no_grad():
                h = self.m(input_ids=torch.tensor([ids])).last_hidden_state[0]
            out = torch.zeros(TEXT_LEN, h.shape[-1])
            out[:len(ids)] = h
            self.cache[text] = out
        return self.cache[text]


def contexts(te, spec, lang, negative=None, contrast=None, rng=None):
    """A clip's context: its caption in lang encoded, or the negative prompt given instead
    (caption dropout). With contrast ("opposite" or "other", --contrast-with) also (swapped,
    has): the context of its caption with every direction changed (world.redirected_spec: to its
    opposite, or to another drawn from rng), or with a negative prompt the same context and
    has 0 (flow_loss)."""
    own = te(negative if negative is not None else world.caption(spec, lang))
    if not contrast:
        return (own,)
    if negative is not None:
        return own, own, 0.0
    alt = world.redirected_spec(spec, rng if contrast == "other" else None)
    return own, te(world.caption(alt, lang)), 1.0


def draw_batch(rng, te, mean, std, tokens, drop, contrast=None):
    """A batch of fresh clips: latents [B, 16, T, H/8, W/8] and contexts [B, 512, 64]; with
    contrast (contexts) also the contexts of each clip's caption with its direction words
    changed (swapped) and a mask [B] of the clips that have one (not those given a negative
    prompt). The swapped captions draw nothing from rng (the other directions come from a
    generator spawned from its seed): the batches are the same either way."""
    arng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]) \
        if contrast == "other" else None
    (W, H) = SIZES[rng.choice(len(SIZES), p=[p for _, p in SIZES])][0]
    F = world.frames_for_seconds(float(rng.choice(SECONDS)))
    T = (F - 1) // 4 + 1
    n = max(1, tokens // (T * (H // 16) * (W // 16)))
    zs, cols = [], []
    while len(zs) < n:
        spec = world.random_spec(rng)
        z = latents.encode(world.render_clip(spec, W, H, F, every=4), subsampled=True)
        z = (z - mean[:, None, None, None]) / std[:, None, None, None]
        zs.append(z)
        if rng.random() < drop:
            cols.append(contexts(te, spec, None, NEGATIVES[int(rng.integers(len(NEGATIVES)))],
                                 contrast))
            continue
        cols.append(contexts(te, spec, world.LANGS[int(rng.integers(5))], contrast=contrast,
                             rng=arng))
    return (torch.from_numpy(np.stack(zs)).float(),
            *(torch.stack(c) if torch.is_tensor(c[0]) else torch.tensor(c) for c in zip(*cols)))


_worker = {}


def _worker_init(text_encoder, tokenizer, mean, std, faces, speed):
    torch.set_num_threads(1)
    world.FACES, world.SPEED = faces, speed
    _worker.update(te=TextEncoder(text_encoder, tokenizer), mean=mean, std=std)


def _worker_draw(seed, step, tokens, drop, contrast):
    w = _worker
    return draw_batch(np.random.default_rng([seed, step]), w["te"], w["mean"], w["std"], tokens,
                      drop, contrast)


def contrast_kind(a):
    """What draw_batch's contrast is for the arguments a: None without --contrast."""
    return a.contrast_with if a.contrast > 0 else None


def batches(a, te, mean, std, step):
    """The batches of steps step, step + 1, ... With --workers 0, drawn here in turn from one
    generator seeded by the seed and the first step (the committed model's sequence); with
    --workers N, drawn by N processes ahead of the training, batch k from a generator seeded by
    (seed, k) alone: the same batches for any N, and a resumed run draws what it would have."""
    if a.workers <= 0:
        rng = np.random.default_rng(a.seed * 7919 + step)
        while True:
            yield draw_batch(rng, te, mean, std, a.tokens, a.drop, contrast_kind(a))
    import collections
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")   # safe beside CUDA and torch's threads
    with ctx.Pool(a.workers, _worker_init,
                  (os.path.join(a.skeleton, "text_encoder"), a.tokenizer, mean, std,
                   world.FACES, world.SPEED)) as pool:
        ahead = collections.deque()
        while True:
            while len(ahead) < 2 * a.workers:
                ahead.append(pool.apply_async(_worker_draw, (a.seed, step + len(ahead), a.tokens,
                                                             a.drop, contrast_kind(a))))
            step += 1
            yield ahead.popleft().get()


def fresh_dit(pipeline):
    """A new DiT of the main-block numbers of pipeline/transformer/config.json (its VACE blocks
    left out), initialised for training. Padding rows: shotfarm (like Wan) feeds 512 context
    rows, those past the prompt being text_embedder(0). With the text embedder's and the
    cross-attention's key/value biases zero they start as keys and values of exactly zero, so
    the few prompt rows are not drowned by ~500 identical padding rows while the model learns to
    read the prompt."""
    tcfg = json.load(open(os.path.join(pipeline, "transformer", "config.json")))
    model = WanTransformer3DModel(**{k: v for k, v in tcfg.items()
                                     if not k.startswith("_") and not k.startswith("vace")})
    with torch.no_grad():
        ce = model.condition_embedder.text_embedder
        ce.linear_1.bias.zero_()
        ce.linear_2.bias.zero_()
        for blk in model.blocks:
            blk.attn2.to_k.bias.zero_()
            blk.attn2.to_v.bias.zero_()
    return model


def noised(x0, shift):
    """Wan's flow matching: (eps, sigma, x_t) for a batch x0, sigma = k u / (1 + (k - 1) u) with
    u uniform and k the shift, x_t = (1 - sigma) x0 + sigma eps."""
    B = x0.shape[0]
    u = torch.rand(B)
    eps = torch.randn_like(x0)
    s = shift * u / (1 + (shift - 1) * u)
    sv = s.view(B, 1, 1, 1, 1)
    return eps, s, (1 - sv) * x0 + sv * eps


def weighted_error(x0, eps, pred):
    """train_dit's per-element loss of a prediction of eps - x0: the squared error, the latent
    pixels whose mean colour stands out from their frame's median (the background, so the
    objects: few tokens) weighted 5x, so that colour and motion are learnt early."""
    med = x0[:, :3].flatten(3).median(dim=3).values[..., None, None]
    far = ((x0[:, :3] - med).abs().sum(1, keepdim=True) > 1.0).float()
    return (1 + 4 * far) * (pred - (eps - x0)).pow(2)


def flow_loss(model, x0, eps, xt, s, ctx, alt=None, has=None, contrast=0.0):
    """The model's loss on one noised batch (the mean of weighted_error). With contrast > 0 and the
    swapped contexts alt (draw_batch), plus contrast times the mean over the batch of, for each
    clip that has one (has) and is noised at sigma >= CONTRAST_SIGMA, relu((1 + CONTRAST_MARGIN)
    L_own - L_swapped) / L_own (L_own held constant in the divisor): the prediction with the
    directions changed must be worse by the margin. The flow loss alone does not make the DiT read
    the direction word (docs/demo-model.md § How the direction word was learnt): where the motion
    can be seen in the noisy input the word adds nothing, and where it cannot the word's share of
    the loss is too small to be found among colour and background; this term rewards reading it
    directly. At high noise only, where the clip itself does not show its direction, so the DiT can
    only meet it by drawing what the word says."""
    pred = model(hidden_states=xt, timestep=s * 1000, encoder_hidden_states=ctx,
                 return_dict=False)[0]
    err = weighted_error(x0, eps, pred)
    if contrast <= 0:
        return err.mean()
    own = err.flatten(1).mean(1)
    loss = own.mean()
    sel = ((s >= CONTRAST_SIGMA) & (has > 0)).nonzero()[:, 0]
    if len(sel):
        p2 = model(hidden_states=xt[sel], timestep=s[sel] * 1000, encoder_hidden_states=alt[sel],
                   return_dict=False)[0]
        swapped = weighted_error(x0[sel], eps[sel], p2).flatten(1).mean(1)
        hinge = torch.relu((1 + CONTRAST_MARGIN) * own[sel] - swapped) / own[sel].detach()
        loss = loss + contrast * hinge.sum() / x0.shape[0]
    return loss


def optimise(model, ema, opt, loss, lr, step, ema_decay):
    """One AdamW step on loss (lr warmed up over 200 steps, gradient norm clipped to 1), then
    the EMA of the weights (decay min(ema_decay, (1 + step) / (10 + step)))."""
    for g in opt.param_groups:
        g["lr"] = lr * min(1.0, (step + 1) / 200)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        d = min(ema_decay, (1 + step) / (10 + step))
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(d).add_(pm, alpha=1 - d)


def load_init(model, model_dir):
    """Copies a shipped pipeline's DiT weights (MODEL/transformer, fp16, the tiny-vace layout
    export_model.py writes) into the training model: every tensor of the model must be there
    with its shape; the VACE blocks, which the model lacks, are left out."""
    from safetensors.torch import load_file
    path = os.path.join(model_dir, "transformer", "diffusion_pytorch_model.safetensors")
    if not os.path.exists(path):
        sys.exit(f"train_dit: --init {model_dir}: no {path}; give a pipeline directory such as "
                 "examples/models/demo")
    have = load_file(path)
    want = model.state_dict()
    missing = [n for n in want if n not in have or tuple(have[n].shape) != tuple(want[n].shape)]
    if missing:
        sys.exit(f"train_dit: --init {path}: {len(missing)} tensors missing or of another shape "
                 f"(first: {missing[0]}); it must be a tiny-vace DiT as export_model.py writes")
    model.load_state_dict({n: have[n].float() for n in want})
    print(f"train_dit: started from {path} ({len(want)} tensors)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skeleton", required=True, help="a `shotfarm mkmodel --config tiny-vace` dir")
    ap.add_argument("--vae", required=True, help="train_vae.py's vae/ (its latent mean/std)")
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "examples/models/demo/tokenizer/tokenizer.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=45)
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--tokens", type=int, default=4096, help="video tokens per batch")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--drop", type=float, default=0.1)
    ap.add_argument("--faces", action="store_true",
                    help="objects face the way they move (world.FACES; docs/demo-model.md "
                         "§ The shipped DiT)")
    ap.add_argument("--speed", type=float, default=None,
                    help="objects move this fraction of the frame per second in every clip "
                         "(world.SPEED; default: 0.4 of the frame per clip, however long); like "
                         "--faces, not kept in the checkpoint: give it again to resume")
    ap.add_argument("--contrast", type=float, default=0.0,
                    help="weight of the direction contrast term (flow_loss; docs/demo-model.md "
                         "§ The shipped DiT): 0 (off), or e.g. 1")
    ap.add_argument("--contrast-with", choices=("other", "opposite"), default="other",
                    help="the captions the contrast term compares with: each direction word "
                         "changed to one of the three others (drawn per clip), or to its "
                         "opposite only (which leaves the right-angle ones unlearnt)")
    ap.add_argument("--mask", type=float, default=0.0,
                    help="chance that a clip shows one latent frame only, the rest pure noise")
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu",
                    help="where the DiT trains: cpu, or cuda (clips, noise and sigma are still "
                         "drawn on the CPU, so a run draws the same batches on either)")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes drawing batches ahead of the training (0: drawn in turn, "
                         "the committed model's batches; N: per-step seeded, the same for any N)")
    ap.add_argument("--init", metavar="MODEL",
                    help="start from a shipped pipeline's DiT (e.g. examples/models/demo): its "
                         "main-block weights become the weights and the EMA (not with a "
                         "checkpoint in OUT, which resumes)")
    ap.add_argument("--ckpt-every", type=int, default=200)
    a = ap.parse_args()
    if a.speed is not None and not 0 < a.speed < 1:
        ap.error(f"--speed {a.speed}: a fraction of the frame per second, above 0 and below 1")
    world.FACES, world.SPEED = a.faces, a.speed
    if a.device != "cpu" and not torch.cuda.is_available():
        sys.exit(f"train_dit: --device {a.device}, but torch sees no CUDA device; use --device cpu")
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    vcfg = json.load(open(os.path.join(a.vae, "config.json")))
    mean, std = np.array(vcfg["latents_mean"], np.float32), np.array(vcfg["latents_std"], np.float32)
    model = fresh_dit(a.skeleton)
    ck = os.path.join(a.out, "dit_ckpt.pt")
    if a.init and not os.path.exists(ck):
        load_init(model, a.init)
    model.to(dev)
    ema = copy.deepcopy(model).requires_grad_(False)
    te = TextEncoder(os.path.join(a.skeleton, "text_encoder"), a.tokenizer)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.99), weight_decay=0.0)
    step, spent, seen = 0, 0.0, 0
    if os.path.exists(ck):
        st = torch.load(ck, weights_only=False, map_location="cpu")
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])   # its state follows the parameters' device
        step, spent, seen = st["step"], st["spent"], st["seen"]
        print(f"train_dit: resuming {ck} at step {step}" +
              (" (--init ignored: delete the checkpoint to start from it)" if a.init else ""),
              flush=True)
    feed = batches(a, te, mean, std, step)
    log = open(os.path.join(a.out, "dit_loss.tsv"), "a")
    if step == 0:
        log.write("step\twall_s\tclips\tloss\tloss_avg100\n")
    t0 = time.time() - spent
    recent = []
    stop = os.path.join(a.out, "STOP")
    while time.time() - t0 < a.minutes * 60 and not os.path.exists(stop):
        x0, ctx, *alt = next(feed)   # alt: the swapped contexts and their mask (--contrast)
        B = x0.shape[0]
        eps, s, xt = noised(x0, a.shift)
        for i in range(B if a.mask > 0 else 0):   # one latent frame shows, the rest pure noise
            if torch.rand(()) < a.mask:
                k = int(torch.randint(x0.shape[2], ()))
                keep = xt[i, :, k].clone()
                xt[i] = eps[i]
                xt[i, :, k] = keep
        x0, eps, xt, s, ctx, *alt = (t.to(dev) for t in (x0, eps, xt, s, ctx, *alt))
        loss = flow_loss(model, x0, eps, xt, s, ctx, *alt, contrast=a.contrast)
        optimise(model, ema, opt, loss, a.lr, step, a.ema)
        step += 1
        seen += B
        recent = (recent + [loss.item()])[-100:]
        log.write(f"{step}\t{time.time() - t0:.1f}\t{seen}\t{loss.item():.5f}\t"
                  f"{sum(recent) / len(recent):.5f}\n")
        log.flush()
        if step % a.ckpt_every == 0:
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(),
                        "opt": opt.state_dict(), "step": step, "seen": seen,
                        "spent": time.time() - t0}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "step": step, "seen": seen, "spent": time.time() - t0}, ck + ".tmp")
    os.replace(ck + ".tmp", ck)
    print(f"train_dit: {step} steps, {seen} clips in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
