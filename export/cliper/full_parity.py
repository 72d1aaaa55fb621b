#!/usr/bin/env python3
"""Full-size CLIPER parity (run once, not in CI): a random-init CLIP ViT-B/16 + random METD, saved
as a user's checkpoint would be, exported by cliper_export.py (fp32 + quantized variants), and
PyTorch's logits on every face crop in tests/fixtures/faces with the exact input tensors.

    export/.cache/cliper-venv/bin/python export/cliper/full_parity.py [--out export/.cache/vitb16]

Writes into --out (gitignored, ~1.2 GB):
  random_clip.pt, random_metd.pt        the "checkpoint" (OpenAI-format state dict, METD [35,4,512])
  cliper-vitb16-random.{onnx,toml,json} and the int8 variants, report.json (cliper_export.py)
  inputs/<face>.f32                      open_clip's reference preprocessing, [1,3,224,224]
  reference.json                         PyTorch class/descriptor logits per face
Then compare with cliper (and onnxruntime), time and measure memory: `bash bench/cliper_vit.sh`
(it runs this script first when --out has no reference.json).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cliper_export as ce  # noqa: E402
from make_tiny_fixture import spread_random_init  # noqa: E402
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg  # noqa: E402

SEED = 16
NAME = "cliper-vitb16-random"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, default=ce.ROOT / "export" / ".cache" / "vitb16")
    ap.add_argument("--variants", default=",".join(ce.VARIANTS))
    a = ap.parse_args()
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    # CLIP ViT-B/16 (open_clip's ViT-B-16 config with OpenAI's QuickGELU).
    arch = CLIP(512, vision_cfg=CLIPVisionCfg(layers=12, width=768, patch_size=16, image_size=224),
                text_cfg=CLIPTextCfg(context_length=77, vocab_size=49408, width=512, heads=8, layers=12), quick_gelu=True)
    spread_random_init(arch)
    torch.save(arch.state_dict(), out / "random_clip.pt")
    torch.save({"descriptor": 0.02 * torch.randn(35, 4, 512)}, out / "random_metd.pt")
    del arch
    # The user's path: checkpoint files -> cliper_export.py.
    ce.main(["cliper", "--clip", str(out / "random_clip.pt"), "--metd", str(out / "random_metd.pt"), "--name", NAME,
             "--licence", "none (random weights)", "--out", str(out), "--variants", a.variants])

    # PyTorch reference, independent of the export: the model rebuilt from the checkpoint.
    sd = ce.load_checkpoint(out / "random_clip.pt")
    model = ce.build_clip(sd)
    metd = ce.find_metd(ce.load_checkpoint(out / "random_metd.pt"))
    text = F.normalize(ce.cliper_text_features(model, metd), dim=-1)
    faces = sorted((ce.ROOT / "tests" / "fixtures" / "faces").glob("*.png"))
    tensors = ce.preprocess(faces, 224)
    (out / "inputs").mkdir(exist_ok=True)
    cases = []
    with torch.no_grad():
        for f, t in zip(faces, tensors):
            p = out / "inputs" / f"{f.stem}.f32"
            p.write_bytes(t.astype("<f4").tobytes())
            emb = model.encode_image(torch.from_numpy(t))
            desc = (F.normalize(emb, dim=-1) @ text.t()) / 0.01
            cls = desc.view(1, 7, 5).mean(dim=2)
            cases.append({"face": f.name, "input": str(p), "class_logits": cls[0].tolist(),
                          "descriptor_logits": desc[0].tolist(), "top1": ce.CLIPER_LABELS[int(cls.argmax())]})
    (out / "reference.json").write_text(json.dumps({"labels": ce.CLIPER_LABELS, "cases": cases}, indent=1) + "\n")
    print(f"reference top-1: {[c['top1'] for c in cases]}")


if __name__ == "__main__":
    main()
