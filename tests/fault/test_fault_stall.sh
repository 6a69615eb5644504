#!/usr/bin/env bash
# Stall (issue 16 § Resume and failure; docs/testing.md § fault): SF_FAULT_STALL_UNIT makes the
# rank that runs alpha/two's denoising hang before its first step. With --stall-timeout 3 and
# -np 2 the unit must fail with an error containing "stalled" while the other shots finish
# (frames identical to an uninterrupted render), render must exit 1 (run_end status 1) within
# 30 s — the hung rank must not hold the job — and `shotfarm status` must name alpha/two failed.
. "$(dirname "$0")/common.sh"
reference
unit="alpha/two take 1 16:9 denoise"
t0=$(date +%s.%N)
SF_FAULT_STALL_UNIT=$unit launch stall 1 2 --stall-timeout 3
await 30
took=$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")
echo "stalled render: exit $rc after $took s"
[ $rc = 124 ] && die "the render with a stalled unit ran past 30 s"
[ $rc = 1 ] || { die "exit $rc, want 1"; log_tail stall 1 20; }
python3 - "$work/stall/events.jsonl" "$unit" <<'PY' || die "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
unit = sys.argv[2]
fails = [e for e in ev if e["event"] == "failed" and e["unit"] == unit]
assert len(fails) == 1 and "stalled" in fails[0].get("error", ""), "failed events of %s: %s" % (unit, fails)
assert not [e for e in ev if e["event"] == "step" and e["unit"] == unit], "the stalled unit logged steps"
# alpha/two's units, and sequence alpha's assembly and review units (they need that shot), fail with it
other = [e["unit"] for e in ev if e["event"] == "failed" and "alpha/two" not in e["unit"]
         and not (e["kind"] in ("assemble", "timeline", "qc", "contact")
                  and e["unit"].startswith("alpha "))]
assert not other, "other units failed: %s" % other
ends = [e.get("status") for e in ev if e["event"] == "run_end"]
assert ends == [1], "run_end statuses %s, want [1]" % ends
print("%s failed: %s" % (unit, fails[0]["error"]))
PY
want=$(frames ref | grep -v "alpha.two\|_alpha_") # alpha's deliverable needs alpha/two
got=$(frames stall | grep -v "alpha.two\|_alpha_")
[ "$got" = "$want" ] || { die "the other shots' frames differ from the uninterrupted render"; diff <(echo "$want") <(echo "$got"); }
txt=$("$sf" status "$work/stall")
grep -q "^alpha/two .*failed" <<<"$txt" || die "status does not name alpha/two failed: $txt"
grep -q "stalled" <<<"$txt" || die "status does not say stalled: $txt"
[ "$fail" = 0 ] && echo "fault_stall: ok (failed as stalled, exit 1 after $took s, the other shots identical)"
exit $fail
