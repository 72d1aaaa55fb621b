#!/usr/bin/env bash
# Live pipeline overhead: `cliper run` throughput on a replayed sequence of real photos
# versus the model-only cost of the same frames (`cliper bench`), measured in one run,
# plus peak RSS of the run.
#   bash bench/live_overhead.sh [repeats]      (default: the 6 sample photos x 10 = 60 frames)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-10}
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet
bin=target/release/cliper
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/frames"
n=0
for r in $(seq 1 "$repeats"); do
  for f in samples/*.jpg; do
    n=$((n + 1))
    ln -s "$PWD/$f" "$work/frames/$(printf '%04d' $n).jpg"
  done
done
cat > "$work/cliper.toml" <<TOML
camera = "bench"
[source]
type = "images"
path = "$work/frames"
fps = 15
[pipeline]
frames = "block"
stats_interval_s = 0
TOML
start=$(date +%s.%N)
/usr/bin/time -v "$bin" run --config "$work/cliper.toml" >"$work/events.jsonl" 2>"$work/time.txt"
end=$(date +%s.%N)
model=$("$bin" bench --json --iterations 3 samples)
python3 - "$start" "$end" "$n" "$model" "$work/time.txt" "$work/events.jsonl" <<'PY'
import json, re, sys
start, end, n, model, timef, eventsf = sys.argv[1:7]
wall = float(end) - float(start)
n = int(n)
m = json.loads(model)
faces = m["faces_per_pass"] / m["images"]
model_ms = (m["decode"]["mean_ms"] + m["detect"]["mean_ms"]
            + faces * (m["align"]["mean_ms"] + m["prepare"]["mean_ms"] + m["encode_and_score"]["mean_ms"]))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timef).read()).group(1))
events = sum(1 for _ in open(eventsf))
print(f"frames: {n} (1920 px photos, {faces:.1f} faces each), events: {events}")
print(f"cliper run: {wall:.2f} s wall incl. model load = {n / wall:.2f} frames/s ({wall * 1e3 / n:.1f} ms/frame)")
print(f"model-only (decode+detect+align+prepare+encode+score): {model_ms:.1f} ms/frame = {1e3 / model_ms:.2f} frames/s")
print(f"pipeline/model-only time ratio: {wall * 1e3 / n / model_ms:.3f}")
print(f"peak RSS of cliper run: {rss / 1024:.1f} MiB")
PY
