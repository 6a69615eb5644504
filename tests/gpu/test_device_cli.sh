#!/usr/bin/env bash
# --device on forward dit / forward denoise / render (docs/gpu.md): a wrong name is a usage error
# (exit 2, one line naming --device and the choices); --device cpu runs and --json reports it;
# --device cuda without a GPU fails with one line that says to use --device cpu and writes
# nothing (with a GPU it runs and writes; gpu_dit_parity compares the numbers). Label unit: the
# no-GPU half is what CI sees.
set -u
sf=${SF_SHOTFARM:?}
src=${SF_SOURCE_DIR:?}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # check DESCRIPTION EXPECTED_RC ACTUAL_RC
    if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, want $2"; fail=1; fi
}
fx=$src/tests/fixtures/dit
cmds=("forward dit" "forward denoise")
"$sf" --help | grep -q "^  render " && cmds+=("render c.yaml -o r") # not in SF_MINIMAL builds
for cmd in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    e=$("$sf" $cmd --device gpu 2>&1 >/dev/null); check "$cmd --device gpu" 2 $?
    grep -q -- "--device gpu: use cpu or cuda" <<<"$e" || { echo "FAIL: $cmd: message: $e"; fail=1; }
done
j=$("$sf" forward dit --device cpu --model "$fx/h3-f32" -i "$fx/h3-f32.in.safetensors" \
    -o "$tmp/cpu.safetensors" --json 2>/dev/null); check "forward dit --device cpu" 0 $?
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["device"] == "cpu"' "$j" ||
    { echo "FAIL: --json device: $j"; fail=1; }
e=$("$sf" forward dit --device cuda --model "$fx/h3-f32" -i "$fx/h3-f32.in.safetensors" \
    -o "$tmp/gpu.safetensors" 2>&1 >/dev/null); rc=$?
gpus=$("$sf" --version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cuda_devices"])')
if [ "$gpus" = 0 ]; then
    [ $rc != 0 ] || { echo "FAIL: --device cuda without a GPU succeeded"; fail=1; }
    grep -q -- "use --device cpu" <<<"$e" || { echo "FAIL: --device cuda message: $e"; fail=1; }
    [ ! -e "$tmp/gpu.safetensors" ] || { echo "FAIL: --device cuda wrote an output"; fail=1; }
else
    check "forward dit --device cuda on a GPU" 0 $rc
    "$sf" inspect "$tmp/gpu.safetensors" >/dev/null 2>&1 || { echo "FAIL: no GPU output"; fail=1; }
fi
[ "$fail" = 0 ] && echo "gpu_device_cli: ok ($gpus GPUs)"
exit $fail
