#!/usr/bin/env bash
# Checkpoints with references (docs/render.md § Checkpoints): the state of a shot conditioned on
# references holds the longer latent (one leading frame per reference). The final tier (3 steps,
# a checkpoint after every step) on -np 1 is killed inside its second checkpoint write
# (SF_FAULT_KILL_CKPT=2: the first unit, alpha/run with four references, has one valid
# checkpoint at step 1); the relaunch continues alpha/run from that checkpoint and every shot
# file equals an uninterrupted render's.
. "$(dirname "$0")/common.sh"
vrender ref 1 "$campaign" --tier final --cache "$work/c1" ||
    { tail -5 "$work/ref.log"; die "uninterrupted render"; }
SF_FAULT_KILL_CKPT=2 vrender run 1 "$campaign" --tier final --cache "$work/c2" --ckpt-every 1
rc=$?
[ $rc != 0 ] || die "the killed launch exited 0"
vrender run 1 "$campaign" --tier final --cache "$work/c2" --ckpt-every 1 ||
    { grep -m3 "error" "$work/run.log"; die "relaunch"; }
python3 - "$work/run/events.jsonl" <<'PY' || die "the relaunch did not continue a unit with references from a checkpoint"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
res = [e["unit"] for e in ev if e["event"] == "started" and e.get("checkpoint") and e["step"] > 0]
assert any(u.startswith(("alpha/run", "alpha/shoe", "beta/coach")) for u in res), res
PY
[ "$(shotsum run)" = "$(shotsum ref)" ] || { die "resumed shot files differ"; diff <(shotsum ref) <(shotsum run); }
[ "$fail" = 0 ] && echo "identity_resume: ok (resumed from a checkpoint with reference frames; shot files identical)"
exit $fail
