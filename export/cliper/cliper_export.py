#!/usr/bin/env python3
"""Export a CLIPER checkpoint (or plain CLIP weights) for cliper: image-encoder ONNX, manifest,
descriptor set, quantized variants, and an agreement report.

    # CLIPER: CLIP ViT-B/16 state dict + the learned METD token vectors
    python export/cliper/cliper_export.py cliper --clip clip_state.pt --metd metd.pt \
        --name cliper-rafdb --licence "CC-BY-NC-4.0 (my training run)" --out out/

    # zero-shot CLIP FER: plain OpenAI / open_clip weights + hand-written sentences
    python export/cliper/cliper_export.py zeroshot --clip ViT-B-16.pt \
        --sentences export/cliper/zeroshot_sentences.json --name clip-b16-zeroshot --licence MIT --out out/

Writes into --out: NAME.onnx (fp32), NAME.toml (manifest), NAME.json (descriptor set), one
NAME.<variant>.onnx + NAME.<variant>.toml per quantized variant (same `name`, so the same descriptor
set scores every variant), and NAME.report.json (top-1 agreement and max class-logit difference of
each variant vs fp32 under onnxruntime, on --calib face images).

Checkpoint formats accepted (torch.load, weights_only where possible):
  --clip: an OpenAI-format CLIP state dict (keys `visual.conv1.weight`, `transformer.resblocks.*`,
          `token_embedding.weight`, `text_projection`, ...), optionally nested under `state_dict`,
          `model` or `clip`, optionally with a `module.` prefix; or OpenAI's TorchScript archive.
          fp16 tensors (CLIPER trains CLIP in fp16 on GPU) are widened to fp32, exactly.
  --metd: CLIPER's `get_text.descriptor` parameter, shape [35, 4, 512] (class-major: row
          c*5 + j is descriptor j of class c, classes in training label order), either the
          tensor itself or a state dict holding it under `descriptor` (any prefix). It may also
          live in the --clip file under such a key.

CLIPER's text side (muse1998/CLIPER main_RAFDB_CLIPER.py + its clip/model.py), checked against
open_clip's CLIP.encode_text:
  ids = clip.tokenize("an ID photo of X X X X.")          -> [SOT an id photo of x x x x . EOT 0...]
  e   = token_embedding(ids); e[:, 5:9, :] = descriptor[k] (the four X positions)
  x   = e + positional_embedding -> text transformer (causal mask) -> ln_final
  t_k = x[EOT position (argmax of ids)] @ text_projection
  logits = (img/|img|) . (t_k/|t_k|) / 0.01; a class logit is the mean of its 5 descriptors
open_clip's encode_text does exactly these steps from token ids (same causal mask, same argmax
pooling); `cliper_text_features` runs them with the learned vectors spliced in at the positions
where the tokenizer put "x", and `self_check_text_path` proves the splice path reproduces stock
encode_text when the spliced vectors are the "x" token embeddings themselves.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pathlib
import sys
from typing import Sequence

import numpy as np
import onnx
import torch
import torch.nn.functional as F

import open_clip
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from open_clip.transformer import text_global_pool

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = "export/cliper/cliper_export.py"

# CLIPER's RAF-DB label order (its dataset: label - 1 -> 0:Surprise ... 6:Neutral).
CLIPER_LABELS = ["surprise", "fear", "disgust", "happy", "sad", "anger", "neutral"]
CLIPER_PROMPT = "an ID photo of X X X X."
CLIPER_MARKED = "an ID photo of [learned 1] [learned 2] [learned 3] [learned 4]."
CLIPER_X_POSITIONS = [5, 6, 7, 8]  # hard-coded in CLIPER's get_text (5 + i*k_des, k_des = 4)
CLIPER_SCALE = 100.0  # 1 / 0.01
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
OPSET = 17


def sha256_file(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- loading

def _strip(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        for p in ("module.", "model.", "clip."):
            if k.startswith(p) and not k.startswith("visual"):
                k = k[len(p):]
        out[k] = v
    return out


def load_checkpoint(path: pathlib.Path):
    """Return a flat dict of tensors from a torch.save file or a TorchScript archive."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # OpenAI's released .pt files are TorchScript archives
        obj = torch.jit.load(str(path), map_location="cpu").state_dict()
    if isinstance(obj, torch.Tensor):
        return {"descriptor": obj}
    for key in ("state_dict", "model", "clip"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            nested = dict(obj[key])
            nested.update({k: v for k, v in obj.items() if isinstance(v, torch.Tensor)})
            obj = nested
            break
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: not a state dict or tensor ({type(obj).__name__})")
    return _strip({k: v for k, v in obj.items() if isinstance(v, torch.Tensor)})


def find_metd(sd: dict) -> torch.Tensor | None:
    for k, v in sd.items():
        if k == "descriptor" or k.endswith(".descriptor"):
            return v
    return None


def build_clip(sd: dict, vision_heads: int | None = None, text_heads: int | None = None) -> CLIP:
    """An fp32 open_clip CLIP (QuickGELU, as OpenAI trained it) holding exactly the weights of an
    OpenAI-format state dict. Architecture is inferred as open_clip's
    build_model_from_openai_state_dict does; head counts default to width / 64 (CLIP's rule) and
    can be given for reduced test models."""
    sd = {k: v for k, v in sd.items() if k not in ("input_resolution", "context_length", "vocab_size")}
    if "visual.proj" not in sd:
        raise SystemExit("only ViT CLIP checkpoints are supported (no visual.proj in the state dict)")
    vw = sd["visual.conv1.weight"].shape[0]
    vl = len([k for k in sd if k.startswith("visual.") and k.endswith(".attn.in_proj_weight")])
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    tw = sd["ln_final.weight"].shape[0]
    tl = len(set(k.split(".")[2] for k in sd if k.startswith("transformer.resblocks")))
    vh = vision_heads or vw // 64
    th = text_heads or tw // 64
    vision_cfg = CLIPVisionCfg(layers=vl, width=vw, head_width=vw // vh, patch_size=patch, image_size=patch * grid)
    text_cfg = CLIPTextCfg(context_length=sd["positional_embedding"].shape[0], vocab_size=sd["token_embedding.weight"].shape[0],
                           width=tw, heads=th, layers=tl)
    model = CLIP(sd["text_projection"].shape[1], vision_cfg=vision_cfg, text_cfg=text_cfg, quick_gelu=True)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in sd.items() if k != "descriptor" and not k.endswith(".descriptor")}, strict=False)
    missing = [k for k in missing if k != "attn_mask"]
    if missing or unexpected:
        raise SystemExit(f"state dict does not fit CLIP: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.float().eval()


# ---------------------------------------------------------------- text side

def x_positions(tokenizer, prompt: str = CLIPER_PROMPT) -> list[int]:
    ids = tokenizer([prompt])[0]
    x_id = tokenizer.encoder["x</w>"]
    return [i for i, t in enumerate(ids.tolist()) if t == x_id]


@torch.no_grad()
def encode_embedded_text(model: CLIP, embedded: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """open_clip's CLIP.encode_text from token *embeddings* instead of ids (CLIPER's encode_text)."""
    x = embedded + model.positional_embedding
    x = model.transformer(x, attn_mask=model.attn_mask)
    x = model.ln_final(x)
    x, _ = text_global_pool(x, ids, model.text_pool_type)
    return x @ model.text_projection


@torch.no_grad()
def cliper_text_features(model: CLIP, metd: torch.Tensor) -> torch.Tensor:
    """[35, D] text features (not normalised) of CLIPER's METD descriptors."""
    tokenizer = open_clip.tokenizer.SimpleTokenizer()
    pos = x_positions(tokenizer)
    if pos != CLIPER_X_POSITIONS:
        raise SystemExit(f"tokenizer put X at {pos}, CLIPER's code writes positions {CLIPER_X_POSITIONS}")
    n, k, w = metd.shape
    if k != len(pos) or w != model.token_embedding.weight.shape[1]:
        raise SystemExit(f"METD tensor {tuple(metd.shape)} does not fit {len(pos)} X tokens of width {model.token_embedding.weight.shape[1]}")
    ids = tokenizer([CLIPER_PROMPT] * n)
    e = model.token_embedding(ids).clone()
    e[:, pos, :] = metd.float()
    return encode_embedded_text(model, e, ids)


@torch.no_grad()
def self_check_text_path(model: CLIP) -> float:
    """Splicing the "x" token embeddings back in must reproduce stock encode_text."""
    tokenizer = open_clip.tokenizer.SimpleTokenizer()
    ids = tokenizer([CLIPER_PROMPT])
    x_emb = model.token_embedding.weight[tokenizer.encoder["x</w>"]]
    ours = cliper_text_features(model, x_emb.expand(1, 4, -1).clone())
    stock = model.encode_text(ids)
    diff = float((ours - stock).abs().max())
    if diff > 1e-5:
        raise SystemExit(f"text path self-check failed: {diff}")
    return diff


@torch.no_grad()
def sentence_features(model: CLIP, sentences: Sequence[str]) -> torch.Tensor:
    return model.encode_text(open_clip.tokenizer.tokenize(list(sentences)))


# ---------------------------------------------------------------- image side

class ImageEncoder(torch.nn.Module):
    def __init__(self, model: CLIP):
        super().__init__()
        self.visual = model.visual

    def forward(self, x):
        return self.visual(x)


def image_size(model: CLIP) -> int:
    s = model.visual.image_size
    return s[0] if isinstance(s, (tuple, list)) else int(s)


def export_onnx(model: CLIP, path: pathlib.Path) -> None:
    size = image_size(model)
    torch.backends.mha.set_fastpath_enabled(False)  # export the plain attention ops
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(ImageEncoder(model).eval(), (dummy,), str(path), input_names=["input"], output_names=["embedding"],
                      opset_version=OPSET, do_constant_folding=True, dynamo=False)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    m.producer_name = "cliper export/cliper/cliper_export.py"
    onnx.save(m, str(path))


def preprocess(files: Sequence[pathlib.Path], size: int) -> list[np.ndarray]:
    """CLIP's reference preprocessing (open_clip.image_transform, eval): PIL bicubic resize of the
    shorter side, centre crop, ToTensor, Normalize(CLIP mean/std)."""
    from PIL import Image
    tf = open_clip.image_transform(size, is_train=False, mean=CLIP_MEAN, std=CLIP_STD)
    return [tf(Image.open(f).convert("RGB")).unsqueeze(0).numpy().astype(np.float32) for f in files]


# ---------------------------------------------------------------- files

def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def write_manifest(path: pathlib.Path, *, name: str, onnx_path: pathlib.Path, size: int, dim: int, licence: str,
                   package: str, paths: list[str], source_sha256: list[str], notes: str, script: str = SCRIPT) -> None:
    fl = lambda xs: "[" + ", ".join(repr(float(np.float32(x))) for x in xs) + "]"
    text = f"""name = {toml_str(name)}
role = "encoder"
file = {toml_str(onnx_path.name)}
sha256 = "{sha256_file(onnx_path)}"
input_width = {size}
input_height = {size}
layout = "nchw"
color = "rgb"
resize = "shorter_center_crop_bicubic"
mean = {fl(m * 255 for m in CLIP_MEAN)}
std = {fl(s * 255 for s in CLIP_STD)}
licence = {toml_str(licence)}
embedding_dim = {dim}

[provenance]
package = {toml_str(package)}
paths = [{", ".join(toml_str(p) for p in paths)}]
source_sha256 = [{", ".join(toml_str(s) for s in source_sha256)}]
script = "{script}"
notes = {toml_str(notes)}
"""
    path.write_text(text)


def descriptor_set(*, name: str, encoder: str, features: torch.Tensor, labels: list[str], per_class: list[list[str]],
                   texts: list[list[str]], licence: str, provenance: dict) -> dict:
    f = features.detach().float().numpy()
    classes, k = [], 0
    for label, names, ts in zip(labels, per_class, texts):
        descs = []
        for n, t in zip(names, ts):
            descs.append({"name": n, "text": t, "embedding": [float(v) for v in f[k]]})
            k += 1
        classes.append({"label": label, "descriptors": descs})
    assert k == f.shape[0]
    return {"name": name, "encoder": encoder, "dim": int(f.shape[1]), "scoring": {"type": "cosine", "scale": CLIPER_SCALE},
            "aggregate": "mean", "classes": classes, "licence": licence, "provenance": provenance}


def reference_logits(image_emb: np.ndarray, features: np.ndarray, per_class: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """CLIPER's inference rule in numpy: 100 x cosine, mean per class."""
    i = image_emb / np.linalg.norm(image_emb, axis=-1, keepdims=True)
    t = features / np.linalg.norm(features, axis=-1, keepdims=True)
    desc = CLIPER_SCALE * i @ t.T
    out, k = [], 0
    for n in per_class:
        out.append(desc[..., k:k + n].mean(-1))
        k += n
    return desc, np.stack(out, -1)


# ---------------------------------------------------------------- quantization

# Variants tract 0.23.9 runs correctly (see export/cliper/README.md for the measurements):
#   int8-dynamic      onnxruntime quantize_dynamic, MatMul weights int8 (DynamicQuantizeLinear +
#                     MatMulInteger); activations quantized per call, no calibration.
#   int8-qop-convmatmul  static QOperator, only Conv and weight MatMuls quantized (QLinearConv /
#                     QLinearMatMul); onnxruntime's default QOperator also emits QLinearAdd etc.,
#                     which tract does not run.
#   int8-qdq-nosoftmax   static QDQ on Conv / weight MatMul / Gemm only: Softmax stays float (tract
#                     mis-computes QDQ attention blocks whose Softmax is quantized).
# Both static variants keep the attention's activation x activation MatMuls (q.k^T and
# softmax.v) in float: tract 0.23.9 mis-computes QLinearMatMul when both operands are quantized
# activations (measured on the tiny fixture: 40 logits off onnxruntime; 0 to 0.2 without them).
VARIANTS = ["int8-dynamic", "int8-qop-convmatmul", "int8-qdq-nosoftmax"]


def activation_matmuls(path: pathlib.Path) -> list[str]:
    """Names of MatMul nodes none of whose inputs is a weight (initializer or Constant)."""
    m = onnx.load(str(path))
    consts = {i.name for i in m.graph.initializer} | {o for n in m.graph.node if n.op_type == "Constant" for o in n.output}
    return [n.name for n in m.graph.node if n.op_type == "MatMul" and not any(i in consts for i in n.input)]


class _Reader:
    def __init__(self, name: str, tensors: Sequence[np.ndarray]):
        self.it = iter([{name: t} for t in tensors])

    def get_next(self):
        return next(self.it, None)


def quantize(fp32: pathlib.Path, out: pathlib.Path, variant: str, calib: Sequence[np.ndarray]) -> None:
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    try:
        act = activation_matmuls(pre)
        if variant == "int8-dynamic":
            quantize_dynamic(str(pre), str(out), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
        elif variant == "int8-qop-convmatmul":
            quantize_static(str(pre), str(out), _Reader("input", calib), quant_format=QuantFormat.QOperator,
                            op_types_to_quantize=["Conv", "MatMul"], nodes_to_exclude=act, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        elif variant == "int8-qdq-nosoftmax":
            quantize_static(str(pre), str(out), _Reader("input", calib), quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=["Conv", "MatMul", "Gemm"], nodes_to_exclude=act, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        else:
            raise SystemExit(f"unknown variant {variant}")
    finally:
        pre.unlink(missing_ok=True)


def ort_embeddings(path: pathlib.Path, tensors: Sequence[np.ndarray]) -> np.ndarray:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": t})[0] for t in tensors])


def agreement(ref_class: np.ndarray, class_logits: np.ndarray) -> dict:
    return {"top1_agree": int((ref_class.argmax(-1) == class_logits.argmax(-1)).sum()), "n": int(len(ref_class)),
            "max_abs_class_logit_diff": float(np.abs(ref_class - class_logits).max())}


# ---------------------------------------------------------------- driver

def export_all(model: CLIP, features: torch.Tensor, *, out: pathlib.Path, name: str, licence: str, package: str,
               sources: list[pathlib.Path], labels: list[str], per_class_names: list[list[str]],
               per_class_texts: list[list[str]], set_provenance: dict, calib_files: Sequence[pathlib.Path],
               variants: Sequence[str], notes: str) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    size = image_size(model)
    dim = int(features.shape[1])
    fp32 = out / f"{name}.onnx"
    export_onnx(model, fp32)
    src_paths = [p.name for p in sources]
    src_sha = [sha256_file(p) for p in sources]
    base_notes = (f"{notes} Image tower of CLIP (open_clip {open_clip.__version__} VisionTransformer, QuickGELU) exported "
                  f"by torch {torch.__version__.split('+')[0]} torch.onnx (TorchScript exporter, opset {OPSET}); input "
                  f"[1,3,{size},{size}] already normalised with CLIP mean/std, output `embedding` [1,{dim}] (not normalised).")
    write_manifest(out / f"{name}.toml", name=name, onnx_path=fp32, size=size, dim=dim, licence=licence, package=package,
                   paths=src_paths, source_sha256=src_sha, notes=base_notes)
    ds = descriptor_set(name=f"{name}-descriptors", encoder=name, features=features, labels=labels,
                        per_class=per_class_names, texts=per_class_texts, licence=licence, provenance=set_provenance)
    (out / f"{name}.json").write_text(json.dumps(ds) + "\n")

    calib = preprocess(calib_files, size)
    per_class = [len(n) for n in per_class_names]
    feats = features.detach().float().numpy()
    torch_emb = np.concatenate([model.encode_image(torch.from_numpy(t)).detach().numpy() for t in calib])
    _, torch_class = reference_logits(torch_emb, feats, per_class)
    ort_fp32 = ort_embeddings(fp32, calib)
    _, fp32_class = reference_logits(ort_fp32, feats, per_class)
    report = {"images": [p.name for p in calib_files], "onnxruntime_fp32_vs_pytorch": agreement(torch_class, fp32_class),
              "variants": {}}
    for v in variants:
        qpath = out / f"{name}.{v}.onnx"
        quantize(fp32, qpath, v, calib)
        write_manifest(out / f"{name}.{v}.toml", name=name, onnx_path=qpath, size=size, dim=dim, licence=licence,
                       package=package, paths=src_paths, source_sha256=src_sha,
                       notes=f"{base_notes} Quantized ({v}) from {fp32.name} by onnxruntime.quantization, calibrated on "
                             f"{len(calib)} face crops.")
        _, q_class = reference_logits(ort_embeddings(qpath, calib), feats, per_class)
        report["variants"][v] = {"file": qpath.name, "bytes": qpath.stat().st_size, "onnxruntime_vs_fp32": agreement(fp32_class, q_class)}
    (out / f"{name}.report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["cliper", "zeroshot"])
    ap.add_argument("--clip", type=pathlib.Path, required=True, help="CLIP state dict (OpenAI format) or TorchScript archive")
    ap.add_argument("--metd", type=pathlib.Path, help="cliper mode: the learned METD tensor [35,4,512] (or a state dict holding `descriptor`)")
    ap.add_argument("--sentences", type=pathlib.Path, default=pathlib.Path(__file__).with_name("zeroshot_sentences.json"),
                    help="zeroshot mode: {label: [sentence, ...]} in class order")
    ap.add_argument("--labels", default=",".join(CLIPER_LABELS), help="cliper mode: class labels in training order")
    ap.add_argument("--name", required=True, help="encoder manifest name (the descriptor set refers to it)")
    ap.add_argument("--licence", required=True, help="licence of your weights, as you hold them")
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--calib", type=pathlib.Path, default=ROOT / "tests" / "fixtures" / "faces",
                    help="folder of face crops for calibration and the agreement report")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, or 'none'")
    a = ap.parse_args(argv)

    sd = load_checkpoint(a.clip)
    model = build_clip(sd)
    self_check_text_path(model)
    sources = [a.clip]
    if a.mode == "cliper":
        metd = find_metd(sd)
        if a.metd:
            metd = find_metd(load_checkpoint(a.metd))
            sources.append(a.metd)
        if metd is None:
            raise SystemExit("cliper mode needs the METD tensor (--metd, or a `descriptor` key in --clip)")
        labels = a.labels.split(",")
        n_desc = metd.shape[0] // len(labels)
        if n_desc * len(labels) != metd.shape[0]:
            raise SystemExit(f"{metd.shape[0]} descriptors do not split into {len(labels)} classes")
        features = cliper_text_features(model, metd)
        names = [[f"{l}/{j}" for j in range(n_desc)] for l in labels]
        texts = [[CLIPER_MARKED] * n_desc for _ in labels]
        prov = {"method": "CLIPER METD: learned token vectors at the X positions of the prompt, CLIP text encoder, EOT pooling, text projection",
                "prompt": CLIPER_PROMPT, "learned_token_positions": CLIPER_X_POSITIONS,
                "metd_shape": list(metd.shape), "sources": [p.name for p in sources],
                "source_sha256": [sha256_file(p) for p in sources], "script": SCRIPT,
                "open_clip": open_clip.__version__, "torch": torch.__version__.split("+")[0]}
        notes = f"CLIPER checkpoint {a.clip.name}."
    else:
        spec = json.loads(a.sentences.read_text())
        labels = list(spec)
        texts = [list(spec[l]) for l in labels]
        names = [[f"{l}/{j}" for j in range(len(ts))] for l, ts in zip(labels, texts)]
        features = sentence_features(model, [t for ts in texts for t in ts])
        prov = {"method": "zero-shot CLIP: hand-written sentences through CLIP's text encoder", "sentences": a.sentences.name,
                "sources": [p.name for p in sources], "source_sha256": [sha256_file(p) for p in sources], "script": SCRIPT,
                "open_clip": open_clip.__version__, "torch": torch.__version__.split("+")[0]}
        notes = f"CLIP weights {a.clip.name}, zero-shot descriptors."
    calib = sorted(p for p in a.calib.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    variants = [] if a.variants == "none" else a.variants.split(",")
    report = export_all(model, features, out=a.out, name=a.name, licence=a.licence, package=f"local:{a.clip.name}",
                        sources=sources, labels=labels, per_class_names=names, per_class_texts=texts, set_provenance=prov,
                        calib_files=calib, variants=variants, notes=notes)
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
