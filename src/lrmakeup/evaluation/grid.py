"""The example figure of an evaluation: one row per sample, one column per input, method and the target."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..face.io import write_image

HEADER = 14  # pixels of the label strip above the columns


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST))


def example_grid(columns: Sequence[str], rows: Sequence[Sequence[np.ndarray | None]], pad: int = 2) -> np.ndarray:
    """(H, W, 3) uint8 figure: a label strip, then ``rows`` of images (``None`` = grey cell: n/a).

    Every image is shown at the size of the largest one (nearest neighbour, so 64x64 inputs stay visibly
    64x64).
    """
    size = max(im.shape[0] for row in rows for im in row if im is not None)
    n_cols = len(columns)
    width = n_cols * size + (n_cols + 1) * pad
    height = HEADER + len(rows) * size + (len(rows) + 1) * pad
    canvas = np.full((height, width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        top = HEADER + pad + r * (size + pad)
        for c, image in enumerate(row):
            left = pad + c * (size + pad)
            cell = np.full((size, size, 3), 160, np.uint8) if image is None else _fit(image, size)
            canvas[top:top + size, left:left + size] = cell
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for c, label in enumerate(columns):
        draw.text((pad + c * (size + pad) + 2, 1), label[: max(4, size // 6)], fill=(0, 0, 0))
    return np.asarray(picture)


def write_grid(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[np.ndarray | None]]) -> None:
    write_image(path, example_grid(columns, rows))
