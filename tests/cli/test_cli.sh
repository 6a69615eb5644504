#!/usr/bin/env bash
# CLI contract (docs/cli.md): --help lists every command, --version names the commit and
# backends, unknown commands and options exit 2 with one line on stderr.
set -u
sf=${SF_SHOTFARM:?}
fail=0
check() { # check DESCRIPTION EXPECTED_RC ACTUAL_RC
    if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, want $2"; fail=1; fi
}
out=$("$sf" --help); check "--help" 0 $?
for c in validate plan render status qc report submit mkmodel inspect forward tokenize; do
    grep -q "^  $c " <<<"$out" || { echo "FAIL: --help does not list '$c'"; fail=1; }
done
"$sf" >/dev/null 2>&1; check "no arguments" 2 $?
v=$("$sf" --version); check "--version" 0 $?
grep -Eq '^shotfarm [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{7,}|unknown' <<<"$v" || { echo "FAIL: version line: $v"; fail=1; }
grep -q 'backends: cpu-' <<<"$v" || { echo "FAIL: version lacks backends: $v"; fail=1; }
vj=$("$sf" --version --json); check "--version --json" 0 $?
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert "commit" in d and "backends" in d' "$vj" \
    || { echo "FAIL: --version --json is not one JSON document: $vj"; fail=1; }
err=$("$sf" frobnicate 2>&1 >/dev/null); check "unknown command" 2 $?
grep -q "unknown command 'frobnicate'" <<<"$err" || { echo "FAIL: unknown command message: $err"; fail=1; }
# render's option errors (docs/render.md): one line naming the option and what to give, exit 2
bad() { # bad PATTERN ARGS...: exit 2, one stderr line matching PATTERN (plus the "Try" hint)
    local pat=$1 e
    shift
    e=$("$sf" render "$@" 2>&1 >/dev/null); check "render $*" 2 $?
    grep -q -- "$pat" <<<"$e" || { echo "FAIL: render $*: message: $e"; fail=1; }
}
bad "use draft or final" c.yaml -o r --tier best
bad "a whole number" c.yaml -o r --ckpt-every 2.5
bad "N seconds (60s)" c.yaml -o r --ckpt-every 0s
bad "N minutes (10m)" c.yaml -o r --ckpt-every 5h
bad "--signal-grace: 'soon' is not a number" c.yaml -o r --signal-grace soon
bad "--stall-timeout: '0' is not a number" c.yaml -o r --stall-timeout 0
bad "--max-retries: '-1' is not an integer" c.yaml -o r --max-retries -1
# qc and report: usage errors exit 2 with one line
e=$("$sf" qc 2>&1 >/dev/null); check "qc without files" 2 $?
grep -q "give one or more video files" <<<"$e" || { echo "FAIL: qc usage: $e"; fail=1; }
e=$("$sf" report 2>&1 >/dev/null); check "report without RUNDIR" 2 $?
grep -q "give one run directory" <<<"$e" || { echo "FAIL: report usage: $e"; fail=1; }
"$sf" report /nonexistent-run >/dev/null 2>&1; check "report of a missing RUNDIR" 1 $?
[ "$fail" = 0 ] && echo "cli_basics: ok"
exit $fail
