"""sampler_synthetic.py — golden trajectories of the reference schedulers driven by a fixed
synthetic "model", so the sampler math is proven without a DiT:

    v = f(x, t) = tanh(x) * (t / 1000) + 0.1 * w        (fp32; w a fixed tensor)

For every (sampler, schedule) pair shotfarm offers (sampler_ref.make_scheduler), every step count
in STEPS and every shift in SHIFTS, it records the timesteps the model sees, the sigma table and
every intermediate sample x_0 = noise, x_1 .. x_N (x_N the final latent).
A second set holds only the timestep/sigma tables for more step counts and shifts.

Run: /opt/sf-ref/bin/python scripts/golden/sampler_synthetic.py
     (WAN_GIT=<Wan2.1 git dir> if not the fetched mirror; see sampler_ref.py)
Writes tests/fixtures/sampler/synthetic.safetensors. Names:
    noise, w                                     (1, 16, 2, 2, 2) fp32
    {sampler}.{schedule}.n{N}.s{shift}.timesteps (N,)   fp32 (UniPC: exact integers)
    {sampler}.{schedule}.n{N}.s{shift}.sigmas    (N+1,) fp32
    {sampler}.{schedule}.n{N}.s{shift}.x         (N+1, 1, 16, 2, 2, 2) fp32   (trajectories only)
"""
import os

import torch
from safetensors.torch import save_file

import sampler_ref

PAIRS = [("unipc", "wan"), ("unipc", "diffusers"), ("euler", "diffusers"), ("euler", "wan")]
STEPS = [1, 2, 3, 10, 50]
SHIFTS = [1.0, 3.0, 5.0]
TABLE_STEPS = [4, 5, 7, 20, 25, 30, 40, 100]
TABLE_SHIFTS = [1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0]
SHAPE = (1, 16, 2, 2, 2)


def model(x, t, w):
    return torch.tanh(x) * (t.to(torch.float32) / 1000) + 0.1 * w


def key(sampler, schedule, n, shift):
    return f"{sampler}.{schedule}.n{n}.s{shift:g}"


def table(out, sampler, schedule, n, shift):
    """Records the schedule's tables under its key; returns the scheduler and the key."""
    s = sampler_ref.make_scheduler(sampler, schedule, n, shift)
    k = key(sampler, schedule, n, shift)
    out[k + ".timesteps"] = torch.from_numpy(sampler_ref.timesteps_f32(s))
    out[k + ".sigmas"] = s.sigmas.to(torch.float32).clone()
    return s, k


def main():
    out = {}
    g = torch.Generator().manual_seed(20260125)
    noise = torch.randn(SHAPE, generator=g, dtype=torch.float32)
    w = torch.randn(SHAPE, generator=g, dtype=torch.float32)
    out["noise"], out["w"] = noise, w
    for sampler, schedule in PAIRS:
        for shift in SHIFTS:
            for n in STEPS:
                s, k = table(out, sampler, schedule, n, shift)
                x = noise.clone()
                xs = [x.clone()]
                for t in s.timesteps:
                    v = model(x, t, w)
                    x = s.step(v, t, x, return_dict=False)[0]
                    xs.append(x.clone())
                out[k + ".x"] = torch.stack(xs)
        for shift in TABLE_SHIFTS:
            for n in TABLE_STEPS:
                table(out, sampler, schedule, n, shift)
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "tests", "fixtures", "sampler", "synthetic.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.normpath(path),
              metadata={"generator": "scripts/golden/sampler_synthetic.py",
                        "wan_rev": sampler_ref.WAN_REV})
    print(f"wrote {os.path.normpath(path)}: {len(out)} tensors")


if __name__ == "__main__":
    main()
