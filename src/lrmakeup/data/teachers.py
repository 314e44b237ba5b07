"""Teachers: the makeup transfer at full resolution whose result x̃_HR is the training target (METHOD §3).

A teacher is called on two full-resolution face analyses (the MT photo's crop at ``image_size``, usually 256,
analysed by a ``FaceAnalyzer`` with ``input_size == image_size`` so ``image_up`` is the sharp crop and the
landmarks / parsing / masks belong to it) and returns the source wearing the reference's makeup:

    teacher(x: FaceAnalysis, y: FaceAnalysis) -> (S, S, 3) uint8 RGB, S = x.image_up.shape[0]

Two teachers, chosen by a spec string (``make_teacher``):

- ``psgan:PATH`` — the paper's teacher: our makeup modules (distill + morph + apply) carrying PSGAN's
  published ``G.pth`` (``models.psgan.load_psgan_makeup``), run on the full-resolution crops; the result is
  G_M(x, y)'s image output. (PSGAN's own post-processing, which adds back the source's high frequencies at the
  photo's resolution, is not applied: at 256 there is nothing finer to add back.)
- ``classic`` — no weights: region-wise colour transfer guided by landmarks (:class:`ClassicTeacher`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from scipy.spatial import Delaunay

from ..errors import InputError
from ..face.analysis import FaceAnalysis
from ..face.parsing import MT
from ..face.regions import EYE_LANDMARKS, region_masks
from ..models.inputs import REGIONS, FaceBatch, to_uint8_image
from ..utils import file_sha256

REFERENCE_SIZE = 256  # pixel sizes below (feathering, blur, eye margin) are given at this image size


class Teacher(Protocol):
    spec: str  # how make_teacher builds it again; recorded in the manifest

    def __call__(self, x: FaceAnalysis, y: FaceAnalysis) -> np.ndarray: ...


def make_teacher(spec: str, device: str | torch.device = "cpu") -> Teacher:
    """``"classic"`` or ``"psgan:PATH"`` -> a teacher (InputError for an unknown spec, CheckpointError for PATH)."""
    spec = spec.strip()
    if spec == "classic":
        return ClassicTeacher()
    if spec.startswith("psgan:"):
        path = spec[len("psgan:"):]
        if not path:
            raise InputError("teacher 'psgan:' needs the path of PSGAN's G.pth, e.g. psgan:weights/G.pth")
        return PSGANTeacher(path, device)
    raise InputError(f"unknown teacher '{spec}' (use 'classic' or 'psgan:PATH/TO/G.pth')")


# ---- psgan ---------------------------------------------------------------------------------------------


class PSGANTeacher:
    """G_M(x, y) of an ``LRMakeupGenerator`` (paper config) whose makeup modules hold PSGAN's ``G.pth``."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        from ..config import ModelConfig
        from ..models.generator import LRMakeupGenerator
        from ..models.psgan import load_psgan_makeup, read_psgan_state

        read_psgan_state(path)  # CheckpointError for a missing / unreadable file, before building the model
        self.spec = f"psgan:{path}"
        self.sha256 = file_sha256(path)
        self.device = torch.device(device)
        self.model = LRMakeupGenerator(ModelConfig())  # only the makeup modules run; sizes follow the input
        load_psgan_makeup(self.model, path)
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, x: FaceAnalysis, y: FaceAnalysis) -> np.ndarray:
        src = FaceBatch.from_arrays(x.image_up, x.masks, x.pos).to(self.device)
        ref = FaceBatch.from_arrays(y.image_up, y.masks, y.pos).to(self.device)
        return to_uint8_image(self.model.makeup(src, ref).image)


# ---- classic -------------------------------------------------------------------------------------------


def border_points(size: int) -> np.ndarray:
    """The 4 corners and 4 edge midpoints of a size x size image: (8, 2) (x, y)."""
    e, m = size - 1.0, (size - 1.0) / 2.0
    return np.array([[0, 0], [m, 0], [e, 0], [e, m], [e, e], [m, e], [0, e], [0, m]], dtype=np.float64)


def piecewise_affine_maps(dst_pts: np.ndarray, src_pts: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Backward maps of the piecewise-affine warp taking ``src_pts`` onto ``dst_pts``: (N, 2), (N, 2) -> 2x (S, S).

    The Delaunay triangulation of ``dst_pts`` (the output geometry) is rasterised; every output pixel is mapped
    by its triangle's affine transform to where it comes from in the input, ready for ``cv2.remap``. Mapping
    backwards leaves no holes; pixels of no triangle (degenerate ones) map to themselves.
    """
    dst = np.asarray(dst_pts, dtype=np.float64)
    src = np.asarray(src_pts, dtype=np.float64)
    tri = Delaunay(dst).simplices  # (T, 3)
    index = np.full((size, size), -1, dtype=np.int32)
    affines = np.zeros((len(tri), 2, 3))
    for t, corners in enumerate(tri):
        a = np.c_[dst[corners], np.ones(3)]  # (3, 3) rows [x, y, 1]
        if abs(np.linalg.det(a)) < 1e-6:
            continue
        affines[t] = np.linalg.solve(a, src[corners]).T  # [x y 1] @ M = src -> M.T (2, 3)
        cv2.fillConvexPoly(index, np.round(dst[corners] * 16).astype(np.int32), t, cv2.LINE_8, 4)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    inside = index >= 0
    m = affines[np.maximum(index, 0)]  # (S, S, 2, 3)
    map_x = np.where(inside, m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2], xs)
    map_y = np.where(inside, m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2], ys)
    return map_x.astype(np.float32), map_y.astype(np.float32)


def masked_blur(values: np.ndarray, mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution: the Gaussian average of ``values`` (S, S, C) over ``mask`` (S, S) pixels only.

    Returns (the average (S, S, C), the blurred mask (S, S)); where the blurred mask is 0 the average is 0.
    """
    m = mask.astype(np.float32)
    weight = cv2.GaussianBlur(m, (0, 0), sigma)
    total = cv2.GaussianBlur(values * m[..., None], (0, 0), sigma)
    if total.ndim == 2:
        total = total[..., None]
    return total / np.maximum(weight, 1e-6)[..., None] * (weight > 1e-6)[..., None], weight


def feather(mask: np.ndarray, sigma: float, erode: int = 0) -> np.ndarray:
    """A soft (S, S) float32 blend weight from a binary mask: optionally eroded by ``erode`` px, then blurred."""
    m = mask.astype(np.uint8)
    if erode > 0:
        m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode + 1, 2 * erode + 1)))
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma)


def to_lab(image: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 RGB -> float32 CIELAB (L in 0..100, a and b about -128..127)."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """float32 CIELAB -> (S, S, 3) float32 RGB in [0, 255] (clipped)."""
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0


def match_stats(values: np.ndarray, src_mask: np.ndarray, ref: np.ndarray, ref_mask: np.ndarray,
                std_range: tuple[float, float]) -> np.ndarray | None:
    """Per channel, move ``values``' mean/std inside ``src_mask`` to ``ref``'s inside ``ref_mask`` (S, S, C).

    The std ratio is clipped to ``std_range`` per channel so a tiny or noisy region cannot blow detail up.
    None when either region is (nearly) empty.
    """
    if src_mask.sum() < 8 or ref_mask.sum() < 8:
        return None
    s, r = values[src_mask], ref[ref_mask]
    mu_s, sd_s = s.mean(0), s.std(0) + 1e-3
    mu_r, sd_r = r.mean(0), r.std(0) + 1e-3
    ratio = np.clip(sd_r / sd_s, *std_range)
    return (values - mu_s) * ratio + mu_r


class ClassicTeacher:
    """Region-wise makeup transfer without learned weights: skin tone, eye shadow, lips (in CIELAB).

    1. Skin tone: the source's face skin (face, nose, the eye-shadow area; not the neck and ears, which the
       real-pairs evaluation counts outside the makeup: METHOD's face-skin region) is moved ``skin_strength``
       of the way to the reference face skin's Lab mean/std (std ratio clipped to ``skin_std_range``). The
       source's standardised values are kept, so its shading and texture (its identity) stay.
    2. Eye shadow: the reference is warped onto the source's geometry (piecewise-affine over the Delaunay
       triangulation of the 68 landmarks plus 8 border points); near the eyes (``eye_halo``: a smooth band
       around each eye's outline, so no box edges show), the low frequencies (masked Gaussian, ``eye_sigma``)
       of the skin-toned source are replaced by those of the warped reference: the shadow's colour and
       darkness move over while the source's lids, lashes and creases stay.
    3. Lips: Lab mean/std of the source lips matched to the reference lips (std ratio clipped): the
       reference's chroma a/b and lightness, with the source's lip texture.
    4. Blending: each layer enters through a feathered (Gaussian-blurred) mask: lips symmetric, skin and eye
       shadow eroded first so nothing spills onto hair, background or the eyes themselves. Pixels that no
       layer reaches are returned bit for bit.

    Regions come from ``face.regions.region_masks`` on the analyses' full-resolution parsing and landmarks
    (lips = labels 7 + 9, skin = 1 + 6 minus the eye boxes, eye shadow = eye boxes grown by ``eye_margin``,
    intersected with the face). Pixel sizes are given at 256x256 and scale with the image size.
    """

    spec = "classic"

    def __init__(self, eye_margin: int = 16, lip_feather: float = 2.0, eye_sigma: float = 5.0,
                 eye_feather: float = 3.0, skin_feather: float = 3.0, eye_strength: float = 1.0,
                 skin_strength: float = 0.8, eye_plateau: float = 0.4,
                 lip_std_range: tuple[float, float] = (0.6, 1.5), skin_std_range: tuple[float, float] = (0.7, 1.3)):
        self.eye_margin = eye_margin
        self.lip_feather = lip_feather
        self.eye_sigma = eye_sigma
        self.eye_feather = eye_feather
        self.skin_feather = skin_feather
        self.eye_strength = eye_strength
        self.skin_strength = skin_strength
        self.eye_plateau = eye_plateau
        self.lip_std_range = lip_std_range
        self.skin_std_range = skin_std_range

    def regions(self, face: FaceAnalysis) -> dict[str, np.ndarray]:
        """Full-resolution bool masks: the three REGIONS plus ``body`` (the face's skin labels and the eye area)."""
        size = face.parsing.shape[0]
        margin = max(1, round(self.eye_margin * size / REFERENCE_SIZE))
        masks = region_masks(face.parsing, face.landmarks, size, margin) > 0.5
        out = dict(zip(REGIONS, masks))
        body = np.isin(face.parsing, (MT.SKIN, MT.NOSE))  # the face: neck and ears are not a makeup region
        out["body"] = body | out["eyes"]
        return out

    def eye_halo(self, face: FaceAnalysis) -> np.ndarray:
        """(S, S) float32 weight of the eye shadow: 1 near each eye's outline, 0 at ``eye_margin`` from it.

        It follows the almond shape of the eyes, so the shadow has no rectangle edges (the eye-shadow *region*
        of METHOD §5 is a box); it is 1 up to ``eye_plateau`` of the margin and then falls off smoothly.
        """
        size = face.parsing.shape[0]
        reach = max(1.0, self.eye_margin * size / REFERENCE_SIZE)
        outside = np.full((size, size), 255, np.uint8)
        for eye in EYE_LANDMARKS:
            cv2.fillPoly(outside, [np.round(face.landmarks[eye] * 16).astype(np.int32)], 0, cv2.LINE_8, 4)
        dist = cv2.distanceTransform(outside, cv2.DIST_L2, 5)  # distance to the nearest eye pixel
        t = np.clip((reach - dist) / ((1.0 - self.eye_plateau) * reach), 0.0, 1.0)
        return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep

    def warp_maps(self, x: FaceAnalysis, y: FaceAnalysis) -> tuple[np.ndarray, np.ndarray]:
        """``cv2.remap`` maps bringing y's geometry onto x's (piecewise-affine over the landmarks + border)."""
        size = x.image_up.shape[0]
        border = border_points(size)
        return piecewise_affine_maps(np.concatenate([x.landmarks, border]), np.concatenate([y.landmarks, border]), size)

    def __call__(self, x: FaceAnalysis, y: FaceAnalysis) -> np.ndarray:
        size = x.image_up.shape[0]
        if y.image_up.shape[0] != size:
            raise InputError(f"the teacher needs equal sizes, got {size} and {y.image_up.shape[0]}")
        k = size / REFERENCE_SIZE
        src_lab, ref_lab = to_lab(x.image_up), to_lab(y.image_up)
        rx, ry = self.regions(x), self.regions(y)
        out = src_lab.copy()
        reach = np.zeros((size, size), np.float32)

        # 1. skin tone on all of the source's skin, statistics from the face skin of both
        toned = match_stats(src_lab, rx["skin"], ref_lab, ry["skin"], self.skin_std_range)
        if toned is None:
            toned = src_lab
        else:
            toned = src_lab + self.skin_strength * (toned - src_lab)
            # feathered inwards: the tone change must not spill onto hair or background around the face
            w = feather(rx["body"] & ~rx["lips"], self.skin_feather * k, erode=max(1, round(self.skin_feather * k)))
            out = out + w[..., None] * (toned - out)
            reach = np.maximum(reach, w)

        # 2. eye shadow: low-frequency swap with the warped reference, on top of the toned skin
        map_x, map_y = self.warp_maps(x, y)
        warped = cv2.remap(ref_lab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_eyes = cv2.remap(ry["eyes"].astype(np.uint8), map_x, map_y, cv2.INTER_NEAREST) > 0
        valid = rx["eyes"] & warped_eyes
        if valid.sum() >= 8:
            ref_low, weight = masked_blur(warped, valid, self.eye_sigma * k)
            src_low, _ = masked_blur(toned, valid, self.eye_sigma * k)
            shadow = toned + self.eye_strength * (ref_low - src_low)
            w = feather(rx["eyes"], self.eye_feather * k, erode=max(1, round(0.5 * self.eye_feather * k)))
            w = w * self.eye_halo(x)
            w = w * np.clip(weight / max(weight.max(), 1e-6) * 4.0, 0.0, 1.0)  # fade where no reference data
            out = out + w[..., None] * (shadow - out)
            reach = np.maximum(reach, w)

        # 3. lips: the reference's colour statistics, the source's texture
        lips = match_stats(src_lab, rx["lips"], ref_lab, ry["lips"], self.lip_std_range)
        if lips is not None:
            w = feather(rx["lips"], self.lip_feather * k)
            out = out + w[..., None] * (lips - out)
            reach = np.maximum(reach, w)

        result = np.rint(from_lab(out)).astype(np.uint8)
        untouched = reach < 1e-3
        result[untouched] = x.image_up[untouched]
        return result
