"""NIQE, the no-reference "Natural Image Quality Evaluator" (Mittal et al., 2013), as in MATLAB's release.

Table 1 of the paper reports NIQE↓ (METHOD.md §4). This is the standard MATLAB NIQE with its published
pristine model, following the conventions BasicSR's reimplementation uses (our own code; only the
pristine parameters are vendored, see ``data/NOTICE``):

1. the image is reduced to its BT.601 luma ``Y`` (MATLAB ``rgb2ycbcr``, range [16, 235]) and rounded;
2. it is cropped to whole 96x96 blocks (top-left anchored, no overlap);
3. at two scales (full, and MATLAB bicubic ``imresize`` by 0.5 with antialiasing) the mean-subtracted
   contrast-normalised (MSCN) coefficients are computed with a 7x7 Gaussian (sigma 7/6), and per block
   18 features are fitted: a generalized Gaussian (shape, spread) on the MSCN values and an asymmetric
   generalized Gaussian (shape, mean, left and right spreads) on the products of horizontally,
   vertically and both diagonally adjacent MSCN values, giving 36 features per block;
4. a multivariate Gaussian fitted to the blocks' features is compared with the pristine one:
   ``NIQE = sqrt((mu_p - mu) ((S_p + S) / 2)^+ (mu_p - mu)^T)``.

Lower is better. Reference value: ``niqe(skimage.data.astronaut()) = 3.0649`` (BasicSR: 3.06494766...).

Image conventions (the same everywhere in ``lrmakeup.evaluation``): numpy arrays are ``(H, W, 3)`` RGB
or ``(H, W)`` grey/luma; uint8 means [0, 255], floats mean [0, 1]. Torch tensors are ``(3, H, W)`` or
``(1, 3, H, W)`` in [0, 1]. A 2-D input is taken to be the luma channel already.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from lrmakeup.errors import InputError
from lrmakeup.evaluation.imresize import imresize

BLOCK_SIZE = 96  # the block size the pristine model was fitted with
_SHAPE_GRID = 0.2 + 0.001 * np.arange(9801)  # candidate shape parameters 0.2 ... 10.0, step 0.001
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # horizontal, vertical, main and anti diagonal


@dataclass(frozen=True)
class PristineModel:
    """The multivariate Gaussian of the 36 NIQE features over pristine natural images."""

    mu: np.ndarray  # (36,)
    cov: np.ndarray  # (36, 36)
    window: np.ndarray  # (7, 7) Gaussian used for the MSCN normalisation


@functools.lru_cache(maxsize=1)
def load_pristine_model() -> PristineModel:
    """Read the vendored ``niqe_pris_params.npz`` (MATLAB release parameters, via BasicSR)."""
    ref = resources.files("lrmakeup.evaluation").joinpath("data").joinpath("niqe_pris_params.npz")
    with resources.as_file(ref) as path, np.load(path) as npz:
        return PristineModel(
            mu=np.asarray(npz["mu_pris_param"], dtype=np.float64).reshape(-1),
            cov=np.asarray(npz["cov_pris_param"], dtype=np.float64),
            window=np.asarray(npz["gaussian_window"], dtype=np.float64),
        )


def gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: a normalised ``(size, size)`` Gaussian."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma * sigma))
    return g / g.sum()


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as MATLAB ``rgb2ycbcr`` (and BasicSR ``rgb2ycbcr(y_only=True)``): ``(H, W)`` in [16, 235].

    ``image`` is ``(H, W, 3)`` RGB, uint8 in [0, 255] or float in [0, 1]. Returns float64 in the 8-bit
    scale, not rounded.
    """
    rgb = _unit_range(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError(f"expected an (H, W, 3) RGB image, got shape {rgb.shape}")
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])


def mscn(image: np.ndarray, window: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(I - mu) / (sigma + 1)`` (NIQE eq. 1).

    Local mean and deviation use ``window``, with the border pixels replicated (MATLAB 'replicate').
    ``dtype`` is the precision of the intermediate maps. float32 is the default because BasicSR (whose
    numbers are the reference) works in float32, and it matters: where an image is perfectly flat,
    ``sigma`` is rounding noise and so are those blocks' features (astronaut: 3.0646 in float32,
    3.0936 in float64). Pass ``np.float64`` to get the "exact arithmetic" reading.
    """
    img = np.asarray(image, dtype=dtype)
    mu = ndimage.correlate(img, window, mode="nearest")  # computed in float64, stored in ``dtype``
    var = ndimage.correlate(img * img, window, mode="nearest") - mu * mu
    return (img - mu) / (np.sqrt(np.abs(var)) + 1)


def _ratio_table() -> np.ndarray:
    """``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))`` over the shape grid: the moment ratio a GGD of shape a has."""
    inv = 1.0 / _SHAPE_GRID
    return gamma_fn(2 * inv) ** 2 / (gamma_fn(inv) * gamma_fn(3 * inv))


def fit_aggd(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching fit of an asymmetric generalized Gaussian to each row of ``samples`` ``(N, n)``.

    Returns ``(shape, left_scale, right_scale)``, each ``(N,)``. The shape is the grid value (0.2 to 10 in
    steps of 0.001) whose moment ratio is closest to the sample's, corrected for asymmetry (NIQE eq. 7).
    A row without negative or without positive values gets NaN, which the pooling step ignores.
    """
    x = np.asarray(samples, dtype=np.float64)
    neg, pos = x < 0, x > 0
    sq = x * x
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma_l = np.sqrt((sq * neg).sum(1) / neg.sum(1))
        sigma_r = np.sqrt((sq * pos).sum(1) / pos.sum(1))
        asym = sigma_l / sigma_r
        r_hat = np.abs(x).mean(1) ** 2 / sq.mean(1)
        r_norm = r_hat * (asym**3 + 1) * (asym + 1) / (asym**2 + 1) ** 2
    best = np.argmin((_ratio_table()[None, :] - r_norm[:, None]) ** 2, axis=1)
    shape = _SHAPE_GRID[best]
    shape = np.where(np.isnan(r_norm), np.nan, shape)
    spread = np.sqrt(gamma_fn(1 / shape) / gamma_fn(3 / shape))
    return shape, sigma_l * spread, sigma_r * spread


def block_features(coeffs: np.ndarray, block: int) -> np.ndarray:
    """The 18 NIQE features of every ``block x block`` tile of an MSCN map: ``(num_blocks, 18)``.

    Per tile: GGD ``[shape, mean spread]`` of the coefficients, then for each of the four neighbour
    directions the AGGD ``[shape, mean, left spread, right spread]`` of coefficient x neighbour, where the
    neighbour wraps around inside the tile (MATLAB ``circshift``). Tiles are ordered column-major.
    """
    rows, cols = coeffs.shape[0] // block, coeffs.shape[1] // block
    tiles = coeffs[: rows * block, : cols * block].reshape(rows, block, cols, block)
    tiles = tiles.transpose(2, 0, 1, 3).reshape(rows * cols, block, block)  # column-major tile order

    shape, left, right = fit_aggd(tiles.reshape(len(tiles), -1))
    feats = [shape, (left + right) / 2]
    for shift in _NEIGHBOURS:
        products = tiles * np.roll(tiles, shift, axis=(1, 2))
        shape, left, right = fit_aggd(products.reshape(len(tiles), -1))
        mean = (right - left) * gamma_fn(2 / shape) / gamma_fn(1 / shape)  # NIQE eq. 8
        feats += [shape, mean, left, right]
    return np.stack(feats, axis=1)


def niqe_luma(
    y: np.ndarray,
    block_size: int = BLOCK_SIZE,
    model: PristineModel | None = None,
    dtype: type = np.float32,
) -> float:
    """NIQE of a luma image ``y`` ``(H, W)`` already in the 8-bit scale [0, 255] (and rounded if desired).

    ``dtype``: precision of the MSCN maps, see :func:`mscn`. Returns ``nan`` for an image without
    texture (every block flat), where the feature fits are undefined.
    """
    model = model or load_pristine_model()
    y = np.asarray(y, dtype=np.float64)
    rows, cols = y.shape[0] // block_size, y.shape[1] // block_size
    if rows == 0 or cols == 0:
        raise InputError(f"NIQE needs at least one {block_size}x{block_size} block, got an image of {y.shape}")
    img = y[: rows * block_size, : cols * block_size]

    per_scale = []
    for scale in (1, 2):
        per_scale.append(block_features(mscn(img, model.window, dtype), block_size // scale))
        if scale == 1:
            img = imresize(img / 255.0, scale=0.5, antialias=True) * 255.0
    feats = np.concatenate(per_scale, axis=1)  # (num_blocks, 36)

    complete = feats[~np.isnan(feats).any(axis=1)]
    if len(complete) == 0:
        return math.nan  # no block has texture on both sides of zero (a flat image): NIQE is undefined
    mu = np.nanmean(feats, axis=0)
    # one block has no spread: its covariance is zero (MATLAB's cov of a single observation)
    cov = np.cov(complete, rowvar=False) if len(complete) > 1 else np.zeros_like(model.cov)
    diff = model.mu - mu
    dist2 = diff @ np.linalg.pinv((model.cov + cov) / 2.0) @ diff
    return float(math.sqrt(dist2))  # NIQE eq. 10


def niqe(image, crop_border: int = 0, convert_to: str = "y", block_size: int = BLOCK_SIZE) -> float:
    """NIQE of one image (lower is better), matching MATLAB NIQE / BasicSR ``calculate_niqe``.

    ``image``: ``(H, W, 3)`` RGB or ``(H, W)`` luma numpy array (uint8 [0, 255] or float [0, 1]), or a
    ``(3, H, W)`` / ``(1, 3, H, W)`` torch tensor in [0, 1]. ``convert_to``: ``"y"`` (BT.601 luma, the
    standard) or ``"gray"`` (``0.299 R + 0.587 G + 0.114 B``). ``crop_border`` pixels are dropped on every
    side first. The luma is rounded to integers, as MATLAB sees an 8-bit image. Needs at least one
    ``block_size`` square after cropping.
    """
    arr = _to_numpy_hwc(image)
    if arr.ndim == 3:
        if convert_to == "y":
            luma = rgb_to_y(arr)
        elif convert_to == "gray":
            luma = _unit_range(arr) @ np.array([0.299, 0.587, 0.114]) * 255.0
        else:
            raise ValueError(f"convert_to must be 'y' or 'gray', got {convert_to!r}")
    else:
        luma = _unit_range(arr) * 255.0
    if crop_border:
        luma = luma[crop_border:-crop_border, crop_border:-crop_border]
    return niqe_luma(np.round(luma), block_size=block_size)


def _to_numpy_hwc(image) -> np.ndarray:
    """numpy ``(H, W[, C])`` as is; torch ``(3, H, W)`` / ``(1, 3, H, W)`` -> ``(H, W, 3)`` float."""
    if hasattr(image, "detach"):  # a torch tensor; imported lazily so NIQE needs no torch
        t = image.detach().cpu()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise InputError(f"expected a single image, got a batch of shape {tuple(t.shape)}")
            t = t[0]
        if t.dim() == 3:
            t = t.permute(1, 2, 0)
        arr = t.numpy()
        return arr.astype(np.float64) if arr.dtype != np.uint8 else arr
    return np.asarray(image)


def _unit_range(image: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float64 [0, 1]; floats are taken to be in [0, 1] already."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"expected uint8 or float pixels, got {arr.dtype}")
    return arr.astype(np.float64)
