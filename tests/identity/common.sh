# Shared by the identity tests: the render tests' helpers (a tiny text-to-video pipeline in
# $work/model), a tiny Wan2.1-VACE pipeline in $work/vace, and the identity test campaign with
# the demo's reference images copied next to it and a key art image ($work/camp/campaign.yaml).
. "$(dirname "${BASH_SOURCE[0]}")/../render/common.sh"
"$sf" mkmodel --config tiny-vace --dtype fp32 --vae-dim 8 -o "$work/vace" 2>"$work/mkvace.log" \
    || { cat "$work/mkvace.log"; exit 1; }
mkdir -p "$work/camp"
cp "$src/tests/identity/campaign.yaml" "$work/camp/"
cp -r "$src/examples/demo/refs" "$work/camp/refs"
# key art for beta/key's first frame: 96x64, so covering the 64x80 frame crops its sides
ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc=s=96x64" -frames:v 1 -pix_fmt rgb24 \
    "$work/camp/refs/key.png" || { echo "ffmpeg could not write the key art"; exit 1; }
campaign=$work/camp/campaign.yaml
# vrender NAME NP CAMPAIGN [args...]: renders CAMPAIGN on the VACE pipeline into $work/NAME
vrender() {
    local name=$1 np=$2 camp=$3
    shift 3
    "$mpiexec" -np "$np" "$sf" render "$camp" -o "$work/$name" --model "$work/vace" \
        --tokenizer "$tokenizer" "$@" >"$work/$name.out" 2>"$work/$name.log"
}
# shotsum NAME: "file sha256" of every shot file of $work/NAME
shotsum() {
    (cd "$work/$1/shots" && sha256sum -- *.mkv | awk '{print $2, $1}')
}
