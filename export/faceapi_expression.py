#!/usr/bin/env python3
"""Export face-api.js FaceExpressionNet (npm @vladmandic/face-api@1.7.15, MIT) for cliper.

Produces, byte for byte reproducibly:
  models/faceapi_expression.onnx        encoder: input [1,3,112,112] f32 NCHW (already normalised:
                                        (pixel - meanRgb) / 255), output `embedding` [1,256]
                                        = FaceFeatureExtractor (4 x denseBlock4 + avgPool 7x7/2)
  models/faceapi_expression.toml        manifest (docs/model-contract.md)
  descriptors/faceapi_expression.json   the fc layer (256x7 + bias) as a linear descriptor set

Source: by default `npm pack @vladmandic/face-api@1.7.15` into export/.cache/ (tarball sha256 is
checked), or --tgz PATH / --package-dir DIR (an extracted `package/` directory).

Weights are tfjs uint8-quantised; they are dequantised exactly as tfjs-core io.decodeWeights does:
value = q * scale + min computed in float64 (JS numbers) and stored into a Float32Array.

Graph (src/faceFeatureExtractor/{FaceFeatureExtractor,denseBlock}.ts, common/depthwiseSeparableConv.ts):
  denseBlock4(x, isFirst):
    out1 = relu(isFirst ? conv2d(x, 3x3, stride 2, same) + b : sepConv(x, stride 2))
    out2 = sepConv(out1);  in3 = relu(out1 + out2)
    out3 = sepConv(in3);   in4 = relu(out1 + (out2 + out3))
    out4 = sepConv(in4);   return relu(out1 + (out2 + (out3 + out4)))
  sepConv = depthwise 3x3 (same) -> pointwise 1x1 -> + bias  (TF 'same': for stride 2 on an even
  input the single padding row/column goes after: pads [0,0,1,1]; stride 1: [1,1,1,1])
  dense0..dense3 -> avgPool 7x7 stride 2 valid -> [1,256,1,1] -> Flatten -> embedding
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = "@vladmandic/face-api"
VERSION = "1.7.15"
TGZ_NAME = "vladmandic-face-api-1.7.15.tgz"
TGZ_SHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
TGZ_INTEGRITY = "sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="
BIN = "model/face_expression_model.bin"
MANIFEST = "model/face_expression_model-weights_manifest.json"
LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
MEAN_RGB = [122.782, 117.001, 104.298]
OPSET = 13
IR_VERSION = 7

OUT_ONNX = ROOT / "models" / "faceapi_expression.onnx"
OUT_TOML = ROOT / "models" / "faceapi_expression.toml"
OUT_DESC = ROOT / "descriptors" / "faceapi_expression.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# source
def read_package_files(args) -> dict[str, bytes]:
    want = [BIN, MANIFEST]
    if args.package_dir:
        base = pathlib.Path(args.package_dir)
        return {p: (base / p).read_bytes() for p in want}
    if args.tgz:
        tgz = pathlib.Path(args.tgz)
    else:
        cache = ROOT / "export" / ".cache"
        cache.mkdir(parents=True, exist_ok=True)
        tgz = cache / TGZ_NAME
        if not tgz.exists():
            subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(cache)],
                           check=True, stdout=subprocess.DEVNULL)
    data = tgz.read_bytes()
    if sha256(data) != TGZ_SHA256:
        sys.exit(f"{tgz}: sha256 {sha256(data)} != pinned {TGZ_SHA256}")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for p in want:
            out[p] = tar.extractfile(f"package/{p}").read()
    return out


def dequantise(files: dict[str, bytes]) -> dict[str, np.ndarray]:
    """tfjs-core io_utils.decodeWeights for this manifest (float32 and uint8-quantised float32)."""
    manifest = json.loads(files[MANIFEST])
    buf = files[BIN]
    off = 0
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        for spec in group["weights"]:
            shape = spec["shape"]
            n = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            assert spec["dtype"] == "float32", spec
            if q is None:
                arr = np.frombuffer(buf, dtype="<f4", count=n, offset=off).astype(np.float32)
                off += 4 * n
            else:
                assert q["dtype"] == "uint8", q
                raw = np.frombuffer(buf, dtype=np.uint8, count=n, offset=off)
                off += n
                # JS: values[i] = v * scale + min (float64), stored into a Float32Array
                arr = (raw.astype(np.float64) * float(q["scale"]) + float(q["min"])).astype(np.float32)
            weights[spec["name"]] = arr.reshape(shape)
    assert off == len(buf), (off, len(buf))
    return weights


# ---------------------------------------------------------------------------------------------
# graph
class Builder:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self.n = 0

    def const(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name


def same_pads(in_size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-in_size // s)
    total = max((out - 1) * s + k - in_size, 0)
    return total // 2, total - total // 2  # TF: the extra one goes after


def conv_attrs(in_size: int, k: int, s: int, group: int = 1) -> dict:
    b, a = same_pads(in_size, k, s)
    return dict(kernel_shape=[k, k], strides=[s, s], pads=[b, b, a, a], dilations=[1, 1], group=group)


def build_model(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = Builder()
    x = "input"
    size = 112
    for d in range(4):
        p = f"dense{d}"
        outs = []
        cur_in = x
        for c in range(4):
            stride = 2 if c == 0 else 1
            cin_size = size
            q = f"{p}/conv{c}"
            if d == 0 and c == 0:
                f = w[f"{q}/filters"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
                y = g.node("Conv", [cur_in, g.const(f"{q}/filters", f), g.const(f"{q}/bias", w[f"{q}/bias"])],
                           f"{q}/conv", **conv_attrs(cin_size, 3, stride))
            else:
                dw = w[f"{q}/depthwise_filter"].transpose(2, 3, 0, 1)  # HWC1 -> C1HW
                pw = w[f"{q}/pointwise_filter"].transpose(3, 2, 0, 1)  # 11IO -> OI11
                ch = dw.shape[0]
                t = g.node("Conv", [cur_in, g.const(f"{q}/depthwise_filter", dw)], f"{q}/depthwise",
                           **conv_attrs(cin_size, 3, stride, group=ch))
                y = g.node("Conv", [t, g.const(f"{q}/pointwise_filter", pw), g.const(f"{q}/bias", w[f"{q}/bias"])],
                           f"{q}/pointwise", kernel_shape=[1, 1], strides=[1, 1], pads=[0, 0, 0, 0],
                           dilations=[1, 1], group=1)
            if c == 0:
                size = -(-size // 2)
                y = g.node("Relu", [y], f"{p}/out1")
            outs.append(y)
            if c == 3:
                break
            # relu(out1 + (out2 + (... + outN))) as in denseBlock.ts (innermost sum first)
            if c >= 1:
                acc = outs[-1]
                for k in range(len(outs) - 2, 0, -1):
                    acc = g.node("Add", [outs[k], acc], f"{p}/sum{k + 1}_{len(outs)}")
                acc = g.node("Add", [outs[0], acc], f"{p}/sum1_{len(outs)}")
                cur_in = g.node("Relu", [acc], f"{p}/in{len(outs) + 1}")
            else:
                cur_in = y
        acc = outs[-1]
        for k in range(len(outs) - 2, 0, -1):
            acc = g.node("Add", [outs[k], acc], f"{p}/sum{k + 1}_{len(outs)}")
        acc = g.node("Add", [outs[0], acc], f"{p}/sum1_{len(outs)}")
        x = g.node("Relu", [acc], f"{p}/out")
    assert size == 7
    pooled = g.node("AveragePool", [x], "avgpool", kernel_shape=[7, 7], strides=[2, 2], pads=[0, 0, 0, 0])
    g.nodes.append(helper.make_node("Flatten", [pooled], ["embedding"], name="flatten", axis=1))

    graph = helper.make_graph(
        g.nodes, "faceapi_expression_encoder",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 256])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="cliper export/faceapi_expression.py", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = (f"face-api.js FaceExpressionNet feature extractor, npm:{PACKAGE}@{VERSION} (MIT). "
                        "Input: RGB, face-api padToSquare(centre)+tf resizeBilinear(112, no align corners, "
                        "no half pixel), (pixel - [122.782,117.001,104.298]) / 255, NCHW.")
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------------------------------------
# writers
def f32(x) -> str:
    """Shortest decimal that round-trips to the same float32 (numpy's repr of a float32)."""
    s = str(np.float32(x))
    assert np.float32(s) == np.float32(x), (s, x)
    return s


def descriptor_json(w: dict[str, np.ndarray], files: dict[str, bytes]) -> str:
    W = w["fc/weights"]  # [256, 7]: logits = x @ W + b
    b = w["fc/bias"]
    assert W.shape == (256, 7) and b.shape == (7,)
    lines = ["{",
             '  "name": "faceapi-expression-7",',
             '  "encoder": "faceapi-expression",',
             '  "dim": 256,',
             '  "scoring": {"type": "linear"},',
             '  "aggregate": "mean",',
             '  "classes": [']
    for i, label in enumerate(LABELS):
        emb = ", ".join(f32(v) for v in W[:, i])
        comma = "," if i < len(LABELS) - 1 else ""
        lines.append(f'    {{"label": "{label}", "descriptors": [{{"name": "fc.{label}", "text": null, '
                     f'"bias": {f32(b[i])}, "embedding": [{emb}]}}]}}{comma}')
    lines += ["  ],",
              '  "licence": "MIT",',
              '  "provenance": {'
              f'"package": "npm:{PACKAGE}@{VERSION}", '
              f'"paths": ["{BIN}", "{MANIFEST}"], '
              f'"source_sha256": ["{sha256(files[BIN])}", "{sha256(files[MANIFEST])}"], '
              '"script": "export/faceapi_expression.py", '
              '"notes": "fc/weights column i and fc/bias[i] of FaceExpressionNet (tfjs uint8-dequantised, float32); '
              'probabilities = softmax over classes in file order"}',
              "}"]
    text = "\n".join(lines) + "\n"
    json.loads(text)
    return text


def manifest_toml(onnx_sha: str, files: dict[str, bytes]) -> str:
    return f'''name = "faceapi-expression"
role = "encoder"
file = "faceapi_expression.onnx"
sha256 = "{onnx_sha}"
input_width = 112
input_height = 112
layout = "nchw"
color = "rgb"
resize = "pad_square_tf_bilinear"
mean = [122.782, 117.001, 104.298]
std = [255.0, 255.0, 255.0]
licence = "MIT"
embedding_dim = 256

[provenance]
package = "npm:{PACKAGE}@{VERSION}"
paths = ["{BIN}", "{MANIFEST}"]
source_sha256 = ["{sha256(files[BIN])}", "{sha256(files[MANIFEST])}"]
script = "export/faceapi_expression.py"
notes = "face-api.js FaceExpressionNet feature extractor (4 x denseBlock4 + avgPool 7x7/2), weights dequantised as tfjs does (q*scale+min, float32); classifier fc 256x7 is descriptors/faceapi_expression.json. npm tarball {TGZ_NAME} sha256 {TGZ_SHA256}. Golden: tests/fixtures/golden/faceapi_expression.json (export/reference/faceapi_golden.mjs)."
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tgz", help="npm tarball of @vladmandic/face-api@1.7.15 (sha256 checked)")
    ap.add_argument("--package-dir", help="extracted package/ directory instead of the tarball")
    ap.add_argument("--check", action="store_true", help="do not write; fail if outputs differ")
    args = ap.parse_args()

    files = read_package_files(args)
    w = dequantise(files)
    model = build_model(w)
    onnx_bytes = model.SerializeToString(deterministic=True)
    outputs = {
        OUT_ONNX: onnx_bytes,
        OUT_TOML: manifest_toml(sha256(onnx_bytes), files).encode(),
        OUT_DESC: descriptor_json(w, files).encode(),
    }
    bad = 0
    for path, data in outputs.items():
        rel = path.relative_to(ROOT)
        if args.check:
            same = path.exists() and path.read_bytes() == data
            print(f"{'ok  ' if same else 'DIFF'} {rel}")
            bad += not same
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {rel} ({len(data)} bytes, sha256 {sha256(data)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
