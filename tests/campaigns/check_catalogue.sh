#!/usr/bin/env bash
# check_catalogue.sh — `shotfarm validate` against the catalogue of invalid campaign files:
# each invalid/NAME.{yaml,json} must exit 2 and print exactly invalid/NAME.expected on stderr
# (plus the final "N problems" line); each valid/*.{yaml,json} and the two examples must exit 0.
# Run by ctest (label unit) with SF_SHOTFARM and SF_SOURCE_DIR set.
set -uo pipefail
sf=${SF_SHOTFARM:?}
src=${SF_SOURCE_DIR:?}
fail=0 n=0
cd "$src/tests/campaigns/invalid"
for f in *.yaml *.json; do
  n=$((n + 1))
  exp=${f%.*}.expected
  if [[ ! -f $exp ]]; then echo "FAIL $f: no $exp"; fail=1; continue; fi
  out=$("$sf" validate "$f" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 ]]; then echo "FAIL $f: exit $rc, want 2"; fail=1; fi
  got=$(printf '%s\n' "$out" | sed '$d')
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [[ $got != "$(cat "$exp")" ]]; then
    echo "FAIL $f: messages differ"; diff <(cat "$exp") <(printf '%s\n' "$got"); fail=1
  fi
  if [[ ! $last =~ ^$f:\ [0-9]+\ problems?$ ]]; then echo "FAIL $f: last line '$last'"; fail=1; fi
done
for e in *.expected; do
  [[ -f ${e%.expected}.yaml || -f ${e%.expected}.json ]] || { echo "FAIL $e: no campaign file"; fail=1; }
done
if [[ $n -lt 40 ]]; then echo "FAIL: only $n invalid files, the catalogue needs at least 40"; fail=1; fi
for f in "$src"/tests/campaigns/valid/*.yaml "$src"/tests/campaigns/valid/*.json \
         "$src"/examples/demo/campaign.yaml "$src"/examples/sample-40/campaign.yaml; do
  if ! "$sf" validate "$f" >/dev/null; then echo "FAIL $f: should be valid"; fail=1; fi
done
# Several files at once: exit 2 when any is invalid; --json is one document.
"$sf" validate "$src/examples/demo/campaign.yaml" two-documents.yaml >/dev/null 2>&1
[[ $? -eq 2 ]] || { echo "FAIL: a mix of valid and invalid files must exit 2"; fail=1; }
json=$("$sf" validate --json seven-shots.yaml 2>/dev/null)
grep -q '"field": "sequences\[0\].shots"' <<<"$json" || { echo "FAIL: --json lacks the diagnostic"; fail=1; }
# --json gives every tier as render runs it: what the file sets, and the defaults for the rest
# (docs/campaign.md § tiers); evaluate.py of the demo model renders with these.
json=$("$sf" validate --json --no-media "$src/tests/campaigns/valid/demo-twin.json")
python3 - "$json" <<'PY' || { echo "FAIL: validate --json tiers of demo-twin.json"; fail=1; }
import json, sys
t = json.loads(sys.argv[1])["files"][0]["tiers"]
want = {"draft": dict(steps=4, resolution="64x64", sampler="euler", schedule="wan", shift=3,
                      guidance=5, max_refs=4, window=21, overlap=5),
        "final": dict(steps=50, resolution="1280x720", sampler="unipc", schedule="wan", shift=5,
                      guidance=5, max_refs=4, window=21, overlap=5)}
if t != want:
    sys.exit(f"tiers: got {t}, want {want}")
PY
[[ $fail -eq 0 ]] && echo "catalogue: $n invalid files rejected with their exact messages"
exit $fail
