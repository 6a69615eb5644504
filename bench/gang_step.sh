#!/usr/bin/env bash
# One sampler step of a 4-window shot (issue 23; docs/windows.md § Windows on several groups) on
# one worker group against a gang of 2 (-np 1 and -np 2 at tp 1, one thread per rank): the 15 s
# shot of tests/fault/windows.yaml on the tiny model at SIZE (default 192x192), STEPS steps
# (default 6). Prints the median seconds per step (from the denoise unit's step events,
# worker clock; the first step, which loads the model, is left out) and their ratio. Ranks are
# not bound to cores (--bind-to none): on a shared machine other jobs' ranks bind to cores 0, 1.
# MODE `branches`: the same shot as one window (tier window 64) with --cfg-parallel, so the gang
# of 2 is a pair of guidance branches (docs/windows.md § Guidance branches) instead of windows.
# Usage: bench/gang_step.sh BUILD_DIR [SIZE] [STEPS] [windows|branches]
set -eu
build=${1:?usage: bench/gang_step.sh BUILD_DIR [SIZE] [STEPS] [windows|branches]}
size=${2:-192x192}
steps=${3:-6}
mode=${4:-windows}
case $mode in
windows) edit="" extra=() ;;
branches) edit='s/^    guidance: 5.0$/    guidance: 5.0\n    window: 64/' extra=(--cfg-parallel) ;;
*) echo "gang_step.sh: MODE is windows or branches, not '$mode'" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
sf=$build/shotfarm
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-gang-bench.XXXXXX")
[ -n "${SF_KEEP_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export SF_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$sf" mkmodel --config tiny --dtype fp32 --vae-dim 8 -o "$work/model" >/dev/null 2>&1
sed "s/resolution: 64x64/resolution: $size/; s/steps: 4/steps: $steps/; $edit" \
    "$src/tests/fault/windows.yaml" >"$work/campaign.yaml"
for np in 1 2; do
    mpirun --bind-to none -np $np "$sf" render "$work/campaign.yaml" -o "$work/np$np" --model "$work/model" \
        --tokenizer "$src/examples/models/tokenizer.json" --cache "$work/cache" "${extra[@]}" \
        >"$work/np$np.out" 2>"$work/np$np.log" &
    pid=$!
    until grep -qs '"event": *"finished".*denoise' "$work/np$np/events.jsonl"; do
        kill -0 $pid 2>/dev/null || { tail "$work/np$np.log"; exit 1; }
        sleep 0.5
    done
    kill -9 $(pgrep -P $pid) $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
done
python3 - "$work/np1/events.jsonl" "$work/np2/events.jsonl" <<'PY'
import json, statistics, sys
def per_step(path):
    ev = [json.loads(l) for l in open(path)]
    t = [e["worker_t"] for e in ev
         if e.get("kind") == "denoise" and e["event"] == "step" and e.get("gang_index", 0) == 0]
    d = [b - a for a, b in zip(t, t[1:])]
    return statistics.median(d), len(d)
(a, n), (b, _) = per_step(sys.argv[1]), per_step(sys.argv[2])
print(f"1 group: {a:.3f} s/step, gang of 2: {b:.3f} s/step (median of {n} steps); speed-up {a / b:.2f}x")
PY
