#!/usr/bin/env bash
# Checks a release tarball the way a user meets it: unpack, verify SHA256SUMS, install into a
# scratch root with its own install.sh, classify the committed face crops with the installed
# binary and model files, validate the installed config.
#   bash cross/check-tarball.sh TARBALL REFERENCE.jsonl [RUNNER...]
# REFERENCE is `cliper classify --aligned --json tests/fixtures/faces` from a build of the same
# architecture; RUNNER (e.g. qemu-aarch64 -L /usr/aarch64-linux-gnu) runs a foreign binary.
set -euo pipefail
cd "$(dirname "$0")/.."
tarball=$1 reference=$2
shift 2
runner=("$@")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -C "$scratch" -xzf "$tarball"
unpacked=$(ls -d "$scratch"/cliper-*)
(cd "$unpacked" && sha256sum --quiet -c SHA256SUMS)
CLIPER_INSTALL_ROOT="$scratch/root" bash "$unpacked/install.sh"
share=$scratch/root/usr/share/cliper
installed=(${runner[@]+"${runner[@]}"} "$scratch/root/usr/local/bin/cliper")
got=$scratch/aligned-installed.jsonl
RUST_LOG=warn "${installed[@]}" classify --aligned --json \
  --encoder "$share/models/faceapi_expression.toml" --descriptors "$share/descriptors/faceapi_expression.json" \
  tests/fixtures/faces > "$got"
python3 cross/compare_classify.py --tol 0 "$reference" "$got"
RUST_LOG=warn "${installed[@]}" validate --config <(sed \
  -e 's|^type = "v4l2"|type = "images"\npath = "samples"|' -e '/^device = /d;/^width = /d;/^height = /d;/^fps = /d;/^format = /d' \
  -e 's|^detector = .*|detector = "'"$share"'/models/blazeface_full_range.toml"|' \
  "$scratch/root/etc/cliper/cliper.toml")
echo "check-tarball: $(basename "$tarball") ok"
