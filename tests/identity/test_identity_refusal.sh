#!/usr/bin/env bash
# A campaign whose shots show elements with reference images, on a model without VACE layers
# (the tiny text-to-video pipeline, or model.config tiny), is refused before anything runs:
# exit 2 from render (-np 2) and plan, one error line naming the five shots (three show elements
# with references, alpha/tail continues another shot, beta/key has key art) and the fix.
. "$(dirname "$0")/common.sh"
check() { # NAME RC STDERR
    [ "$2" = 2 ] || die "$1 exited $2, want 2"
    local errs
    errs=$(grep -c 'error:' <<<"$3")
    [ "$errs" = 1 ] || { die "$1 printed $errs error lines, want 1"; echo "$3"; }
    local line
    line=$(grep 'error:' <<<"$3")
    for want in alpha/run alpha/shoe alpha/tail beta/coach beta/key "mkmodel --config tiny-vace"; do
        grep -qF "$want" <<<"$line" || die "$1: the error does not name '$want': $line"
    done
    if grep -qF alpha/street <<<"$line"; then die "$1 names alpha/street, which needs no VACE"; fi
}
"$mpiexec" -np 2 "$sf" render "$campaign" -o "$work/run" --model "$work/model" \
    --tokenizer "$tokenizer" --cache "$work/cache" >/dev/null 2>"$work/render.err"
rc=$?
err=$(cat "$work/render.err")
check "render" $rc "$err"
[ ! -d "$work/run/shots" ] && [ ! -d "$work/cache/identity" ] || die "render made outputs before refusing"
sed 's/config: tiny-vace/config: tiny/' "$campaign" >"$work/camp/plain.yaml"
err=$("$sf" plan "$work/camp/plain.yaml" 2>&1 >/dev/null)
check "plan" $? "$err"
[ "$fail" = 0 ] && echo "identity_refusal: ok ($(grep 'error:' <<<"$err" | cut -c1-100)...)"
exit $fail
