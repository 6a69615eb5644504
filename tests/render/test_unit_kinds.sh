#!/usr/bin/env bash
# Unit kinds from their own file (issue 20): probe_kinds.c registers `probe-gang` (a gang unit on
# 2 worker groups) and `probe-cpu` (a CPU unit per sequence) and runs the real command line.
#  1. plan lists them with their resource class, gang size and cost, and simulates the gang on
#     2 groups at once and the CPU units on the CPU lane;
#  2. render runs them beside the built-in kinds: the gang's two members meet over MPI (both at
#     once), the CPU unit finishes while the gang holds both groups (a CPU unit that needed a
#     group could never run, and the gang would fail after 60 s), the shots are rendered;
#  3. status names their rows; 4. a second launch reuses every unit and runs nothing again.
. "$(dirname "$0")/common.sh"
probe=${SF_PROBE:?}
sf=$probe # common.sh's render() runs $sf

"$probe" plan "$campaign" --gpus-per-node 2 --tier draft --json >"$work/plan.json" ||
    die "plan exited $?"
python3 - "$work/plan.json" <<'PY' || die "plan does not show the probe kinds"
import json, sys
d = json.load(open(sys.argv[1]))
u = {x["name"]: x for x in d["units"]}
g = u["probe gang of two"]
assert g["kind"] == "probe-gang" and g["gang"] == 2 and g["resource"] == "group", g
cpu = [x for x in d["units"] if x["kind"] == "probe-cpu"]
assert len(cpu) == 2 and all(x["resource"] == "cpu" for x in cpu), cpu
assert d["cluster"]["groups"] == 2 and d["cluster"]["cpu_lanes"] == 1, d["cluster"]
# the gang starts first (largest), on group 0 of groups 0 and 1; CPU units on the lane (slot 2)
assert g["start"] == 0 and g["group"] == 0, g
assert all(x["group"] == 2 for x in cpu), cpu
# the gang holds both groups for 1e6 s: everything else on a group starts after it
assert all(x["start"] >= 1e6 for x in d["units"] if x["resource"] == "group" and x is not g)
assert all(x["start"] < 1e6 for x in cpu), cpu   # the CPU units do not wait for it
assert d["total"]["makespan_seconds"] >= 1e6
PY

SF_THREADS=1 render one 2 --cache "$work/c"
rc=$?
[ $rc = 0 ] || { tail -20 "$work/one.log"; die "render with the probe kinds exited $rc"; }
python3 - "$work/one" <<'PY' || die "events of the probe kinds"
import json, sys
run = sys.argv[1]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
d = [e for e in ev if e["event"] == "dispatched" and e["kind"] == "probe-gang"]
assert len(d) == 1 and d[0]["groups"] == [0, 1], d
fin = [e for e in ev if e["event"] == "finished" and e["kind"] == "probe-gang"]
assert len(fin) == 1, fin
cpu = [e for e in ev if e["event"] == "finished" and e["kind"] == "probe-cpu"]
assert len(cpu) == 2 and all("lane" in e and "group" not in e for e in cpu), cpu
# the first CPU unit finished before the gang did: while it held both groups
first_cpu = min(e["t"] for e in cpu)
assert first_cpu < fin[0]["t"], (first_cpu, fin[0]["t"])
assert sum(e["event"] == "finished" and e["kind"] == "decode" for e in ev) == 3
m = json.load(open(run + "/manifest.json"))
mu = {x["name"]: x for x in m["units"]}
assert mu["probe gang of two"]["gang"] == 2 and mu["probe gang of two"]["resource"] == "group"
assert mu["probe cpu alpha"]["resource"] == "cpu" and mu["probe cpu alpha"]["row"] == "probe cpu (alpha)"
runs = open(run + "/probe/runs.log").read().split("\n")
assert sorted(r for r in runs if r) == ["gang 0 of 2", "gang 1 of 2", "probe cpu alpha", "probe cpu beta"], runs
assert open(run + "/probe/gang.out").read().split("\n")[1] == "ranks 0 and 1"
PY
[ "$(ls "$work/one/shots/"*.mkv | wc -l)" = 3 ] || die "the shots were not rendered beside the probes"
# encode, release, then denoise (issue 28): a rank that encoded prompts drops the text encoder
# before its first denoise unit, so umT5 and the DiT are never resident together
grep -q "released the text encoder before denoising" "$work/one.log" ||
    die "no rank released the text encoder before denoising"

st=$("$probe" status "$work/one" --json) || die "status exited $?"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); w={x["row"]: x for x in d["work"]}
assert w["probe gang"]["state"] == "done", w
assert w["probe cpu (alpha)"]["state"] == "done" and w["probe cpu (beta)"]["state"] == "done", w
assert w["prompts"]["state"] == "done", w
assert {x["shot"] for x in d["shots"]} == {"alpha/one", "alpha/two", "beta/three"}, d' "$st" ||
    die "status rows: $st"
"$probe" status "$work/one" | grep -q "^probe gang .*done" || die "status table lacks the gang row"

# a second launch: everything reused, nothing runs again
SF_THREADS=1 render one 2 --cache "$work/c"
rc=$?
[ $rc = 0 ] || { tail -20 "$work/one.log"; die "the second launch exited $rc"; }
[ "$(grep -c . "$work/one/probe/runs.log")" = 4 ] || die "a probe unit ran again: $(cat "$work/one/probe/runs.log")"
python3 - "$work/one/events.jsonl" <<'PY' || die "the second launch did not reuse the probe units"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
last = max(i for i, e in enumerate(ev) if e["event"] == "run")
reused = {e["kind"] for e in ev[last:] if e["event"] == "reused"}
assert {"probe-gang", "probe-cpu", "denoise", "decode", "text"} <= reused, reused
assert not any(e["event"] == "dispatched" for e in ev[last:])
PY
# refusals before anything runs: a gang of 2 on a job of 1 group; no CPU lane
err=$("$mpiexec" -np 1 "$probe" render "$campaign" -o "$work/small" --model "$work/model" \
    --tokenizer "$tokenizer" 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] || die "a gang larger than the job: exit $rc, want 2"
grep -q "unit 'probe gang of two' runs on 2 worker groups at once but this job has 1 (1 rank, tp 1): start more ranks or lower --tp" <<<"$err" ||
    die "gang refusal: $err"
[ ! -e "$work/small/manifest.json" ] || die "the refused launch wrote a manifest"
err=$("$probe" render "$campaign" -o "$work/nolane" --cpu-lanes 0 2>&1); rc=$?
[ $rc = 2 ] && grep -q -- "--cpu-lanes" <<<"$err" || die "--cpu-lanes 0: exit $rc: $err"
[ $fail = 0 ] && echo "unit_kinds: ok"
exit $fail
