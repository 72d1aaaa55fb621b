#!/usr/bin/env python3
"""Cut the face-crop fixtures tests/fixtures/faces/s<photo>_f<k>.png from samples/sample<photo>.jpg.

Boxes were chosen by eye (left, top, right, bottom in full-resolution pixels, right/bottom exclusive)
around each face with roughly 20-40 % margin. Several are deliberately non-square (wider than tall and
taller than wide, some with an odd side difference so face-api's round(diff/2) matters); two are
additionally halved with PIL's box-filter reduce() to get ~120-150 px crops.

Output: 8-bit RGB PNG, no metadata, so the files are reproducible byte for byte.
Usage: python3 export/reference/make_face_crops.py   (from the repo root)
"""
import pathlib
import sys

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "samples"
DST = ROOT / "tests" / "fixtures" / "faces"

# photo -> list of (left, top, right, bottom[, reduce_factor])
BOXES = {
    1: [(390, 320, 660, 620),           # 270x300
        (760, 420, 1061, 660),          # 301x240 wide, odd diff
        (1410, 170, 1710, 500)],        # 300x330
    2: [(330, 130, 591, 470),           # 261x340 tall, odd diff
        (850, 220, 1110, 490),          # 260x270
        (1400, 140, 1700, 450, 2)],     # 300x310 -> 150x155
    3: [(540, 320, 820, 640),           # 280x320
        (1050, 230, 1330, 550),         # 280x320
        (1410, 250, 1720, 590)],        # 310x340
    4: [(230, 190, 460, 450),           # 230x260
        (660, 90, 900, 380),            # 240x290 tall
        (940, 210, 1240, 440),          # 300x230 wide
        (1250, 150, 1480, 420)],        # 230x270
    5: [(720, 110, 950, 350),           # 230x240
        (560, 400, 800, 690),           # 240x290
        (1080, 220, 1310, 450, 2),      # 230x230 -> 115x115 square
        (1400, 400, 1650, 720),         # 250x320 tall
        (360, 850, 620, 1190)],         # 260x340 tall
    6: [(220, 480, 480, 760),           # 260x280
        (630, 310, 920, 630),           # 290x320
        (1150, 330, 1400, 620),         # 250x290
        (1460, 270, 1740, 590)],        # 280x320
}


def main() -> int:
    DST.mkdir(parents=True, exist_ok=True)
    n = 0
    for photo, boxes in BOXES.items():
        img = Image.open(SRC / f"sample{photo}.jpg").convert("RGB")
        for k, box in enumerate(boxes, start=1):
            crop = img.crop(box[:4])
            if len(box) > 4:
                crop = crop.reduce(box[4])
            out = DST / f"s{photo}_f{k}.png"
            crop.save(out, format="PNG", optimize=False, compress_level=9)
            print(f"{out.relative_to(ROOT)} {crop.size[0]}x{crop.size[1]}")
            n += 1
    print(f"{n} crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
