#!/usr/bin/env bash
# Resume rules (issue 16 § Resume and failure; docs/testing.md § fault):
#  1. `--resume` on an empty directory: exit 2, one line saying there is nothing to resume
#     (no manifest.json), nothing written;
#  2. a finished run launched again runs nothing: no `started` event, a `reused` event for every
#     denoise and decode unit, exit 0, run_end 0, output files untouched (same inode and mtime);
#  3. a changed model, campaign seed or sampler is refused (exit 2, an error line naming it) and
#     leaves the outputs untouched;
#  4. an edited prompt of one shot re-renders that shot only (`reused` for the others, their
#     files untouched) and its frames equal a fresh render of the edited campaign;
#  5. the changed seed with --force renders, identical to a fresh render with that seed;
#  6. a run directory another render holds (RUNDIR/.lock) is refused: exit 1, one line, nothing
#     written;
#  7. a manifest this version cannot resume from (an older shotfarm's, no `identity`) is refused
#     with one line; with --force the directory is rendered again from scratch (a stale shot
#     file is replaced, not taken for a finished one), identical to a fresh render.
. "$(dirname "$0")/common.sh"
# stamp NAME: inode and mtime (ns) of every final latent and shot file of $work/NAME
stamp() { stat -c '%n %i %y' "$work/$1"/latents/*.h5 "$work/$1"/shots/*.mkv; }
# refused WHAT TAG: the launch exited 2 with an error line naming WHAT, outputs untouched
refused() {
    [ $rc = 2 ] || { die "changed $1: exit $rc, want 2"; log_tail run $2; }
    one_error_line run $2 "$1" "changed $1"
    [ "$(stamp run)" = "$before" ] || die "changed $1: the refused launch touched the outputs"
}

mkdir "$work/empty"
run_to_end empty 1 1 --resume
[ $rc = 2 ] || die "--resume on an empty directory: exit $rc, want 2"
one_error_line empty 1 "nothing to resume" "--resume on an empty directory"
[ -z "$(ls "$work/empty")" ] || die "--resume on an empty directory wrote $(ls "$work/empty")"

mkdir "$work/locked"
exec 9>"$work/locked/.lock" # this shell holds the lock, as a running render's rank 0 would
flock 9
run_to_end locked 1 1
exec 9>&-
[ $rc = 1 ] || die "a locked run directory: exit $rc, want 1"
one_error_line locked 1 "another render is writing" "a locked run directory"
[ "$(ls -A "$work/locked")" = ".lock" ] || die "a locked run directory: wrote $(ls -A "$work/locked")"

run_to_end run 1 2
[ $rc = 0 ] || { die "first render exited $rc"; log_tail run 1 20; exit 1; }
before=$(stamp run)
run_to_end run 2 2
[ $rc = 0 ] || die "relaunch of a finished run: exit $rc, want 0"
python3 - "$work/run" "$work/run.launches" <<PY || die "relaunch of a finished run"
import json, sys
sys.path.insert(0, "$here")
import faultlib
rundir, launches = sys.argv[1:3]
ev = faultlib.launches(rundir, launches)[1][1]
ran = [e["unit"] for e in ev if e["event"] in ("started", "step", "finished", "failed")]
assert not ran, "units ran again: %s" % ran
m = json.load(open(rundir + "/manifest.json"))
want = {u["name"] for u in m["units"] if u["kind"] in ("denoise", "decode")}
got = {e["unit"] for e in ev if e["event"] == "reused"}
assert want <= got, "no reused event for %s" % sorted(want - got)
ends = [e.get("status") for e in ev if e["event"] == "run_end"]
assert ends == [0], "run_end statuses %s" % ends
PY
[ "$(stamp run)" = "$before" ] || { die "relaunch of a finished run touched its outputs"; diff <(echo "$before") <(stamp run); }

mv "$work/model" "$work/model0"
"$sf" mkmodel --config tiny --dtype fp32 --vae-dim 8 --seed 1 -o "$work/model" 2>/dev/null || die "mkmodel --seed 1"
run_to_end run model 2
refused model model
# a content hash is shown by its first 16 hex digits
grep "error: " "$work/run.model.log" | grep -Eq "model transformer/ files \([0-9a-f]{16}\.\.\. -> [0-9a-f]{16}\.\.\.\)" ||
    die "changed model: the refusal does not show both transformer hashes: $(grep 'error: ' "$work/run.model.log")"
rm -rf "$work/model" && mv "$work/model0" "$work/model"
sed -i 's/^seed: 11$/seed: 12/' "$campaign"
run_to_end run seed 2
refused seed seed
grep "error: " "$work/run.seed.log" | grep -q "campaign seed (11 -> 12)" ||
    die "changed seed: the refusal does not show the old and new seed"
sed -i 's/^seed: 12$/seed: 11/; 0,/sampler: unipc/s//sampler: euler/' "$campaign"
run_to_end run sampler 2
refused sampler sampler
sed -i '0,/sampler: euler/s//sampler: unipc/' "$campaign"
cmp -s "$campaign" "$here/campaign.yaml" || die "test bug: the campaign was not restored"

sed -i 's/A paper boat on a rainy street/A paper boat on a sunny street/' "$campaign"
run_to_end run prompt 2
[ $rc = 0 ] || { die "edited prompt: exit $rc"; log_tail run prompt 20; }
python3 - "$work/run" "$work/run.launches" <<PY || die "edited prompt"
import sys
sys.path.insert(0, "$here")
import faultlib
ev = dict(faultlib.launches(*sys.argv[1:3]))["prompt"]
ran = {e["unit"] for e in ev if e["event"] == "started"}
want = {"alpha/two take 1 16:9 denoise", "alpha/two take 1 16:9 decode",
        "alpha/two take 1 16:9 master"}
assert want <= ran, "not re-rendered: %s" % sorted(want - ran)
# the assembly of sequence alpha contains the shot: it is made again (as a new version)
other = [u for u in ran if u not in want and not u.startswith("encode prompt \"A paper boat")
         and not u.startswith("alpha ")]
assert not other, "units of unchanged shots ran: %s" % other
reused = {e["unit"] for e in ev if e["event"] == "reused"}
for s in ("alpha/one take 1 16:9", "beta/three take 1 1:1"):
    for k in ("denoise", "decode"):
        assert "%s %s" % (s, k) in reused, "no reused event for %s %s" % (s, k)
PY
diff <(grep -v alpha.two <<<"$before") <(stamp run | grep -v alpha.two) >/dev/null \
    || die "edited prompt: files of the unchanged shots were touched"
# the deliverable of sequence alpha is never overwritten: a second version, now the current one;
# sequence beta's is kept as it was
python3 - "$work/run" <<'PY' || die "edited prompt: deliverable versions"
import json, os, sys
run = sys.argv[1]
files = json.load(open(run + "/out/deliverables.json"))["files"]
alpha = sorted((f["version"], f["current"], f["path"]) for f in files
               if "_alpha_" in f["name"] and f["type"] == "spot")
assert [(v, c) for v, c, _ in alpha] == [(1, False), (2, True)], alpha
assert alpha[1][2].endswith("_alpha_16x9_3s_en_v2.mkv") and all(os.path.exists(p) for _, _, p in alpha), alpha
beta = [(f["version"], f["current"]) for f in files if "_beta_" in f["name"]]
assert beta and all(b == (1, True) for b in beta), beta
# the edited shot's master: version 2, current; the other shots' masters untouched
two = sorted((f["version"], f["current"]) for f in files if "_alpha_two_" in f["name"])
assert two == [(1, False), (2, True)], two
assert all((f["version"], f["current"]) == (1, True) for f in files
           if f["type"] == "shot master" and "_alpha_two_" not in f["name"])
PY
run_to_end fresh-prompt 1 2
[ "$(frames run)" = "$(frames fresh-prompt)" ] || die "edited prompt: frames differ from a fresh render of the edited campaign"

sed -i 's/^seed: 11$/seed: 12/' "$campaign"
run_to_end run force 2 --force
[ $rc = 0 ] || { die "--force with a changed seed: exit $rc"; log_tail run force 20; }
run_to_end fresh-seed 1 2
[ "$(frames run)" = "$(frames fresh-seed)" ] || die "--force with a changed seed: frames differ from a fresh render with that seed"
[ "$(frames run)" != "$(frames fresh-prompt)" ] || die "--force with a changed seed: the frames did not change"
python3 - "$work/run/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["identity"]
json.dump(m, open(sys.argv[1], "w"))
PY
printf 'stale' >"$work/run/shots/alpha.one.take1.16x9.mkv"
run_to_end run old 2
[ $rc = 2 ] || { die "a manifest without identity: exit $rc, want 2"; log_tail run old; }
one_error_line run old "older shotfarm" "a manifest without identity"
run_to_end run oldforce 2 --force
[ $rc = 0 ] || { die "--force over a manifest without identity: exit $rc"; log_tail run oldforce 20; }
[ "$(frames run)" = "$(frames fresh-seed)" ] || die "--force over a manifest without identity: frames differ from a fresh render"
[ "$fail" = 0 ] && echo "fault_resume_rules: ok"
exit $fail
