"""Paste a generated face back into the original photo (METHOD §5 post-processing).

PSGAN adds the source's high frequencies back at the crop's resolution and pastes the crop; GFPGAN blends the
restored face in with a soft face mask. A 64x64 input cannot carry the photo's own detail, so the result's
detail finer than the model's input grid is a guess, softer than the photo around it (a soft chin above a sharp
neck). We therefore take from the generated face only what makeup changes, its coarse colour, and keep every
finer detail of the photo:

    out = photo + alpha * blur(up(face) - up(bare))        (inside the face crop)

``bare`` is what the model saw of the source (its up-sampled 64x64 input), so the difference is exactly what the
model changed; ``blur`` removes the frequencies the ``detail_size`` input grid cannot hold (the model's guess
of the finer detail). The photo keeps all its own detail, at every scale (not only above 256). ``alpha`` is the
face region (from the
parsing map) feathered *inwards*: 1 well inside the face, falling smoothly to exactly 0 at the region's edge,
so the hair fringe, the neck and everything outside the face stay byte-identical and no seam shows.
"""

from __future__ import annotations

import cv2
import numpy as np

from .crop import Box
from .parsing import MT

FACE_LABELS = (MT.SKIN, MT.LEFT_BROW, MT.RIGHT_BROW, MT.LEFT_EYE, MT.RIGHT_EYE, MT.NOSE, MT.UPPER_LIP, MT.TEETH,
               MT.LOWER_LIP)


def face_blend_mask(parsing: np.ndarray, size: int, landmarks: np.ndarray | None = None, feather: float = 0.08,
                    border: float = 0.04) -> np.ndarray:
    """(size, size) float32 alpha in [0, 1] for a crop of side ``size``.

    The face labels of ``parsing`` (any square size), feathered inwards over ``feather`` of the side with a
    smoothstep (no kink where it reaches 0 or 1), and kept ``border`` of the side away from the crop's edge.
    With ``landmarks`` (68, 2) in ``parsing``'s coordinates, the forehead fades out above the brows: the skin
    there is estimated, and a fringe of hair often covers it. Exactly 0 outside the face region.
    """
    face = np.isin(parsing, [int(v) for v in FACE_LABELS]).astype(np.uint8)
    face = cv2.resize(face, (size, size), interpolation=cv2.INTER_NEAREST)
    margin = int(round(border * size))
    if margin > 0:
        face[:margin], face[-margin:], face[:, :margin], face[:, -margin:] = 0, 0, 0, 0
    if not face.any():
        return np.zeros((size, size), np.float32)
    inside = cv2.distanceTransform(face, cv2.DIST_L2, 5)  # distance to the nearest pixel outside the face
    alpha = _smoothstep(inside / max(1.0, feather * size))
    if landmarks is not None:
        pts = np.asarray(landmarks, np.float64) * (size / parsing.shape[0])
        brow, eye = pts[17:27, 1].min(), pts[36:48, 1].mean()
        step = max(1.0, eye - brow)  # about the brow-to-eye distance
        rows = np.arange(size, dtype=np.float64)
        alpha = alpha * _smoothstep((rows - (brow - 0.5 * step)) / (0.7 * step))[:, None]
    return alpha.astype(np.float32)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def paste_back(photo: np.ndarray, crop_box: Box, face: np.ndarray, parsing: np.ndarray,
               detail_size: int = 64, landmarks: np.ndarray | None = None,
               bare: np.ndarray | None = None) -> np.ndarray:
    """Blend ``face`` (S, S, 3) uint8, generated for the crop ``crop_box`` of ``photo`` (H, W, 3), back in.

    ``parsing`` is the face's MT label map (any square size) that decides which pixels are the face;
    ``detail_size`` is the model's input size: detail finer than that grid comes from the photo;
    ``landmarks`` (68, 2) in ``parsing``'s coordinates fade the forehead out above the brows; ``bare`` (any
    square size) is the source as the model saw it (without it, the photo's crop stands in).
    Returns a new (H, W, 3) uint8 photo; pixels outside the face region are unchanged.
    """
    left, top, right, bottom = crop_box
    side = right - left
    src = photo[top:bottom, left:right].astype(np.float32)
    interpolation = cv2.INTER_CUBIC if side > face.shape[0] else cv2.INTER_AREA
    up = cv2.resize(face, (side, side), interpolation=interpolation).astype(np.float32)
    if bare is None:
        base = src
    else:
        base = cv2.resize(bare, (side, side), interpolation=cv2.INTER_CUBIC if side > bare.shape[0]
                          else cv2.INTER_AREA).astype(np.float32)
    sigma = max(0.5, side / detail_size)  # one input pixel at the crop's scale: keeps what a 64 px grid holds
    change = cv2.GaussianBlur(up - base, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    alpha = face_blend_mask(parsing, side, landmarks)[..., None]
    out = photo.copy()
    out[top:bottom, left:right] = np.clip(src + alpha * change, 0, 255).round().astype(np.uint8)
    return out
