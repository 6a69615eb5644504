#!/usr/bin/env bash
# Several hosts (issue 29; docs/submit.md § Several hosts): a 2-node local cluster whose slurmd
# "nodes" c1 and c2 run in network and UTS namespaces of their own (SF_SLURM_NETNS=1: veth pairs
# into a bridge, addresses 10.213.S.1x, hostnames c1/c2; one shared directory), SlurmdTimeout
# 10 s. A render submitted with --nodes 1-2 runs one rank on each node, so MPI crosses the
# namespaces over TCP. While both ranks denoise, c2's link is cut (its slurmd and rank keep
# running, unreachable):
#  - render's heartbeat (--heartbeat-timeout 3) ends launch 1 with exit 75, naming rank 1 on
#    c2, instead of hanging MPI over TCP; the batch script requeues the job;
#  - Slurm marks c2 DOWN (SlurmdTimeout), and launch 2 runs on c1 alone (both ranks there),
#    resumes from the checkpoints and ends with the bytes of the local `mpirun -np 2` render;
#  - the job ran as the ordinary user, who owns its run directory.
# Skips (77) without root, Slurm, ffmpeg, or ip/nsenter/unshare (network namespaces).
for t in ip nsenter unshare; do
    command -v $t >/dev/null || { echo "$t not installed: no network namespaces"; exit 77; }
done
export SF_SLURM_NETNS=1 SF_SLURMD_TIMEOUT=10
. "$(dirname "$0")/common.sh"

job=$(SF_FAULT_STEP_DELAY_MS=3000 submit hosts --nodes 1-2 --heartbeat-timeout 3 --ckpt-every 1) ||
    { cat "$w/hosts.submit.log"; exit 1; }
ev=$w/hosts/events.jsonl
# both nodes denoising: a step of rank 1 on host c2
for i in $(seq 600); do
    grep -q '"event": "step".*"rank": 1, .*"host": "c2"' "$ev" 2>/dev/null && break
    sleep 0.1
done
grep -q '"event": "step".*"rank": 1, .*"host": "c2"' "$ev" 2>/dev/null ||
    { die "no step of rank 1 on c2 within 60 s: $(log_of hosts | tail -5)"; exit 1; }
"$src/slurm/local-cluster.sh" cut "$w/cluster" c2 >/dev/null || die "cannot cut c2's link"
elapsed "c2's link cut while job $job renders on c[1-2]"
# requeued by the script; Slurm may hold it (BeginTime) or start it once c2 is DOWN
for i in $(seq 900); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    if scontrol show job "$job" 2>/dev/null | grep -q 'JobState=PENDING Reason=BeginTime'; then
        sleep 2
        scontrol update JobId="$job" StartTime=now
        elapsed "requeued job $job held: released"
    fi
    sleep 0.2
done
elapsed "job $job: $(state "$job"); nodes: $(sinfo -h -o '%t %N' | tr '\n' ' ')"
[ "$(state "$job")" = COMPLETED ] || die "state $(state "$job"): $(log_of hosts | tail -20)"
scontrol show job "$job" | grep -q 'Restarts=1 ' || die "$(scontrol show job "$job" | grep -o 'Restarts=[0-9]*'), want 1"
log_of hosts | grep -q 'launch 1 (SLURM_RESTART_COUNT=0) on 2 node(s): c\[1-2\]' ||
    die "launch 1 not on c[1-2]: $(log_of hosts | grep 'launch 1')"
log_of hosts | grep -q 'rank 1 (c2, group 1) silent for [0-9]* s (--heartbeat-timeout 3' ||
    die "no heartbeat line naming rank 1 on c2: $(log_of hosts | grep -m3 error)"
log_of hosts | grep -q 'render checkpointed (exit 75): requeueing job' || die "the script did not requeue"
log_of hosts | grep -q 'launch 2 (SLURM_RESTART_COUNT=1) on 1 node(s): c1$' ||
    die "launch 2 not on c1 alone: $(log_of hosts | grep 'launch 2')"
python3 - "$ev" <<'PY' || die "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
runs = [i for i, e in enumerate(ev) if e["event"] == "run"]
assert len(runs) == 2, "%d launches, want 2" % len(runs)
hosts1 = {e.get("host") for e in ev[runs[0]:runs[1]] if e["event"] == "step"}
hosts2 = {e.get("host") for e in ev[runs[1]:] if e["event"] == "step"}
assert hosts1 == {"c1", "c2"}, "launch 1 stepped on %s" % hosts1
assert hosts2 == {"c1"}, "launch 2 stepped on %s" % hosts2
assert ev[runs[1]]["ranks"] == 2, ev[runs[1]]
silent = [e for e in ev if e["event"] == "silent"]
assert len(silent) == 1 and silent[0]["host"] == "c2", silent
resumed = [e for e in ev[runs[1]:] if e["event"] == "started" and e.get("step", 0) > 0]
assert resumed, "launch 2 resumed no unit from a checkpoint"
print("launch 1 on %s, launch 2 on %s; resumed: %s" % (sorted(hosts1), sorted(hosts2),
                                                       sorted({e["unit"] for e in resumed})))
PY
same_shots hosts
owned_by_user hosts "$job"

elapsed "done"
[ $fail = 0 ] && echo "submit_hosts: ok"
exit $fail
