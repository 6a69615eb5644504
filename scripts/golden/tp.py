#!/usr/bin/env python3
"""Golden fixtures for the tensor-parallel DiT (tests/tp/test_tp_dit.c, issue 14).

The DiT split over tp = 1, 2 and 4 ranks must agree with the fp32 diffusers reference, so every
config here has head counts and FFN widths divisible by 2 and 4 (the dit.py fixtures have 3 and
5 heads). The files follow dit.py's conventions exactly (docs/forward.md, "dit"):
  NAME.in.safetensors   x (16, F, H, W) f32, t f32 [1], context (rows, text_dim) f32, unpadded
  NAME.ref.safetensors  out (16, F, H, W) f32: diffusers WanTransformer3DModel in fp32 on the
                        context zero-padded to 512 rows (as Wan pads it)
  NAME/                 the model directory (config.json + diffusion_pytorch_model.safetensors)
The model builder, the reference call and the directory writer are dit.py's (imported), so the
two fixture sets cannot drift apart.

Run: /opt/sf-ref/bin/python scripts/golden/tp.py [--out tests/fixtures/tp]
"""
import argparse
import os
import sys

import torch
from safetensors.torch import save_file

import diffusers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit  # noqa: E402  (scripts/golden/dit.py)

CONFIGS = [
    # 4 heads x 16: tp 4 leaves one head per rank; FFN 128 = 4 x 32.
    dict(name="h4-f32", heads=4, head_dim=16, ffn=128, text_dim=32, freq_dim=32, layers=2,
         latent=(2, 6, 8), ctx_rows=9, t=651.0, dtype=torch.float32, seed=11),
    # 8 heads x 8 (the smallest head_dim whose 3D RoPE has a frame, row and column part), bf16
    # weights: the sliced copies of row-parallel weights stay bf16. FFN 96 = 4 x 24.
    dict(name="h8-bf16", heads=8, head_dim=8, ffn=96, text_dim=24, freq_dim=32, layers=2,
         latent=(3, 4, 6), ctx_rows=5, t=77.0, dtype=torch.bfloat16, seed=12),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "tp"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    meta = {"generator": "scripts/golden/tp.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__}
    for c in CONFIGS:
        g = torch.Generator().manual_seed(100 + c["seed"])
        fr, h, w = c["latent"]
        x = torch.randn(16, fr, h, w, generator=g)
        ctx = torch.randn(c["ctx_rows"], c["text_dim"], generator=g)
        ctx_padded = torch.cat([ctx, ctx.new_zeros(dit.TEXT_LEN - ctx.shape[0], ctx.shape[1])])
        m = dit.make_diffusers(c)
        ref = dit.run_diffusers(m, x, c["t"], ctx_padded)
        print("%s: out %s max|ref| %.4g" % (c["name"], tuple(ref.shape), float(ref.abs().max())))
        inputs = {"x": x.contiguous(), "t": torch.tensor([c["t"]]).float(),
                  "context": ctx.contiguous()}
        cmeta = dict(meta, config=str({k: str(v) for k, v in c.items()}))
        save_file(inputs, os.path.join(out, c["name"] + ".in.safetensors"), metadata=cmeta)
        save_file({"out": ref.contiguous()}, os.path.join(out, c["name"] + ".ref.safetensors"),
                  metadata=dict(cmeta, reference="diffusers WanTransformer3DModel, fp32"))
        dit.save_model_dir(m, os.path.join(out, c["name"]), c["dtype"])
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print("fixtures in %s: %d bytes" % (out, total))
    assert total < 2 * 1024 * 1024, "fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
