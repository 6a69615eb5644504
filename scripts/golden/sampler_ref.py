"""sampler_ref.py — shared by the sampler golden scripts: builds the three reference schedulers
(the official Wan FlowUniPCMultistepScheduler loaded by file path from a Wan2.1 checkout, and
diffusers' UniPCMultistepScheduler / FlowMatchEulerDiscreteScheduler) exactly as Wan and
WanPipeline configure them, for every (sampler, schedule) pair shotfarm offers.

The official module is read with `git show` from a fetched Wan2.1 git directory (no work tree)
and imported from a temporary file, so the `wan` package's __init__ (which pulls the whole model
stack) is never imported.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

WAN_GIT = os.environ.get("WAN_GIT", "/work/.mirror/Wan-Video+Wan2.1/repo")
WAN_REV = os.environ.get("WAN_REV", "9737cba")  # the commit WAN-FACTS.md cites
WAN_FILE = "wan/utils/fm_solvers_unipc.py"


def load_wan_unipc():
    """The official FlowUniPCMultistepScheduler class, from WAN_GIT at WAN_REV (or WAN_SRC, a
    path to fm_solvers_unipc.py in a checkout with a work tree)."""
    src = os.environ.get("WAN_SRC")
    if src is None:
        text = subprocess.run(["git", "--git-dir", WAN_GIT, "show", f"{WAN_REV}:{WAN_FILE}"],
                              check=True, capture_output=True, text=True).stdout
        fd, src = tempfile.mkstemp(suffix="_fm_solvers_unipc.py")
        with os.fdopen(fd, "w") as f:
            f.write(text)
    spec = importlib.util.spec_from_file_location("wan_fm_solvers_unipc", src)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.FlowUniPCMultistepScheduler


def make_scheduler(sampler, schedule, steps, shift):
    """A scheduler with set_timesteps done, configured as the reference pipelines do:
    unipc/wan    official FlowUniPCMultistepScheduler(shift=1, use_dynamic_shifting=False),
                 set_timesteps(steps, shift=shift)            (wan/text2video.py:207-212)
    unipc/diffusers UniPCMultistepScheduler(prediction_type="flow_prediction",
                 use_flow_sigmas=True, flow_shift=shift)      (convert_wan_to_diffusers.py)
    euler/diffusers FlowMatchEulerDiscreteScheduler(shift=shift)
    euler/wan    FlowMatchEulerDiscreteScheduler(shift=1) given the official schedule's sigmas
                 and integer timesteps (Euler steps on Wan's table)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler
    if sampler == "unipc" and schedule == "wan":
        s = load_wan_unipc()(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        s.set_timesteps(steps, device="cpu", shift=shift)
    elif sampler == "unipc" and schedule == "diffusers":
        s = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                    num_train_timesteps=1000, flow_shift=shift)
        s.set_timesteps(steps, device="cpu")
    elif sampler == "euler" and schedule == "diffusers":
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
        s.set_timesteps(steps, device="cpu")
    elif sampler == "euler" and schedule == "wan":
        w = make_scheduler("unipc", "wan", steps, shift)
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
        s.set_timesteps(sigmas=w.sigmas[:-1].numpy().tolist(),
                        timesteps=w.timesteps.numpy().astype(np.float32).tolist())
    else:
        raise ValueError(f"{sampler}/{schedule}")
    return s


def timesteps_f32(s):
    """The timesteps the model sees, as float32 (integers for UniPC; FlowMatchEuler's are
    float32 already)."""
    return s.timesteps.to("cpu").numpy().astype(np.float32)
