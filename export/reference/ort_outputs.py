#!/usr/bin/env python3
"""Reference outputs of every committed ONNX model under onnxruntime.

For each models/*.toml manifest, builds two deterministic input tensors from real photos
(a face crop and a whole sample photo, plainly resized with Pillow and normalised with the
manifest's mean/std), runs the ONNX file with onnxruntime (CPU, one thread), and writes:

  tests/fixtures/ort/<stem>.<k>.input.f32     input tensor, little-endian float32
  tests/fixtures/ort/<stem>.<k>.<output>.f32  each output, little-endian float32
  tests/fixtures/ort/index.json               shapes, output names, versions

The Rust test tests/ort_parity.rs runs the same files under tract and compares (<= 1e-4).
The inputs only need to be realistic, not to follow the model's own resize rule.
"""
import hashlib
import json
import pathlib
import sys
import tomllib

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "ort"
SOURCES = [ROOT / "tests" / "fixtures" / "faces" / "s3_f1.png", ROOT / "samples" / "sample4.jpg"]


def make_input(man, src):
    w, h = man["input_width"], man["input_height"]
    img = Image.open(src).convert("RGB").resize((w, h), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)
    if man["color"] == "bgr":
        x = x[..., ::-1]
    elif man["color"] == "gray":
        x = (x @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    x = (x - np.array(man["mean"], dtype=np.float32)) / np.array(man["std"], dtype=np.float32)
    x = x[None].astype(np.float32)
    if man["layout"] == "nchw":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    index = {"onnxruntime": ort.__version__, "numpy": np.__version__, "models": {}}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    for manifest in sorted((ROOT / "models").glob("*.toml")):
        man = tomllib.loads(manifest.read_text())
        onnx_path = manifest.parent / man["file"]
        sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        stem = manifest.stem
        cases = []
        for k, src in enumerate(SOURCES):
            x = make_input(man, src)
            outs = sess.run(None, {sess.get_inputs()[0].name: x})
            x.astype("<f4").tofile(OUT / f"{stem}.{k}.input.f32")
            case = {"source": str(src.relative_to(ROOT)), "input_shape": list(x.shape), "outputs": []}
            for meta, y in zip(sess.get_outputs(), outs):
                y = np.asarray(y, dtype=np.float32)
                y.astype("<f4").tofile(OUT / f"{stem}.{k}.{meta.name}.f32")
                case["outputs"].append({"name": meta.name, "shape": list(y.shape)})
            cases.append(case)
        index["models"][stem] = {
            "manifest": str(manifest.relative_to(ROOT)),
            "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "cases": cases,
        }
        print(f"{stem}: {len(cases)} cases", file=sys.stderr)
    (OUT / "index.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
