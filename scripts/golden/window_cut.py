"""window_cut.py — the cut of a long latent into overlapping temporal windows (docs/windows.md),
written from the description, not from shotfarm's code: F latent frames are cut into windows of W
frames starting every W - O frames, the last window moved back to end at frame F (an uneven tail
overlaps more); F <= W is one window of F frames. Pure Python, so that scripts without torch
(scripts/demo_model/evaluate.py, run by CI's numpy-only environment) share it with windows.py.
"""


def cut(frames, window, overlap):
    """(starts, length) of the windows of `frames` latent frames."""
    if frames <= window:
        return [0], frames
    stride = window - overlap
    n = 1 + -(-(frames - window) // stride)
    starts = [k * stride for k in range(n - 1)] + [frames - window]
    return starts, window
