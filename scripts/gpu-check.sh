#!/usr/bin/env bash
# gpu-check.sh — everything a few minutes on a GPU machine should verify, in one run (issue 27):
# builds the SF_MINIMAL tree with CUDA for the card's own architecture (no MPI, HDF5, FFmpeg or
# OpenBLAS there; nothing is downloaded), runs the `gpu` test label (every CUDA op against its CPU
# twin, attention at real size on sampled rows, the DiT and a 4-step denoise against the CPU),
# then one guided step of a random-weight 1.3B DiT at 480p x 81 frames (32,760 tokens) on the
# GPU (bench/dit_step --device cuda: step time, GEMM and attention TFLOP/s against the bf16 peak,
# device memory), the same step in plain PyTorch (bench/dit_step_torch.py, bf16 + sdpa) as the
# peer, and prints a summary. Budget: 8 minutes including the build.
#   SF_GPU_BUILD   build directory (default build-gpu)
#   SF_GPU_SKIP_BENCH=1   tests only
#   OUT            if set (the device tool), logs are copied there
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
build=${SF_GPU_BUILD:-build-gpu}
logs=${OUT:-/tmp}/gpu-check
mkdir -p "$logs"
elapsed() { echo $(( $(date +%s) - start )); }
say() { echo "gpu-check [$(elapsed)s] $*"; }

nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader \
    2>&1 | tee "$logs/nvidia-smi.txt" || true
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
[ -n "$cap" ] || cap=90
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
say "nvcc: $("$nvcc_bin" --version | tail -1); building for sm_$cap"

# 1. build (one architecture: the card's)
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
if ! cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DSF_MINIMAL=ON -DSF_CUDA=ON \
        -DSF_WERROR=ON -DCMAKE_CUDA_COMPILER="$nvcc_bin" -DCMAKE_CUDA_ARCHITECTURES="$cap" \
        > "$logs/configure.log" 2>&1; then
    tail -30 "$logs/configure.log"; say "FAILED: configure"; exit 1
fi
targets=(shotfarm gpu_rmsnorm_parity gpu_ops_parity gpu_dit_parity bench_dit_step)
if ! cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" > "$logs/build.log" 2>&1; then
    grep -E "error|warning" "$logs/build.log" | head -40; say "FAILED: build"; exit 1
fi
say "built $("$build"/shotfarm --version)"

# 2. the gpu label
ctest --test-dir "$build" -L gpu --output-on-failure --timeout 300 > "$logs/ctest-gpu.log" 2>&1
tests_rc=$?
grep -E "^ *ok |max\|a-b\||attention 32760|skipped|Skipped|Passed|Failed|tests passed|Not Run" \
    "$logs/ctest-gpu.log" | head -80
if grep -q "Skipped" "$logs/ctest-gpu.log"; then
    say "a gpu test skipped: no usable device was seen (see above)"; tests_rc=1
fi
say "gpu label: $(grep -E 'tests passed' "$logs/ctest-gpu.log" || echo 'no summary')"

# 3. the benchmark: one guided 1.3B step at 480p x 81 frames
bench_rc=0
if [ "${SF_GPU_SKIP_BENCH:-0}" != 1 ]; then
    m13=/tmp/sf-m13-bf16
    if [ ! -f "$m13/config.json" ]; then
        "$build"/shotfarm mkmodel --config wan2.1-t2v-1.3b --component dit --dtype bf16 -o "$m13" \
            > "$logs/mkmodel.log" 2>&1 || { tail "$logs/mkmodel.log"; say "FAILED: mkmodel"; }
    fi
    timeout 300 "$build"/bench/dit_step --device cuda --model "$m13" --latent 21,60,104 \
        --warmup small --threads "$(nproc)" > "$logs/bench.log" 2>&1
    bench_rc=$?
    cat "$logs/bench.log"
    # the same step in plain PyTorch on the same GPU (the machine has torch, not diffusers)
    if python3 -c "import torch, safetensors" 2>/dev/null; then
        timeout 200 python3 bench/dit_step_torch.py --model "$m13" --latent 21,60,104 \
            > "$logs/bench-torch.log" 2>&1 || say "the torch peer failed (log above)"
        tail -5 "$logs/bench-torch.log"
    fi
    # diffusers itself when its wheel was carried along (docs/gpu.md § Checking it on a GPU)
    if python3 -c "import diffusers" 2>/dev/null; then
        timeout 200 python3 bench/dit_step_diffusers.py --model "$m13" --device cuda --dtype bf16 \
            --threads 8 --latent 21,60,104 > "$logs/bench-diffusers.log" 2>&1 ||
            say "the diffusers peer failed (log above)"
        tail -5 "$logs/bench-diffusers.log"
    fi
fi

say "summary: gpu tests rc=$tests_rc, bench rc=$bench_rc, $(elapsed) s in all; logs in $logs"
[ $tests_rc -eq 0 ] && [ $bench_rc -eq 0 ]
