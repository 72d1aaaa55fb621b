#!/usr/bin/env bash
# CLIPER ViT-B/16 (random weights, the real graph) under tract and onnxruntime, fp32 and each int8
# variant, measured in one run so the ratios are meaningful on a noisy machine:
#   - parity: cliper (tract) fp32 class/descriptor logits vs PyTorch on every face crop in
#     tests/fixtures/faces (identical input tensors);
#   - agreement: each int8 variant vs fp32 under the same runtime (top-1, max class-logit diff);
#   - latency: median per image, single thread (tract's plan is single-threaded; onnxruntime gets
#     intra_op_num_threads = 1);
#   - peak RSS of the whole process (/usr/bin/time -v): examples/encoder_bench vs a Python process
#     running onnxruntime (its interpreter + numpy baseline is printed separately).
#
#   bash bench/cliper_vit.sh          (env: LAT_IMAGES=4 ITER=5 CLIPER_VIT_DIR=export/.cache/vitb16)
# Needs the exporter venv (export/cliper/README.md); generates the model on first use
# (export/cliper/full_parity.py, ~1.2 GB under export/.cache/, not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-export/.cache/cliper-venv/bin/python}
DIR=${CLIPER_VIT_DIR:-export/.cache/vitb16}
NAME=cliper-vitb16-random
LAT_IMAGES=${LAT_IMAGES:-4}
ITER=${ITER:-5}
VARIANTS=(fp32 int8-dynamic int8-qop-convmatmul int8-qdq-nosoftmax)
[ -f "$DIR/reference.json" ] || "$PY" export/cliper/full_parity.py --out "$DIR"
cargo build --release --quiet --example encoder_bench
BIN=target/release/examples/encoder_bench
RES="$DIR/bench"
mkdir -p "$RES"
all=("$DIR"/inputs/*.f32)
lat=("${all[@]:0:$LAT_IMAGES}")
desc="$DIR/$NAME.json"
rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
for v in "${VARIANTS[@]}"; do
  if [ "$v" = fp32 ]; then m="$DIR/$NAME.toml"; else m="$DIR/$NAME.$v.toml"; fi
  echo "== $v" >&2
  "$BIN" --encoder "$m" --descriptors "$desc" --iterations 1 --warmup 0 "${all[@]}" > "$RES/tract.$v.agree.jsonl"
  "$PY" bench/cliper_vit.py ort --encoder "$m" --descriptors "$desc" --iterations 1 --warmup 0 "${all[@]}" > "$RES/ort.$v.agree.jsonl"
  /usr/bin/time -v -o "$RES/tract.$v.time" "$BIN" --encoder "$m" --descriptors "$desc" --iterations "$ITER" --warmup 1 "${lat[@]}" > "$RES/tract.$v.lat.jsonl"
  rss "$RES/tract.$v.time" > "$RES/tract.$v.rss"
  /usr/bin/time -v -o "$RES/ort.$v.time" "$PY" bench/cliper_vit.py ort --encoder "$m" --descriptors "$desc" --iterations "$ITER" --warmup 1 "${lat[@]}" > "$RES/ort.$v.lat.jsonl"
  rss "$RES/ort.$v.time" > "$RES/ort.$v.rss"
done
/usr/bin/time -v -o "$RES/python-baseline.time" "$PY" -c "import numpy, onnxruntime"
echo "python + numpy + onnxruntime import alone: $(( $(rss "$RES/python-baseline.time") / 1024 )) MiB RSS"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ${#all[@]} faces for parity/agreement, $LAT_IMAGES x $ITER runs for latency"
"$PY" bench/cliper_vit.py report --dir "$RES" --reference "$DIR/reference.json" --variants "$(IFS=,; echo "${VARIANTS[*]}")"
