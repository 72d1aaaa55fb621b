#!/usr/bin/env python3
"""Golden face detections from MediaPipe itself (the reference implementation).

    python export/reference/blazeface_golden.py [--package DIR] [--samples samples]
                                                [--out tests/fixtures/golden]

Runs MediaPipe (mediapipe==0.10.14, Python) on every samples/sample*.jpg, decoded with Pillow
to an RGB uint8 array, and writes blazeface_short_range.json / blazeface_full_range.json.

`detections` come from MediaPipe's own face-detection graph (the one the solution API loads)
with FaceDetectionOptions {min_score_thresh: 0.5, model_path: <the npm tflite>} set before the
graph is expanded, i.e. exactly the weights that export/blazeface.py converts to ONNX.
Two things make the plain solution API unsuitable as the golden:
  * its full-range graph runs the wheel's face_detection_full_range_sparse.tflite, a different
    network from the npm face_detection_full_range.tflite;
  * in mediapipe 0.10.14 its min_detection_confidence never reaches the graph (SolutionBase sets
    graph_options after subgraph expansion), so the graph defaults apply: 0.5 short, 0.6 full.
Its results are still recorded per image as `stock_api_detections`. The wheel's short-range tflite
differs in bytes from the npm one; the script records whether it gives identical detections.
Everything else (ImageToTensor letterbox, anchors, decoding, weighted NMS, letterbox removal)
is MediaPipe's unchanged graph.
"""
import argparse
import glob
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
ROOT = os.path.dirname(EXPORT)
sys.path.insert(0, EXPORT)
import blazeface  # noqa: E402

import mediapipe as mp  # noqa: E402
from mediapipe.framework import calculator_pb2  # noqa: E402
from mediapipe.modules.face_detection import face_detection_pb2  # noqa: E402
from mediapipe.python.solution_base import SolutionBase  # noqa: E402
from mediapipe.python.solutions import face_detection as mp_fd  # noqa: E402

KEYPOINTS = ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"]
MIN_CONF = 0.5


def sha256_file(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


class FaceDetectionWithModel(SolutionBase):
    """mp.solutions.face_detection.FaceDetection with FaceDetectionOptions.model_path overridden."""

    def __init__(self, model_selection, model_path, min_detection_confidence=MIN_CONF):
        graph = mp_fd._FULL_RANGE_GRAPH_FILE_PATH if model_selection == 1 else mp_fd._SHORT_RANGE_GRAPH_FILE_PATH
        config = calculator_pb2.CalculatorGraphConfig()
        with open(os.path.join(os.path.dirname(os.path.dirname(mp.__file__)), graph), "rb") as f:
            config.ParseFromString(f.read())
        # Options must be in place *before* subgraph expansion for model_path to reach the
        # InferenceCalculator (SolutionBase's graph_options= is applied after expansion).
        opts = face_detection_pb2.FaceDetectionOptions(
            min_score_thresh=min_detection_confidence, model_path=model_path)
        config.graph_options[0].Pack(opts)
        super().__init__(graph_config=config, outputs=["detections"])

    def process(self, image):
        return super().process(input_data={"image": image})


def r6(x):
    return float(round(float(x), 6))


def dets_to_json(results):
    out = []
    for d in results.detections or []:
        ld = d.location_data
        bb = ld.relative_bounding_box
        out.append({
            "score": r6(d.score[0]),
            "bbox": {"xmin": r6(bb.xmin), "ymin": r6(bb.ymin), "width": r6(bb.width), "height": r6(bb.height)},
            "keypoints": [[r6(k.x), r6(k.y)] for k in ld.relative_keypoints],
        })
    return out


def run(detector, images):
    res = {}
    for p in images:
        rgb = np.ascontiguousarray(np.asarray(Image.open(p).convert("RGB"), dtype=np.uint8))
        res[os.path.basename(p)] = dets_to_json(detector.process(rgb))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package")
    ap.add_argument("--samples", default=os.path.join(ROOT, "samples"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "golden"))
    args = ap.parse_args()
    pkg = os.path.abspath(args.package or blazeface.fetch_package())
    images = sorted(glob.glob(os.path.join(args.samples, "sample*.jpg")))
    mp_root = os.path.dirname(mp.__file__)
    wheel = {
        "short_range": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "full_range": "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    }
    os.makedirs(args.out, exist_ok=True)
    for key, sel in [("short_range", 0), ("full_range", 1)]:
        npm_path = os.path.join(pkg, blazeface.VARIANTS[key]["tflite"])
        wheel_path = os.path.join(os.path.dirname(mp_root), wheel[key])
        with FaceDetectionWithModel(sel, npm_path) as fd:
            npm = run(fd, images)
        with FaceDetectionWithModel(sel, wheel_path) as fd:
            wheel_graph = run(fd, images)
        with mp_fd.FaceDetection(model_selection=sel, min_detection_confidence=MIN_CONF) as fd:
            stock = run(fd, images)
        doc = {
            "model": f"models/blazeface_{key}.onnx",
            "generator": "export/reference/blazeface_golden.py",
            "mediapipe_version": mp.__version__,
            "graph": f"mediapipe/modules/face_detection/face_detection_{key}_cpu.binarypb (what "
                     f"mp.solutions.face_detection.FaceDetection(model_selection={sel}) runs), with "
                     f"FaceDetectionOptions{{min_score_thresh: {MIN_CONF}, model_path: <npm {blazeface.VARIANTS[key]['tflite']}>}} "
                     "set before subgraph expansion",
            "image_decoder": "Pillow " + Image.__version__ + " (RGB uint8)",
            "min_score_thresh": MIN_CONF,
            "coordinates": "relative to the original image (MediaPipe's letterbox already removed); "
                           "bbox is xmin, ymin, width, height; keypoints are [x, y]",
            "keypoint_order": KEYPOINTS,
            "tflite_used": {
                "path": "npm:" + blazeface.NPM_SPEC + "/" + blazeface.VARIANTS[key]["tflite"],
                "sha256": sha256_file(npm_path),
            },
            "wheel_tflite": {
                "path": wheel[key],
                "sha256": sha256_file(wheel_path),
                "byte_identical_to_npm": sha256_file(wheel_path) == sha256_file(npm_path),
                "same_detections_as_npm": wheel_graph == npm,
            },
            "stock_api": f"mp.solutions.face_detection.FaceDetection(model_selection={sel}, "
                         f"min_detection_confidence={MIN_CONF}); in mediapipe 0.10.14 min_detection_confidence "
                         "does not reach the graph, so the graph default threshold applies "
                         f"({blazeface.VARIANTS[key]['graph_min_score_thresh']}), and the wheel's tflite runs",
        }
        if key == "full_range":
            doc["note"] = ("The stock API runs the wheel's *sparse* full-range model, a different network from "
                           "the npm model converted to ONNX; `stock_api_detections` are its results, "
                           "for reference only. `detections` come from the npm model.")
        else:
            doc["note"] = ("The wheel's short-range tflite differs in bytes from the npm one but computes the same "
                           "outputs (see export/blazeface_parity.py --mediapipe-wheel).")
        doc["images"] = {}
        for p in images:
            b = os.path.basename(p)
            w, h = Image.open(p).size
            doc["images"][b] = {"width": w, "height": h, "sha256": sha256_file(p),
                                "detections": npm[b], "stock_api_detections": stock[b]}
        dst = os.path.join(args.out, f"blazeface_{key}.json")
        with open(dst, "w", newline="\n") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        counts = {b: len(e["detections"]) for b, e in doc["images"].items()}
        scounts = {b: len(e["stock_api_detections"]) for b, e in doc["images"].items()}
        print(dst, "npm model:", counts, "stock API:", scounts,
              "wheel model same as npm:", doc["wheel_tflite"]["same_detections_as_npm"])


if __name__ == "__main__":
    sys.exit(main())
