"""Paste a generated 256x256 face back into the original photo (METHOD §5 post-processing).

PSGAN adds the source's high frequencies back at the crop's resolution and pastes the crop into the photo;
GFPGAN blends the restored face in with a soft face mask. We do both: the result is resized to the crop, the
detail the 256 grid cannot hold (crop − up(down(crop))) is added back, and the face region (from the parsing,
dilated and blurred, and faded towards the crop's border) is alpha-blended into the photo, so only the face
changes and no seam shows.
"""

from __future__ import annotations

import cv2
import numpy as np

from .crop import Box
from .parsing import MT

FACE_LABELS = (MT.SKIN, MT.LEFT_BROW, MT.RIGHT_BROW, MT.LEFT_EYE, MT.RIGHT_EYE, MT.NOSE, MT.UPPER_LIP, MT.TEETH,
               MT.LOWER_LIP)


def face_blend_mask(parsing: np.ndarray, size: int, dilate: float = 0.04, blur: float = 0.03,
                    border: float = 0.06) -> np.ndarray:
    """(size, size) float32 alpha in [0, 1]: the face labels of ``parsing`` (any square size), grown by
    ``dilate`` and softened by ``blur`` (fractions of the side), faded to 0 within ``border`` of the edge."""
    face = np.isin(parsing, [int(v) for v in FACE_LABELS]).astype(np.uint8)
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_NEAREST)
    k = max(1, int(round(dilate * size)))
    face = cv2.dilate(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    sigma = max(0.5, blur * size)
    alpha = cv2.GaussianBlur(face.astype(np.float32), (0, 0), sigma)
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / max(1.0, border * size), 0, 1)
    return alpha * np.minimum.outer(ramp, ramp).astype(np.float32)


def paste_back(photo: np.ndarray, crop_box: Box, face: np.ndarray, parsing: np.ndarray) -> np.ndarray:
    """Blend ``face`` (S, S, 3) uint8, generated for the crop ``crop_box`` of ``photo`` (H, W, 3), back in.

    ``parsing`` is the face's MT label map (any square size) that decides which pixels are the face.
    Returns a new (H, W, 3) uint8 photo; pixels outside the blended face region are unchanged.
    """
    left, top, right, bottom = crop_box
    side = right - left
    src = photo[top:bottom, left:right].astype(np.float32)
    s = face.shape[0]
    up = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC if side > s else cv2.INTER_AREA)
    result = up.astype(np.float32)
    if side > s:  # PSGAN: restore the detail finer than the model's grid from the source crop
        down = cv2.resize(photo[top:bottom, left:right], (s, s), interpolation=cv2.INTER_AREA)
        result += src - cv2.resize(down, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    alpha = face_blend_mask(parsing, side)[..., None]
    out = photo.copy()
    out[top:bottom, left:right] = np.clip(alpha * result + (1 - alpha) * src, 0, 255).round().astype(np.uint8)
    return out
