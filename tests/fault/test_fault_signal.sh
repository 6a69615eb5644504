#!/usr/bin/env bash
# Signal test (issue 16 § Proof; docs/testing.md § fault):
#  1. SIGUSR1 to mpirun (it forwards it to the ranks) at the first step event: both alpha
#     shots stop at their next step boundary -> exit 75, run_end status 75, an `interrupted`
#     event (step, checkpoint) for every unit that was denoising, naming the newest checkpoint,
#     and every checkpoint in ckpt/ verifies (`shotfarm inspect`);
#  2. the relaunch resumes them without recomputing a step <= k, finishes them and starts
#     beta/three; at its first step SIGTERM goes to the ranks (what Slurm does on preemption;
#     SIGTERM to mpirun makes Open MPI 4 SIGKILL the ranks 1 s later and exit 1) -> exit 75
#     again, same checks;
#  3. the third launch resumes beta/three, but SF_FAULT_STALL_UNIT holds it before its first
#     step; SIGUSR1 with --signal-grace 2: no step boundary can come in time, so the job must
#     exit 75 at once (within 10 s), beta/three interrupted at its last checkpoint, same checks;
#  4. the fourth launch resumes beta/three and completes with frames and latents identical to an
#     uninterrupted render.
. "$(dirname "$0")/common.sh"
reference
snaps=()
# USR1: to mpirun, at the first step; TERM: to the ranks, at beta/three's first step of the
# launch; GRACE: USR1 once beta/three started while SF_FAULT_STALL_UNIT holds it before its first
# step, so no step boundary comes within --signal-grace 2 (-> exit 75 on the last checkpoint)
for tag in USR1 TERM GRACE; do
    case $tag in
    USR1) SF_FAULT_STEP_DELAY_MS=300 launch run $tag 2; what=$STEP ;;
    TERM) SF_FAULT_STEP_DELAY_MS=300 launch run $tag 2; what="$STEP.*beta/three" ;;
    GRACE) SF_FAULT_STALL_UNIT="beta/three" launch run $tag 2 --signal-grace 2
           what='"event": *"started".*beta/three' ;;
    esac
    sig=${tag/GRACE/USR1}
    wait_events run "$what" 1 60 || { await 5; die "$tag launch ended (exit $rc) before a step event"; break; }
    [ $tag = GRACE ] && sleep 0.5 # into the stall
    if [ $tag = TERM ]; then
        kill -TERM $(pgrep -P "$lpid")
    else
        kill -USR1 "$lpid"
    fi
    t0=$(date +%s.%N)
    await 30
    took=$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")
    echo "$tag: SIG$sig -> exit $rc after $took s"
    [ $rc = 75 ] || { die "$tag: exit $rc, want 75"; log_tail run $tag; }
    [ $tag != GRACE ] || python3 -c "import sys; sys.exit(float(sys.argv[1]) > 10)" $took \
        || die "GRACE: exit after $took s; --signal-grace 2 should end it within a few seconds"
    every_ckpt_verifies run
    [ "$ckpts" -gt 0 ] || die "$tag: no checkpoint in ckpt/"
    faultlib snapshot "$work/run" "$sf" >"$work/$tag.json" || die "snapshot"
    snaps+=("$work/$tag.json")
    faultlib interrupted "$work/run" "$work/run.launches" $tag "$work/$tag.json" \
        || die "$tag: interrupted events"
done
[ "$fail" = 0 ] || exit 1
finish_run 3 "${snaps[@]}"
[ "$fail" = 0 ] && echo "fault_signal: ok (SIGUSR1, SIGTERM, SIGUSR1 past --signal-grace -> 75, $k resumes, identical to the uninterrupted render)"
exit $fail
