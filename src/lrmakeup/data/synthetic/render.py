"""Rendering a makeup look onto a bare face, keeping its texture and shading.

Each product is a layer applied in CIE Lab (cv2's float Lab: L 0..100) in the order a makeup artist
works: foundation, blush, eye shadow, eyeliner, brow, lipstick. A layer moves the *mean* colour of its
region towards the product colour and keeps each pixel's deviation from that mean (scaled by how much
of the skin's texture the product lets through), then blends by ``opacity x soft mask``::

    new = lab + pull * (colour - mean) - (1 - keep) * (lab - mean)       # per Lab channel
    lab = lab + opacity * soft * (new - lab)

``pull`` < 1 on L makes a product translucent in lightness (blush only warms the cheek, it does not
repaint it); ``keep`` = 1 keeps all texture (lips, lids), ``keep`` < 1 hides some (foundation evens the
skin's redness, eyeliner is nearly opaque). So an opaque lipstick gives the same mean lip colour on any
face, while every face keeps its own lip lines and shading.

The result changes only pixels where some product's soft mask is positive: the RGB *difference*
``Lab->RGB(new) - Lab->RGB(original)`` is added to the original bytes, so colour-space round-off never
touches untouched pixels, and pixels outside :meth:`LookMasks.support` are copied bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

from lrmakeup.data.synthetic.looks import RGB, MakeupLook
from lrmakeup.data.synthetic.masks import LookMasks, look_masks
from lrmakeup.face.io import check_rgb_image

# (pull, keep) per product, per Lab channel; see the module docstring.
_LAYER = {
    "foundation": ((0.7, 1.0, 1.0), (1.0, 0.6, 0.6)),
    "blush": ((0.3, 1.0, 1.0), (1.0, 1.0, 1.0)),
    "eye_shadow": ((1.0, 1.0, 1.0), (0.85, 0.7, 0.7)),
    "eyeliner": ((1.0, 1.0, 1.0), (0.3, 0.3, 0.3)),
    "brow": ((0.6, 0.8, 0.8), (1.0, 0.6, 0.6)),
    "lipstick": ((1.0, 1.0, 1.0), (1.0, 0.6, 0.6)),
}
GLOSS_LIGHTNESS = 22.0  # L units a full gloss adds at the centre of the highlight


def render(
    image: np.ndarray, landmarks_xy: np.ndarray, look: MakeupLook, parsing: np.ndarray | None = None
) -> np.ndarray:
    """``image`` (H, W, 3) uint8 RGB wearing ``look`` -> (H, W, 3) uint8. Deterministic.

    ``landmarks_xy``: the face's 68 dlib landmarks (68, 2) (x, y) in image coordinates. ``parsing``: an
    optional (H, W) MT label map of the image; without it the regions are drawn from the landmarks.
    """
    image = check_rgb_image(image)
    return apply_look(image, look, look_masks(image, landmarks_xy, look, parsing))


def apply_look(image: np.ndarray, look: MakeupLook, masks: LookMasks) -> np.ndarray:
    """Colour step of :func:`render`, given the masks of ``look`` on this image (see :func:`look_masks`)."""
    image = check_rgb_image(image)
    if not masks.soft:
        return image.copy()
    original = image.astype(np.float32) / 255.0
    lab0 = cv2.cvtColor(original, cv2.COLOR_RGB2Lab)
    lab = lab0.copy()
    products = look.products()
    touched = np.zeros(image.shape[:2], bool)
    for name, product in products.items():
        soft = masks.soft.get(name)
        if soft is None:
            continue
        if name == "foundation":
            lab = _smooth(lab, image, soft * product.smoothing, masks.scale)
            strength = product.coverage
        else:
            strength = product.opacity
        alpha = strength * soft
        lab = _layer(lab, alpha, soft, product.color, *_LAYER[name])
        if name == "lipstick" and masks.gloss is not None and product.gloss > 0:
            lab = _gloss(lab, masks.gloss * product.gloss * product.opacity ** 0.5)
        touched |= soft > 0
    delta = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) - cv2.cvtColor(lab0, cv2.COLOR_Lab2RGB)
    result = np.clip(np.rint(image.astype(np.float32) + 255.0 * delta), 0, 255).astype(np.uint8)
    return np.where(touched[:, :, None], result, image)


def _rgb_to_lab(color: RGB) -> np.ndarray:
    return cv2.cvtColor(np.array([[color]], np.float32) / 255.0, cv2.COLOR_RGB2Lab)[0, 0]


def _layer(lab: np.ndarray, alpha: np.ndarray, weight: np.ndarray, color: RGB, pull, keep) -> np.ndarray:
    """One product layer (module docstring): the region's ``weight``-ed mean colour moves to ``color``."""
    box = _bbox(weight)
    if box is None:
        return lab
    lab_box, weight_box, alpha_box = lab[box], weight[box], alpha[box]
    mean = np.tensordot(weight_box, lab_box, axes=([0, 1], [0, 1])) / float(weight_box.sum())
    pull = np.asarray(pull, np.float32)
    keep = np.asarray(keep, np.float32)
    new = lab_box + pull * (_rgb_to_lab(color) - mean) - (1.0 - keep) * (lab_box - mean)
    out = lab.copy()
    out[box] = lab_box + alpha_box[:, :, None] * (new - lab_box)
    return out


def _bbox(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of ``mask > 0`` as a pair of slices (None when empty)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _smooth(lab: np.ndarray, image: np.ndarray, strength: np.ndarray, scale: float) -> np.ndarray:
    """Foundation's smoothing: an edge-preserving bilateral filter blended in at ``0.7 x strength``.

    Its spatial size follows the face (about 4% of the interocular distance), its range is tight, so pores
    and fine lines soften while shading, edges and most texture stay.
    """
    if not np.any(strength > 0):
        return lab
    diameter = max(3, int(round(0.08 * scale)) | 1)
    smoothed = cv2.bilateralFilter(image, diameter, 18.0, diameter / 2.0)
    smooth_lab = cv2.cvtColor(smoothed.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return lab + (0.7 * strength)[:, :, None] * (smooth_lab - lab)


def _gloss(lab: np.ndarray, highlight: np.ndarray) -> np.ndarray:
    """A specular sheen: brighter and whiter where the highlight is, strongest on the lips' own bright ridges."""
    lightness = lab[:, :, 0]
    ridges = lightness - cv2.GaussianBlur(lightness, (0, 0), 2.0)
    boost = highlight * (0.7 + 0.3 * np.tanh(ridges / 4.0))
    out = lab.copy()
    out[:, :, 0] = np.minimum(lightness + GLOSS_LIGHTNESS * boost, 100.0)
    out[:, :, 1:] *= (1.0 - 0.5 * highlight)[:, :, None]
    return out
