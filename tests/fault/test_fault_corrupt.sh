#!/usr/bin/env bash
# Corruption test (issue 16 § Proof; docs/testing.md § fault): a render (-np 1, so one unit runs
# at a time) is stopped by SIGUSR1 after 2 step events, so its first unit stops at the next step
# boundary with two checkpoints (steps 2 and 3). Then, in two separate runs:
#  - flip: one byte in the middle of the newest checkpoint is inverted;
#  - cut:  the newest checkpoint is truncated to half its size.
# `shotfarm inspect` must refuse the damaged file (exit 1, the reason), and the relaunch must
# resume that unit from the previous checkpoint (its `started` event names it, step k-1), say
# in its log why the newest was skipped, and end with frames and latents identical to an
# uninterrupted render.
. "$(dirname "$0")/common.sh"
reference
for how in flip cut; do
    SF_FAULT_STEP_DELAY_MS=300 launch $how 1 1
    wait_events $how "$STEP" 2 60 || { await 5; die "$how: ended (exit $rc) before 2 step events"; continue; }
    kill -USR1 "$lpid"
    await 60
    [ $rc = 75 ] || { die "$how: SIGUSR1 gave exit $rc, want 75"; log_tail $how 1; continue; }
    faultlib snapshot "$work/$how" "$sf" >"$work/$how.json" || { die "snapshot"; continue; }
    read -r unit newest prev prev_step < <(python3 - "$work/$how.json" <<'PY'
import json, sys
units = [u for u in json.load(open(sys.argv[1]))["units"]
         if sum(c["verified"] for c in u["ckpts"]) >= 2]
if units:
    u = max(units, key=lambda u: u["ckpts"][-1]["step"])
    c = [c for c in u["ckpts"] if c["verified"]]
    print(u["stem"], c[-1]["file"], c[-2]["file"], c[-2]["step"])
PY
)
    [ -n "$unit" ] || { die "$how: no unit has two verified checkpoints: $(ls "$work/$how/ckpt")"; continue; }
    f=$work/$how/ckpt/$newest
    size=$(stat -c %s "$f")
    if [ $how = flip ]; then
        python3 -c 'import sys; f = open(sys.argv[1], "r+b"); n = int(sys.argv[2]) // 2
f.seek(n); b = f.read(1); f.seek(n); f.write(bytes([b[0] ^ 0xff]))' "$f" "$size"
        echo "flip: inverted byte $((size / 2)) of $size in ckpt/$newest"
    else
        truncate -s $((size / 2)) "$f"
        echo "cut: truncated ckpt/$newest from $size to $((size / 2)) bytes"
    fi
    why=$("$sf" inspect "$f" 2>&1)
    [ $? = 1 ] || die "$how: inspect of the damaged ckpt/$newest did not exit 1: $why"
    grep -qi "checksum\|truncated\|corrupt" <<<"$why" || die "$how: inspect gives no reason: $why"
    launch $how 2 2
    await 120
    [ $rc = 0 ] || { die "$how: the relaunch exited $rc, want 0"; log_tail $how 2 20; continue; }
    grep -q "$newest" "$work/$how.2.log" || die "$how: the relaunch's log does not say why ckpt/$newest was skipped"
    python3 - "$work/$how" "$work/$how.launches" "$unit" "$prev" "$prev_step" <<PY || die "$how: resume point"
import sys
sys.path.insert(0, "$here")
import faultlib, os
rundir, launches, stem, prev, step = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
name = [n for n, s, _ in faultlib.denoise_units(rundir) if s == stem][0]
ev = faultlib.launches(rundir, launches)[1][1]
st = [e for e in ev if e["event"] == "started" and e["unit"] == name]
assert st, "%s did not start in the relaunch" % name
got = (st[0].get("step"), os.path.basename(st[0].get("checkpoint") or ""))
assert got == (step, prev), "%s started at %s, want step %d from %s" % (name, got, step, prev)
redo = [e["step"] for e in ev if e["event"] == "step" and e["unit"] == name and e["step"] <= step]
assert not redo, "%s recomputed steps %s" % (name, redo)
print("$how: %s resumed at step %d from %s" % (name, step, prev))
PY
    same_as_ref $how
done
[ "$fail" = 0 ] && echo "fault_corrupt: ok (a flipped byte and a truncation each fell back to the previous checkpoint; identical results)"
exit $fail
