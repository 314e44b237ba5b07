"""A picture of the renderer at work: sampled looks on the two built-in faces, as one PNG grid.

    python -m lrmakeup.data.synthetic.preview --out docs/images/renderer_looks.png

Top row: the bare faces. Each further row: one look (its style on the left) worn by face A and by face B.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lrmakeup.data.builtin import BUILTIN_FACES, builtin_face
from lrmakeup.data.synthetic.render import render
from lrmakeup.data.synthetic.sampler import STYLES, sample_look
from lrmakeup.face.analysis import FaceAnalyzer
from lrmakeup.fileio import atomic_write


def look_grid(
    faces: list[tuple[np.ndarray, np.ndarray]], looks: list, labels: list[str], tile: int = 224, crop: float = 0.72
) -> np.ndarray:
    """Rows of ``[label, face_1 + look, face_2 + look, ...]`` under a row of the bare faces: (H, W, 3) uint8.

    ``faces``: (256x256 crop, landmarks) pairs; ``crop``: the central fraction of each crop shown (the face).
    """
    label_width, pad = 96, 4
    columns = len(faces)
    width = label_width + columns * (tile + pad) + pad
    height = (len(looks) + 1) * (tile + pad) + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)

    def place(img: np.ndarray, row: int, col: int) -> None:
        size = img.shape[0]
        margin = int(round(size * (1 - crop) / 2))
        top = int(round(margin * 1.1))  # the PSGAN crop leaves more room above the face than below
        view = img[top : top + size - 2 * margin, margin : size - margin]
        tile_img = Image.fromarray(np.ascontiguousarray(view)).resize((tile, tile), Image.Resampling.LANCZOS)
        canvas.paste(tile_img, (label_width + pad + col * (tile + pad), pad + row * (tile + pad)))

    draw.text((6, pad + tile // 2), "bare", fill="black")
    for col, (image, _) in enumerate(faces):
        place(image, 0, col)
    for row, (look, label) in enumerate(zip(looks, labels), start=1):
        y = pad + row * (tile + pad)
        draw.text((6, y + 6), label, fill="black")
        _swatches(draw, look, 6, y + 24, label_width - 12)
        for col, (image, landmarks) in enumerate(faces):
            place(render(image, landmarks, look), row, col)
    return np.asarray(canvas)


_SHORT = {"foundation": "base", "blush": "blush", "eye_shadow": "shadow", "eyeliner": "liner", "brow": "brow",
          "lipstick": "lips"}


def _swatches(draw: ImageDraw.ImageDraw, look, x: int, y: int, width: int) -> None:
    """A chip of each active product's colour, with its name and strength."""
    for name, product in look.products().items():
        if not product.active:
            continue
        strength = getattr(product, "opacity", None)
        strength = product.coverage if strength is None else strength
        draw.rectangle((x, y, x + 14, y + 14), fill=tuple(product.color), outline="grey")
        draw.text((x + 18, y + 2), f"{_SHORT[name]} {strength:.1f}", fill="black")
        y += 20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-style", type=int, default=2, help="looks per style (rows)")
    parser.add_argument("--tile", type=int, default=224)
    parser.add_argument("--colors", type=int, default=0, help="quantise to this many colours (0 = full colour)")
    args = parser.parse_args(argv)
    analyzer = FaceAnalyzer(input_size=256)
    faces = []
    for name in BUILTIN_FACES:
        analysis = analyzer.analyze(builtin_face(name), name=name)
        faces.append((analysis.image_lr, analysis.landmarks))
    rng = np.random.default_rng(args.seed)
    looks, labels = [], []
    for style in STYLES:
        for _ in range(args.per_style):
            looks.append(sample_look(rng, style))
            labels.append(style)
    grid = Image.fromarray(look_grid(faces, looks, labels, tile=args.tile))
    if args.colors:
        grid = grid.quantize(args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    atomic_write(args.out, lambda tmp: grid.save(tmp, format="PNG", optimize=True))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
