"""evaluate.py — renders held-out prompts of the synthetic world WITH SHOTFARM and scores the
decoded frames by image analysis (issue 30): for each shot, the object's colour (the mean colour of
the object's pixels — those far from the frame's median, the background — matched to the nearest
colour of world.COLOURS by chromaticity), its motion direction (the centroid of those pixels, first
quarter of the frames against the last) and the background (the frame median matched to the
nearest base colour of world.BACKGROUNDS). Prompts are one-object captions whose colour x shape x
direction triple is in world.HELD_OUT (never trained on), backgrounds and patterns cycled; one
campaign per language (camera phrases and sentence joining follow the campaign's language), at the
demo's draft tier (or --tier final) and guidance scale (or --guidance): the tier's settings are
the demo campaign's as `shotfarm validate --json` reads them (--campaign). A shot longer than one
temporal window (--seconds 15) is scored for direction at every seam between its windows
(seam_verdicts; issue 23).

Prints a table of rates per language and writes RESULTS.json under --out. With --min-colour,
--min-direction, --min-background it exits 1 when any language's rate is below (the CI test,
tests/demo_model/). Needs build/shotfarm (or --shotfarm), mpirun, ffmpeg.

  /opt/sf-ref/bin/python scripts/demo_model/evaluate.py [--model examples/models/demo]
      [--langs en,es,zh,ja,ko] [--per-lang 8] [--tier draft|final] [--guidance G] [--np 2]
      [--campaign examples/demo/campaign.yaml]
      [--seconds S [--window W] [--overlap O]] [--out DIR]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden"))
import world  # noqa: E402
from window_cut import cut  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CAMPAIGN = os.path.join(ROOT, "examples", "demo", "campaign.yaml")


def campaign_tiers(shotfarm, campaign):
    """The campaign's tiers as render runs them (steps, resolution, sampler, schedule, shift,
    guidance, max_refs, window, overlap; defaults filled in), read by `shotfarm validate --json`:
    the evaluation renders with the demo campaign's own settings, never a copy of them."""
    v = subprocess.run([shotfarm, "validate", "--json", "--no-media", campaign],
                       capture_output=True, text=True)
    if v.returncode != 0:  # its problems as lines (FILE:LINE:COL: FIELD: ...), not JSON
        t = subprocess.run([shotfarm, "validate", "--no-media", campaign], capture_output=True,
                           text=True)
        sys.exit(f"evaluate: --campaign {campaign}: shotfarm validate refuses it:\n"
                 f"{(t.stderr or v.stderr).strip()}")
    return json.loads(v.stdout)["files"][0]["tiers"]


def shots_for(lang, n):
    """n held-out one-object clip descriptions for lang (deterministic)."""
    li = world.LANGS.index(lang)
    bgs = list(world.BACKGROUNDS)
    out = []
    for i in range(n):
        c, s, d = world.HELD_OUT[i % len(world.HELD_OUT)]
        out.append({"objects": [{"shape": s, "colour": c, "pattern": world.PATTERNS[(i + li) % 3],
                                 "direction": d, "element": None}],
                    "background": bgs[(i + li + i // len(world.HELD_OUT)) % len(bgs)],
                    "camera": "none"})
    return out


def seam_spans(F, window, overlap):
    """Per seam between consecutive windows of a shot of F latent frames (the cut of the tier's
    window and overlap), the pixel frames [first, last) that are scored for it: the overlap and
    4 latent frames (1 s) on either side."""
    st = cut(F, window, overlap)[0]
    spans = []
    for a, b in zip(st, st[1:]):
        lo, hi = max(0, b - 4), min(F, a + window + 4)
        spans.append((4 * lo, 4 * (hi - 1) + 1))
    return spans


def campaign_yaml(lang, specs, tier, settings, seconds=3):
    """The evaluation campaign of one language: specs as one-object shots, rendered at tier with
    settings (a campaign_tiers() entry: steps, resolution, sampler, schedule, shift, guidance,
    window, overlap)."""
    t = ", ".join(f"{k}: {settings[k]}" for k in ("steps", "resolution", "sampler", "schedule",
                                                   "shift", "guidance", "window", "overlap"))
    lines = [f"# evaluate.py: held-out prompts in {lang}", "version: 1",
             f"campaign: eval-{lang}", "seed: 3030", f"language: {lang}",
             "model: {config: tiny-vace, dtype: fp32, tp: 1}", "tiers:",
             f"  {tier}: {{{t}}}", "sequences:"]
    for q in range(0, len(specs), 6):
        lines += [f"  - id: q{q // 6}", '    aspect: "16:9"', "    shots:"]
        for i in range(q, min(q + 6, len(specs))):
            lines.append(f"      - {{id: h{i}, prompt: {json.dumps(world.caption(specs[i], lang), ensure_ascii=False)}, duration: {seconds:g}}}")
    lines += ['deliverables: {aspects: ["16:9"], lengths: [3], languages: [en], codecs: [ffv1], '
              'resolution: 360, fps: 24, reframe: true}']
    return "\n".join(lines) + "\n"


def plain_pipeline(model, out):
    """Writes to out a text-to-video pipeline of the VACE pipeline model: its transformer without
    the VACE tensors (safetensors rewritten in pure Python) and class, the rest linked."""
    os.makedirs(os.path.join(out, "transformer"), exist_ok=True)
    for comp in ("vae", "text_encoder", "tokenizer", "scheduler"):
        os.symlink(os.path.abspath(os.path.join(model, comp)), os.path.join(out, comp))
    idx = json.load(open(os.path.join(model, "model_index.json")))
    idx["_class_name"] = "WanPipeline"
    idx["transformer"] = ["diffusers", "WanTransformer3DModel"]
    json.dump(idx, open(os.path.join(out, "model_index.json"), "w"), indent=2)
    cfg = json.load(open(os.path.join(model, "transformer", "config.json")))
    cfg = {k: v for k, v in cfg.items() if not k.startswith("vace")}
    cfg["_class_name"] = "WanTransformer3DModel"
    json.dump(cfg, open(os.path.join(out, "transformer", "config.json"), "w"), indent=2)
    name = "diffusion_pytorch_model.safetensors"
    with open(os.path.join(model, "transformer", name), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    keep, blobs, at = {}, [], 0
    for k, v in sorted(head.items(), key=lambda kv: kv[1]["data_offsets"][0] if kv[0] != "__metadata__" else -1):
        if k == "__metadata__" or k.startswith("vace_"):
            continue
        b, e = v["data_offsets"]
        keep[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [at, at + e - b]}
        blobs.append(data[b:e])
        at += e - b
    h = json.dumps(keep, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(out, "transformer", name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_frames(path):
    """RGB frames [F, H, W, 3] of a shot file (ffmpeg)."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height", "-of", "csv=p=0", path],
                       capture_output=True, text=True, check=True)
    w, h = (int(v) for v in p.stdout.strip().split(","))
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def nearest(rgb, table, chroma):
    best, bd = None, 1e9
    for name, ref in table.items():
        a, b = np.asarray(rgb, np.float64), np.asarray(ref, np.float64)
        if chroma:
            a, b = a / max(a.sum(), 1), b / b.sum()
        d = float(((a - b) ** 2).sum())
        if d < bd:
            best, bd = name, d
    return best


def object_mask(f):
    """Per frame of float frames [F, H, W, 3], the pixels far from the frame's median (the
    object's), and the medians [F, 3] (the background)."""
    med = np.median(f.reshape(f.shape[0], -1, 3), axis=1)
    return np.sqrt(((f - med[:, None, None, :]) ** 2).sum(-1)) > 70, med


def centroids(mask):
    """Per frame, the centre (x, y) of the masked pixels in fractions of the frame; NaN where
    fewer than 2 stand out."""
    F, H, W = mask.shape
    ys, xs = np.mgrid[0:H, 0:W]
    return np.array([((xs[m].mean() + 0.5) / W, (ys[m].mean() + 0.5) / H) if m.sum() >= 2
                     else (np.nan, np.nan) for m in mask])


def analyse(frames):
    """(colour, direction, background) seen in decoded frames; None where nothing stands out."""
    f = frames.astype(np.float32)
    F = f.shape[0]
    mask, med = object_mask(f)
    bg = nearest(np.median(med, axis=0), {k: v[0] for k, v in world.BACKGROUNDS.items()}, False)
    if mask.sum() < 4 * F:
        return None, None, bg
    # the body's colour: the object's coloured pixels, not its white face (world.FACE) or
    # other grey ones (chroma, max - min of RGB, of at least 60)
    px = f[mask]
    body = px[px.max(1) - px.min(1) >= 60]
    colour = nearest((body if len(body) else px).mean(0), world.COLOURS, True)
    c = centroids(mask)
    q = max(1, F // 4)
    first, last = c[:q][~np.isnan(c[:q, 0])], c[-q:][~np.isnan(c[-q:, 0])]
    if not len(first) or not len(last):
        return colour, None, bg
    dx, dy = last.mean(0) - first.mean(0)
    if max(abs(dx), abs(dy)) < 0.08:
        return colour, "still", bg
    direction = ("right" if dx > 0 else "left") if abs(dx) >= abs(dy) else \
        ("down" if dy > 0 else "up")
    return colour, direction, bg


# An object has left the frame when from some frame to the end fewer than GONE pixels stand out
# and it went out through the edge it moves to: in the last frame it is seen in, its centre is
# within EDGE of that edge and fewer than half its usual pixels (their median over the frames it
# is seen in) are still inside. One that vanishes whole, or elsewhere, has not left. A seam's
# frames before the exit are scored when there are at least SCORED of them.
GONE, EDGE, SCORED = 16, 0.25, 16


def left_at(frames, direction):
    """The frame from which the object is out of the frame for good, having left it through the
    edge `direction` points to; None if it does not leave so (in at the end, vanished whole, or
    gone elsewhere)."""
    mask, _ = object_mask(frames.astype(np.float32))
    count = mask.sum((1, 2))
    seen = np.nonzero(count >= GONE)[0]
    if not len(seen) or seen[-1] == len(frames) - 1:
        return None
    last = int(seen[-1])
    x, y = centroids(mask[last:last + 1])[0]
    near = {"left": x < EDGE, "right": x > 1 - EDGE, "up": y < EDGE, "down": y > 1 - EDGE}
    partly = count[last] < 0.5 * np.median(count[seen])
    return last + 1 if near[direction] and partly else None


def seam_verdicts(frames, direction, spans):
    """Per seam span [lo, hi) of a windowed shot, the direction seen there, or "out" where the
    object has left the frame the way it moves (left_at) before the span ends and its frames
    there before the exit do not move another way: a continuing move may leave the frame, a loop
    brings the object back."""
    gone = left_at(frames, direction)
    out = []
    for lo, hi in spans:
        d = analyse(frames[lo:hi])[1]
        if d != direction and gone is not None and gone < hi:
            before = analyse(frames[lo:gone])[1] if gone - lo >= SCORED else None
            if before in (direction, "still", None):
                d = "out"
        out.append(d)
    return out


def shot_holds(verdicts, direction):
    """Whether a windowed shot holds its direction: every seam's verdict is it or "out"."""
    return all(d in (direction, "out") for d in verdicts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "examples", "models", "demo"))
    ap.add_argument("--shotfarm", default=os.path.join(ROOT, "build", "shotfarm"))
    ap.add_argument("--langs", default=",".join(world.LANGS))
    ap.add_argument("--per-lang", type=int, default=8)
    ap.add_argument("--campaign", default=DEMO_CAMPAIGN,
                    help="the campaign whose tier settings the shots are rendered with (default: "
                         "the demo's)")
    ap.add_argument("--tier", default="draft", choices=("draft", "final"))
    ap.add_argument("--seconds", type=float, default=3,
                    help="shot length; a shot longer than one window (--window latent frames; "
                         "81 frames at 21) is scored for direction at every seam between its "
                         "windows, and counts as right only if every seam is (or the object has "
                         "left the frame the way it moves)")
    ap.add_argument("--guidance", type=float, default=None,
                    help="the guidance scale (default: the tier's in --campaign)")
    ap.add_argument("--window", type=int, default=None,
                    help="the temporal window, in latent frames (docs/windows.md; default: the "
                         "tier's in --campaign)")
    ap.add_argument("--overlap", type=int, default=None,
                    help="the overlap of consecutive windows, in latent frames (default: the "
                         "tier's in --campaign)")
    ap.add_argument("--np", type=int, default=int(os.environ.get("SF_EVAL_NP", "2")))
    ap.add_argument("--out", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--check-vace-zero", action="store_true",
                    help="also render the first language with the model's plain text-to-video "
                         "DiT (VACE tensors dropped) and require identical frames")
    ap.add_argument("--min-colour", type=float, default=0)
    ap.add_argument("--min-direction", type=float, default=0)
    ap.add_argument("--min-background", type=float, default=0)
    a = ap.parse_args()
    settings = campaign_tiers(a.shotfarm, a.campaign)[a.tier]
    for k in ("guidance", "window", "overlap"):
        if getattr(a, k) is not None:
            settings[k] = getattr(a, k)
    out = a.out or tempfile.mkdtemp(prefix="sf-eval.")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1",
               SF_THREADS=os.environ.get("SF_THREADS", "1"))
    tok = os.path.join(a.model, "tokenizer", "tokenizer.json")
    results, rows, fail, vace_fail = [], [], False, False
    for lang in a.langs.split(","):
        specs = shots_for(lang, a.per_lang)
        cy = os.path.join(out, f"eval-{lang}.yaml")
        with open(cy, "w", encoding="utf-8") as fo:
            fo.write(campaign_yaml(lang, specs, a.tier, settings, a.seconds))
        # shotfarm's own rules (e.g. --window/--overlap) with its file:line:col message, at once
        v = subprocess.run([a.shotfarm, "validate", cy], capture_output=True, text=True)
        if v.returncode != 0:
            sys.exit(f"evaluate: shotfarm refuses the campaign written for window "
                     f"{settings['window']}, overlap {settings['overlap']}, "
                     f"{a.seconds:g} s shots:\n"
                     f"{(v.stderr or v.stdout).strip()}")
        run = os.path.join(out, f"run-{lang}")
        cmd = [os.environ.get("MPIEXEC", "mpirun"), "-np", str(a.np), a.shotfarm, "render", cy,
               "-o", run, "--model", a.model, "--tokenizer", tok, "--tier", a.tier]
        with open(os.path.join(out, f"render-{lang}.log"), "w") as log:
            rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        if rc not in (0,):
            sys.exit(f"evaluate: render of {cy} exited {rc}: see {out}/render-{lang}.log")
        if a.check_vace_zero and lang == a.langs.split(",")[0]:
            plain = os.path.join(out, "plain-model")
            plain_pipeline(a.model, plain)
            prun = os.path.join(out, f"run-{lang}-plain")
            cmd2 = [c if c != a.model else plain for c in cmd]
            cmd2[cmd2.index(run)] = prun
            with open(os.path.join(out, f"render-{lang}-plain.log"), "w") as log:
                rc = subprocess.run(cmd2, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
            if rc != 0:
                sys.exit(f"evaluate: plain render exited {rc}: see {out}/render-{lang}-plain.log")
            for i in range(len(specs)):
                sf = f"q{i // 6}.h{i}.take1.16x9.mkv"
                if not np.array_equal(read_frames(os.path.join(run, "shots", sf)),
                                      read_frames(os.path.join(prun, "shots", sf))):
                    print(f"evaluate: FAIL: {sf}: the VACE pipeline's frames differ from its "
                          f"plain DiT's (are the VACE output projections zero?)")
                    vace_fail = True
            if not vace_fail:
                print(f"evaluate: {len(specs)} shots in {lang}: the VACE pipeline renders "
                      f"exactly as its plain text-to-video DiT")
        ok = {"colour": 0, "direction": 0, "background": 0}
        for i, spec in enumerate(specs):
            o = spec["objects"][0]
            shot = os.path.join(run, "shots", f"q{i // 6}.h{i}.take1.16x9.mkv")
            frames = read_frames(shot)
            if len(frames) != world.frames_for_seconds(a.seconds):
                sys.exit(f"evaluate: FAIL: {shot} has {len(frames)} frames; a {a.seconds:g} s shot "
                         f"has {world.frames_for_seconds(a.seconds)} (see {out}/render-{lang}.log)")
            colour, direction, bg = analyse(frames)
            r = {"lang": lang, "shot": f"h{i}", "prompt": world.caption(spec, lang)}
            spans = seam_spans((len(frames) - 1) // 4 + 1, settings["window"],
                               settings["overlap"])
            if spans:   # a windowed shot: the direction at every seam
                r["seams"] = seam_verdicts(frames, o["direction"], spans)
                direction = o["direction"] if shot_holds(r["seams"], o["direction"]) \
                    else "/".join(str(d) for d in r["seams"])
            r.update(want=[o["colour"], o["direction"], spec["background"]],
                     got=[colour, direction, bg])
            results.append(r)
            ok["colour"] += colour == o["colour"]
            ok["direction"] += direction == o["direction"]
            ok["background"] += bg == spec["background"]
        n = len(specs)
        rate = {k: v / n for k, v in ok.items()}
        rows.append((lang, n, rate))
        if rate["colour"] < a.min_colour or rate["direction"] < a.min_direction or \
                rate["background"] < a.min_background:
            fail = True
    with open(os.path.join(out, "RESULTS.json"), "w", encoding="utf-8") as fo:
        json.dump({"tier": a.tier, "settings": settings, "model": a.model, "shots": results,
                   "rates": {l: r for l, _, r in rows}}, fo, ensure_ascii=False, indent=1)
    print(f"| language | shots | colour | direction | background |   (tier {a.tier})")
    print("|---|---|---|---|---|")
    for lang, n, r in rows:
        print(f"| {lang} | {n} | {r['colour']:.0%} | {r['direction']:.0%} | {r['background']:.0%} |")
    for r in results:
        if r["want"] != r["got"]:
            print(f"  miss {r['lang']} {r['shot']}: want {r['want']} got {r['got']}: {r['prompt']}")
    print(f"evaluate: frames and RESULTS.json in {out}")
    if vace_fail:
        sys.exit(1)
    if fail:
        print(f"evaluate: FAIL: a rate is below --min-colour {a.min_colour} / --min-direction "
              f"{a.min_direction} / --min-background {a.min_background}")
        sys.exit(1)


if __name__ == "__main__":
    main()
