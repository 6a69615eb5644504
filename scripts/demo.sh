#!/usr/bin/env bash
# demo.sh — renders the demo campaign (examples/demo/) on the embedded default: CPU and a small
# random-weight model made by `shotfarm mkmodel`. Each part of the engine extends this script as
# it lands; today it shows what is built and runs every command that exists.
#   SF_BUILD_DIR  build directory (default: build)     SF_DEMO_OUT  output folder (default: out/demo)
set -euo pipefail
cd "$(dirname "$0")/.."
sf=${SF_BUILD_DIR:-build}/shotfarm
out=${SF_DEMO_OUT:-out/demo}
mkdir -p "$out"
"$sf" --version
"$sf" --help
echo
# 1. Check the campaign: every problem at once, with file:line:col, field and fix (exit 2).
"$sf" validate examples/demo/campaign.yaml
echo
# 2. What it will cost and when it will be done, before anything runs (docs/plan.md).
"$sf" plan examples/demo/campaign.yaml --tier draft
echo
# 3. The embedded model: a random-weight tiny pipeline with the official tensor names.
"$sf" mkmodel --config tiny --dtype fp32 -o "$out/model"
"$sf" inspect --summary "$out/model"
echo
echo "demo: outputs in $out/"
