#!/usr/bin/env bash
# Defects a new user met (issue 20), each checked where it was seen:
#  1. a campaign that names its model as `model: {dir: DIR}` (docs/campaign.md § model) plans and
#     renders (it crashed render with SIGSEGV: a NULL config name);
#  2. `plan --gpu cpu` sizes a rank from this machine (cores and memory, or --cores-per-rank /
#     --mem-per-rank), so the 1.3B pipeline that render runs on a 24 GiB machine is not refused;
#  3. manifest.json records the OpenBLAS kernels that ran, not the ones OpenBLAS chose at load
#     (here: loaded as Prescott by OPENBLAS_CORETYPE, switched by SF_BLAS_CORE at start-up).
. "$(dirname "$0")/common.sh"

# 1. model: {dir: ...}
sed "s#^  config: tiny#  dir: $work/model#" "$campaign" >"$work/bydir.yaml"
grep -q "dir: $work/model" "$work/bydir.yaml" || die "could not write the model.dir campaign"
"$sf" plan "$work/bydir.yaml" --tier draft >"$work/bydir.plan" 2>&1 || die "plan of a model.dir campaign exited $?"
grep -q "model $work/model" "$work/bydir.plan" || die "plan does not name the model directory: $(head -1 "$work/bydir.plan")"
"$mpiexec" -np 1 "$sf" render "$work/bydir.yaml" -o "$work/bydir" --tokenizer "$tokenizer" \
    --cache "$work/c" >"$work/bydir.out" 2>"$work/bydir.log"
rc=$?
[ $rc = 0 ] || { tail -5 "$work/bydir.log"; die "render of a model.dir campaign exited $rc"; }
[ "$(ls "$work/bydir/shots/"*.mkv 2>/dev/null | wc -l)" = 3 ] || die "model.dir render made no shots"

# 2. the CPU profile: a 1.3B prompt encoding needs 10.7 GiB
big=$src/tests/plan/one-shot-1.3b.yaml
"$sf" plan "$big" --gpu cpu --cores-per-rank 2 --mem-per-rank 24 --json >"$work/cpu.json" ||
    die "plan --gpu cpu with 24 GiB per rank refused the 1.3B pipeline"
python3 - "$work/cpu.json" <<'PY' || die "the CPU profile is not per rank"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["cluster"]
assert c["devices_per_node"] == 1 and c["groups"] == 1, c  # one rank per node by default
assert abs(c["device_mem_bytes"] - 24 * 2**30) < 1, c
assert abs(d["assumptions"]["peak_flops"] - 2 * 166e9) < 1, d["assumptions"]
assert "2 x86-64 cores and 24.0 GiB per rank" in c["device_description"], c
PY
err=$("$sf" plan "$big" --gpu cpu --mem-per-rank 8 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] || die "8 GiB per rank: exit $rc, want 2"
grep -q "needs 10.* GiB per rank but a cpu has 8 GiB" <<<"$err" || die "CPU refusal: $err"
grep -q "mem-per-rank" <<<"$err" || die "the CPU refusal names no fix: $err"
"$sf" plan "$big" --gpu cpu --json >"$work/cpu0.json" 2>/dev/null
python3 - "$work/cpu0.json" <<'PY' || die "plan --gpu cpu does not take this machine's cores and memory"
import json, os, sys
d = json.load(open(sys.argv[1]))
mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
c = d["cluster"]
assert abs(c["device_mem_bytes"] - mem) < 1, (c, mem)
assert f"this machine: {os.cpu_count()} cores" in c["device_description"], c
PY
"$sf" plan "$big" --mem-per-rank 8 >/dev/null 2>&1; [ $? = 2 ] || die "--mem-per-rank without --gpu cpu accepted"

# 3. the kernels that ran
if OPENBLAS_CORETYPE=Prescott "$sf" --version >/dev/null 2>&1 && grep -q avx2 /proc/cpuinfo; then
    OPENBLAS_CORETYPE=Prescott SF_BLAS_CORE=Haswell "$mpiexec" -np 1 "$sf" render "$campaign" \
        -o "$work/blas" --model "$work/model" --tokenizer "$tokenizer" --cache "$work/c" \
        >"$work/blas.out" 2>"$work/blas.log"
    rc=$?
    [ $rc = 0 ] || { tail -5 "$work/blas.log"; die "render with SF_BLAS_CORE exited $rc"; }
    grep -q "OpenBLAS chose its Prescott kernels for this CPU; now Haswell" "$work/blas.log" ||
        die "no switch in the log: $(grep -i openblas "$work/blas.log")"
    python3 - "$work/blas/manifest.json" <<'PY' || die "manifest's openblas_core is not what ran"
import json, sys
m = json.load(open(sys.argv[1]))
cores = {c["openblas_core"] for c in m["determinism_domain"]["cpu"]}
assert cores == {"Haswell"}, cores
PY
fi
[ $fail = 0 ] && echo "render_defects: ok"
exit $fail
