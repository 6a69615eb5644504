#!/usr/bin/env bash
# slow: mkmodel writes the 1.3B model (2.8 GB bf16) streaming, so its peak memory stays far below
# the model's size; inspect then checks every tensor against config.json.
set -u
sf=${SF_SHOTFARM:?}
work=$(mktemp -d -p "${SF_BINARY_DIR:-/tmp}")
trap 'rm -rf "$work"' EXIT
fail=0
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M %e" -o "$work/time" "$sf" mkmodel --config wan2.1-t2v-1.3b --component dit -o "$work/m" || fail=1
    read -r rss_kb secs < "$work/time"
    echo "mkmodel 1.3B: ${secs}s, peak RSS ${rss_kb} KiB"
    [ "$rss_kb" -lt 262144 ] || { echo "FAIL: peak RSS ${rss_kb} KiB, want < 256 MiB (streaming)"; fail=1; }
else
    "$sf" mkmodel --config wan2.1-t2v-1.3b --component dit -o "$work/m" || fail=1
fi
size=$(stat -c %s "$work/m/diffusion_pytorch_model.safetensors")
[ "$size" -gt 2800000000 ] || { echo "FAIL: size $size"; fail=1; }
out=$("$sf" inspect --summary "$work/m")
echo "$out"
grep -q "config: *wan2.1-t2v-1.3b" <<<"$out" || { echo "FAIL: inspect"; fail=1; }
[ "$fail" = 0 ] && echo "st_mkmodel_1_3b: ok"
exit $fail
