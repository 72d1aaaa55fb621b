#!/usr/bin/env python3
"""Make tests/fixtures/cliper_tiny/: a CLIPER-architecture model with random weights (fixed seed),
reduced in width and depth, exported by the same code as a real checkpoint (cliper_export.py),
with PyTorch's reference logits on real face crops.

    export/.cache/cliper-venv/bin/python export/cliper/make_tiny_fixture.py

Architecture (same op types as ViT-B/16 CLIP; only sizes differ):
  image tower: 64x64 input, 8x8 patch conv (no bias), class token, learned positional embedding,
               ln_pre, 2 pre-LN residual blocks (4-head attention, MLP 4x with QuickGELU), ln_post
               on the class token, projection to 32-d
  text tower:  77 tokens, CLIP's vocabulary, width 64, 4 heads, 1 layer, causal mask, ln_final,
               EOT pooling, projection to 32-d
  METD:        7 classes x 5 descriptors x 4 learned token vectors (64-d), random

Writes:
  cliper_tiny.onnx / .toml     the image encoder and its manifest (name "cliper-tiny")
  cliper_tiny.json             descriptor set (35 descriptors, cosine 100, mean)
  inputs/<face>.f32            CLIP's reference preprocessing of tests/fixtures/faces/<face>.png
                               (open_clip.image_transform: PIL bicubic shorter side to 64, centre
                               crop, normalise), little-endian f32 NCHW [1,3,64,64]
  reference.json               per face: PyTorch embedding, 35 descriptor logits, 7 class logits
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import cliper_export as ce  # noqa: E402
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg  # noqa: E402

ROOT = ce.ROOT
OUT = ROOT / "tests" / "fixtures" / "cliper_tiny"
FACES = ["s1_f1", "s1_f2", "s2_f1", "s2_f3", "s3_f1", "s3_f3", "s4_f1", "s4_f3", "s5_f1", "s5_f3", "s6_f1", "s6_f4"]
SEED = 20240601
NAME = "cliper-tiny"


def spread_random_init(arch: CLIP) -> None:
    """open_clip's init leaves biases and LayerNorms at 0/1, and a random CLIP maps every face to
    nearly the same direction (the class token dominates). Perturb biases/LayerNorms so every
    parameter matters, and shrink the class token, pooled-LN bias and positional embedding (and
    sharpen attention) so faces differ and the top-1 varies: a permuted label then shows."""
    with torch.no_grad():
        for n, p in arch.named_parameters():
            if n.endswith(".bias") or "ln_" in n or ".ln" in n:
                p.add_(0.1 * torch.randn_like(p))
        arch.visual.class_embedding.mul_(0.05)
        arch.visual.positional_embedding.mul_(0.2)
        arch.visual.ln_post.bias.zero_()
        for blk in arch.visual.transformer.resblocks:
            blk.attn.in_proj_weight.mul_(3.0)


def main():
    torch.manual_seed(SEED)
    arch = CLIP(32, vision_cfg=CLIPVisionCfg(layers=2, width=64, head_width=16, patch_size=8, image_size=64),
                text_cfg=CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=4, layers=1), quick_gelu=True)
    spread_random_init(arch)
    sd = {k: v.clone() for k, v in arch.state_dict().items()}
    # The same loader as a user's checkpoint (heads given: the tiny widths are below CLIP's 64 per head).
    model = ce.build_clip(sd, vision_heads=4, text_heads=4)
    ce.self_check_text_path(model)
    metd = 0.02 * torch.randn(35, 4, 64)  # CLIP's token embeddings have std 0.02
    features = ce.cliper_text_features(model, metd)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "inputs").mkdir(exist_ok=True)
    for old in (OUT / "inputs").glob("*.f32"):
        old.unlink()
    labels = ce.CLIPER_LABELS
    names = [[f"{l}/{j}" for j in range(5)] for l in labels]
    texts = [[ce.CLIPER_MARKED] * 5 for _ in labels]
    onnx_path = OUT / "cliper_tiny.onnx"
    ce.export_onnx(model, onnx_path)
    ce.write_manifest(OUT / "cliper_tiny.toml", script="export/cliper/make_tiny_fixture.py", name=NAME, onnx_path=onnx_path, size=64, dim=32, licence="Apache-2.0",
                      package="none:random-weights", paths=[], source_sha256=[],
                      notes=f"Test fixture, not a model: CLIPER architecture reduced (see make_tiny_fixture.py), random weights, torch seed {SEED}.")
    ds = ce.descriptor_set(name="cliper-tiny-metd", encoder=NAME, features=features, labels=labels, per_class=names,
                           texts=texts, licence="Apache-2.0",
                           provenance={"script": "export/cliper/make_tiny_fixture.py", "seed": SEED,
                                       "prompt": ce.CLIPER_PROMPT, "learned_token_positions": ce.CLIPER_X_POSITIONS})
    (OUT / "cliper_tiny.json").write_text(json.dumps(ds) + "\n")

    files = [ROOT / "tests" / "fixtures" / "faces" / f"{f}.png" for f in FACES]
    tensors = ce.preprocess(files, 64)
    text_n = F.normalize(features, dim=-1)
    cases = []
    with torch.no_grad():
        for f, t in zip(FACES, tensors):
            (OUT / "inputs" / f"{f}.f32").write_bytes(t.astype("<f4").tobytes())
            emb = model.encode_image(torch.from_numpy(t))
            # CLIPER's inference: normalised features, / 0.01, mean over each class's 5 descriptors.
            desc = (F.normalize(emb, dim=-1) @ text_n.t()) / 0.01
            cls = desc.view(1, 7, 5).mean(dim=2)
            cases.append({"face": f"{f}.png", "input": f"inputs/{f}.f32", "shape": [1, 3, 64, 64],
                          "embedding": emb[0].tolist(), "descriptor_logits": desc[0].tolist(),
                          "class_logits": cls[0].tolist(), "top1": labels[int(cls.argmax())]})
    ref = {"producer": f"PyTorch {torch.__version__.split('+')[0]}, open_clip {ce.open_clip.__version__}",
           "script": "export/cliper/make_tiny_fixture.py", "labels": labels,
           "descriptor_names": [n for ns in names for n in ns], "cases": cases}
    (OUT / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB); top-1: {[c['top1'] for c in cases]}")


if __name__ == "__main__":
    main()
