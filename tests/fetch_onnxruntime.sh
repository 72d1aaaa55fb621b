#!/usr/bin/env bash
# Fetch libonnxruntime.so from PyPI's onnxruntime wheel (CPU build) for the ort backend tests
# and benchmarks; prints the library's path.
#   lib=$(bash tests/fetch_onnxruntime.sh [DIR])        (default DIR: target/onnxruntime)
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.20.1
dir=${1:-target/onnxruntime}
lib=$dir/libonnxruntime.so.$version
if [ ! -f "$lib" ]; then
  mkdir -p "$dir/wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir/wheel" \
    --platform "manylinux_2_28_$(uname -m)" --python-version 3.11 "onnxruntime==$version" >&2
  python3 - "$dir" "$version" <<'PY'
import glob, sys, zipfile
d, v = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(f"{d}/wheel/onnxruntime-{v}-*.whl")
with zipfile.ZipFile(wheel) as z:
    with open(f"{d}/libonnxruntime.so.{v}", "wb") as out:
        out.write(z.read(f"onnxruntime/capi/libonnxruntime.so.{v}"))
PY
fi
echo "$PWD/$lib"
