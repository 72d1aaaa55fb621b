#!/usr/bin/env python3
"""Convert MediaPipe's BlazeFace face detectors (npm @mediapipe/face_detection) to ONNX.

    python export/blazeface.py [--package DIR] [--out models]

DIR is an extracted npm package (the folder holding face_detection_short_range.tflite).
Without --package the script runs `npm pack @mediapipe/face_detection@0.4.1657300184`
into export/.cache/npm/ and extracts it there.

A small, self-contained tflite -> ONNX converter (the `tflite` package parses the
flatbuffer, `onnx` writes the graph). Only the ops these two models use are handled:
DEQUANTIZE (fp16 weights, folded into float32 initializers), CONV_2D, DEPTHWISE_CONV_2D,
ADD, RELU, MAX_POOL_2D, PAD, RESIZE_BILINEAR, RESHAPE, CONCATENATION.

The ONNX graph is NCHW throughout: input `input` [1,3,H,W] (RGB, already normalised to
[-1,1]); TF 'SAME' padding becomes explicit (possibly asymmetric) ONNX pads; each final
RESHAPE of an NHWC head becomes Transpose(0,2,3,1)+Reshape so the anchor order is exactly
MediaPipe's. Outputs `regressors` [1,N,16] and `classificators` [1,N,1]. Opset 13,
float32 only, static shapes. The output is byte-for-byte deterministic.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tarfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import tflite

NPM_SPEC = "@mediapipe/face_detection@0.4.1657300184"
NPM_TGZ = "mediapipe-face_detection-0.4.1657300184.tgz"
OPSET = 13
IR_VERSION = 8
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

VARIANTS = {
    # name: (tflite file, manifest name, detector options as MediaPipe's graph has them)
    "short_range": dict(
        tflite="face_detection_short_range.tflite",
        name="blazeface-short-range",
        strides=[8, 16, 16, 16],
        interpolated_scale_aspect_ratio=1.0,
        graph_min_score_thresh=0.5,
    ),
    "full_range": dict(
        tflite="face_detection_full_range.tflite",
        name="blazeface-full-range",
        strides=[4],
        interpolated_scale_aspect_ratio=0.0,
        graph_min_score_thresh=0.6,
    ),
}

OPNAMES = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
TFL_FLOAT32, TFL_FLOAT16, TFL_INT32 = 0, 1, 2
PAD_SAME, PAD_VALID = 0, 1
ACT_NONE, ACT_RELU = 0, 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_package():
    cache = os.path.join(HERE, ".cache", "npm")
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, NPM_TGZ)
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", NPM_SPEC, "--pack-destination", cache], check=True)
    dest = os.path.join(cache, "extracted")
    if not os.path.isdir(os.path.join(dest, "package")):
        with tarfile.open(tgz) as t:
            t.extractall(dest, filter="data")
    return os.path.join(dest, "package")


def same_pads(in_size, out_size, k, s):
    """TF 'SAME': total = max((out-1)*s + k - in, 0), the odd pixel goes after."""
    total = max((out_size - 1) * s + k - in_size, 0)
    return total // 2, total - total // 2


class Converter:
    def __init__(self, buf):
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() != 1:
            raise ValueError("expected one subgraph")
        self.g = self.model.Subgraphs(0)
        self.nodes = []
        self.inits = {}  # name -> np.ndarray, emitted sorted by first use
        self.init_order = []
        self.consts = {}  # tflite tensor index -> np.ndarray (float32/int32, tflite layout)
        self.names = {}  # tflite tensor index -> onnx name

    # --- tensors -------------------------------------------------------------------------
    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        return [int(d) for d in self.tensor(i).ShapeAsNumpy()]

    def raw_const(self, i):
        t = self.tensor(i)
        b = self.model.Buffers(t.Buffer())
        if b is None or b.DataLength() == 0:
            return None
        data = b.DataAsNumpy().tobytes()
        dt = {TFL_FLOAT32: "<f4", TFL_FLOAT16: "<f2", TFL_INT32: "<i4"}[t.Type()]
        return np.frombuffer(data, dtype=dt).reshape(self.shape(i))

    def const(self, i):
        if i in self.consts:
            return self.consts[i]
        c = self.raw_const(i)
        if c is None:
            raise ValueError(f"tensor {self.tensor(i).Name()} is not constant")
        return c

    def name(self, i):
        if i not in self.names:
            self.names[i] = self.tensor(i).Name().decode()
        return self.names[i]

    def init(self, name, arr):
        if name in self.inits:
            raise ValueError(f"duplicate initializer {name}")
        self.inits[name] = arr
        self.init_order.append(name)
        return name

    def node(self, op, inputs, outputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))

    def act(self, fused, out_name, op_name):
        """Fused activation: returns the name the op itself must write to."""
        if fused == ACT_NONE:
            return out_name
        if fused == ACT_RELU:
            pre = out_name + "__pre_relu"
            self._pending_relu = (pre, out_name, op_name + "/relu")
            return pre
        raise NotImplementedError(f"fused activation {fused}")

    def flush_act(self):
        if getattr(self, "_pending_relu", None):
            pre, out, n = self._pending_relu
            self.node("Relu", [pre], [out], n)
            self._pending_relu = None

    # --- ops -----------------------------------------------------------------------------
    def convert(self, output_names):
        g = self.g
        (inp,) = g.InputsAsNumpy()
        n, h, w, c = self.shape(inp)
        self.names[inp] = "input"
        graph_inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [n, c, h, w])]
        outs = list(g.OutputsAsNumpy())
        for i, o in enumerate(outs):
            self.names[int(o)] = output_names[i]

        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            oc = self.model.OperatorCodes(op.OpcodeIndex())
            opname = OPNAMES[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
            ins = [int(x) for x in op.InputsAsNumpy()]
            (out,) = [int(x) for x in op.OutputsAsNumpy()]
            getattr(self, "op_" + opname.lower())(op, ins, out)
            self.flush_act()

        graph_outputs = [
            helper.make_tensor_value_info(self.names[int(o)], TensorProto.FLOAT, self.shape(int(o)))
            for o in outs
        ]
        inits = [numpy_helper.from_array(self.inits[nm], nm) for nm in self.init_order]
        graph = helper.make_graph(self.nodes, "blazeface", graph_inputs, graph_outputs, inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="cliper export/blazeface.py",
            producer_version="1",
        )
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model

    def op_dequantize(self, op, ins, out):
        src = self.raw_const(ins[0])
        if src is None:
            raise NotImplementedError("DEQUANTIZE of a non-constant tensor")
        if self.tensor(ins[0]).Type() != TFL_FLOAT16:
            raise NotImplementedError("only fp16 DEQUANTIZE is supported")
        self.consts[out] = src.astype(np.float32)

    def _bias(self, ins, cout, base):
        if len(ins) > 2 and ins[2] >= 0:
            b = self.const(ins[2]).astype(np.float32)
        else:
            b = np.zeros([cout], np.float32)
        return self.init(base + "/bias", np.ascontiguousarray(b))

    def _spatial_pads(self, padding, ih, iw, oh, ow, kh, kw, sh, sw):
        if padding == PAD_VALID:
            return [0, 0, 0, 0]
        t, b = same_pads(ih, oh, kh, sh)
        l, r = same_pads(iw, ow, kw, sw)
        return [t, l, b, r]

    def op_conv_2d(self, op, ins, out):
        o = tflite.Conv2DOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        wgt = self.const(ins[1]).astype(np.float32)  # [O, KH, KW, I]
        cout, kh, kw, _ = wgt.shape
        _, ih, iw, _ = self.shape(ins[0])
        _, oh, ow, _ = self.shape(out)
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            raise NotImplementedError("dilation")
        base = self.name(out)
        wn = self.init(base + "/weight", np.ascontiguousarray(wgt.transpose(0, 3, 1, 2)))
        bn = self._bias(ins, cout, base)
        pads = self._spatial_pads(o.Padding(), ih, iw, oh, ow, kh, kw, o.StrideH(), o.StrideW())
        target = self.act(o.FusedActivationFunction(), self.name(out), base)
        self.node("Conv", [self.name(ins[0]), wn, bn], [target], base,
                  kernel_shape=[kh, kw], strides=[o.StrideH(), o.StrideW()], pads=pads,
                  dilations=[1, 1], group=1)

    def op_depthwise_conv_2d(self, op, ins, out):
        o = tflite.DepthwiseConv2DOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        wgt = self.const(ins[1]).astype(np.float32)  # [1, KH, KW, C*M]
        _, kh, kw, cout = wgt.shape
        _, ih, iw, cin = self.shape(ins[0])
        _, oh, ow, _ = self.shape(out)
        if cout != cin * o.DepthMultiplier():
            raise ValueError("depth multiplier mismatch")
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            raise NotImplementedError("dilation")
        base = self.name(out)
        wn = self.init(base + "/weight",
                       np.ascontiguousarray(wgt.reshape(kh, kw, cout).transpose(2, 0, 1)[:, None]))
        bn = self._bias(ins, cout, base)
        pads = self._spatial_pads(o.Padding(), ih, iw, oh, ow, kh, kw, o.StrideH(), o.StrideW())
        target = self.act(o.FusedActivationFunction(), self.name(out), base)
        self.node("Conv", [self.name(ins[0]), wn, bn], [target], base,
                  kernel_shape=[kh, kw], strides=[o.StrideH(), o.StrideW()], pads=pads,
                  dilations=[1, 1], group=cin)

    def op_add(self, op, ins, out):
        o = tflite.AddOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        if self.shape(ins[0]) != self.shape(ins[1]):
            raise NotImplementedError("broadcasting ADD")
        base = self.name(out)
        target = self.act(o.FusedActivationFunction(), base, base)
        self.node("Add", [self.name(ins[0]), self.name(ins[1])], [target], base)

    def op_relu(self, op, ins, out):
        self.node("Relu", [self.name(ins[0])], [self.name(out)], self.name(out))

    def op_max_pool_2d(self, op, ins, out):
        o = tflite.Pool2DOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        _, ih, iw, _ = self.shape(ins[0])
        _, oh, ow, _ = self.shape(out)
        kh, kw, sh, sw = o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW()
        pads = self._spatial_pads(o.Padding(), ih, iw, oh, ow, kh, kw, sh, sw)
        if any(pads):
            # TF excludes padding from the max, as ONNX MaxPool does; still, keep it simple
            raise NotImplementedError("padded MAX_POOL_2D")
        base = self.name(out)
        target = self.act(o.FusedActivationFunction(), base, base)
        self.node("MaxPool", [self.name(ins[0])], [target], base,
                  kernel_shape=[kh, kw], strides=[sh, sw], pads=pads)

    def op_pad(self, op, ins, out):
        p = self.const(ins[1]).astype(np.int64)  # NHWC [[b, e] x 4]
        if len(self.shape(ins[0])) != 4:
            raise NotImplementedError("PAD of a non-4D tensor")
        nchw = p[[0, 3, 1, 2]]
        base = self.name(out)
        pn = self.init(base + "/pads", np.ascontiguousarray(np.concatenate([nchw[:, 0], nchw[:, 1]])))
        self.node("Pad", [self.name(ins[0]), pn], [base], base, mode="constant")

    def op_resize_bilinear(self, op, ins, out):
        o = tflite.ResizeBilinearOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        n, oh, ow, c = self.shape(out)
        if o.AlignCorners():
            ctm = "align_corners"
        elif o.HalfPixelCenters():
            ctm = "half_pixel"
        else:
            ctm = "asymmetric"
        base = self.name(out)
        sn = self.init(base + "/sizes", np.array([n, c, oh, ow], np.int64))
        self.node("Resize", [self.name(ins[0]), "", "", sn], [base], base,
                  mode="linear", coordinate_transformation_mode=ctm)

    def op_reshape(self, op, ins, out):
        ishape = self.shape(ins[0])
        oshape = self.shape(out)
        base = self.name(out)
        src = self.name(ins[0])
        if len(ishape) == 4:  # NHWC order must be kept: bring the NCHW activation back first
            t = base + "/nhwc"
            self.node("Transpose", [src], [t], t, perm=[0, 2, 3, 1])
            src = t
        sn = self.init(base + "/shape", np.array(oshape, np.int64))
        self.node("Reshape", [src, sn], [base], base)

    def op_concatenation(self, op, ins, out):
        o = tflite.ConcatenationOptions()
        bo = op.BuiltinOptions()
        o.Init(bo.Bytes, bo.Pos)
        rank = len(self.shape(out))
        axis = o.Axis() % rank
        if rank == 4:
            axis = [0, 2, 3, 1][axis]
        base = self.name(out)
        target = self.act(o.FusedActivationFunction(), base, base)
        self.node("Concat", [self.name(i) for i in ins], [target], base, axis=axis)


def convert_file(tflite_path, onnx_path):
    with open(tflite_path, "rb") as f:
        buf = f.read()
    conv = Converter(buf)
    g = conv.g
    # outputs in the tflite's order; identify which is which by last dim (16 vs 1)
    names = []
    for o in g.OutputsAsNumpy():
        names.append("regressors" if conv.shape(int(o))[-1] == 16 else "classificators")
    model = conv.convert(names)
    data = model.SerializeToString(deterministic=True)
    with open(onnx_path, "wb") as f:
        f.write(data)
    return conv


def toml_list(xs):
    return "[" + ", ".join(repr(x) for x in xs) + "]"


def write_manifest(key, v, conv, onnx_path, tflite_path, pkg_rel):
    g = conv.g
    (inp,) = g.InputsAsNumpy()
    _, h, w, _ = conv.shape(int(inp))
    src_sha = sha256_file(tflite_path)
    onnx_sha = sha256_file(onnx_path)
    notes = (
        f"MediaPipe BlazeFace {key.replace('_', ' ')} face detector, converted from the fp16 tflite by "
        f"export/blazeface.py (fp16 weights widened to float32, TF SAME padding made explicit, NCHW). "
        f"Outputs regressors [1,N,16] (box centre dx,dy from the anchor centre, w, h, then 6 keypoint dx,dy; "
        f"all in input pixels) and classificators [1,N,1] (logits). MediaPipe graph: SsdAnchorsCalculator min_scale 0.1484375, "
        f"max_scale 0.75, aspect_ratios [1.0], fixed_anchor_size true; TensorsToDetections x/y/w/h_scale {w}, "
        f"reverse_output_order true; NMS WEIGHTED IoU 0.3. score_threshold 0.5 is the Python solution's "
        f"min_detection_confidence default; the graph's own default is {v['graph_min_score_thresh']}."
    )
    text = f"""name = "{v['name']}"
role = "detector"
file = "{os.path.basename(onnx_path)}"
sha256 = "{onnx_sha}"
input_width = {w}
input_height = {h}
layout = "nchw"
color = "rgb"
resize = "letterbox_bilinear"
mean = [127.5, 127.5, 127.5]
std = [127.5, 127.5, 127.5]
licence = "Apache-2.0"

[detector]
strides = {toml_list(v['strides'])}
interpolated_scale_aspect_ratio = {v['interpolated_scale_aspect_ratio']!r}
anchor_offset = 0.5
score_clip = 100.0
score_threshold = 0.5
nms_iou = 0.3
num_keypoints = 6

[provenance]
package = "npm:{NPM_SPEC}"
paths = ["{pkg_rel}"]
source_sha256 = ["{src_sha}"]
script = "export/blazeface.py"
notes = "{notes}"
"""
    mpath = os.path.splitext(onnx_path)[0] + ".toml"
    with open(mpath, "w", newline="\n") as f:
        f.write(text)
    return mpath, onnx_sha, src_sha


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", help="extracted npm package folder (default: npm pack into export/.cache)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models"))
    ap.add_argument("--only", choices=sorted(VARIANTS), action="append")
    args = ap.parse_args()
    pkg = args.package or fetch_package()
    os.makedirs(args.out, exist_ok=True)
    for key in args.only or ["short_range", "full_range"]:
        v = VARIANTS[key]
        src = os.path.join(pkg, v["tflite"])
        dst = os.path.join(args.out, f"blazeface_{key}.onnx")
        conv = convert_file(src, dst)
        mpath, onnx_sha, src_sha = write_manifest(key, v, conv, dst, src, v["tflite"])
        print(f"{dst}\n  sha256 {onnx_sha}\n  source {v['tflite']} sha256 {src_sha}\n  manifest {mpath}")


if __name__ == "__main__":
    sys.exit(main())
