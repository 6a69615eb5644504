#!/usr/bin/env bash
# Disk full (issue 16 § Proof; docs/testing.md § fault): SF_FAULT_WRITE=N makes the N-th durable
# checkpoint write of the process (SF_FAULT_WRITE_PATH=/ckpt/) fail with ENOSPC (N:EFBIG for
# EFBIG). With -np 1 (and the prompt cache warm from the reference) their order is fixed, so N
# is found by counting: launches with N = 1, 2, ... until the failing write is the HDF5 file of
# a unit's second (or later) checkpoint. That launch must exit non-zero with error lines naming the checkpoint that give the
# errno's text and say the disk is full (no HDF5 diagnostics dump), leave no temporary
# file, keep the previous checkpoint verifying (`shotfarm inspect`), and a relaunch without the
# fault must resume from that previous checkpoint and end identical to an uninterrupted render.
# The same N with EFBIG must say "File too large" and recover the same way. In a tensor-parallel
# group (-np 2 --tp 2: only the leader, rank 0, writes, in the same order) the same N fails the
# leader's checkpoint and the other rank must learn it at the step boundary and stop too, naming
# it, instead of waiting in the next step's collective.
. "$(dirname "$0")/common.sh"
reference
# only checkpoint writes count: the sound units write their files and the index on a CPU lane
# at the same time as the first checkpoints, in no fixed order
export SF_FAULT_WRITE_PATH=/ckpt/
# failed_write NAME TAG: the path of the write that failed in that launch's log ("" if none)
failed_write() {
    sed -n 's/.*error: write: \(.*\): \(No space left on device\|File too large\).*/\1/p' \
        "$work/$1.$2.log" | head -1
}
n=0 path=
while [ $n -lt 40 ]; do
    n=$((n + 1))
    rm -rf "$work/full" "$work/full.launches"
    SF_FAULT_WRITE=$n launch full 1 1
    await 60
    path=$(failed_write full 1)
    [[ $path == */ckpt/*.step*.h5 ]] && [[ ${path##*.step} != 0001.h5 ]] && break
    [ $rc = 0 ] && { die "SF_FAULT_WRITE=$n: the render exited 0 without any failed checkpoint write"; break; }
    path=
done
[ -n "$path" ] || { die "no N up to $n hit a checkpoint write"; exit 1; }
echo "SF_FAULT_WRITE=$n fails the write of ${path#"$work"/} (found by counting from 1)"
stem=$(basename "$path")
step=$((10#$(sed 's/.*\.step\([0-9]*\)\.h5/\1/' <<<"$stem")))
stem=${stem%.step*}
prev=$(printf '%s.step%04d.h5' "$stem" $((step - 1)))
for errname in ENOSPC EFBIG; do
    run=full
    if [ $errname = EFBIG ]; then
        run=big
        SF_FAULT_WRITE=$n:EFBIG launch big 1 1
        await 60
    fi
    want="No space left on device"
    [ $errname = EFBIG ] && want="File too large"
    [ $rc != 0 ] && [ $rc != 124 ] || die "$errname: exit $rc, want non-zero"
    grep "error: " "$work/$run.1.log" | grep -F "$work/$run/ckpt/$(basename "$path")" | grep -q "$want" \
        || { die "$errname: no error line naming ckpt/$(basename "$path") and saying \"$want\""; log_tail $run 1; }
    full=$(grep "error: " "$work/$run.1.log" | grep -F "$work/$run/ckpt/$(basename "$path")" | grep -m1 "disk is full")
    [ -n "$full" ] || { die "$errname: no error line naming the checkpoint says the disk is full"; log_tail $run 1; }
    echo "$errname: $full"
    ! grep -q "HDF5-DIAG" "$work/$run.1.log" || die "$errname: HDF5 diagnostics in the log"
    tmp=$(ls "$work/$run/ckpt" | grep -v '\.h5$\|\.h5\.sha256$')
    [ -z "$tmp" ] || die "$errname: left in ckpt/: $tmp"
    [ ! -e "$work/$run/ckpt/$(basename "$path")" ] || die "$errname: the failed checkpoint was published"
    verifies "$work/$run/ckpt/$prev" || die "$errname: the previous checkpoint ckpt/$prev does not verify"
    launch $run 2 1
    await 120
    [ $rc = 0 ] || { die "$errname: the relaunch without the fault exited $rc"; log_tail $run 2 20; continue; }
    python3 - "$work/$run" "$work/$run.launches" "$stem" "$prev" $((step - 1)) <<PY || die "$errname: resume point"
import os, sys
sys.path.insert(0, "$here")
import faultlib
rundir, launches, stem, prev, step = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
name = [n for n, s, _ in faultlib.denoise_units(rundir) if s == stem][0]
st = [e for e in faultlib.launches(rundir, launches)[1][1] if e["event"] == "started" and e["unit"] == name]
got = [(e.get("step"), os.path.basename(e.get("checkpoint") or "")) for e in st]
assert got == [(step, prev)], "%s started %s in the relaunch, want step %d from %s" % (name, got, step, prev)
PY
    same_as_ref $run
done
SF_FAULT_WRITE=$n launch tpfull 1 2 --tp 2
await 60
[ $rc != 0 ] && [ $rc != 124 ] || { die "tp 2: exit $rc, want non-zero (124: the group hung)"; log_tail tpfull 1 20; }
grep -q "r1 render: error: .*the group leader could not write its checkpoint" "$work/tpfull.1.log" \
    || { die "tp 2: rank 1 does not say the leader's checkpoint failed"; log_tail tpfull 1 20; }
grep "error: " "$work/tpfull.1.log" | grep -q "disk is full" || die "tp 2: no line says the disk is full"
verifies "$work/tpfull/ckpt/$prev" || die "tp 2: the previous checkpoint ckpt/$prev does not verify"
[ "$fail" = 0 ] && echo "fault_diskfull: ok (write $n = ckpt step $step: ENOSPC and EFBIG reported, step $((step - 1)) kept, identical after resume)"
exit $fail
