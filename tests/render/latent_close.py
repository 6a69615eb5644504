#!/usr/bin/env python3
"""latent_close.py - two latents (raw little-endian float32, as `h5dump -d /latent -b LE`
writes them) agree within TOL * max|ref|; prints the worst element either way.

    python3 latent_close.py REF.bin GOT.bin LABEL TOL [--differ]

--differ also requires that they are not bit-identical (a different determinism domain, such
as another tp degree, must really have summed in another order). Exit 0 when they agree."""
import array
import sys

ref = array.array("f", open(sys.argv[1], "rb").read())
got = array.array("f", open(sys.argv[2], "rb").read())
label, tol = sys.argv[3], float(sys.argv[4])
assert len(ref) == len(got) and len(ref) > 0, (label, len(ref), len(got))
i = max(range(len(ref)), key=lambda k: abs(ref[k] - got[k]))
err, scale = abs(ref[i] - got[i]), max(abs(x) for x in ref)
print(f"{label}: max diff {err:.3g} = {err / scale:.3g}*max|ref| at [{i}] ({got[i]} vs {ref[i]})")
ok = err <= tol * scale and ("--differ" not in sys.argv[5:] or ref != got)
sys.exit(0 if ok else 1)
