"""test_scorer.py — evaluate.py's scoring of a long shot, on clips whose truth is known: the
synthetic world's own renders (scripts/demo_model/world.py), not shotfarm's. A 15 s take that
moves one way throughout must be right at every seam between its temporal windows; one that leaves
the frame the way it moves must be right or "out"; a take that loops (every window draws the
crossing again, the failure windowed Wan is known for), one that turns back, one that stands still,
one that leaves the frame and reappears, and one that stands by the edge and vanishes whole must
fail; at the demo's overlap (5) and the most allowed (10). Short clips: colour, direction and
background as drawn. Run by tests/demo_model/test_scorer.sh with CI's numpy-only Python.
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "demo_model"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "golden"))
import evaluate  # noqa: E402
import world  # noqa: E402

world.FACES = True
W = H = 64
LONG = world.frames_for_seconds(15)            # 241: 61 latent frames
failures = []


def spec(direction, start=0.1, colour="red", background="desert"):
    return {"objects": [{"shape": "ball", "colour": colour, "pattern": "plain",
                         "direction": direction, "element": None, "start": start, "lane": 0.0}],
            "background": background, "camera": "none", "seed": 7}


def render(s, frames, speed):
    world.SPEED = speed
    try:
        return world.render_clip(s, W, H, frames)
    finally:
        world.SPEED = None


def expect(name, frames, direction, want, spans):
    v = evaluate.seam_verdicts(frames, direction, spans)
    ok = evaluate.shot_holds(v, direction)
    print(f"{name}: seams {v} -> {'holds' if ok else 'broken'}")
    if ok != want:
        failures.append(f"{name}: seams {v}, want the direction {'held' if want else 'broken'}")
    return v


# the demo's overlap (4 windows at 0, 16, 32, 40: 3 seams) and the most allowed (0, 11, 22, 33,
# 40: 4 seams)
for overlap, seams in ((5, 3), (10, 4)):
    spans = evaluate.seam_spans((LONG - 1) // 4 + 1, 21, overlap)
    assert len(spans) == seams, (overlap, spans)
    print(f"-- window 21, overlap {overlap}")
    for d in world.DIRECTIONS:
        # moving one way for 15 s at 0.05 of the frame per second: 0.1 -> 0.85
        expect(f"{d}, 15 s in frame", render(spec(d), LONG, 0.05), d, True, spans)
    # leaving the frame the way it moves: 0.1 -> 1.45, out after about 10 s
    v = expect("right, leaves the frame", render(spec("right"), LONG, 0.09), "right", True, spans)
    if "out" not in v:
        failures.append(f"right, leaves the frame (overlap {overlap}): no seam scored out ({v})")
    # a loop: every window's stretch draws the crossing again from the start
    cross = render(spec("right"), 4 * (21 - overlap) + 1, None)[:-1]
    expect("right, looped per window", np.concatenate([cross] * 8)[:LONG], "right", False, spans)
    # turns back half way
    there = render(spec("right"), 121, 0.05)
    expect("right, turns back", np.concatenate([there, there[::-1][1:]]), "right", False, spans)
    # stands still
    expect("right, standing", np.repeat(render(spec("right", 0.3), 1, 0.05), LONG, 0), "right",
           False, spans)
    # the wrong way throughout
    expect("right, moving left", render(spec("left"), LONG, 0.05), "right", False, spans)
    # leaves on the right, then reappears at the left and moves right again
    out = render(spec("right"), LONG, 0.09)
    back = np.concatenate([out[:180], render(spec("right"), LONG - 180, 0.09)])
    expect("right, leaves and reappears", back, "right", False, spans)
    # moves right to near the edge (whole), stands there 2 s, then vanishes whole
    near = render(spec("right"), 161, 0.07)[:160]
    empty = render(dict(spec("right"), objects=[]), 1, None)
    vanish = np.concatenate([near, np.repeat(near[-1:], 32, 0),
                             np.repeat(empty, LONG - 192, 0)])
    expect("right, stands by the edge and vanishes", vanish, "right", False, spans)

if evaluate.left_at(back, "right") is not None:
    failures.append("an object that reappears was scored as gone")
if evaluate.left_at(vanish, "right") is not None:
    failures.append("an object that vanished whole inside the frame was scored as gone")
# leaving on the wrong side is not "out"
if evaluate.left_at(render(spec("left"), LONG, 0.09), "right") is not None:
    failures.append("an object that left on the left was scored as gone to the right")

# short clips, both worlds: what is drawn is what is scored
for speed in (None, 0.05):
    for i, (c, d, b) in enumerate([("red", "right", "desert"), ("green", "up", "snow"),
                                   ("blue", "left", "forest"), ("gold", "down", "night")]):
        got = evaluate.analyse(render(spec(d, 0.1 + 0.1 * i, c, b), 49, speed))
        if got != (c, d, b):
            failures.append(f"3 s clip (speed {speed}): drew {(c, d, b)}, scored {got}")

for f in failures:
    print(f"FAIL: {f}")
sys.exit(1 if failures else 0)
