"""frames_strip.py — the README's picture of the demo (docs/img/demo-frames.png): for each shot
file given, three frames (first, middle, last) side by side, one row per shot, scaled 2x with
nearest neighbour; rows of different widths are padded with black. Reads shot files with ffmpeg
(evaluate.read_frames). Run after scripts/demo.sh:

  /opt/sf-ref/bin/python scripts/demo_model/frames_strip.py -o docs/img/demo-frames.png \
      out/demo/run/shots/dawn-run.street.take1.16x9.mkv ...
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", required=True)
    ap.add_argument("shots", nargs="+")
    a = ap.parse_args()
    rows = []
    for p in a.shots:
        f = evaluate.read_frames(p)
        gap = np.zeros((f.shape[1], 4, 3), np.uint8)
        rows.append(np.concatenate([f[0], gap, f[len(f) // 2], gap, f[-1]], 1))
    w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, w - r.shape[1]), (0, 0))) for r in rows]
    img = np.concatenate(rows, 0)
    os.makedirs(os.path.dirname(os.path.abspath(a.o)), exist_ok=True)
    Image.fromarray(img).resize((img.shape[1] * 2, img.shape[0] * 2), Image.NEAREST).save(
        a.o, optimize=True)
    print(f"frames_strip: wrote {a.o}")


if __name__ == "__main__":
    main()
