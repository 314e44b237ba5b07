"""PSGAN's face crop geometry (METHOD §5, "PSGAN preprocessing").

Boxes are ``(left, top, right, bottom)`` integer pixel coordinates with exclusive right/bottom, so
``image[top:bottom, left:right]`` is the box and ``right - left`` its width.

PSGAN expands dlib's face box upward by 0.6/0.85 and downward by 0.2/0.85 of its height and crops a
square around the centre of the expanded box. We keep the square inside the photo (no black borders):
it is shifted inside, and shrunk to ``min(H, W)`` when it is larger than the photo.
"""

from __future__ import annotations

import numpy as np

from lrmakeup.errors import InputError

Box = tuple[int, int, int, int]  # (left, top, right, bottom), right/bottom exclusive

UP_RATIO = 0.6 / 0.85  # expansion above the face box, in face-box heights
DOWN_RATIO = 0.2 / 0.85  # expansion below the face box, in face-box heights


def psgan_crop_box(face_box: Box, image_hw: tuple[int, int]) -> Box:
    """The square crop PSGAN takes around ``face_box`` in an image of size ``(H, W)``, kept inside it."""
    left, top, right, bottom = face_box
    height, width = image_hw
    face_h = bottom - top
    top_x, bottom_x = top - UP_RATIO * face_h, bottom + DOWN_RATIO * face_h
    side = max(bottom_x - top_x, right - left)
    side = int(round(min(side, height, width)))
    if side < 1:
        raise InputError(f"face box {face_box} gives an empty crop in an image of size {height}x{width}")
    cx, cy = (left + right) / 2.0, (top_x + bottom_x) / 2.0
    crop_left = int(np.clip(round(cx - side / 2.0), 0, width - side))
    crop_top = int(np.clip(round(cy - side / 2.0), 0, height - side))
    return crop_left, crop_top, crop_left + side, crop_top + side


def fallback_face_box(size: int) -> Box:
    """The face box PSGAN's crop geometry implies inside an already-cropped square face of side ``size``.

    Inverse of :func:`psgan_crop_box` for a square face box: the crop side is
    ``h * (1 + UP_RATIO + DOWN_RATIO)`` for a face of height ``h``, which starts ``UP_RATIO * h`` below
    the crop's top and is centred horizontally. Used when dlib finds no face in an already-cropped face.
    """
    face = size / (1.0 + UP_RATIO + DOWN_RATIO)
    left, top = round((size - face) / 2.0), round(UP_RATIO * face)
    side = round(face)
    return left, top, left + side, top + side


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    """``image[top:bottom, left:right]`` as a copy; the box must lie inside the image. (H, W, ...) -> (h, w, ...)."""
    left, top, right, bottom = box
    height, width = image.shape[:2]
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise InputError(f"crop box {box} is empty or outside the image of size {height}x{width}")
    return image[top:bottom, left:right].copy()


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    inter_w = min(a[2], b[2]) - max(a[0], b[0])
    inter_h = min(a[3], b[3]) - max(a[1], b[1])
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def map_box(box: Box, crop_box: Box, size: int) -> Box:
    """A box in photo coordinates -> the same box in the ``size``x``size`` resized square crop ``crop_box``."""
    scale = size / (crop_box[2] - crop_box[0])
    x0, y0 = crop_box[0], crop_box[1]
    left, top, right, bottom = box
    return (
        int(round((left - x0) * scale)),
        int(round((top - y0) * scale)),
        int(round((right - x0) * scale)),
        int(round((bottom - y0) * scale)),
    )
