"""Where each product of a makeup look goes: soft, anatomically placed masks from 68 landmarks + MT parsing.

Every product gets a *hard* mask (bool: the pixels it may touch before feathering), a feather *radius*
(pixels) and a *soft* mask (float32 in [0, 1]: how much of the product each pixel receives, before the
product's opacity). By construction ``soft > 0`` only inside the hard mask dilated by a square of the
radius (:meth:`LookMasks.support`): pixels outside that support are left unchanged, bit for bit.

Geometry is measured in the face's own units (interocular distance, eye width, face width), so the same
look lands on the same anatomy at any resolution. dlib's points: 0-16 jaw, 17-21 / 22-26 brows (person's
right = image left / person's left), 27-35 nose, 36-41 / 42-47 eyes, 48-59 outer lips, 60-67 inner lips.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from lrmakeup.data.synthetic.looks import MakeupLook
from lrmakeup.errors import InputError
from lrmakeup.face.io import check_rgb_image
from lrmakeup.face.landmarks import check_landmarks
from lrmakeup.face.parsing import MT, parsing_from_landmarks

_SHIFT = 4  # cv2 sub-pixel bits for polygon drawing
_RIGHT_EYE, _LEFT_EYE = slice(36, 42), slice(42, 48)
# Upper lid (lash line) and brow of each eye, both ordered outer corner -> inner corner.
_EYES = (
    {"lid": [36, 37, 38, 39], "brow": [17, 18, 19, 20, 21], "eye": _RIGHT_EYE, "outer": 36, "inner": 39},
    {"lid": [45, 44, 43, 42], "brow": [26, 25, 24, 23, 22], "eye": _LEFT_EYE, "outer": 45, "inner": 42},
)

# Feather widths (Gaussian sigma) in interocular distances.
FEATHER = {"lipstick": 0.02, "eye_shadow": 0.035, "eyeliner": 0.008, "blush": 0.03, "foundation": 0.05, "brow": 0.025}


@dataclass
class LookMasks:
    """The masks of one look on one face. All arrays are (H, W) like the image."""

    soft: dict[str, np.ndarray] = field(default_factory=dict)  # float32 [0, 1], per active product
    hard: dict[str, np.ndarray] = field(default_factory=dict)  # bool
    radius: dict[str, int] = field(default_factory=dict)  # feather radius in pixels (square dilation)
    gloss: np.ndarray | None = None  # float32 [0, 1]: where the lipstick's highlight goes (inside the lips)
    parsing: np.ndarray | None = None  # the (H, W) MT labels the masks were built from
    scale: float = 1.0  # interocular distance in pixels

    def support(self) -> np.ndarray:
        """(H, W) bool: union of each product's hard mask dilated by its radius; render() touches nothing else."""
        shape = self.parsing.shape if self.parsing is not None else next(iter(self.hard.values())).shape
        out = np.zeros(shape, dtype=bool)
        for name, hard in self.hard.items():
            out |= _dilate(hard, self.radius[name])
        return out


def look_masks(
    image: np.ndarray, landmarks_xy: np.ndarray, look: MakeupLook, parsing: np.ndarray | None = None
) -> LookMasks:
    """Masks of ``look``'s active products on the face of ``image`` (H, W, 3) uint8 with landmarks (68, 2) (x, y).

    ``parsing``: optional (H, W) MT label map (lips 7 | 9, skin 1, nose 6, brows 2 | 3, eyes 4 | 5, teeth 8);
    without it one is drawn from the landmarks (:func:`parsing_from_landmarks`).
    """
    image = check_rgb_image(image)
    height, width = image.shape[:2]
    pts = check_landmarks(landmarks_xy)
    if parsing is None:
        side = max(height, width)
        parsing = parsing_from_landmarks(pts, side)[:height, :width]
    parsing = np.asarray(parsing)
    if parsing.shape != (height, width):
        raise InputError(f"parsing map has shape {parsing.shape} but the image is {height}x{width}")
    parsing = parsing.astype(np.uint8)
    geo = _Geometry(pts)
    masks = LookMasks(parsing=parsing, scale=geo.iod)
    active = look.active_products()

    def add(name: str, hard: np.ndarray, soft: np.ndarray) -> None:
        radius = _radius(FEATHER[name] * geo.iod)
        # Enforce the support guarantee structurally (soft may only live near the hard mask).
        soft = np.clip(soft, 0.0, 1.0).astype(np.float32) * _dilate(hard, radius)
        masks.hard[name], masks.soft[name], masks.radius[name] = hard, soft, radius

    eyes = np.isin(parsing, (MT.LEFT_EYE, MT.RIGHT_EYE))
    brows = np.isin(parsing, (MT.LEFT_BROW, MT.RIGHT_BROW))
    lips = np.isin(parsing, (MT.UPPER_LIP, MT.LOWER_LIP))
    teeth = parsing == MT.TEETH
    skin = parsing == MT.SKIN
    face = np.isin(parsing, (MT.SKIN, MT.NOSE))

    skin_like = None
    if {"foundation", "blush", "eye_shadow"} & set(active):
        # Paint only skin-coloured pixels: keeps products off hair, hats and glasses frames over the face.
        skin_like = _skin_likelihood(image, face, geo, eyes | brows | lips | teeth)

    if "foundation" in active:
        sigma = FEATHER["foundation"] * geo.iod
        hard = face
        weight = face * skin_like
        features = _feather(eyes | brows | lips | teeth, sigma * 0.5)
        add("foundation", hard, _feather(weight, sigma) * (1.0 - features) * _feather(face, sigma * 0.5))

    if "blush" in active:
        hard, profile = _blush_ellipses(geo, look.blush.position, look.blush.size, (height, width))
        sigma = FEATHER["blush"] * geo.iod
        not_features = 1.0 - _feather(eyes | brows | lips | teeth, sigma)
        add("blush", hard, profile * _feather(skin * skin_like, sigma) * not_features)

    if "eye_shadow" in active:
        sigma = FEATHER["eye_shadow"] * geo.iod
        canvas = _eye_shadow_canvas(geo, look.eye_shadow.extent, look.eye_shadow.gradient, (height, width))
        hard = canvas > 0
        keep_out = _dilate(eyes, 1) | _eye_polygons(geo, (height, width))
        below = _feather(_below_lids(geo, (height, width)), FEATHER["eyeliner"] * geo.iod)
        allowed = _feather(face * skin_like, sigma * 0.5)  # skin only (the brows are cut out softly below)
        soft = _feather(canvas, sigma) * allowed * (1.0 - _feather(brows, sigma * 0.5)) * (1.0 - below) * ~keep_out
        add("eye_shadow", hard, soft)

    if "eyeliner" in active:
        canvas = _eyeliner_canvas(geo, look.eyeliner.thickness, look.eyeliner.wing, (height, width))
        add("eyeliner", canvas > 0, _feather(canvas, FEATHER["eyeliner"] * geo.iod))

    if "brow" in active:
        add("brow", brows, _feather(brows * _hairness(image, brows), FEATHER["brow"] * geo.iod))

    if "lipstick" in active:
        soft = _feather(lips, FEATHER["lipstick"] * geo.iod) * ~teeth  # a crisp inner edge, as real lipstick
        add("lipstick", lips, soft)
        if look.lipstick.gloss > 0:
            masks.gloss = (_gloss_highlight(geo, (height, width)) * soft * (parsing == MT.LOWER_LIP)).astype(np.float32)
    return masks


# ---- face geometry ----------------------------------------------------------------------------------


class _Geometry:
    """Frame and sizes of one face from its landmarks."""

    def __init__(self, pts: np.ndarray):
        self.pts = pts
        self.eye_centres = (pts[_RIGHT_EYE].mean(axis=0), pts[_LEFT_EYE].mean(axis=0))
        self.iod = max(float(np.linalg.norm(self.eye_centres[1] - self.eye_centres[0])), 1.0)
        across = pts[16] - pts[0]
        self.face_width = max(float(np.linalg.norm(across)), 1.0)
        self.across = across / self.face_width  # image-left -> image-right along the face
        up = pts[17:27].mean(axis=0) - pts[8]
        up = up - self.across * (up @ self.across)
        self.up = up / max(float(np.linalg.norm(up)), 1e-6)  # chin -> brows (y decreasing in an upright face)


def _radius(sigma: float) -> int:
    return max(1, int(np.ceil(2.5 * sigma)))


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur truncated at ``_radius(sigma)``: support grows by at most that radius (square)."""
    radius = _radius(sigma)
    return cv2.GaussianBlur(
        np.asarray(mask, dtype=np.float32), (2 * radius + 1, 2 * radius + 1), sigma, borderType=cv2.BORDER_CONSTANT
    )


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * (1 << _SHIFT)).astype(np.int32)


def _smooth_curve(points: np.ndarray, samples: int) -> np.ndarray:
    """Catmull-Rom through ``points`` (N, 2), resampled at ``samples`` parameters evenly spaced in [0, 1]."""
    n = len(points)
    padded = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    out = []
    for u in np.linspace(0.0, n - 1, samples):
        i = min(int(np.floor(u)), n - 2)
        t = u - i
        p0, p1, p2, p3 = padded[i], padded[i + 1], padded[i + 2], padded[i + 3]
        a, b, c = -p0 + p2, 2 * p0 - 5 * p1 + 4 * p2 - p3, -p0 + 3 * p1 - 3 * p2 + p3
        out.append(p1 + 0.5 * (a * t + b * t**2 + c * t**3))
    return np.array(out)


def _eye_polygons(geo: _Geometry, shape: tuple[int, int]) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    for eye in (_RIGHT_EYE, _LEFT_EYE):
        cv2.fillPoly(canvas, [_fixed(geo.pts[eye])], 1, cv2.LINE_8, _SHIFT)
    return canvas > 0


def _below_lids(geo: _Geometry, shape: tuple[int, int]) -> np.ndarray:
    """Everything below each upper lash line (extended a little past the corners): no eye shadow there."""
    canvas = np.zeros(shape, np.uint8)
    for eye in _EYES:
        outer, inner = geo.pts[eye["outer"]], geo.pts[eye["inner"]]
        width = float(np.linalg.norm(outer - inner))
        lid = _smooth_curve(geo.pts[eye["lid"]], 12)
        ext_outer, ext_inner = outer + 0.3 * (outer - inner), inner + 0.2 * (inner - outer)
        down = -geo.up * 0.8 * width
        polygon = np.concatenate([ext_outer[None], lid, np.stack([ext_inner, ext_inner + down, ext_outer + down])])
        cv2.fillPoly(canvas, [_fixed(polygon)], 1, cv2.LINE_8, _SHIFT)
    return canvas > 0


# ---- products ---------------------------------------------------------------------------------------


def _skin_likelihood(image: np.ndarray, face: np.ndarray, geo: _Geometry, features: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how skin-like each pixel's colour is.

    The skin colour is learnt (median and spread in Lab) from the cheeks and nose between the eyes and
    the mouth, which are skin on nearly every face; the landmark-drawn face region only guesses the
    forehead, and this keeps foundation off hair, hats and background that fall inside it.
    """
    cheeks = np.zeros(face.shape, np.uint8)
    hull = cv2.convexHull(geo.pts[[1, 2, 3, 4, 12, 13, 14, 15, 28, 40, 41, 46, 47]].astype(np.float32))[:, 0]
    cv2.fillPoly(cheeks, [_fixed(hull)], 1, cv2.LINE_8, _SHIFT)
    sample = (cheeks > 0) & face & ~features
    if sample.sum() < 16:
        sample = face
    if sample.sum() < 16:
        return face.astype(np.float32)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    values = lab[sample]
    median = np.median(values, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(values - median), axis=0), (8.0, 3.0, 3.0))
    distance = np.sqrt((((lab - median) / spread) ** 2).sum(axis=2))
    return np.clip((4.5 - distance) / 1.5, 0.0, 1.0).astype(np.float32)


def _hairness(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0.35, 1]: brow pencil sticks to the hairs (darker than the region's light skin)."""
    if region.sum() < 4:
        return np.ones(region.shape, np.float32)
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    skin_level = np.percentile(lightness[region], 85)
    return (0.35 + 0.65 * np.clip((skin_level - lightness) / 30.0, 0.0, 1.0)).astype(np.float32)


def _blush_ellipses(
    geo: _Geometry, position: tuple[float, float], size: float, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Two cheek ellipses along the cheekbones: (hard bool, profile float32 = (1 - r^2)^2 inside, 0 outside)."""
    pts = geo.pts
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    profile = np.zeros(shape, np.float64)
    sides = ((geo.eye_centres[0], pts[2], pts[31], -1.0), (geo.eye_centres[1], pts[14], pts[35], 1.0))
    for eye, jaw, nose, sign in sides:
        outward = geo.across * sign
        centre = 0.42 * eye + 0.33 * jaw + 0.25 * nose
        centre = centre + outward * position[0] * 0.08 * geo.face_width + geo.up * position[1] * 0.06 * geo.face_width
        major = outward + 0.45 * geo.up  # along the cheekbone, up towards the temple
        major /= np.linalg.norm(major)
        minor = np.array([-major[1], major[0]])
        a = (0.12 + 0.08 * size) * geo.face_width
        b = (0.075 + 0.045 * size) * geo.face_width
        dx, dy = xx - centre[0], yy - centre[1]
        r2 = ((dx * major[0] + dy * major[1]) / a) ** 2 + ((dx * minor[0] + dy * minor[1]) / b) ** 2
        profile = np.maximum(profile, np.clip(1.0 - r2, 0.0, 1.0) ** 2)
    return profile > 0, profile.astype(np.float32)


def _eye_shadow_canvas(geo: _Geometry, extent: float, gradient: float, shape: tuple[int, int]) -> np.ndarray:
    """Eye-shadow intensity before feathering: the band from the lash line towards the brow, per eye.

    Each eye's band is parameterised by ``s`` (just beyond the outer corner 0 -> inner corner 1) and ``t``
    (lash line 0 -> just below the brow 1); it reaches ``t <= 0.35 + 0.6 * extent`` and fades with ``t`` by
    ``gradient``, densest towards the outer corner, as shadow is usually worn. The band starts a little
    below the lash line so the feathering leaves it at full strength there; the eye itself is cut out
    afterwards (:func:`look_masks`).
    """
    pts = geo.pts
    canvas = np.zeros(shape, np.float32)
    n_s, n_t = 16, 12
    top, bottom = 0.35 + 0.6 * extent, -0.15
    brow_thickness = 0.025 * geo.face_width
    for eye in _EYES:
        outer, inner = pts[eye["outer"]], pts[eye["inner"]]
        beyond = outer + 0.12 * (outer - inner) + 0.06 * np.linalg.norm(outer - inner) * geo.up
        lid = _smooth_curve(np.concatenate([beyond[None], pts[eye["lid"]]]), n_s + 1)
        brow = _smooth_curve(pts[eye["brow"]], n_s + 1)
        # dlib's brow points run along the brow's middle to upper edge; its lower edge is a little below.
        towards_lid = lid - brow
        towards_lid /= np.maximum(np.linalg.norm(towards_lid, axis=1, keepdims=True), 1e-6)
        brow_low = brow + towards_lid * brow_thickness
        for i in range(n_s):
            for j in range(n_t):
                t0 = bottom + (top - bottom) * j / n_t
                t1 = bottom + (top - bottom) * (j + 1) / n_t
                quad = np.array(
                    [
                        lid[i] + t0 * (brow_low[i] - lid[i]),
                        lid[i + 1] + t0 * (brow_low[i + 1] - lid[i + 1]),
                        lid[i + 1] + t1 * (brow_low[i + 1] - lid[i + 1]),
                        lid[i] + t1 * (brow_low[i] - lid[i]),
                    ]
                )
                t_rel = max(0.5 * (t0 + t1), 0.0) / top
                s_mid = (i + 0.5) / n_s
                value = (1.0 - gradient * t_rel**1.5) * (1.0 - 0.35 * s_mid**2)
                cv2.fillConvexPoly(canvas, _fixed(quad), float(value), cv2.LINE_8, _SHIFT)
    return canvas


def _eyeliner_canvas(geo: _Geometry, thickness: float, wing: float, shape: tuple[int, int]) -> np.ndarray:
    """The liner stroke on the upper lash line (thicker at the outer corner) plus an optional wing, antialiased."""
    pts = geo.pts
    canvas = np.zeros(shape, np.uint8)
    samples = 20
    for eye in _EYES:
        lid = _smooth_curve(pts[eye["lid"]], samples)  # outer -> inner
        eye_width = float(np.linalg.norm(pts[eye["outer"]] - pts[eye["inner"]]))
        width_outer = (0.025 + 0.10 * thickness) * eye_width
        s = np.linspace(0.0, 1.0, samples)
        width = width_outer * (1.0 - 0.7 * s)  # tapering towards the inner corner
        tangent = np.gradient(lid, axis=0)
        normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
        normal *= np.sign((normal @ geo.up).mean() or 1.0)  # point away from the eye, towards the brow
        upper = lid + normal * width[:, None]
        lower = lid - normal * 0.2 * width[:, None]
        polygon = [np.concatenate([upper, lower[::-1]])]
        if wing > 0:
            outer, inner = pts[eye["outer"]], pts[eye["inner"]]
            out = (outer - inner) / max(eye_width, 1e-6)
            direction = out * np.cos(np.radians(22)) + geo.up * np.sin(np.radians(22))
            tip = outer + direction * (0.08 + 0.42 * wing) * eye_width
            polygon.append(np.array([upper[3], upper[0], tip, lower[0]]))
        for poly in polygon:
            cv2.fillPoly(canvas, [_fixed(poly)], 255, cv2.LINE_AA, _SHIFT)
    return canvas.astype(np.float32) / 255.0


def _gloss_highlight(geo: _Geometry, shape: tuple[int, int]) -> np.ndarray:
    """A soft elongated highlight on the upper bulge of the lower lip, (1 - r^2)^2 inside its ellipse."""
    pts = geo.pts
    mouth = pts[54] - pts[48]
    mouth_width = max(float(np.linalg.norm(mouth)), 1.0)
    major = mouth / mouth_width
    minor = np.array([-major[1], major[0]])
    lip_height = max(float(np.linalg.norm(pts[57] - pts[66])), 1.0)
    centre = 0.55 * pts[66] + 0.45 * pts[57] - 0.1 * major * mouth_width
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    dx, dy = xx - centre[0], yy - centre[1]
    along = (dx * major[0] + dy * major[1]) / (0.2 * mouth_width)
    across = (dx * minor[0] + dy * minor[1]) / (0.28 * lip_height)
    r2 = along**2 + across**2
    return (np.clip(1.0 - r2, 0.0, 1.0) ** 2).astype(np.float32)
