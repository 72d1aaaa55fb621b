#!/usr/bin/env python3
"""Helper of bench/cliper_vit.sh.

  cliper_vit.py ort --encoder M.toml --descriptors D.json [--iterations N] [--warmup W] T.f32 ...
      onnxruntime (1 intra-op thread, like tract's single-threaded plan) on the manifest's ONNX:
      the same JSON lines as examples/encoder_bench.rs (logits from CLIPER's rule: 100 x cosine,
      mean per class, computed in numpy from the embedding and the descriptor set).
  cliper_vit.py report --dir DIR --reference REF.json
      reads DIR/<runtime>.<variant>.jsonl and DIR/<runtime>.<variant>.rss (KiB, /usr/bin/time -v)
      and prints parity, agreement, latency and RSS ratios; writes DIR/summary.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import time
import tomllib

import numpy as np


def cmd_ort(a):
    import onnxruntime as ort
    m = tomllib.loads(a.encoder.read_text())
    onnx_path = a.encoder.parent / m["file"]
    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    ds = json.loads(a.descriptors.read_text())
    labels = [c["label"] for c in ds["classes"]]
    names = [d["name"] for c in ds["classes"] for d in c["descriptors"]]
    t = np.array([d["embedding"] for c in ds["classes"] for d in c["descriptors"]], dtype=np.float64)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    scale = ds["scoring"]["scale"]
    shape = (1, 3, m["input_height"], m["input_width"])
    inp = sess.get_inputs()[0].name
    all_times = []
    for p in a.tensors:
        x = np.fromfile(p, dtype="<f4").reshape(shape)
        times = []
        for i in range(a.warmup + max(a.iterations, 1)):
            s = time.perf_counter()
            emb = sess.run(None, {inp: x})[0][0]
            if i >= a.warmup:
                times.append((time.perf_counter() - s) * 1e3)
        e = emb.astype(np.float64)
        desc = scale * t @ (e / np.linalg.norm(e))
        cls, k = [], 0
        for c in ds["classes"]:
            n = len(c["descriptors"])
            cls.append(desc[k:k + n].mean())
            k += n
        times.sort()
        all_times += times
        print(json.dumps({"input": str(p), "labels": labels, "class_logits": cls, "descriptor_names": names,
                          "descriptor_logits": desc.tolist(), "top1": labels[int(np.argmax(cls))],
                          "mean_ms": float(np.mean(times)), "median_ms": times[len(times) // 2]}))
    all_times.sort()
    print(json.dumps({"summary": True, "onnx": str(onnx_path), "onnxruntime": ort.__version__, "load_ms": load_ms,
                      "inputs": len(a.tensors), "runs": len(all_times), "mean_ms": float(np.mean(all_times)),
                      "median_ms": all_times[len(all_times) // 2]}))


def read_runs(path: pathlib.Path):
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.startswith("{")]
    per = {pathlib.Path(r["input"]).stem: r for r in rows if not r.get("summary")}
    summary = next(r for r in rows if r.get("summary"))
    return per, summary


def cmd_report(a):
    d = a.dir
    ref = json.loads(a.reference.read_text())
    ref_cls = {pathlib.Path(c["face"]).stem: np.array(c["class_logits"]) for c in ref["cases"]}
    variants = a.variants.split(",")
    out = {"parity": {}, "agreement": {}, "latency": {}, "rss_kib": {}}
    lines = []
    for rt in ("tract", "ort"):
        fp32, _ = read_runs(d / f"{rt}.fp32.agree.jsonl")
        faces = sorted(fp32)
        got = np.array([fp32[f]["class_logits"] for f in faces])
        want = np.array([ref_cls[f] for f in faces])
        par = {"n": len(faces), "max_abs_class_logit_diff": float(np.abs(got - want).max()),
               "top1_agree": int((got.argmax(1) == want.argmax(1)).sum())}
        if "descriptor_logits" in fp32[faces[0]]:
            rd = {pathlib.Path(c["face"]).stem: np.array(c["descriptor_logits"]) for c in ref["cases"]}
            par["max_abs_descriptor_logit_diff"] = float(max(np.abs(np.array(fp32[f]["descriptor_logits"]) - rd[f]).max() for f in faces))
        out["parity"][rt] = par
        lines.append(f"{rt:5} fp32 vs PyTorch over {par['n']} faces: max |d class logit| {par['max_abs_class_logit_diff']:.2e}, "
                     f"max |d descriptor logit| {par.get('max_abs_descriptor_logit_diff', float('nan')):.2e}, top-1 {par['top1_agree']}/{par['n']}")
        for v in variants[1:]:
            q, _ = read_runs(d / f"{rt}.{v}.agree.jsonl")
            qa = np.array([q[f]["class_logits"] for f in faces])
            ag = {"n": len(faces), "top1_agree": int((qa.argmax(1) == got.argmax(1)).sum()),
                  "max_abs_class_logit_diff": float(np.abs(qa - got).max()),
                  "top1_agree_pytorch": int((qa.argmax(1) == want.argmax(1)).sum())}
            out["agreement"].setdefault(v, {})[rt] = ag
    for v in variants[1:]:
        for rt in ("tract", "ort"):
            ag = out["agreement"][v][rt]
            lines.append(f"{v:20} {rt:5} vs its fp32: top-1 {ag['top1_agree']}/{ag['n']}, max |d class logit| {ag['max_abs_class_logit_diff']:.3f}")
        t, o = out["agreement"][v]["tract"], out["agreement"][v]["ort"]
    lines.append("")
    lines.append(f"{'variant':20} {'tract ms':>9} {'ort ms':>8} {'tract/ort':>9} {'tract RSS MiB':>14} {'ort RSS MiB':>12} {'RSS t/o':>8}")
    base = {}
    for v in variants:
        _, ts = read_runs(d / f"tract.{v}.lat.jsonl")
        _, os_ = read_runs(d / f"ort.{v}.lat.jsonl")
        tr = int((d / f"tract.{v}.rss").read_text())
        orr = int((d / f"ort.{v}.rss").read_text())
        out["latency"][v] = {"tract_ms": ts["median_ms"], "ort_ms": os_["median_ms"], "tract_load_ms": ts["load_ms"], "ort_load_ms": os_["load_ms"]}
        out["rss_kib"][v] = {"tract": tr, "ort": orr}
        if v == "fp32":
            base = {"tract": ts["median_ms"], "ort": os_["median_ms"], "tract_rss": tr, "ort_rss": orr}
        lines.append(f"{v:20} {ts['median_ms']:9.1f} {os_['median_ms']:8.1f} {ts['median_ms'] / os_['median_ms']:9.2f} "
                     f"{tr / 1024:14.0f} {orr / 1024:12.0f} {tr / orr:8.2f}")
    lines.append("")
    lines.append("ratios to the same runtime's fp32 (latency, RSS):")
    for v in variants[1:]:
        l, r = out["latency"][v], out["rss_kib"][v]
        lines.append(f"  {v:20} tract {l['tract_ms'] / base['tract']:.2f}x, {r['tract'] / base['tract_rss']:.2f}x | "
                     f"ort {l['ort_ms'] / base['ort']:.2f}x, {r['ort'] / base['ort_rss']:.2f}x")
    print("\n".join(lines))
    (d / "summary.json").write_text(json.dumps(out, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("ort")
    o.add_argument("--encoder", type=pathlib.Path, required=True)
    o.add_argument("--descriptors", type=pathlib.Path, required=True)
    o.add_argument("--iterations", type=int, default=10)
    o.add_argument("--warmup", type=int, default=2)
    o.add_argument("tensors", nargs="+", type=pathlib.Path)
    r = sub.add_parser("report")
    r.add_argument("--dir", type=pathlib.Path, required=True)
    r.add_argument("--reference", type=pathlib.Path, required=True)
    r.add_argument("--variants", required=True)
    a = ap.parse_args()
    cmd_ort(a) if a.cmd == "ort" else cmd_report(a)


if __name__ == "__main__":
    main()
