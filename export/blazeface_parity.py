#!/usr/bin/env python3
"""Parity check: converted BlazeFace ONNX (onnxruntime) vs the original tflite (LiteRT).

    python export/blazeface_parity.py [--package DIR] [--models models] [--samples samples]
                                      [--mediapipe-wheel]

Every samples/*.jpg is letterboxed (aspect kept, centred, black bars, bilinear) to the model's
input square, normalised to [-1,1] and run through both; the max abs diff of the raw
`regressors` / `classificators` is printed per image and overall. Exits 1 when a diff exceeds
--tol (default 1e-3 on regressors, which are in input pixels, and on classificator logits).

--mediapipe-wheel additionally runs the tflite files that the installed `mediapipe` wheel ships
(its short-range model and its *sparse* full-range model) on the same inputs, to show how far the
reference implementation's own models are from the npm ones (informational, never fails).
"""
import argparse
import glob
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import blazeface  # noqa: E402

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # pragma: no cover
    from tflite_runtime.interpreter import Interpreter


def letterbox(path, size):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(size / w, size / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    im = im.resize((nw, nh), Image.BILINEAR)
    canvas = Image.new("RGB", (size, size), (0, 0, 0))
    canvas.paste(im, ((size - nw) // 2, (size - nh) // 2))
    x = np.asarray(canvas, dtype=np.float32)
    # pad is pixel 0 before normalisation -> -1 afterwards, as MediaPipe's BORDER_ZERO on [-1,1]
    # output is 0 *after* normalisation; the parity check does not care, both models get this input
    return (x - 127.5) / 127.5  # HWC


def run_tflite(path, x_hwc):
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x_hwc[None].astype(np.float32))
    it.invoke()
    outs = {}
    for d in it.get_output_details():
        v = it.get_tensor(d["index"]).copy()
        outs["regressors" if v.shape[-1] == 16 else "classificators"] = v
    return outs


# ---------------------------------------------------------------------------------------------
# Reference decode, written from MediaPipe's calculators (SsdAnchorsCalculator,
# TensorsToDetectionsCalculator, NonMaxSuppressionCalculator WEIGHTED, DetectionProjection),
# used to reproduce tests/fixtures/golden/blazeface_*.json from the ONNX outputs.

def ssd_anchors(strides, interpolated, size, offset=0.5):
    out = []
    i = 0
    while i < len(strides):
        j, per_cell = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            per_cell += 2 if interpolated > 0 else 1  # aspect ratio 1.0 (+ interpolated scale)
            j += 1
        fm = -(-size // strides[i])  # ceil
        for y in range(fm):
            for x in range(fm):
                out += [((x + offset) / fm, (y + offset) / fm)] * per_cell
        i = j
    return np.array(out, np.float64)


def decode(reg, cls, anchors, size, thresh, clip=100.0):
    """fixed_anchor_size: centre = raw/size + anchor, w/h = raw/size, keypoints like the centre."""
    reg = reg[0].astype(np.float64)
    score = 1.0 / (1.0 + np.exp(-np.clip(cls[0, :, 0].astype(np.float64), -clip, clip)))
    dets = []
    for i in np.nonzero(score >= thresh)[0]:
        r, (ax, ay) = reg[i], anchors[i]
        xc, yc, w, h = r[0] / size + ax, r[1] / size + ay, r[2] / size, r[3] / size
        kps = [(r[4 + 2 * k] / size + ax, r[5 + 2 * k] / size + ay) for k in range(6)]
        dets.append(dict(score=score[i], box=np.array([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2]),
                         kps=np.array(kps)))
    return dets


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(dets, thr=0.3):
    rem = sorted(dets, key=lambda d: -d["score"])
    out = []
    while rem:
        top = rem[0]
        cand = [d for d in rem if iou(top["box"], d["box"]) > thr]
        rem = [d for d in rem if iou(top["box"], d["box"]) <= thr]
        ws = np.array([d["score"] for d in cand])
        out.append(dict(score=top["score"],
                        box=sum(d["box"] * d["score"] for d in cand) / ws.sum(),
                        kps=sum(d["kps"] * d["score"] for d in cand) / ws.sum()))
    return out


def mp_letterbox_roi(w, h):
    """ImageToTensor keep_aspect_ratio: the full-image ROI grown to a square about its centre."""
    side = max(w, h)
    return w / 2.0, h / 2.0, float(side)


def preprocess(path, size, mode):
    """mode 'mediapipe': cv2.warpPerspective as ImageToTensorCalculator (OpenCV converter) does:
    dst pixel (x, y) samples src (cx - S/2 + x*S/size, cy - S/2 + y*S/size), INTER_LINEAR,
    BORDER_CONSTANT 0, no antialiasing; then v*2/255 - 1.
    mode 'asymmetric': the same sampling in float numpy (no OpenCV): bilinear taps at
    src = cx - S/2 + x*S/size, a tap outside the image reads 0.
    mode 'halfpixel': as 'asymmetric' but at half-pixel centres (src = cx - S/2 + (x+0.5)*S/size - 0.5),
    i.e. what "bilinear with half-pixel centres" would do without antialiasing."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    h, w = rgb.shape[:2]
    cx, cy, side = mp_letterbox_roi(w, h)
    s = side / size
    if mode == "mediapipe":
        import cv2
        src = np.float32([[cx - side / 2, cy + side / 2], [cx - side / 2, cy - side / 2],
                          [cx + side / 2, cy - side / 2], [cx + side / 2, cy + side / 2]])
        dst = np.float32([[0, size], [0, 0], [size, 0], [size, size]])
        m = cv2.getPerspectiveTransform(src, dst)
        out = cv2.warpPerspective(rgb, m, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = out.astype(np.float32)
    else:
        img = rgb.astype(np.float64)
        half = 0.5 if mode == "halfpixel" else 0.0
        coords = (np.arange(size) + half) * s - half
        sx, sy = cx - side / 2 + coords, cy - side / 2 + coords

        def axis(c, n):
            # bilinear taps; a tap outside the image reads 0 (OpenCV BORDER_CONSTANT semantics)
            i0 = np.floor(c).astype(int)
            f = c - i0
            i1 = i0 + 1
            w0 = np.where((i0 >= 0) & (i0 < n), 1 - f, 0.0)
            w1 = np.where((i1 >= 0) & (i1 < n), f, 0.0)
            return np.clip(i0, 0, n - 1), np.clip(i1, 0, n - 1), w0, w1

        y0, y1, wy0, wy1 = axis(sy, h)
        x0, x1, wx0, wx1 = axis(sx, w)
        rows = img[y0] * wy0[:, None, None] + img[y1] * wy1[:, None, None]
        x = rows[:, x0] * wx0[None, :, None] + rows[:, x1] * wx1[None, :, None]
        x = x.astype(np.float32)
    return x * (2.0 / 255.0) - 1.0, (w, h, cx, cy, side)


def unletterbox(d, geom):
    """DetectionProjectionCalculator: tensor-relative -> image-relative through the ROI."""
    w, h, cx, cy, side = geom
    px = lambda x: (cx + (x - 0.5) * side) / w  # noqa: E731
    py = lambda y: (cy + (y - 0.5) * side) / h  # noqa: E731
    b = d["box"]
    return dict(score=d["score"],
                bbox=[px(b[0]), py(b[1]), (b[2] - b[0]) * side / w, (b[3] - b[1]) * side / h],
                kps=[[px(k[0]), py(k[1])] for k in d["kps"]])


def golden_check(models_dir, golden_dir, samples_dir, thresh=0.5):
    import json
    worst_all = {}
    for key, v in blazeface.VARIANTS.items():
        gold = json.load(open(os.path.join(golden_dir, f"blazeface_{key}.json")))
        sess = ort.InferenceSession(os.path.join(models_dir, f"blazeface_{key}.onnx"),
                                    providers=["CPUExecutionProvider"])
        size = sess.get_inputs()[0].shape[2]
        anchors = ssd_anchors(v["strides"], v["interpolated_scale_aspect_ratio"], size)
        for mode in ["mediapipe", "asymmetric", "halfpixel"]:
            worst = dict(score=0.0, bbox=0.0, kps=0.0)
            counts = []
            for name, entry in gold["images"].items():
                x, geom = preprocess(os.path.join(samples_dir, name), size, mode)
                reg, cls = sess.run(["regressors", "classificators"],
                                    {"input": np.ascontiguousarray(x.transpose(2, 0, 1)[None])})
                mine = [unletterbox(d, geom) for d in weighted_nms(decode(reg, cls, anchors, size, thresh))]
                ref = entry["detections"]
                counts.append(f"{name}:{len(mine)}/{len(ref)}")
                for g in ref:
                    gb = g["bbox"]
                    gbox = [gb["xmin"], gb["ymin"], gb["xmin"] + gb["width"], gb["ymin"] + gb["height"]]
                    best = max(mine, key=lambda m: iou(gbox, [m["bbox"][0], m["bbox"][1],
                                                              m["bbox"][0] + m["bbox"][2],
                                                              m["bbox"][1] + m["bbox"][3]]), default=None)
                    if best is None:
                        continue
                    worst["score"] = max(worst["score"], abs(best["score"] - g["score"]))
                    worst["bbox"] = max(worst["bbox"], float(np.abs(np.subtract(
                        best["bbox"], [gb["xmin"], gb["ymin"], gb["width"], gb["height"]])).max()))
                    worst["kps"] = max(worst["kps"], float(np.abs(np.subtract(best["kps"], g["keypoints"])).max()))
            print(f"== golden {key}, preprocessing {mode}: found/golden {' '.join(counts)}; max|diff| "
                  f"score {worst['score']:.2g}, bbox {worst['bbox']:.2g}, keypoints {worst['kps']:.2g} (relative units)")
            worst_all[(key, mode)] = (counts, worst)
    return worst_all


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package")
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--samples", default=os.path.join(ROOT, "samples"))
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--mediapipe-wheel", action="store_true")
    ap.add_argument("--golden", nargs="?", const=os.path.join(ROOT, "tests", "fixtures", "golden"),
                    help="also reproduce MediaPipe's golden detections from the ONNX outputs")
    args = ap.parse_args()
    pkg = args.package or blazeface.fetch_package()
    images = sorted(glob.glob(os.path.join(args.samples, "*.jpg")))
    if not images:
        sys.exit("no samples")
    ok = True
    wheel_dir = None
    if args.mediapipe_wheel:
        import mediapipe
        wheel_dir = os.path.join(os.path.dirname(mediapipe.__file__), "modules", "face_detection")
    for key, v in blazeface.VARIANTS.items():
        tfl = os.path.join(pkg, v["tflite"])
        onx = os.path.join(args.models, f"blazeface_{key}.onnx")
        sess = ort.InferenceSession(onx, providers=["CPUExecutionProvider"])
        size = sess.get_inputs()[0].shape[2]
        worst = {"regressors": 0.0, "classificators": 0.0}
        wheel_worst = {"regressors": 0.0, "classificators": 0.0}
        print(f"== {key}: {os.path.basename(tfl)} vs {os.path.relpath(onx, ROOT)} ({size}x{size})")
        for img in images:
            x = letterbox(img, size)
            ref = run_tflite(tfl, x)
            got = dict(zip(["regressors", "classificators"],
                           sess.run(["regressors", "classificators"],
                                    {"input": np.ascontiguousarray(x.transpose(2, 0, 1)[None])})))
            line = []
            for k in worst:
                assert ref[k].shape == got[k].shape, (ref[k].shape, got[k].shape)
                d = float(np.abs(ref[k] - got[k]).max())
                worst[k] = max(worst[k], d)
                line.append(f"{k} {d:.3g}")
            nfaces = int((got["classificators"] > 0).sum())  # sigmoid > 0.5
            extra = ""
            if wheel_dir:
                wname = {"short_range": "face_detection_short_range.tflite",
                         "full_range": "face_detection_full_range_sparse.tflite"}[key]
                w = run_tflite(os.path.join(wheel_dir, wname), x)
                dd = [float(np.abs(w[k] - got[k]).max()) for k in wheel_worst]
                for k, d in zip(wheel_worst, dd):
                    wheel_worst[k] = max(wheel_worst[k], d)
                extra = f" | wheel {wname}: regressors {dd[0]:.3g} classificators {dd[1]:.3g}"
            print(f"  {os.path.basename(img)}: max|diff| {', '.join(line)}; anchors>0.5: {nfaces}{extra}")
        print(f"  worst: regressors {worst['regressors']:.3g}, classificators {worst['classificators']:.3g}")
        if wheel_dir:
            print(f"  worst vs mediapipe wheel model: regressors {wheel_worst['regressors']:.3g}, "
                  f"classificators {wheel_worst['classificators']:.3g}")
        if max(worst.values()) > args.tol:
            ok = False
    print("PARITY OK" if ok else "PARITY FAILED")
    if args.golden:
        golden_check(args.models, args.golden, args.samples)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
