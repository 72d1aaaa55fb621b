#!/usr/bin/env bash
# cliper's tract kernels (src/infer/kernels/) on and off vs ONNX Runtime 1 thread, per model,
# through `cliper bench` (detector model alone on a prepared tensor, encoder alone per face),
# variants alternating round by round so all see the same machine noise.
#   bash bench/kernels.sh [ROUNDS] [DETECTOR...]     (default 3 rounds; full and short range)
# Uses PyPI's onnxruntime 1.20.1 CPU library (tests/fetch_onnxruntime.sh) unless
# ORT_DYLIB_PATH is set, and a release build with `--features ort` unless CLIPER_BIN names
# a cliper binary built with it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
detectors=("$@"); [ ${#detectors[@]} -gt 0 ] || detectors=(blazeface_full_range blazeface_short_range)
lib=${ORT_DYLIB_PATH:-$(bash tests/fetch_onnxruntime.sh)}
bin=${CLIPER_BIN:-target/release/cliper}
[ -n "${CLIPER_BIN:-}" ] || cargo build --release --locked --features ort --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for det in "${detectors[@]}"; do
    for variant in tract cliper ort1; do
      case $variant in
        tract) args=(--backend tract --kernels tract) ;;
        cliper) args=(--backend tract --kernels cliper) ;;
        ort1) args=(--backend ort --ort-library "$lib" --ort-threads 1) ;;
      esac
      RUST_LOG=warn "$bin" bench --json --iterations 4 --detector "$det" "${args[@]}" samples >> "$out/$det.$variant.jsonl"
    done
  done
done
python3 - "$out" "${detectors[@]}" <<'PY'
import json, os, sys
d, dets = sys.argv[1], sys.argv[2:]
load = lambda det, v: [json.loads(l) for l in open(os.path.join(d, f"{det}.{v}.jsonl"))]
mean = lambda runs, s: sum(r[s]["mean_ms"] for r in runs) / len(runs)
print(f"nproc {os.cpu_count()}; ms per call, mean over rounds; ratios to ONNX Runtime 1 thread")
print(f"{'model':<26}{'tract':>9}{'+cliper':>9}{'ort 1':>9}{'tract/ort':>11}{'cliper/ort':>12}{'speed-up':>10}")
rows = [(det, "detect_model", det) for det in dets] + [("faceapi_expression (encode)", "encode", dets[0])]
for name, stage, det in rows:
    t, c, o = (mean(load(det, v), stage) for v in ("tract", "cliper", "ort1"))
    print(f"{name:<26}{t:>9.2f}{c:>9.2f}{o:>9.2f}{t / o:>11.2f}{c / o:>12.2f}{t / c:>10.2f}")
r = load(dets[0], "cliper")
print(f"{len(r)} rounds, {r[0]['images']} images, {r[0]['faces_per_pass']} faces a pass, {r[0]['passes']} timed passes each")
PY
