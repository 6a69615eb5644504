#!/usr/bin/env bash
# Poisoned unit (issue 16 § Proof; docs/testing.md § fault): SF_FAULT_CRASH_UNIT makes every
# rank that starts a denoising step of beta/three SIGKILL itself, so the whole job dies each time
# it runs. With --max-retries 0:
#  - launches 1 and 2 die (non-zero exit, no run_end event); launch 2 runs the units that were
#    running on the crashed rank alone on their ranks ("alone": true), so death 2 names one;
#  - launch 3 does not run the unit again: a `failed` event with "poisoned": true, the other two
#    shots finish with frames identical to an uninterrupted render, run_end status 1, exit 1;
#  - `shotfarm status` (text and --json) names beta/three as failed, the others done.
. "$(dirname "$0")/common.sh"
reference
unit="beta/three take 1 1:1 denoise"
export SF_FAULT_CRASH_UNIT=$unit
for i in 1 2 3; do
    launch poison $i 2 --max-retries 0
    await 90
    echo "launch $i: exit $rc"
    [ $rc = 124 ] && { die "launch $i still ran after 90 s"; log_tail poison $i; break; }
    if [ $i -lt 3 ]; then
        [ $rc != 0 ] && [ $rc != 1 ] && [ $rc != 75 ] || { die "launch $i exited $rc: it should have died"; log_tail poison $i; }
    else
        [ $rc = 1 ] || { die "launch 3 exited $rc, want 1"; log_tail poison $i 20; }
    fi
done
python3 - "$work/poison" "$work/poison.launches" "$unit" <<PY || die "events"
import sys
sys.path.insert(0, "$here")
import faultlib
rundir, launches, unit = sys.argv[1:4]
runs = faultlib.launches(rundir, launches)
for tag, ev in runs[:2]:
    ends = [e for e in ev if e["event"] == "run_end"]
    assert not ends, "launch %s died but logged run_end %s" % (tag, ends)
    # "dispatched" is written before the unit is sent; its "started" report may die with the
    # rank (rank 0 hosts the coordinator too)
    assert any(e["event"] == "dispatched" and e["unit"] == unit for e in ev), \
        "launch %s did not dispatch %s" % (tag, unit)
# launch 2 runs what was running on the crashed rank at death 1 alone on its ranks, so that
# death 2 is charged to beta/three only (a CPU lane's unit on the same rank was charged with it
# before, and poisoned when the two deaths happened to catch it both times)
alone = [e["unit"] for e in runs[1][1] if e["event"] == "dispatched" and e.get("alone")]
assert unit in alone, "launch 2 did not run %s alone: %s" % (unit, alone)
ev = runs[2][1]
fails = [e for e in ev if e["event"] == "failed" and e["unit"] == unit]
assert len(fails) == 1 and fails[0].get("poisoned") is True, "failed events of %s: %s" % (unit, fails)
assert not [e for e in ev if e["event"] == "step" and e["unit"] == unit], "launch 3 ran %s" % unit
# beta/three's own units, and sequence beta's assembly and review units (they need that shot), fail with it
other = [e for e in ev if e["event"] == "failed" and e["unit"] != unit and "beta/three" not in e["unit"]
         and not (e["kind"] in ("assemble", "timeline", "qc", "contact")
                  and e["unit"].startswith("beta "))]
assert not other, "other units failed: %s" % other
ends = [e.get("status") for e in ev if e["event"] == "run_end"]
assert ends == [1], "launch 3 run_end statuses %s, want [1]" % ends
print("launch 3: %s failed: %s" % (unit, fails[0].get("error")))
PY
want=$(frames ref | grep -v "beta.three\|_beta_") # beta's deliverables need beta/three
got=$(frames poison | grep -v "beta.three\|_beta_")
[ "$got" = "$want" ] || { die "the other shots' frames differ from the uninterrupted render"; diff <(echo "$want") <(echo "$got"); }
[ ! -e "$work/poison/shots/beta.three.take1.1x1.mkv" ] || die "the poisoned shot has a shot file"
st=$("$sf" status "$work/poison" --json)
python3 -c 'import json,sys; s={x["shot"]: x for x in json.loads(sys.argv[1])["shots"]}
assert s["beta/three"]["state"] == "failed" and s["beta/three"]["error"], s
assert s["alpha/one"]["state"] == "done" and s["alpha/two"]["state"] == "done", s' "$st" \
    || die "status --json: $st"
txt=$("$sf" status "$work/poison")
grep -q "^beta/three .*failed" <<<"$txt" || die "status text does not name beta/three failed: $txt"
[ "$fail" = 0 ] && echo "fault_poison: ok (poisoned after two deaths, the other shots identical)"
exit $fail
