#!/usr/bin/env bash
# `shotfarm tokenize` (issue 12): ids per line (expected ids below come from the `tokenizers`
# library with Wan's cleaning, scripts/golden/tokenizer.py's functions), --pad/--max-len,
# --no-clean, and the bad-input paths: invalid UTF-8 names its line, an over-long prompt is
# truncated with a warning, a non-unigram tokenizer file is refused naming the file.
set -u
sf=${SF_SHOTFARM:?}
tok=${SF_SOURCE_DIR:?}/examples/models/tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" != "$3" ]; then printf 'FAIL: %s:\n  got:  %s\n  want: %s\n' "$1" "$3" "$2"; fail=1; fi
}
out=$(printf 'hello world\n一个女人在走路\n\n&amp;lt;b&gt; \xe2\x80\x9cQuote\xe2\x80\x9d \xef\xac\x81ne \xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\n' \
      | "$sf" tokenize --tokenizer "$tok")
check "exit status" 0 $?
want='[260,7988,274,694,694,7998,260,7986,7998,7997,694,7992,1]
[260,574,520,570,7953,7794,1]
[1]
[260,3,7989,3,260,3,1142,7991,7998,7995,274,3,260,702,7996,669,274,260,7781,7788,7790,1]'
check "ids" "$want" "$(tr -d ' ' <<<"$out")"

out=$(printf '一个女人在走路\n' | "$sf" tokenize --tokenizer "$tok" --max-len 10 --pad | tr -d ' ')
check "--pad --max-len 10" '[260,574,520,570,7953,7794,1,0,0,0]' "$out"
out=$(printf '&amp;\n' | "$sf" tokenize --tokenizer "$tok" --no-clean | tr -d ' ')
check "--no-clean keeps the entity" '[260,3,598,7990,7985,583,1]' "$out"

# over-long: truncated to max-len with </s> last, and a warning naming the line
long=$(for i in $(seq 300); do printf 'camera slow motion '; done)
out=$(printf 'a\n%s\n' "$long" | "$sf" tokenize --tokenizer "$tok" --max-len 16 2>"$tmp/err" | sed -n 2p | tr -d ' ')
check "truncated length" 16 "$(tr ',' '\n' <<<"$out" | wc -l)"
check "truncated ends with </s>" "1]" "${out: -2}"
grep -q "stdin line 2: prompt longer than 16 tokens, truncated" "$tmp/err" \
    || { echo "FAIL: no truncation warning: $(cat "$tmp/err")"; fail=1; }

# invalid UTF-8 on line 2: one line naming it, exit 1, line 1 still printed
out=$(printf 'ok\nbad \xff byte\n' | "$sf" tokenize --tokenizer "$tok" 2>"$tmp/err")
check "invalid UTF-8 exit" 1 $?
check "lines before the bad one" "[260,7998,7982,1]" "$(tr -d ' ' <<<"$out")"
grep -q "stdin line 2: not valid UTF-8 at byte 5" "$tmp/err" \
    || { echo "FAIL: invalid UTF-8 message: $(cat "$tmp/err")"; fail=1; }
out=$(printf 'bad \xc3\n' | "$sf" tokenize --tokenizer "$tok" --no-clean 2>"$tmp/err")
check "invalid UTF-8 exit (--no-clean)" 1 $?
grep -q "stdin line 1: not valid UTF-8 at byte 5" "$tmp/err" \
    || { echo "FAIL: invalid UTF-8 message (--no-clean): $(cat "$tmp/err")"; fail=1; }

# a BPE tokenizer file is refused by name
printf '{"model":{"type":"BPE","vocab":{},"merges":[]}}' >"$tmp/bpe.json"
echo x | "$sf" tokenize --tokenizer "$tmp/bpe.json" >/dev/null 2>"$tmp/err"
check "BPE file exit" 1 $?
grep -q "bpe.json: model.type: \"BPE\" is not supported" "$tmp/err" \
    || { echo "FAIL: BPE message: $(cat "$tmp/err")"; fail=1; }
printf '{"model":' >"$tmp/cut.json"
echo x | "$sf" tokenize --tokenizer "$tmp/cut.json" >/dev/null 2>"$tmp/err"
check "truncated JSON exit" 1 $?
grep -q "cut.json: not valid JSON" "$tmp/err" || { echo "FAIL: JSON message: $(cat "$tmp/err")"; fail=1; }
echo x | "$sf" tokenize --tokenizer "$tmp/missing.json" >/dev/null 2>&1
check "missing file exit" 1 $?
echo x | "$sf" tokenize >/dev/null 2>&1
check "no --tokenizer" 2 $?
echo x | "$sf" tokenize --tokenizer "$tok" --max-len 0 >/dev/null 2>&1
check "--max-len 0" 2 $?
"$sf" tokenize --help | grep -q -- "--no-clean" || { echo "FAIL: --help"; fail=1; }
[ "$fail" = 0 ] && echo "tokenize_cli: ok"
exit $fail
