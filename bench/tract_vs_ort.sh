#!/usr/bin/env bash
# tract vs ONNX Runtime (CPU execution provider) on the default models, through the same
# `cliper bench` code path (decode → detect → align → encode + folded scores), alternating
# backends round by round so both see the same machine noise. Prints per-stage means and
# the tract/ort ratio, with ONNX Runtime on 1 thread (like tract) and on its default.
#   bash bench/tract_vs_ort.sh [ROUNDS]             (default 3)
# Uses PyPI's onnxruntime 1.20.1 CPU library (tests/fetch_onnxruntime.sh) unless
# ORT_DYLIB_PATH is set.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
lib=${ORT_DYLIB_PATH:-$(bash tests/fetch_onnxruntime.sh)}
cargo build --release --locked --features ort --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  for variant in tract ort1 ortN; do
    case $variant in
      tract) args=(--backend tract) ;;
      ort1) args=(--backend ort --ort-library "$lib" --ort-threads 1) ;;
      ortN) args=(--backend ort --ort-library "$lib") ;;
    esac
    RUST_LOG=warn target/release/cliper bench --json --iterations 4 "${args[@]}" samples >> "$out/$variant.jsonl"
  done
done
python3 - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
runs = {v: [json.loads(l) for l in open(os.path.join(d, v + ".jsonl"))] for v in ("tract", "ort1", "ortN")}
stages = ["detect_model", "detect", "encode", "encode_and_score"]
mean = lambda v, s: sum(r[s]["mean_ms"] for r in runs[v]) / len(runs[v])
print(f"{len(runs['tract'])} rounds, {runs['tract'][0]['images']} images, {runs['tract'][0]['faces_per_pass']} faces a pass; "
      f"{runs['tract'][0]['detector']} + {runs['tract'][0]['encoder']}; nproc {os.cpu_count()}")
print(f"{'stage (ms)':<22}{'tract':>10}{'ort 1 thr':>11}{'ort default':>13}{'tract/ort1':>12}{'tract/ortN':>12}")
for s in stages:
    t, o1, on = mean("tract", s), mean("ort1", s), mean("ortN", s)
    print(f"{s:<22}{t:>10.2f}{o1:>11.2f}{on:>13.2f}{t / o1:>12.2f}{t / on:>12.2f}")
PY
