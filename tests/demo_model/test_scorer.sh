#!/usr/bin/env bash
# evaluate.py's seam scoring (issue 23) on the synthetic world's own clips, whose direction is
# known: tests/demo_model/test_scorer.py. Then a --overlap that shotfarm does not allow is refused
# before any render, with shotfarm's own line naming the field, and the campaign evaluate.py wrote
# has the demo campaign's draft tier (read by `shotfarm validate --json`); a --campaign shotfarm
# cannot read is refused with its reason. Needs CI's Python environment (numpy) and this build's
# shotfarm; renders nothing.
set -u
py=${SF_BINARY_DIR:?}/pyenv/bin/python
[ -x "$py" ] || { echo "FAIL: $py missing: run scripts/setup.sh (it installs tests/requirements.txt)"; exit 1; }
"$py" "${SF_SOURCE_DIR:?}/tests/demo_model/test_scorer.py" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-scorer.XXXXXX")
trap 'rm -rf "$work"' EXIT
if "$py" "$SF_SOURCE_DIR/scripts/demo_model/evaluate.py" --shotfarm "${SF_SHOTFARM:?}" \
        --langs en --per-lang 1 --overlap 11 --out "$work" >"$work/out" 2>&1; then
    cat "$work/out"; echo "FAIL: evaluate.py --overlap 11 (window 21) exited 0"; exit 1
fi
grep -q 'tiers.draft.overlap: window 21 with overlap 11' "$work/out" ||
    { cat "$work/out"; echo "FAIL: evaluate.py --overlap 11: no line naming tiers.draft.overlap"; exit 1; }
[ ! -e "$work/run-en" ] || { echo "FAIL: evaluate.py rendered a refused campaign"; exit 1; }
# the campaign it wrote has the demo campaign's draft tier as shotfarm reads it, but for the
# overlap it was given
"$SF_SHOTFARM" validate --json --no-media "$SF_SOURCE_DIR/examples/demo/campaign.yaml" \
    >"$work/demo.json"
"$py" - "$work/demo.json" "$work/eval-en.yaml" <<'PY' || exit 1
import json, sys
t = dict(json.load(open(sys.argv[1]))["files"][0]["tiers"]["draft"], overlap=11)
want = "  draft: {" + ", ".join(f"{k}: {t[k]}" for k in ("steps", "resolution", "sampler",
                              "schedule", "shift", "guidance", "window", "overlap")) + "}"
got = [ln for ln in open(sys.argv[2], encoding="utf-8") if ln.startswith("  draft:")]
if got != [want + "\n"]:
    sys.exit(f"FAIL: eval-en.yaml's tier {got}, want [{want!r}] (the demo campaign's draft tier)")
PY
echo "evaluate.py --overlap 11: refused before rendering (tiers.draft.overlap)"
echo "evaluate.py: its campaign has the demo's draft tier"
# a --campaign shotfarm cannot read: one line naming the option and the file, shotfarm's reason,
# non-zero exit, no work directory made
if "$py" "$SF_SOURCE_DIR/scripts/demo_model/evaluate.py" --shotfarm "$SF_SHOTFARM" \
        --campaign "$work/missing.yaml" --out "$work/bad" >"$work/out" 2>&1; then
    cat "$work/out"; echo "FAIL: evaluate.py --campaign missing.yaml exited 0"; exit 1
fi
refuse="^evaluate: --campaign $work/missing.yaml: shotfarm validate refuses it"
grep -q "$refuse" "$work/out" && grep -q "missing.yaml: (file): cannot open" "$work/out" ||
    { cat "$work/out"; echo "FAIL: evaluate.py --campaign missing.yaml: no line naming it"
      exit 1; }
[ ! -e "$work/bad" ] ||
    { echo "FAIL: evaluate.py made its work directory for a refused campaign"; exit 1; }
echo "evaluate.py --campaign missing.yaml: refused, naming option, file and shotfarm's reason"
