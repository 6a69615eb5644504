#!/usr/bin/env bash
# setup.sh — installs the Debian packages shotfarm needs (only the missing ones) and builds
# build/shotfarm. Run as root on Debian 12 (or with sudo). Idempotent: a second run only
# rebuilds what changed.
#   SF_BUILD_DIR   build directory (default: build)
#   SF_CMAKE_ARGS  extra cmake arguments (e.g. -DSF_CUDA=OFF)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SF_BUILD_DIR:-build}

mapfile -t pkgs < <(grep -Ev '^\s*(#|$)' scripts/debian-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
# shellcheck disable=SC2086
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSF_WERROR=$werror ${SF_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
# Test tooling from PyPI (tests/requirements.txt) in a virtual environment inside the build
# directory, never the system's Python; reinstalled only when the list changes.
if ! cmp -s tests/requirements.txt "$build/pyenv/requirements.txt"; then
    python3 -m venv "$build/pyenv"
    "$build/pyenv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$build/pyenv/requirements.txt"
fi
echo "setup: built $build/shotfarm ($("$build"/shotfarm --version))"
