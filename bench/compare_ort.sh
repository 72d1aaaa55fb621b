#!/usr/bin/env bash
# Side-by-side: cliper (tract) per-stage times and onnxruntime (Python) on the same ONNX
# files, measured in one run so the ratio is meaningful on a noisy machine.
#   bash bench/compare_ort.sh [photos...]       (default: samples/)
# Needs: python3 with onnxruntime and numpy (pip install -r export/requirements-faceapi.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
photos=("$@"); [ ${#photos[@]} -gt 0 ] || photos=(samples)
tract_json=$(target/release/cliper bench --json --iterations 5 --detector blazeface_full_range "${photos[@]}")
tract_short=$(target/release/cliper bench --json --iterations 5 --detector blazeface_short_range "${photos[@]}")
ort_json=$(python3 bench/ort_bench.py)
python3 - "$tract_json" "$tract_short" "$ort_json" <<'PY'
import json, sys
full, short, ort = (json.loads(a) for a in sys.argv[1:4])
print(f"cliper bench, {full['images']} photos, {full['faces_per_pass']} faces a pass, {full['passes']} passes")
for k in ("decode", "detect", "detect_model", "align", "prepare", "encode", "encode_and_score"):
    print(f"  {k:<18} {full[k]['mean_ms']:8.3f} ms")
print(f"\nmodel only, ms per call (tract single-threaded | onnxruntime {ort['onnxruntime']} 1 thread, default threads)")
rows = [("blazeface_full_range", full["detect_model"]["mean_ms"]),
        ("blazeface_short_range", short["detect_model"]["mean_ms"]),
        ("faceapi_expression", full["encode"]["mean_ms"])]
for stem, tract_ms in rows:
    o1 = ort["models"][stem]["threads"]["1"]; o0 = ort["models"][stem]["threads"]["0"]
    print(f"  {stem:<22} tract {tract_ms:7.3f} | ort {o1:7.3f}, {o0:7.3f}   tract/ort(1 thread) = {tract_ms / o1:5.2f}x")
print(f"\nfolded scoring overhead: {full['encode_and_score']['mean_ms'] - full['encode']['mean_ms']:+.3f} ms per face")
PY
