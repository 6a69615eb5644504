#!/usr/bin/env python3
"""Golden fixtures for the Wan2.1 DiT forward pass (tests/dit/, docs/forward.md).

Builds tiny random WanTransformer3DModel configs with diffusers (odd head counts, non-square
latents, several frames, head_dim whose 3D RoPE split is uneven), saves each as a model directory
(config.json + diffusion_pytorch_model.safetensors, exactly what save_pretrained writes) together
with the inputs of `shotfarm forward dit` and the reference output. One config is also run through
the official Wan2.1 `WanModel` (wan/modules/model.py of a fetched checkout) on the same weights,
converted to the official tensor names, so our loader is proven on both layouts.

Conventions (docs/forward.md, "dit"):
  NAME.in.safetensors   x (in_dim, F, H, W) f32, t f32 (0-d or [1]), context (rows, text_dim) f32
                        with rows < 512: the UNPADDED text; Wan zero-pads it to 512 rows inside.
  NAME.ref.safetensors  out (out_dim, F, H, W) f32, computed by the reference on the context
                        zero-padded to 512 rows (diffusers' model does not pad; its pipeline does).
  NAME/                 the model directory.

Precision: every reference runs in fp32. For a bf16 model the weights are rounded to bf16 first,
the file stores them as bf16, and the reference runs in fp32 on the rounded values (bf16 widens
exactly, so our fp32 compute must agree to 1e-4 * max|ref|). diffusers computes the sinusoidal
timestep embedding in fp32 where Wan (and we) use float64: at t = 999 that moves the output by
under 1e-6 * max|ref| (measured when this script was written), far inside the tolerance. Its
timestep goes through `.float()` first, so an integer and a float t give the same result.

Run (outside the repo's build; Python pinned in requirements.txt):
  /opt/sf-ref/bin/python scripts/golden/dit.py --wan /path/to/Wan2.1 [--out tests/fixtures/dit]
where --wan is a Wan2.1 checkout or a bare/mirror git directory of it (read with `git show`).
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import diffusers
from diffusers import WanTransformer3DModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_ref  # noqa: E402  (scripts/golden/wan_ref.py)

TEXT_LEN = 512

# name, diffusers config, latent (F, H, W), context rows, t, weight dtype, t shape, official run
CONFIGS = [
    dict(name="h3-f32", heads=3, head_dim=16, ffn=64, text_dim=32, freq_dim=32, layers=2,
         latent=(3, 6, 10), ctx_rows=7, t=999.0, dtype=torch.float32, t_scalar=True,
         official=False, seed=1),
    dict(name="h5-bf16", heads=5, head_dim=16, ffn=96, text_dim=24, freq_dim=64, layers=2,
         latent=(2, 8, 4), ctx_rows=11, t=437.0, dtype=torch.bfloat16, t_scalar=False,
         official=True, seed=2),
]


def diffusers_to_official(name):
    """WAN-FACTS § 4, the inverse of diffusers' scripts/convert_wan_to_diffusers.py."""
    top = {
        "condition_embedder.text_embedder.linear_1": "text_embedding.0",
        "condition_embedder.text_embedder.linear_2": "text_embedding.2",
        "condition_embedder.time_embedder.linear_1": "time_embedding.0",
        "condition_embedder.time_embedder.linear_2": "time_embedding.2",
        "condition_embedder.time_proj": "time_projection.1",
        "proj_out": "head.head",
    }
    if name == "scale_shift_table":
        return "head.modulation"
    for k, v in top.items():
        if name.startswith(k + "."):
            return v + name[len(k):]
    if name.startswith("patch_embedding."):
        return name
    parts = name.split(".")
    assert parts[0] == "blocks", name
    rest = ".".join(parts[2:])
    block = {
        "scale_shift_table": "modulation",
        "attn1.to_q": "self_attn.q", "attn1.to_k": "self_attn.k", "attn1.to_v": "self_attn.v",
        "attn1.to_out.0": "self_attn.o", "attn1.norm_q": "self_attn.norm_q",
        "attn1.norm_k": "self_attn.norm_k",
        "attn2.to_q": "cross_attn.q", "attn2.to_k": "cross_attn.k", "attn2.to_v": "cross_attn.v",
        "attn2.to_out.0": "cross_attn.o", "attn2.norm_q": "cross_attn.norm_q",
        "attn2.norm_k": "cross_attn.norm_k",
        "norm2": "norm3",
        "ffn.net.0.proj": "ffn.0", "ffn.net.2": "ffn.2",
    }
    for k, v in block.items():
        if rest == k or rest.startswith(k + "."):
            return "blocks.%s.%s%s" % (parts[1], v, rest[len(k):])
    raise KeyError(name)


def make_diffusers(c):
    torch.manual_seed(c["seed"])
    m = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=c["heads"], attention_head_dim=c["head_dim"],
        in_channels=16, out_channels=16, text_dim=c["text_dim"], freq_dim=c["freq_dim"],
        ffn_dim=c["ffn"], num_layers=c["layers"], cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
    # Default init leaves norm weights at 1 and their biases at 0: perturb them so a swapped or
    # ignored norm weight shows up in the output.
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "norm" in n and n.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
        if c["dtype"] != torch.float32:  # the reference runs on the rounded weights
            for p in m.parameters():
                p.copy_(p.to(c["dtype"]).float())
    return m.eval()


def run_diffusers(m, x, t, ctx_padded):
    with torch.no_grad():
        return m(hidden_states=x[None], timestep=torch.tensor([t], dtype=torch.float32),
                 encoder_hidden_states=ctx_padded[None], return_dict=False)[0][0]


def fp32_flash_attention(q, k, v, q_lens=None, k_lens=None, dropout_p=0., softmax_scale=None,
                         q_scale=None, causal=False, window_size=(-1, -1), deterministic=False,
                         dtype=torch.bfloat16, version=None):
    """Stands in for Wan's flash_attention (CUDA + half only): fp32 SDPA, keys >= k_lens[b]
    masked, q [B, Lq, N, d] -> [B, Lq, N, d]."""
    assert not causal and tuple(window_size) == (-1, -1) and q_scale is None and dropout_p == 0
    b, lq, lk = q.size(0), q.size(1), k.size(1)
    mask = None
    if k_lens is not None:
        keep = torch.arange(lk)[None, :] < k_lens.to(torch.long)[:, None]  # [B, Lk]
        mask = keep[:, None, None, :].expand(b, 1, lq, lk)
    out = F.scaled_dot_product_attention(
        q.float().transpose(1, 2), k.float().transpose(1, 2), v.float().transpose(1, 2),
        attn_mask=mask, scale=softmax_scale)
    return out.transpose(1, 2).contiguous()


def make_official(wan_module, c, dif_model):
    m = wan_module.WanModel(
        model_type="t2v", patch_size=(1, 2, 2), text_len=TEXT_LEN, in_dim=16,
        dim=c["heads"] * c["head_dim"], ffn_dim=c["ffn"], freq_dim=c["freq_dim"],
        text_dim=c["text_dim"], out_dim=16, num_heads=c["heads"], num_layers=c["layers"],
        window_size=(-1, -1), qk_norm=True, cross_attn_norm=True, eps=1e-6)
    sd = {diffusers_to_official(k): v for k, v in dif_model.state_dict().items()}
    m.load_state_dict(sd, strict=True)
    return m.eval()


def run_official(m, x, t, ctx):
    tokens = x.shape[1] * (x.shape[2] // 2) * (x.shape[3] // 2)
    with torch.no_grad():
        # seq_len > tokens pads the sequence: padded keys are masked through k_lens, so this also
        # proves the attention stand-in honours k_lens (the output ignores the padding).
        out = m([x], torch.tensor([t], dtype=torch.float32), [ctx], seq_len=tokens + 5)
    return out[0]


def save_model_dir(m, path, dtype):
    os.makedirs(path, exist_ok=True)
    m.to(dtype).save_pretrained(path, safe_serialization=True)
    m.float()
    for extra in os.listdir(path):  # keep exactly config.json + the weights
        assert extra in ("config.json", "diffusion_pytorch_model.safetensors"), extra


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "fixtures", "dit"))
    ap.add_argument("--wan", required=True, help="Wan2.1 checkout or its git directory")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    wan_path, wan_commit = wan_ref.wan_model_py(args.wan)
    wan_module = wan_ref.load_wan_model(wan_path, fp32_flash_attention)
    meta = {"generator": "scripts/golden/dit.py", "torch": torch.__version__,
            "diffusers": diffusers.__version__, "wan_commit": wan_commit}

    for c in CONFIGS:
        g = torch.Generator().manual_seed(100 + c["seed"])
        fr, h, w = c["latent"]
        x = torch.randn(16, fr, h, w, generator=g)
        ctx = torch.randn(c["ctx_rows"], c["text_dim"], generator=g)
        ctx_padded = torch.cat([ctx, ctx.new_zeros(TEXT_LEN - ctx.shape[0], ctx.shape[1])])
        m = make_diffusers(c)
        ref = run_diffusers(m, x, c["t"], ctx_padded)
        unpadded = run_diffusers(m, x, c["t"], ctx)
        print("%s: out %s max|ref| %.4g; unpadded-vs-padded context rel %.3g" % (
            c["name"], tuple(ref.shape), float(ref.abs().max()), rel(unpadded, ref)))
        assert rel(unpadded, ref) > 1e-3, "padding must matter for the fixture to prove it"

        t = torch.tensor(c["t"]) if c["t_scalar"] else torch.tensor([c["t"]])
        inputs = {"x": x.contiguous(), "t": t.float(), "context": ctx.contiguous()}
        cmeta = dict(meta, config=json.dumps({k: str(v) for k, v in c.items()}))
        save_file(inputs, os.path.join(out, c["name"] + ".in.safetensors"), metadata=cmeta)
        save_file({"out": ref.contiguous()}, os.path.join(out, c["name"] + ".ref.safetensors"),
                  metadata=dict(cmeta, reference="diffusers WanTransformer3DModel, fp32"))
        save_model_dir(m, os.path.join(out, c["name"]), c["dtype"])

        if c["official"]:
            om = make_official(wan_module, c, m)
            oref = run_official(om, x, c["t"], ctx)
            print("%s: official WanModel vs diffusers rel %.3g" % (c["name"], rel(oref, ref)))
            assert rel(oref, ref) < 1e-5, "the name map or the attention stand-in is wrong"
            name = c["name"] + "-official"
            save_file(inputs, os.path.join(out, name + ".in.safetensors"), metadata=cmeta)
            save_file({"out": oref.contiguous()}, os.path.join(out, name + ".ref.safetensors"),
                      metadata=dict(cmeta, reference="Wan2.1 WanModel (wan/modules/model.py), "
                                    "fp32, fp32 SDPA for flash_attention"))
            save_model_dir(om, os.path.join(out, name), c["dtype"])

    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print("fixtures in %s: %d bytes" % (out, total))
    assert total < 2 * 1024 * 1024, "fixtures must stay below 2 MB"


if __name__ == "__main__":
    main()
