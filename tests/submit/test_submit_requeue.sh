#!/usr/bin/env bash
# The requeue cap and real preemption of `shotfarm submit` jobs on a 2-node local Slurm cluster
# (slurm/local-cluster.sh: a preemptible partition `debug`, PreemptMode=REQUEUE, GraceTime 30 s,
# and a higher-tier partition `urgent`), against a local `mpirun -np 2` reference render:
#  1. preemption: a job in `urgent` that needs both nodes whole preempts a running render.
#     Slurm sends SIGTERM to the ranks (not to the batch shell); render checkpoints at its next
#     step and exits 75; the script sees the job's PreemptTime and requeues it once, at once
#     (Restarts=1; Slurm itself requeues only a job still running when GraceTime ends). The
#     urgent job runs, the render resumes and ends with the reference's bytes, every denoising
#     step computed exactly once over both launches;
#  2. the requeue cap (--max-idle-launches 1): every denoise unit held before its first step
#     (SF_FAULT_STALL_UNIT) and a 1 s --signal-grace (--signal-lead 2), so a SIGUSR1 ends a
#     launch (exit 75, MPI_Abort after the grace) with no step done.
#     Launches are requeued while they finish CPU units (progress); the first that makes none
#     stops instead of requeueing (FAILED, the reason in the log, `status` and `status --json`);
#     requeued by hand, the next launch stops at once, before render runs.
# Skips (77) when not root, or Slurm or ffmpeg is missing (common.sh).
. "$(dirname "$0")/common.sh"

# 1. preemption by a job of the higher partition
job=$(SF_FAULT_STEP_DELAY_MS=3000 submit pre --ckpt-every 100) || { cat "$w/pre.submit.log"; exit 1; }
ev=$w/pre/events.jsonl
wait_denoise pre 1 || die "preempt: no denoise unit started in 60 s: $(log_of pre | tail -5)"
urgent=$(sbatch --parsable -p urgent -N 2 --exclusive -o "$w/urgent.out" --wrap 'echo urgent ran') ||
    die "sbatch of the urgent job failed"
elapsed "preempt: urgent job $urgent submitted while job $job renders"
resumes pre "$job" preempt
[ "$(state "$urgent")" = COMPLETED ] && grep -q 'urgent ran' "$w/urgent.out" ||
    die "preempt: the urgent job: $(state "$urgent")"
scontrol show job "$job" | grep -q 'Restarts=1 ' ||
    die "preempt: $(scontrol show job "$job" | grep -o 'Restarts=[0-9]*'), want 1 (requeued twice?)"
log_of pre | grep -q 'preempted at 20' || die "preempt: the script did not see the preemption: $(log_of pre | grep shotfarm-submit)"
log_of pre | grep -q 'got SIG' && die "preempt: the batch shell got a signal: $(log_of pre | grep 'got SIG')"
[ "$(log_of pre | grep -c 'requeueing job')" = 1 ] || die "preempt: $(log_of pre | grep -c 'requeueing job') requeue lines"
log_of pre | grep -q 'launch 2 (SLURM_RESTART_COUNT=1)' || die "preempt: no second launch"
grep -q '"event": "signal".*"signal": 15' "$ev" || die "preempt: the ranks did not get SIGTERM"
grep '"event": "run_end"' "$ev" | head -1 | grep -q '"status": 75' || die "preempt: the first launch did not end with 75"
grep '"event": "started".*"kind": "denoise"' "$ev" | grep -Eq '"step": [1-9]' ||
    die "preempt: no denoise unit resumed at a step > 0"
# every denoising step of every denoise unit computed once, over both launches
units=$(grep -c '"kind": "denoise"' "$w/pre/manifest.json")
got=$(grep '"event": "step"' "$ev" |
    sed -E 's/.*"unit": "([^"]*)".*"step": ([0-9]+), "steps": ([0-9]+).*/\1|\2|\3/' |
    awk -F'|' '{ n[$1]++; s[$1] = $3; if (seen[$1 "|" $2]++) print "step " $2 " of " $1 " twice" }
        END { for (k in n) if (n[k] != s[k]) print k ": " n[k] " of " s[k] " steps"; print length(n) " units" }')
[ "$got" = "$units units" ] || die "preempt: steps: $got (want each step of $units units once)"
same_shots pre

# 2. the requeue cap: SIGUSR1 in every launch once it runs a denoise unit and its progress has
#    stood still for 3 s (the CPU units that need no latent, prompts and sound, are done), until
#    the script stops the job: launch 1 makes progress, launch 2 normally none (at most 5).
# still NAME: until NAME's `status --progress` stays the same for 3 s (60 s)
still() {
    local i last=x now same=0
    for i in $(seq 120); do
        now=$("$sf" status --progress "$w/$1" 2>/dev/null)
        if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
        [ $same -ge 6 ] && return 0
        last=$now
        sleep 0.5
    done
    return 1
}
job=$(SF_FAULT_STALL_UNIT=denoise submit cap --signal-lead 2 --ckpt-every 100 --max-idle-launches 1) ||
    { cat "$w/cap.submit.log"; exit 1; }
n=0
for launch in 1 2 3 4 5; do
    wait_denoise cap $launch || { die "cap: launch $launch: no denoise unit started in 60 s: $(log_of cap | tail -5)"; break; }
    still cap || die "cap: launch $launch: progress did not stand still"
    scancel --signal=USR1 --batch "$job"
    n=$launch
    release "$job" || break # stopped (or stuck: checked below)
done
elapsed "cap: job $job: $(state "$job") after $n launches"
[ "$(state "$job")" = FAILED ] || die "cap: state $(state "$job"), want FAILED: $(log_of cap | grep shotfarm-submit)"
[ "$(grep -c '"event": "run_end".*"status": 75' "$w/cap/events.jsonl")" = $n ] ||
    die "cap: $(grep -c '"event": "run_end".*"status": 75' "$w/cap/events.jsonl") launches ended with 75, want $n"
log_of cap | grep -q '1 launch made no progress: not requeueing (--max-idle-launches 1)' ||
    die "cap: no stop line: $(log_of cap | grep shotfarm-submit)"
# the launches before the last made progress, the last none
prog=$(grep '"event": "launch"' "$w/cap/slurm-launches.jsonl" | grep -o '"progress": [0-9]*' | grep -o '[0-9]*$' | tr '\n' ' ')
now=$("$sf" status --progress "$w/cap")
awk -v now="$now" '{ for (i = 2; i <= NF; i++) if ($i <= $(i - 1)) exit 1; exit !($NF == now) }' <<<"$prog" ||
    die "cap: progress at each launch's start: $prog, now $now (want rising, the last launch none)"
"$sf" status "$w/cap" >"$w/cap.status" 2>&1
grep -q "slurm job $job: $n launch.* (SLURM_RESTART_COUNT $((n - 1))); stopped: 1 launch made no progress: not requeueing" "$w/cap.status" ||
    die "cap: status: $(head -3 "$w/cap.status")"
"$sf" status "$w/cap" --json | grep -q '"stopped": "1 launch made no progress: not requeueing' ||
    die "cap: status --json: $("$sf" status "$w/cap" --json | grep -A5 '"slurm"')"
# requeued by hand (as Slurm would after a node failure): the next launch stops before render runs
scontrol requeue "$job" || die "cap: scontrol requeue of the stopped job failed"
release "$job" || die "cap: the job requeued by hand was not held"
wait_gone "$job" 60 || die "cap: launch $((n + 1)) still queued"
[ "$(state "$job")" = FAILED ] || die "cap: launch $((n + 1)): state $(state "$job")"
log_of cap | grep -q '1 launch before this one made no progress: not running render (--max-idle-launches 1)' ||
    die "cap: launch $((n + 1)) did not stop at its start: $(log_of cap | grep shotfarm-submit | tail -3)"
[ "$(grep -c '"event": "run"' "$w/cap/events.jsonl")" = $n ] || die "cap: render ran in launch $((n + 1))"
"$sf" status "$w/cap" | grep -q "slurm job $job: $((n + 1)) launches" ||
    die "cap: status after launch $((n + 1)): $("$sf" status "$w/cap" | head -2)"

elapsed "done"
[ $fail = 0 ] && echo "submit_requeue: ok"
exit $fail
