#!/usr/bin/env python3
"""Compare two `cliper classify --json` outputs of the same photos, e.g. the x86-64 build and
the aarch64 build under qemu: same faces in the same order, same expression labels,
probabilities within --tol (default 1e-4). Prints the largest differences; exit 1 on a
mismatch.

    python3 cross/compare_classify.py x86_64.jsonl aarch64.jsonl
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    a, b = load(args.reference), load(args.candidate)
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} faces in {args.reference}, {len(b)} in {args.candidate}")
    worst_prob = worst_score = worst_box = 0.0
    for x, y in zip(a, b):
        where = f"{x.get('image')} face {x.get('face')}"
        if (x.get("image"), x.get("face")) != (y.get("image"), y.get("face")):
            problems.append(f"{where}: paired with {y.get('image')} face {y.get('face')}")
            continue
        if "error" in x or "error" in y:
            problems.append(f"{where}: error line: {x.get('error') or y.get('error')}")
            continue
        if x["expression"] != y["expression"]:
            problems.append(f"{where}: {x['expression']} vs {y['expression']}")
        if set(x["probs"]) != set(y["probs"]):
            problems.append(f"{where}: different labels {sorted(x['probs'])} vs {sorted(y['probs'])}")
            continue
        d = max(abs(x["probs"][k] - y["probs"][k]) for k in x["probs"])
        worst_prob = max(worst_prob, d)
        if d > args.tol:
            problems.append(f"{where}: probabilities differ by {d:.3g} (limit {args.tol:g})")
        if x.get("detection_score") is not None and y.get("detection_score") is not None:
            worst_score = max(worst_score, abs(x["detection_score"] - y["detection_score"]))
        elif (x.get("detection_score") is None) != (y.get("detection_score") is None):
            problems.append(f"{where}: detection score on one side only")
        worst_box = max(worst_box, max(abs(p - q) for p, q in zip(x["bbox"], y["bbox"])))
    print(f"{len(a)} faces compared: max |Δprob| {worst_prob:.2e}, max |Δdetection score| {worst_score:.2e}, "
          f"max |Δbox| {worst_box:.2e} px")
    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
