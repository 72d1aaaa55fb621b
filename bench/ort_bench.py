#!/usr/bin/env python3
"""onnxruntime side of `bench/compare_ort.sh`: mean latency of each committed ONNX model.

Runs the same files cliper embeds (models/*.toml manifests) on inputs of the manifests'
shapes. Inference time does not depend on pixel values, so the input is a fixed-seed
normal tensor. Prints one JSON object: {model stem: {"threads": {"1": ms, "0": ms}}}
(0 = onnxruntime's default thread count).
"""
import argparse
import json
import pathlib
import time
import tomllib

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[1]


def bench(path, shape, threads, iterations):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(5):
        sess.run(None, feed)
    t = time.perf_counter()
    for _ in range(iterations):
        sess.run(None, feed)
    return (time.perf_counter() - t) * 1e3 / iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    out = {"onnxruntime": ort.__version__, "models": {}}
    for manifest in sorted((ROOT / "models").glob("*.toml")):
        m = tomllib.loads(manifest.read_text())
        c = 1 if m["color"] == "gray" else 3
        h, w = m["input_height"], m["input_width"]
        shape = (1, c, h, w) if m["layout"] == "nchw" else (1, h, w, c)
        out["models"][manifest.stem] = {
            "threads": {str(t): bench(manifest.parent / m["file"], shape, t, args.iterations) for t in (1, 0)}
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
