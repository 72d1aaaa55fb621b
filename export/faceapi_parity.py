#!/usr/bin/env python3
"""Parity of the exported face-api expression encoder against the original face-api.js (Node golden).

Checks, against tests/fixtures/golden/faceapi_expression.json (export/reference/faceapi_golden.mjs):
  A. identical inputs: face-api's own preprocessed tensors (faceapi_input_*.f32, NHWC) -> our ONNX
     (onnxruntime) -> embedding vs the golden embedding of that crop;
  B. our Python reimplementation of face-api's preprocessing vs those dumped tensors (should be exact);
  C. every crop: PNG -> Python preprocessing -> ONNX -> embedding, then fc + softmax taken from
     descriptors/faceapi_expression.json -> probabilities; max abs diffs and top-1 agreement;
  D. the descriptor set alone: golden embedding -> fc + softmax vs golden probabilities.
Exit status 1 if the identical-input embedding diff exceeds --tol (default 1e-4) or top-1 disagrees.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
FACES = ROOT / "tests" / "fixtures" / "faces"
MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)  # tf.fill(..., 'float32')
SIZE = 112


def pad_to_square(img: np.ndarray) -> np.ndarray:
    """face-api ops/padToSquare(img, isCenterImage=true): zeros, round(diff/2) appended after, rest before."""
    h, w, _ = img.shape
    if h == w:
        return img
    diff = abs(h - w)
    after = math.floor(diff * 0.5 + 0.5)  # JS Math.round
    before = diff - after
    if h > w:  # pad columns (axis 2 of NHWC)
        return np.pad(img, ((0, 0), (before, after), (0, 0)))
    return np.pad(img, ((before, after), (0, 0), (0, 0)))


def resize_bilinear_tf(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """tfjs-backend-cpu ResizeBilinear, alignCorners=false, halfPixelCenters=false (JS doubles, f32 out)."""
    in_h, in_w, _ = img.shape
    x = img.astype(np.float64)

    def axis(n_in, n_out):
        src = (n_in / n_out) * np.arange(n_out, dtype=np.float64)
        lo = np.maximum(0, np.floor(src)).astype(np.int64)
        frac = src - lo
        hi = np.minimum(n_in - 1, np.ceil(src)).astype(np.int64)
        return lo, hi, frac

    r0, r1, rf = axis(in_h, out_h)
    c0, c1, cf = axis(in_w, out_w)
    cf = cf[None, :, None]
    rf = rf[:, None, None]
    tl, tr = x[r0][:, c0], x[r0][:, c1]
    bl, br = x[r1][:, c0], x[r1][:, c1]
    top = tl + (tr - tl) * cf
    bottom = bl + (br - bl) * cf
    return (top + (bottom - top) * rf).astype(np.float32)


def preprocess(rgb_u8: np.ndarray) -> np.ndarray:
    """-> [1,112,112,3] float32 NHWC, exactly FaceFeatureExtractor.forwardInput's tensor."""
    x = pad_to_square(rgb_u8.astype(np.float32))
    if x.shape[0] != SIZE or x.shape[1] != SIZE:
        x = resize_bilinear_tf(x, SIZE, SIZE)
    x = (x - MEAN_RGB) / np.float32(255.0)  # float32 sub then float32 div, like the cpu kernels
    return x[None].astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default=str(ROOT / "models" / "faceapi_expression.onnx"))
    ap.add_argument("--descriptors", default=str(ROOT / "descriptors" / "faceapi_expression.json"))
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    golden = json.loads((GOLDEN / "faceapi_expression.json").read_text())
    desc = json.loads(pathlib.Path(args.descriptors).read_text())
    labels = [c["label"] for c in desc["classes"]]
    W = np.array([[d["embedding"] for d in c["descriptors"]] for c in desc["classes"]], dtype=np.float32)  # [7,1,256]
    B = np.array([[d.get("bias", 0.0) for d in c["descriptors"]] for c in desc["classes"]], dtype=np.float32)

    def probs_from(emb: np.ndarray) -> np.ndarray:
        logits = (np.einsum("cdk,k->cd", W.astype(np.float64), emb.astype(np.float64)) + B).mean(axis=1)
        e = np.exp(logits - logits.max())
        return e / e.sum()

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])

    def run(nhwc: np.ndarray) -> np.ndarray:
        return sess.run(["embedding"], {"input": np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))})[0][0]

    by_file = {f["file"]: f for f in golden["faces"]}
    print(f"reference: {golden['reference']}; {len(by_file)} crops")
    ok = True

    # A + B
    worst_a = worst_b = 0.0
    for p in golden["preprocessed"]:
        ref_in = np.fromfile(GOLDEN / p["input"], dtype="<f4").reshape(1, SIZE, SIZE, 3)
        emb = run(ref_in)
        da = float(np.abs(emb - np.array(by_file[p["file"]]["embedding"], dtype=np.float32)).max())
        ours = preprocess(np.asarray(Image.open(FACES / p["file"]).convert("RGB")))
        db = float(np.abs(ours - ref_in).max())
        nb = int((ours != ref_in).sum())
        print(f"A {p['file']}: face-api input -> ONNX embedding max|diff| {da:.3e}")
        print(f"B {p['file']}: python preprocessing vs face-api input max|diff| {db:.3e} ({nb} of {ref_in.size} values differ)")
        worst_a, worst_b = max(worst_a, da), max(worst_b, db)

    # C + D
    worst_e = worst_p = worst_d = 0.0
    agree = agree_d = 0
    for name, g in by_file.items():
        gp = np.array([g["probs"][l] for l in labels])
        ge = np.array(g["embedding"], dtype=np.float32)
        emb = run(preprocess(np.asarray(Image.open(FACES / name).convert("RGB"))))
        pr = probs_from(emb)
        de, dp = float(np.abs(emb - ge).max()), float(np.abs(pr - gp).max())
        dd = float(np.abs(probs_from(ge) - gp).max())
        worst_e, worst_p, worst_d = max(worst_e, de), max(worst_p, dp), max(worst_d, dd)
        agree += int(pr.argmax() == gp.argmax())
        agree_d += int(probs_from(ge).argmax() == gp.argmax())
        print(f"C {name:12s} {g['width']}x{g['height']}: emb {de:.2e} probs {dp:.2e} top1 {labels[pr.argmax()]:9s}"
              f" (face-api {labels[gp.argmax()]}, p={gp.max():.4f})")
    n = len(by_file)
    print("summary:")
    print(f"  A identical input tensors, embedding max|diff|: {worst_a:.3e} (tol {args.tol:g})")
    print(f"  B python preprocessing vs face-api, max|diff|:  {worst_b:.3e}")
    print(f"  C full pipeline, embedding max|diff|:         {worst_e:.3e}")
    print(f"  C full pipeline, probability max|diff|:       {worst_p:.3e}; top-1 agreement {agree}/{n}")
    print(f"  D descriptor fc+softmax on golden embeddings, probability max|diff|: {worst_d:.3e}; top-1 {agree_d}/{n}")
    ok = worst_a <= args.tol and worst_e <= args.tol and agree == n and agree_d == n and worst_d <= 1e-5
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
