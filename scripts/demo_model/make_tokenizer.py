"""make_tokenizer.py — writes the demo model's tokenizer, examples/models/demo/tokenizer/tokenizer.json
(where `render --model examples/models/demo` finds it): the committed test tokenizer (examples/models/tokenizer.json, Unigram, 8100 pieces) with some of its
longer pieces replaced by the words of the synthetic world's captions (world.py) in en, es, zh,
ja and ko, so that every colour, shape, direction and background word is one piece and none is
<unk> (the test tokenizer lacks e.g. 左, 黄 and 왼쪽). The vocabulary size stays 8100, the size
of the tiny umT5's embedding. Pieces replaced are ones no caption, camera phrase or element
description of the world uses. Deterministic; run:

  /opt/sf-ref/bin/python scripts/demo_model/make_tokenizer.py [-o FILE]
"""
import argparse
import itertools
import json
import os
import sys

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCORE = -1.0  # above any split of the word into existing pieces (those score <= -3)


def corpus():
    """Every caption of the world with one object (all combinations) and of the elements, in
    every language and with every camera."""
    out = []
    for c, s, p, d, b, cam in itertools.product(world.COLOURS, world.SHAPES, world.PATTERNS,
                                                world.DIRECTIONS, world.BACKGROUNDS,
                                                world.CAMERAS):
        spec = {"objects": [{"shape": s, "colour": c, "pattern": p, "direction": d,
                             "element": None}], "background": b, "camera": cam}
        out += [world.caption(spec, l) for l in world.LANGS]
    for el, (s, c, p) in world.ELEMENTS.items():
        for d, b in itertools.product(world.DIRECTIONS, world.BACKGROUNDS):
            spec = {"objects": [{"shape": s, "colour": c, "pattern": p, "direction": d,
                                 "element": el}], "background": b, "camera": "none"}
            out += [world.caption(spec, l) for l in world.LANGS]
    return out


def new_pieces():
    """Whole words of the space-separated languages (with the ▁ word start), and the caption
    words of zh and ja (inside a sentence, without ▁)."""
    pieces = []
    for lang in ("en", "es", "ko"):
        for w in world.WORDS[lang].values():
            pieces += ["▁" + x for x in w.split()]
        pieces += ["▁" + n for n in world.ELEMENT_NAMES.values()]
    for t in corpus():
        for w in t.replace(".", " ").replace(",", " ").split():
            if not any("\u3040" <= ch <= "\u9fff" for ch in w):
                pieces.append("▁" + w)
    for lang in ("zh", "ja"):
        pieces += [w for w in world.WORDS[lang].values() if w]
        pieces += list(world.ELEMENT_NAMES.values())
    pieces += ["在", "上", "移", "が", "で", "動く", "，"]
    # and every character of the world's texts, so that no character is <unk> (e.g. 定 of 固定镜头)
    pieces += sorted({ch for t in corpus() for ch in t if not ch.isspace()})
    seen, out = set(), []
    for p in pieces:
        if p not in seen and p != "▁":
            seen.add(p)
            out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default=os.path.join(ROOT, "examples", "models", "demo", "tokenizer",
                                              "tokenizer.json"))
    a = ap.parse_args()
    src = os.path.join(ROOT, "examples", "models", "tokenizer.json")
    j = json.load(open(src, encoding="utf-8"))
    vocab = j["model"]["vocab"]
    have = {p for p, _ in vocab}
    want = [p for p in new_pieces() if p not in have]
    base = Tokenizer.from_file(src)
    used = set()
    for t in corpus() + [world.CAMERA_PHRASE[c][i] for c in world.CAMERAS for i in range(5)]:
        used.update(base.encode(t).ids)
    # replace the lowest-scoring multi-character pieces no text of the world uses
    cand = [i for i in range(len(vocab) - 1, 3, -1)
            if len(vocab[i][0].lstrip("▁")) >= 2 and not vocab[i][0].startswith("<")
            and i not in used]
    if len(cand) < len(want):
        sys.exit(f"make_tokenizer: only {len(cand)} pieces to replace, {len(want)} needed")
    for i, p in zip(cand, want):
        vocab[i] = [p, SCORE if len(p.lstrip("▁")) > 1 else -12.0]
    os.makedirs(os.path.dirname(a.o), exist_ok=True)
    with open(a.o, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
    tok = Tokenizer.from_file(a.o)
    bad = [t for t in corpus() if 3 in tok.encode(t).ids]
    if bad:
        sys.exit(f"make_tokenizer: <unk> left in {len(bad)} captions, e.g. {bad[0]!r}")
    print(f"make_tokenizer: {len(want)} pieces replaced; wrote {a.o}")


if __name__ == "__main__":
    main()
