#!/usr/bin/env bash
# Rebuild every committed model and descriptor set from its registry package and fail if a
# single byte differs. Needs python3 (3.11), npm, and network access to PyPI and npm.
#   bash export/check_reproducible.sh [--venv-only]
# --venv-only: create the Python venv (network) and stop, so CI can do that in the background.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=export/.cache/reproduce-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy==1.26.4 onnx==1.17.0 protobuf==4.25.8 tflite==2.18.0 flatbuffers==24.3.25
fi
[ "${1:-}" = "--venv-only" ] && { echo "export venv ready: $venv"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$venv/bin/python" export/blazeface.py --out "$out" >/dev/null
for f in blazeface_full_range blazeface_short_range; do
  cmp "$out/$f.onnx" "models/$f.onnx"
  cmp "$out/$f.toml" "models/$f.toml"
  echo "reproduced models/$f.onnx and .toml byte for byte"
done
"$venv/bin/python" export/faceapi_expression.py --check
echo "reproduced models/faceapi_expression.onnx, .toml and descriptors/faceapi_expression.json byte for byte"
