"""The metrics of the paper's Table 1 (METHOD.md §4), plus region colour and identity metrics.

Table 1 scores super-resolved 256x256 results against the teacher's 256x256 result: PSNR↑, SSIM↑,
MS-SSIM↑, LPIPS↓, FID↓ and NIQE↓. We add, per makeup region, the mean CIEDE2000 colour difference to the
target (how faithfully the makeup colour arrives) and, outside the makeup regions, PSNR and CIEDE2000 to
the source face (how well the identity is left alone), and the dlib face-recognition distance of the result to
the sharp source (``face_distance``: < 0.6 the same person; evaluation/identity.py).

Conventions (documented once, used everywhere here):

- Images are RGB. numpy arrays are ``(H, W, 3)``; uint8 means [0, 255], float means [0, 1]. Torch tensors
  are ``(3, H, W)`` or ``(1, 3, H, W)`` in [0, 1] (convert the models' [-1, 1] output first, e.g. with
  ``(x + 1) / 2``; values outside [0, 1] are refused rather than clipped silently).
- PSNR, SSIM, MS-SSIM use ``data_range = 1`` on all three RGB channels (not luma), per image, then the
  mean over images. PSNR of identical images is ``inf`` (no cap); a mean that includes one is ``inf``.
- SSIM / MS-SSIM are torchmetrics' defaults: 11x11 Gaussian window, sigma 1.5, K = (0.01, 0.03);
  MS-SSIM uses 5 scales and needs images of at least 176 px a side (fine at 256x256).
- LPIPS (torchmetrics, inputs in [0, 1]) and FID (torchmetrics + torch-fidelity's Inception, 2048-d pool
  features over the whole set, TF1-compatible bilinear resize to 299) need pretrained backbone weights in
  the torch hub cache, ``$TORCH_HOME/hub/checkpoints``. Nothing is downloaded here: without the file a
  metric is reported as unavailable, with the reason, never as a made-up number.
- NIQE is no-reference: it scores the predictions alone (see :mod:`lrmakeup.evaluation.niqe`).
- Region masks are ``(H, W)`` bool/0-1 arrays or tensors at the image size, or at an integer fraction of
  it (the generator's 64x64 masks for 256x256 images), which is then repeated up (nearest neighbour).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from torch import Tensor
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from lrmakeup.errors import InputError
from lrmakeup.evaluation.niqe import BLOCK_SIZE
from lrmakeup.evaluation.niqe import niqe as _niqe

FULL_REFERENCE = ("psnr", "ssim", "ms_ssim", "lpips", "fid")
NO_REFERENCE = ("niqe",)
REGION_NAMES = ("lips", "eyes", "skin")  # the makeup regions of METHOD.md §1 (eyes = eye shadow)
REGION_COLUMNS = tuple(f"ciede2000_{r}" for r in REGION_NAMES)
IDENTITY_COLUMNS = ("identity_psnr", "identity_ciede2000", "face_distance")
ALL_COLUMNS = FULL_REFERENCE + NO_REFERENCE + REGION_COLUMNS + IDENTITY_COLUMNS

MS_SSIM_MIN_SIZE = 176  # torchmetrics: side // (len(betas) - 1) ** 2 must exceed kernel_size - 1
FID_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
_LPIPS_BACKBONE = {"alex": ("alexnet", "AlexNet_Weights"), "vgg": ("vgg16", "VGG16_Weights")}


# ---------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class MetricValue:
    """One column of a result: a mean over ``count`` images, or ``None`` with the ``reason`` why not."""

    value: float | None
    reason: str | None = None
    count: int = 0

    @property
    def available(self) -> bool:
        return self.value is not None

    @staticmethod
    def unavailable(reason: str) -> MetricValue:
        return MetricValue(None, reason, 0)

    def __str__(self) -> str:
        return f"n/a ({self.reason})" if self.value is None else f"{self.value:.4f}"


@dataclass(frozen=True)
class OutsideRegionError:
    """How much a result changed the face where no makeup goes (higher PSNR, lower ΔE00 = better kept)."""

    psnr: float  # dB, RGB, data range 1, over the pixels outside the makeup regions
    ciede2000: float  # mean CIEDE2000 over the same pixels


# ---------------------------------------------------------------------------------------------------
# image conversion


def to_tensor(image: np.ndarray | Tensor) -> Tensor:
    """Any accepted image (module docstring) -> ``(1, 3, H, W)`` float64 tensor in [0, 1]."""
    if isinstance(image, Tensor):
        t = image.detach().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] != 3:
            raise InputError(f"expected a (3, H, W) or (1, 3, H, W) tensor, got shape {tuple(image.shape)}")
        t = t.double() / 255.0 if t.dtype == torch.uint8 else t.double()
    else:
        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise InputError(f"expected an (H, W, 3) RGB array, got shape {arr.shape}")
        if arr.dtype == np.uint8:
            t = torch.from_numpy(arr.astype(np.float64) / 255.0)
        elif np.issubdtype(arr.dtype, np.floating):
            t = torch.from_numpy(arr.astype(np.float64))
        else:
            raise InputError(f"expected uint8 or float pixels, got {arr.dtype}")
        t = t.permute(2, 0, 1)
    lo, hi = float(t.min()), float(t.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise InputError(f"float images must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}]")
    return t.clamp(0, 1).unsqueeze(0).contiguous()


def _to_float_hwc(image: np.ndarray | Tensor) -> np.ndarray:
    return to_tensor(image)[0].permute(1, 2, 0).numpy()


def _same_size(a: Tensor, b: Tensor, what: str = "prediction and target") -> None:
    if a.shape != b.shape:
        raise InputError(f"{what} differ in size: {tuple(a.shape[-2:])} vs {tuple(b.shape[-2:])}")


def region_mask(mask: np.ndarray | Tensor, shape: tuple[int, int]) -> np.ndarray:
    """A region mask as an ``(H, W)`` bool array at ``shape``; masks at ``shape / k`` are repeated up by k."""
    m = mask.detach().cpu().numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    m = np.squeeze(m)
    if m.ndim != 2:
        raise InputError(f"a region mask must be (H, W), got shape {np.shape(mask)}")
    m = m > 0.5 if np.issubdtype(m.dtype, np.floating) else m.astype(bool)
    h, w = shape
    if m.shape != (h, w):
        fy, fx = h // m.shape[0], w // m.shape[1]
        if fy < 1 or fy != fx or (m.shape[0] * fy, m.shape[1] * fx) != (h, w):
            raise InputError(f"region mask of size {m.shape} does not fit an image of size {(h, w)}")
        m = m.repeat(fy, axis=0).repeat(fx, axis=1)
    return m


# ---------------------------------------------------------------------------------------------------
# single-pair metrics


def psnr(pred: np.ndarray | Tensor, target: np.ndarray | Tensor) -> float:
    """PSNR in dB over RGB, data range 1: ``10 log10(1 / MSE)``; ``inf`` for identical images."""
    return _psnr(*_pair(pred, target))


def ssim(pred: np.ndarray | Tensor, target: np.ndarray | Tensor) -> float:
    """SSIM (torchmetrics defaults, data range 1), averaged over the RGB channels; 1 for identical images."""
    return _ssim(*_pair(pred, target))


def ms_ssim(pred: np.ndarray | Tensor, target: np.ndarray | Tensor) -> float:
    """5-scale MS-SSIM (torchmetrics defaults, data range 1); needs sides of at least ``MS_SSIM_MIN_SIZE``."""
    p, t = _pair(pred, target)
    if min(p.shape[-2:]) < MS_SSIM_MIN_SIZE:
        raise InputError(f"MS-SSIM needs images of at least {MS_SSIM_MIN_SIZE} px a side, got {tuple(p.shape[-2:])}")
    return _ms_ssim(p, t)


def _pair(pred: np.ndarray | Tensor, target: np.ndarray | Tensor) -> tuple[Tensor, Tensor]:
    p, t = to_tensor(pred), to_tensor(target)
    _same_size(p, t)
    return p, t


# the SSIM family runs in float32: float64 convolutions are ~4x slower on CPU for no visible gain
def _psnr(p: Tensor, t: Tensor) -> float:
    return float(peak_signal_noise_ratio(p, t, data_range=1.0))


def _ssim(p: Tensor, t: Tensor) -> float:
    return float(structural_similarity_index_measure(p.float(), t.float(), data_range=1.0))


def _ms_ssim(p: Tensor, t: Tensor) -> float:
    return float(multiscale_structural_similarity_index_measure(p.float(), t.float(), data_range=1.0))


def ciede2000_map(pred: np.ndarray | Tensor, target: np.ndarray | Tensor) -> np.ndarray:
    """Per-pixel CIEDE2000 colour difference ``(H, W)`` (sRGB -> CIELAB, D65, via scikit-image)."""
    p, t = _to_float_hwc(pred), _to_float_hwc(target)
    if p.shape != t.shape:
        raise InputError(f"images differ in size: {p.shape[:2]} vs {t.shape[:2]}")
    return deltaE_ciede2000(rgb2lab(p), rgb2lab(t))


def ciede2000(
    pred: np.ndarray | Tensor, target: np.ndarray | Tensor, mask: np.ndarray | Tensor | None = None
) -> float:
    """Mean CIEDE2000 between ``pred`` and ``target`` over the pixels of ``mask`` (all pixels if ``None``).

    Returns ``nan`` when the mask is empty (a face without that region): there is nothing to average.
    """
    delta = ciede2000_map(pred, target)
    if mask is None:
        return float(delta.mean())
    m = region_mask(mask, delta.shape)
    return float(delta[m].mean()) if m.any() else math.nan


def outside_region_error(
    pred: np.ndarray | Tensor, source: np.ndarray | Tensor, mask: np.ndarray | Tensor
) -> OutsideRegionError:
    """Identity preservation: PSNR and mean CIEDE2000 between ``pred`` and ``source`` outside ``mask``.

    ``mask`` is the union of the makeup regions; everything else (hair, brows, eyes, background, ...)
    should come through the transfer unchanged. ``source`` must have ``pred``'s size (for a 64x64 source,
    pass its bicubic 256x256 up-sampling, the image the generator starts from). ``nan`` values if
    ``mask`` covers the whole image.
    """
    p, s = to_tensor(pred), to_tensor(source)
    _same_size(p, s, "prediction and source")
    outside = ~region_mask(mask, tuple(p.shape[-2:]))
    if not outside.any():
        return OutsideRegionError(math.nan, math.nan)
    keep = torch.from_numpy(outside)
    mse = float(((p[0] - s[0]) ** 2)[:, keep].mean())
    value = math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)
    delta = ciede2000_map(p, s)
    return OutsideRegionError(psnr=value, ciede2000=float(delta[outside].mean()))


# ---------------------------------------------------------------------------------------------------
# learned metrics: weights are looked up, never downloaded


def hub_checkpoint_dir() -> Path:
    """Where torch (and torchvision, torch-fidelity) keep downloaded weights: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def lpips_backbone_file(net: str) -> Path:
    """The torchvision ImageNet checkpoint LPIPS with backbone ``net`` ('alex' or 'vgg') loads."""
    import torchvision

    if net not in _LPIPS_BACKBONE:
        raise InputError(f"LPIPS backbone must be one of {sorted(_LPIPS_BACKBONE)}, got {net!r}")
    weights = getattr(torchvision.models, _LPIPS_BACKBONE[net][1]).DEFAULT  # what torchmetrics asks for
    return hub_checkpoint_dir() / os.path.basename(urlparse(weights.url).path)


def fid_weights_file() -> Path:
    """torch-fidelity's Inception-v3 (converted TF 2015-12-05 weights) as the hub cache stores it."""
    return hub_checkpoint_dir() / os.path.basename(urlparse(FID_WEIGHTS_URL).path)


def build_lpips(net: str = "alex", device: str | torch.device = "cpu") -> tuple[torch.nn.Module | None, str | None]:
    """torchmetrics' LPIPS (inputs in [0, 1]) or ``(None, reason)`` when its backbone weights are missing."""
    path = lpips_backbone_file(net)
    if not path.is_file():
        return None, f"LPIPS-{net} backbone weights {path.name} not found in {path.parent} (no download attempted)"
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    try:
        metric = LearnedPerceptualImagePatchSimilarity(net_type=net, normalize=True)
    except Exception as exc:  # a truncated or foreign file: say so instead of failing the whole evaluation
        return None, f"LPIPS-{net} backbone weights {path} could not be loaded: {exc}"
    return metric.to(device), None


def build_fid(
    device: str | torch.device = "cpu", features: int = 2048
) -> tuple[torch.nn.Module | None, str | None]:
    """torchmetrics' FID, or ``(None, reason)`` when it cannot run here.

    ``features``: 2048 (the standard pool3 features, what FID means) or 64/192/768 (earlier Inception
    blocks; only for quick checks, the numbers are not comparable with published FIDs).
    """
    if importlib.util.find_spec("torch_fidelity") is None:
        return None, "FID needs the torch-fidelity package (pip install torch-fidelity)"
    path = fid_weights_file()
    if not path.is_file():
        return None, f"FID Inception weights {path.name} not found in {path.parent} (no download attempted)"
    from torchmetrics.image.fid import FrechetInceptionDistance

    try:
        metric = FrechetInceptionDistance(feature=features, feature_extractor_weights_path=str(path), antialias=False)
    except Exception as exc:
        return None, f"FID Inception weights {path} could not be loaded: {exc}"
    return metric.to(device), None


# ---------------------------------------------------------------------------------------------------
# the suite


class _Mean:
    """Running mean that skips NaN samples (e.g. a region missing from one face)."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, x: float) -> None:
        if not math.isnan(x):
            self.total += x
            self.count += 1

    def value(self, empty_reason: str) -> MetricValue:
        if self.count == 0:
            return MetricValue.unavailable(empty_reason)
        return MetricValue(self.total / self.count, None, self.count)


class MetricSuite:
    """Accumulates Table 1's metrics over (prediction, target) pairs; :meth:`compute` gives the means.

    >>> suite = MetricSuite()
    >>> suite.update(pred, target, source=source_up, regions={"lips": m1, "eyes": m2, "skin": m3})
    >>> suite.compute()["psnr"].value

    ``pred``/``target``/``source`` are images as in the module docstring (the same size); ``regions``
    maps region names (``REGION_NAMES``) to masks. Region columns need ``regions``; identity columns need
    ``regions`` and ``source``. LPIPS and FID are built once here; when they cannot be (weights or
    package missing), their columns are ``MetricValue(None, reason)`` — see :attr:`unavailable`.
    Pass ``lpips_net=None``/``fid=False``/``niqe=False`` to skip a metric (its column then says so).
    ``lpips_net``: 'alex' (the LPIPS default) or 'vgg'. ``fid_features``: see :func:`build_fid`.

    A column skips the pairs it cannot score (an empty region, an image too small for MS-SSIM or NIQE);
    each :class:`MetricValue` carries ``count``, the number of pairs that went into its mean.
    """

    def __init__(
        self,
        lpips_net: str | None = "alex",
        fid: bool = True,
        niqe: bool = True,
        niqe_crop_border: int = 0,
        device: str | torch.device = "cpu",
        fid_features: int = 2048,
        face_distance: bool = True,
    ) -> None:
        self.device = torch.device(device)
        self._identity_enabled = face_distance
        self.niqe_enabled = niqe
        self.niqe_crop_border = niqe_crop_border
        self.unavailable: dict[str, str] = {}
        self._lpips = self._fid = None
        if lpips_net is None:
            self.unavailable["lpips"] = "not requested"
        else:
            self._lpips, reason = build_lpips(lpips_net, self.device)
            if reason:
                self.unavailable["lpips"] = reason
        if not fid:
            self.unavailable["fid"] = "not requested"
        else:
            self._fid, reason = build_fid(self.device, fid_features)
            if reason:
                self.unavailable["fid"] = reason
        if not niqe:
            self.unavailable["niqe"] = "not requested"
        if not face_distance:
            self.unavailable["face_distance"] = "not requested"
        self.reset()

    def reset(self) -> None:
        """Forget all pairs seen so far (the metric networks stay loaded)."""
        self._means = {name: _Mean() for name in ALL_COLUMNS if name not in ("lpips", "fid")}
        self._pairs = 0
        self._small: dict[str, str] = {}
        for metric in (self._lpips, self._fid):
            if metric is not None:
                metric.reset()

    @torch.no_grad()
    def update(
        self,
        pred: np.ndarray | Tensor,
        target: np.ndarray | Tensor,
        source: np.ndarray | Tensor | None = None,
        regions: Mapping[str, np.ndarray | Tensor] | None = None,
        sharp_source: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Add one pair (one image each; the mean over pairs is what :meth:`compute` reports).

        sharp_source: (the sharp source photo (H, W, 3) uint8 at the prediction's size, its 68 landmarks (x, y))
        for the ``face_distance`` column."""
        p, t = _pair(pred, target)
        size = tuple(p.shape[-2:])
        masks = {}  # validated before any state changes, so a bad call leaves the suite as it was
        if regions:
            unknown = set(regions) - set(REGION_NAMES)
            if unknown:
                raise InputError(f"unknown region(s) {sorted(unknown)}; expected some of {REGION_NAMES}")
            masks = {name: region_mask(mask, size) for name, mask in regions.items()}
        s = to_tensor(source) if source is not None and masks else None
        if s is not None:
            _same_size(p, s, "prediction and source")

        m = self._means
        m["psnr"].add(_psnr(p, t))
        m["ssim"].add(_ssim(p, t))
        if min(size) >= MS_SSIM_MIN_SIZE:
            m["ms_ssim"].add(_ms_ssim(p, t))
        else:
            self._small["ms_ssim"] = f"images of {size[0]}x{size[1]} are below the {MS_SSIM_MIN_SIZE} px MS-SSIM needs"
        if self.niqe_enabled:
            if min(size) - 2 * self.niqe_crop_border >= BLOCK_SIZE:
                m["niqe"].add(_niqe(p, crop_border=self.niqe_crop_border))
            else:
                self._small["niqe"] = f"images of {size[0]}x{size[1]} hold no {BLOCK_SIZE}x{BLOCK_SIZE} NIQE block"
        if self._lpips is not None:
            self._lpips.update(p.float().to(self.device), t.float().to(self.device))
        if self._fid is not None:
            self._fid.update(_uint8_batch(p).to(self.device), real=False)
            self._fid.update(_uint8_batch(t).to(self.device), real=True)

        if masks:
            delta = ciede2000_map(p, t)
            for name, mask in masks.items():
                m[f"ciede2000_{name}"].add(float(delta[mask].mean()) if mask.any() else math.nan)
            if s is not None:
                kept = outside_region_error(p, s, np.logical_or.reduce(list(masks.values())))
                m["identity_psnr"].add(kept.psnr)
                m["identity_ciede2000"].add(kept.ciede2000)
        if sharp_source is not None and self._identity_enabled:
            m["face_distance"].add(self._face_distance(p, *sharp_source))
        self._pairs += 1

    def _face_distance(self, pred: Tensor, sharp: np.ndarray, landmarks: np.ndarray) -> float:
        """dlib descriptor distance of the prediction to the sharp source, both with the source's landmarks."""
        from .identity import identity_distance

        image = (pred[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().cpu().numpy()
        return identity_distance(_identity_encoder()(image, landmarks), _sharp_descriptor(sharp, landmarks))

    def compute(self) -> dict[str, MetricValue]:
        """Means over the pairs seen, one :class:`MetricValue` per column of ``ALL_COLUMNS``."""
        out: dict[str, MetricValue] = {}
        for name in ALL_COLUMNS:
            if name in self.unavailable:
                out[name] = MetricValue.unavailable(self.unavailable[name])
            elif self._pairs == 0:
                out[name] = MetricValue.unavailable("no images evaluated")
            elif name == "lpips":
                out[name] = MetricValue(float(self._lpips.compute()), None, self._pairs)
            elif name == "fid":
                out[name] = self._compute_fid()
            else:
                out[name] = self._means[name].value(self._empty_reason(name))
        return out

    def _compute_fid(self) -> MetricValue:
        if self._pairs < 2:
            return MetricValue.unavailable(f"FID needs at least 2 images per set, got {self._pairs}")
        return MetricValue(float(self._fid.compute()), None, self._pairs)

    def _empty_reason(self, name: str) -> str:
        if name in self._small:
            return self._small[name]
        if name == "face_distance":
            return "no sharp source with landmarks given"
        if name.startswith("identity_"):
            return "no source images and region masks given"
        if name.startswith("ciede2000_"):
            return f"no {name.removeprefix('ciede2000_')} region in the masks given"
        return "no value"


@functools.lru_cache(maxsize=1)
def _identity_encoder():
    """The dlib ResNet, loaded once for every suite (one per compared method) on the first sharp source."""
    from .identity import IdentityEncoder

    return IdentityEncoder()


_LAST_SHARP: dict[bytes, np.ndarray] = {}


def _sharp_descriptor(sharp: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The sharp source's descriptor, computed once per sample although every method's suite asks for it."""
    key = hashlib.sha1(np.ascontiguousarray(sharp).tobytes() + np.asarray(landmarks, np.float64).tobytes()).digest()
    if key not in _LAST_SHARP:
        _LAST_SHARP.clear()
        _LAST_SHARP[key] = _identity_encoder()(np.asarray(sharp), landmarks)
    return _LAST_SHARP[key]


def _uint8_batch(t: Tensor) -> Tensor:
    """(1, 3, H, W) float in [0, 1] -> uint8, the input torch-fidelity's Inception expects."""
    return (t * 255.0).round().to(torch.uint8)
