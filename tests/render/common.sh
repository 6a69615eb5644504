# Shared by the render tests: a tiny fp32 pipeline (VAE base width 8) and helpers.
set -u
sf=${SF_SHOTFARM:?}
src=${SF_SOURCE_DIR:?}
mpiexec=${MPIEXEC:-mpirun}
campaign=$src/tests/render/campaign.yaml
tokenizer=$src/examples/models/tokenizer.json
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-render.XXXXXX")
trap 'rm -rf "$work"' EXIT
# SF_KEEP_WORK=1 keeps the work directory (run dirs, logs) for a post-mortem
[ -n "${SF_KEEP_WORK:-}" ] && { trap - EXIT; echo "work directory: $work (kept)"; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not installed: skipped"; exit 77; }
"$sf" mkmodel --config tiny --dtype fp32 --vae-dim 8 -o "$work/model" 2>"$work/mkmodel.log" \
    || { cat "$work/mkmodel.log"; exit 1; }
fail=0
die() { echo "FAIL: $*"; fail=1; }
# render NAME NP [args...]: renders the test campaign into $work/NAME, logs in $work/NAME.log
render() {
    local name=$1 np=$2
    shift 2
    "$mpiexec" -np "$np" "$sf" render "$campaign" -o "$work/$name" --model "$work/model" \
        --tokenizer "$tokenizer" "$@" >"$work/$name.out" 2>"$work/$name.log"
}
# frames NAME: one line per shot file, its name and the md5 of its framemd5 listing; then one
# per current deliverable (RUNDIR/out/deliverables.json), its name without the version and the
# md5 of the framemd5 of its picture and sound (sound files and subtitles: of the whole file)
frames() {
    for f in "$work/$1"/shots/*.mkv; do
        echo "$(basename "$f") $(ffmpeg -loglevel error -i "$f" -f framemd5 - | md5sum | cut -c1-32)"
    done
    [ -f "$work/$1/out/deliverables.json" ] || return 0
    python3 -c 'import json, sys
files = json.load(open(sys.argv[1]))["files"]
for f in sorted(files, key=lambda f: f["name"] + f.get("codec", f.get("role", ""))):
    if f["current"]:
        print(f["name"] + "." + f.get("codec", f.get("role", "")), f["type"].replace(" ", "_"),
              f["path"])' \
        "$work/$1/out/deliverables.json" |
        while read -r name type path; do
            case $type in
            mix|stem|subtitles) echo "$name $(md5sum <"$path" | cut -c1-32)" ;;
            *) echo "$name $(ffmpeg -nostdin -loglevel error -i "$path" -f framemd5 - | md5sum | cut -c1-32)" ;;
            esac
        done
}
# The model and tiers of a campaign rendered in one step by the tiny model (YAML lines).
tiny_model_yaml='model: {config: tiny, dtype: fp32, tp: 1}
tiers:
  draft: {steps: 1, resolution: 64x64, sampler: euler, schedule: wan, shift: 3.0, guidance: 1.0}'
