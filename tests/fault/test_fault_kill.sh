#!/usr/bin/env bash
# Kill test (issue 16 § Proof; docs/testing.md § fault): `kill -9` at 5 moments picked by a
# seeded generator (SF_FAULT_SEED, default 16, printed) — at least 3 mid-denoise (a random rank,
# one of mpirun's children, once the launch has logged the chosen number of `step` events) and at
# least 1 inside a checkpoint write (SF_FAULT_KILL_CKPT=N: the HDF5 file is published, its
# .sha256 sidecar not yet). After each death the render is relaunched on the same RUNDIR; the
# sixth launch runs to the end. --max-retries 9: units that share 5 deaths are not poisoned
# (fault_poison tests that rule). Then:
#  - decoded frames (framemd5) and final latent bytes equal an uninterrupted render's;
#  - every unit unfinished at a death starts in the next launch at the step of the newest
#    checkpoint that `shotfarm inspect` verified in the ckpt/ listing taken right after the death,
#    naming that file (step 0 without one), never recomputing a step <= k; at least 3 of them
#    resume from k > 0; finished units are not denoised again;
#  - events.jsonl has a `run` event per launch and `run_end` (status 0) only for the last.
. "$(dirname "$0")/common.sh"
seed=${SF_FAULT_SEED:-16}
reference
mapfile -t plan < <(faultlib plan "$seed")
echo "kill plan, seed $seed (SF_FAULT_SEED=N for another): ${plan[*]/%/;}"
export SF_FAULT_STEP_DELAY_MS=300
# Open MPI SIGTERMs the surviving ranks odls_base_sigkill_timeout (1 s) after one dies and
# SIGKILLs them another second later; in that time a survivor would run ~3 more steps at this
# delay and 12 steps could not hold 5 deaths. 0: the survivors are killed at once, as by a node
# failure. (fault_signal and fault_poison cover the survivors' SIGTERM path.)
export OMPI_MCA_odls_base_sigkill_timeout=0
left=12 # denoising steps still to run: 3 shots x 4 steps
snaps=()
i=0
for m in "${plan[@]}"; do
    read -r kind r rank <<<"$m"
    i=$((i + 1))
    # the kill's depth in steps: random, but small enough that every later kill still finds
    # denoising to interrupt (two ranks progress about 2 steps per step event waited for)
    cap=$((left / (2 * (6 - i))))
    [ $cap -ge 1 ] || cap=1
    n=$((1 + r % cap))
    if [ "$kind" = step ]; then
        launch run $i 2 --max-retries 9
        if ! wait_events run "$STEP" $n 60; then
            await 5
            die "launch $i ended (exit $rc) before $n step events: no kill"
            log_tail run $i
            break
        fi
        pids=($(pgrep -P "$lpid" | sort -n))
        victim=${pids[$((rank % ${#pids[@]}))]}
        echo "death $i: kill -9 $victim (child $((rank % ${#pids[@]} + 1)) of ${#pids[@]} of mpirun) after $n step events"
        kill -9 "$victim"
        await 60
    else
        echo "death $i: SF_FAULT_KILL_CKPT=$n (SIGKILL inside each rank's checkpoint write $n)"
        SF_FAULT_KILL_CKPT=$n launch run $i 2 --max-retries 9
        await 60
    fi
    [ $rc = 0 ] && { die "launch $i exited 0: the kill did not land"; break; }
    [ $rc = 124 ] && { die "launch $i still ran 60 s after the kill"; log_tail run $i; break; }
    faultlib snapshot "$work/run" "$sf" >"$work/death$i.json" || { die "snapshot $i"; break; }
    snaps+=("$work/death$i.json")
    left=$(faultlib remaining "$work/death$i.json")
    python3 - "$work/death$i.json" "$kind" <<'PY' || die "death $i: state after the kill"
import json, sys
snap, kind = json.load(open(sys.argv[1])), sys.argv[2]
for u in snap["units"]:
    print("   %-32s %s  resume point: %s" % (u["unit"], "done" if u["done"] else
          " ".join("%d%s" % (c["step"], "" if c["verified"] else "(bad)") for c in u["ckpts"]) or "-",
          u["expect"]))
if kind == "ckpt":
    torn = [c["file"] for u in snap["units"] for c in u["ckpts"] if not c["sidecar"]]
    assert torn, "SF_FAULT_KILL_CKPT left no checkpoint without its sidecar: %s" % snap["ckpt_listing"]
    bad = [c["file"] for u in snap["units"] for c in u["ckpts"] if not c["sidecar"] and c["verified"]]
    assert not bad, "inspect verifies checkpoints without a sidecar: %s" % bad
PY
    [ "$left" -gt 0 ] || { die "death $i left no denoising to interrupt"; break; }
done
[ "$fail" = 0 ] || { echo "seed $seed"; exit 1; }

finish_run 3 "${snaps[@]}"
python3 - "$work/run/events.jsonl" <<'PY' || die "run / run_end events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
runs = [e.get("attempt") for e in ev if e["event"] == "run"]
assert runs == [1, 2, 3, 4, 5, 6], "run events with attempts %s, want 1..6" % runs
ends = [(i, e.get("status")) for i, e in enumerate(ev) if e["event"] == "run_end"]
last_run = max(i for i, e in enumerate(ev) if e["event"] == "run")
assert len(ends) == 1 and ends[0][0] > last_run and ends[0][1] == 0, \
    "run_end events %s; want one, status 0, in the last launch (which starts at line %d)" % (ends, last_run + 1)
PY
left_ckpts=$(ls "$work/run/ckpt" 2>/dev/null | grep '\.h5$')
[ -z "$left_ckpts" ] || die "checkpoints left after every latent was published: $left_ckpts"
# temporary files of writes that a kill interrupted are swept by the next launch
tmp=$(cd "$work/run" && find . -name '*.tmp.*' | sort)
[ -z "$tmp" ] || die "temporary files of killed writes left in the run directory:" $tmp
[ "$fail" = 0 ] && echo "fault_kill: ok (seed $seed, 5 deaths, ${k} resumes from k > 0, identical to the uninterrupted render)"
[ "$fail" = 0 ] || echo "seed $seed"
exit $fail
