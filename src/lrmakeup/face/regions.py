"""Region masks, relative-position features and landmark heatmaps (METHOD §1.2 and §5).

Everything is computed on the 256x256 grid every module sees (``image_size``) and then nearest-resized to
the 64x64 feature grid (``feature_size``) the way ``torch.nn.functional.interpolate(mode="nearest")`` does
it: feature pixel ``i`` takes grid pixel ``floor(i * image_size / feature_size)`` (``4 i`` for 256 -> 64).
Landmarks are (68, 2) arrays of (x, y) in 256-pixel coordinates; like PSGAN we round them first.
"""

from __future__ import annotations

import numpy as np

from lrmakeup.errors import InputError
from lrmakeup.face.landmarks import check_landmarks
from lrmakeup.face.parsing import MT

REGIONS = ("lips", "skin", "eyes")  # order of the region-mask channels everywhere in lrmakeup
LIP_LABELS = (MT.UPPER_LIP, MT.LOWER_LIP)
FACE_LABELS = (MT.SKIN, MT.NOSE)
EYE_LANDMARKS = (slice(36, 42), slice(42, 48))  # the person's right eye, left eye


def nearest_indices(src: int, dst: int) -> np.ndarray:
    """Source indices torch's nearest interpolation samples when resizing ``src`` pixels to ``dst``: (dst,)."""
    return np.minimum(np.floor(np.arange(dst) * (src / dst)).astype(np.int64), src - 1)


def nearest_resize(array: np.ndarray, size: int) -> np.ndarray:
    """Nearest-resize the last two axes of (..., H, W) to (..., size, size), as torch does."""
    rows = nearest_indices(array.shape[-2], size)
    cols = nearest_indices(array.shape[-1], size)
    return array[..., rows[:, None], cols[None, :]]


def region_masks(
    parsing: np.ndarray, landmarks_xy: np.ndarray, feature_size: int = 64, eye_margin: int = 16
) -> np.ndarray:
    """The three region masks of METHOD §5 in REGIONS order: (S, S) MT labels, (68, 2) -> (3, F, F) float32.

    lips = labels 7 | 9; face skin = labels 1 | 6; eye shadow = for each eye, the bounding box of its 6
    landmarks grown by ``eye_margin`` pixels (at S = 256) and intersected with the face mask; those pixels
    are then removed from the face mask, so the three regions are disjoint.
    """
    parsing = np.asarray(parsing)
    if parsing.ndim != 2 or parsing.shape[0] != parsing.shape[1]:
        raise InputError(f"parsing must be a square (S, S) label map, got shape {parsing.shape}")
    size = parsing.shape[0]
    lms = _rounded(landmarks_xy)
    lips = np.isin(parsing, LIP_LABELS)
    face = np.isin(parsing, FACE_LABELS)
    eyes = np.zeros_like(face)
    for eye in EYE_LANDMARKS:
        (x0, y0), (x1, y1) = lms[eye].min(axis=0), lms[eye].max(axis=0)
        rows = slice(max(int(y0) - eye_margin, 0), max(int(y1) + eye_margin + 1, 0))
        cols = slice(max(int(x0) - eye_margin, 0), max(int(x1) + eye_margin + 1, 0))
        # OR, not PSGAN's assignment: where the two grown boxes overlap PSGAN drops the pixels from every
        # region; the boxes are also clamped at 0 where PSGAN's negative slice start would wrap around.
        eyes[rows, cols] |= face[rows, cols]
        face[rows, cols] = False
    masks = {"lips": lips, "skin": face, "eyes": eyes}
    stacked = np.stack([masks[name] for name in REGIONS]).astype(np.float32)
    return np.ascontiguousarray(nearest_resize(stacked, feature_size)) if size != feature_size else stacked


def position_features(landmarks_xy: np.ndarray, masks: np.ndarray, image_size: int = 256) -> np.ndarray:
    """Relative-position features p / |p| of METHOD §1.2: (68, 2), (3, F, F) -> (136, F, F) float32.

    For each pixel of the ``image_size`` grid, channels 0-67 are row - y_k and 68-135 are col - x_k
    (in 256-pixel units, also after nearest-resizing to F). Pixels outside every region are zeroed, then
    each pixel's 136-vector is L2-normalised (a zero vector stays zero). The regions are disjoint, so one
    (136, F, F) map holds what PSGAN keeps as three per-region maps.
    """
    lms = _rounded(landmarks_xy)
    feature_size = masks.shape[-1]
    grid = nearest_indices(image_size, feature_size).astype(np.float64)
    rows = grid[None, :, None] - lms[:, 1, None, None]  # (68, F, 1)
    cols = grid[None, None, :] - lms[:, 0, None, None]  # (68, 1, F)
    shape = (68, feature_size, feature_size)
    pos = np.concatenate([np.broadcast_to(rows, shape), np.broadcast_to(cols, shape)])
    pos = pos * (masks.sum(axis=0) > 0)
    norm = np.linalg.norm(pos, axis=0, keepdims=True)
    return (pos / np.where(norm == 0, 1.0, norm)).astype(np.float32)


def landmark_heatmaps(
    landmarks_xy: np.ndarray, size: int = 64, sigma: float = 1.5, image_size: int = 256
) -> np.ndarray:
    """Gaussian landmark heatmaps, peak 1, for the prior-estimation targets (METHOD §1.4): (68, 2) -> (68, size, size).

    A landmark at 256-grid pixel ``x`` sits at ``x * size / image_size`` on the ``size`` grid, the same
    correspondence as the nearest resizing above (pixel ``i`` <-> grid pixel ``4 i``), so heatmaps line up
    with nearest-resized parsing targets and position features; ``sigma`` is in ``size``-grid pixels.
    """
    pts = check_landmarks(landmarks_xy) * (size / image_size)
    axis = np.arange(size, dtype=np.float64)
    gx = np.exp(-((axis[None, :] - pts[:, 0, None]) ** 2) / (2 * sigma**2))  # (68, size)
    gy = np.exp(-((axis[None, :] - pts[:, 1, None]) ** 2) / (2 * sigma**2))
    return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)


def _rounded(landmarks_xy: np.ndarray) -> np.ndarray:
    """PSGAN stores landmarks rounded to whole 256-grid pixels."""
    return np.rint(check_landmarks(landmarks_xy))
