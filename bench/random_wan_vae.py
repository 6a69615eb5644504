#!/usr/bin/env python3
"""Random-weight Wan2.1 VAE (official tensor names and shapes) as fp16 safetensors, for running
stable-diffusion.cpp's Wan pipeline in bench/dit_step's peer comparison: sd.cpp refuses to start
without a VAE, and the DiT step it reports does not touch it (values do not matter).

The architecture comes from Wan2.1's own wan/modules/vae.py (pass its path; e.g.
`git --git-dir=<Wan2.1 mirror> show HEAD:wan/modules/vae.py > /tmp/wan_vae.py`), built on the
meta device so nothing is allocated but the output.

Run: /opt/sf-ref/bin/python bench/random_wan_vae.py /tmp/wan_vae.py /tmp/wanvae.safetensors
"""
import importlib.util
import sys

import torch
from safetensors.torch import save_file


def main():
    spec = importlib.util.spec_from_file_location("wan_vae", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with torch.device("meta"):
        m = mod.WanVAE_(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                        attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0)
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.randn(v.shape, generator=g) * 0.02).to(torch.float16)
          for k, v in m.state_dict().items()}
    save_file(sd, sys.argv[2])
    print("%d tensors -> %s" % (len(sd), sys.argv[2]))


if __name__ == "__main__":
    main()
