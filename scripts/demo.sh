#!/usr/bin/env bash
# demo.sh — renders the demo campaign (examples/demo/) on the embedded default: CPU, the small
# trained Wan2.1-VACE pipeline committed in examples/models/demo (DiT with VACE layers, umT5 text
# encoder, Wan-VAE, its tokenizer; trained on a synthetic world of coloured shapes moving over
# textured backgrounds, docs/demo-model.md), as one MPI job of SF_DEMO_NP ranks (default 2).
# Its VACE layers are not trained yet (their outputs are zero): references do not steer the
# picture. Tests that need random weights make them with `shotfarm mkmodel`.
#   SF_BUILD_DIR  build directory (default: build)     SF_DEMO_OUT  output folder (default: out/demo)
#   SF_DEMO_NP    MPI ranks (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
sf=${SF_BUILD_DIR:-build}/shotfarm
out=${SF_DEMO_OUT:-out/demo}
np=${SF_DEMO_NP:-2}
mkdir -p "$out"
"$sf" --version
echo
# 1. Check the campaign: every problem at once, with file:line:col, field and fix (exit 2).
"$sf" validate examples/demo/campaign.yaml
echo
# 2. What it will cost and when it will be done, before anything runs (docs/plan.md).
"$sf" plan examples/demo/campaign.yaml --tier draft
echo
# 3. The trained demo model (tiny-vace layout, fp16 weights, VAE base width 8), checked against
#    the SHA-256 it was committed with.
model=examples/models/demo
(cd "$model" && sha256sum --quiet -c SHA256SUMS) ||
    { echo "demo: $model does not match its SHA256SUMS" >&2; exit 1; }
# 4. Render: prompt encodings and the identity bank (cached in $out/cache), denoising
#    conditioned on the references of each shot's elements, VAE decode, FFV1 shot files,
#    and assembly into the deliverables (docs/deliverables.md).
#    Open MPI refuses root without these; oversubscribe so the ranks fit on a small machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export SF_THREADS=${SF_THREADS:-1}
rc=0
mpirun -np "$np" "$sf" render examples/demo/campaign.yaml -o "$out/run" --model "$model" \
    --tokenizer "$model/tokenizer/tokenizer.json" --cache "$out/cache" || rc=$?
echo
"$sf" status "$out/run"
echo
echo "demo: shot files (FFV1 in Matroska, 16 fps) in $out/run/shots/:"
ls "$out/run/shots/"
[ -d "$out/run/out" ] || exit $rc
echo
echo "demo: $(ls "$out/run/out/" | grep -cE '\.(mp4|mov|mkv)$') deliverables in $out/run/out/ (listed in deliverables.json), e.g.:"
ls "$out/run/out/" | grep -E '\.(mp4|mov|mkv)$' | head -n 4
echo "      play one with: ffplay $out/run/out/$(ls "$out/run/out/" | grep -E '\.mp4$' | head -n 1)"
exit $rc
