"""tokenize_ref.py — the baseline for bench/tokenize.c: the `tokenizers` library (Rust, called
one string at a time from Python, as Wan's pipeline calls it; and encode_batch), and Wan's
cleaning in Python (ftfy.fix_text + html.unescape x2 + whitespace), on the same golden strings.

usage: /opt/sf-ref/bin/python bench/tokenize_ref.py [--reps N]
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
import tokenizer as golden  # noqa: E402

reps = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--reps" else 20
root = os.path.join(os.path.dirname(__file__), "..")
tok = golden.load(open(os.path.join(root, "examples/models/tokenizer.json"), encoding="utf-8").read())
cases = json.load(open(os.path.join(root, "tests/fixtures/tokenizer/golden.json"), encoding="utf-8"))["cases"]
clean = [c["clean"] for c in cases]
raw = [c["text"] for c in cases]


def best(fn):
    b = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


tok.encode("warm up")
enc = best(lambda: [tok.encode(s) for s in clean])
batch = best(lambda: tok.encode_batch(clean))
allp = best(lambda: [tok.encode(golden.wan_clean(s)) for s in raw])
n = len(cases)
print(f"tokenizers {__import__('tokenizers').__version__}: {n} strings, best of {reps}")
print(f"  encode only      {enc*1e3:8.1f} ms  {enc*1e6/n:8.2f} us/string")
print(f"  encode_batch     {batch*1e3:8.1f} ms  {batch*1e6/n:8.2f} us/string (RAYON threads)")
print(f"  clean + encode   {allp*1e3:8.1f} ms  {allp*1e6/n:8.2f} us/string")
