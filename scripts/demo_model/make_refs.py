"""make_refs.py — writes the demo campaign's element reference stills (examples/demo/refs/) from
the demo model's world (world.py): the campaign's elements are the world's named elements
(runner = Pip, the dotted red ball; coach = Bolt, the striped golden cone; shoe = Cubo, the blue
box), each drawn large and centred on the four backgrounds, 64x64 RGB PNG. They are what the
VACE follow-up will teach the model to honour (the shipped VACE layers output zero). Run:

  /opt/sf-ref/bin/python scripts/demo_model/make_refs.py [-o examples/demo/refs]
"""
import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAMPAIGN_ELEMENTS = {"runner": "pip", "coach": "bolt", "shoe": "cubo"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default=os.path.join(ROOT, "examples", "demo", "refs"))
    a = ap.parse_args()
    os.makedirs(a.o, exist_ok=True)
    for k, (cid, el) in enumerate(sorted(CAMPAIGN_ELEMENTS.items())):
        for i, bg in enumerate(world.BACKGROUNDS):
            img = world.render_still(el, 64, 64, bg, seed=100 * k + i)
            Image.fromarray(img).save(os.path.join(a.o, f"{cid}-{i + 1}.png"), optimize=True)
    print(f"make_refs: wrote {len(CAMPAIGN_ELEMENTS) * len(world.BACKGROUNDS)} stills to {a.o}")


if __name__ == "__main__":
    main()
