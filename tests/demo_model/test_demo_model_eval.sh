#!/usr/bin/env bash
# The trained demo model (examples/models/demo, docs/demo-model.md) rendered by this build of
# shotfarm at the demo's draft tier: scripts/demo_model/evaluate.py renders 4 held-out prompts in
# en and in zh (-np 2) and measures, on the decoded frames, the object's colour, its direction and
# the background; each rate must reach its threshold (below the model's measured rates, far above
# the 25% of chance), so an engine change that breaks the picture (noise, wrong colours, frozen
# motion) fails here. The weights' SHA-256 are checked first (examples/models/demo/SHA256SUMS), and
# the en shots are rendered again with the plain text-to-video DiT (the VACE tensors dropped):
# the frames must be identical, the VACE output projections being zero.
set -u
src=${SF_SOURCE_DIR:?}
py=${SF_BINARY_DIR:?}/pyenv/bin/python
[ -x "$py" ] || { echo "FAIL: $py missing: run scripts/setup.sh (it installs tests/requirements.txt)"; exit 1; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not installed: skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-demo-model.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$src/examples/models/demo" && sha256sum --quiet -c SHA256SUMS) ||
    { echo "FAIL: examples/models/demo does not match its SHA256SUMS"; exit 1; }
SF_THREADS=1 "$py" "$src/scripts/demo_model/evaluate.py" --shotfarm "${SF_SHOTFARM:?}" \
    --model "$src/examples/models/demo" --langs en,zh --per-lang 4 --np 2 --out "$work" --check-vace-zero \
    --min-colour "${SF_DEMO_MIN_COLOUR:-0.75}" --min-direction "${SF_DEMO_MIN_DIRECTION:-0.5}" \
    --min-background "${SF_DEMO_MIN_BACKGROUND:-0.75}"
