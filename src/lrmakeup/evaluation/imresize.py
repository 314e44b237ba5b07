"""MATLAB-compatible bicubic ``imresize`` (with MATLAB's antialiasing when shrinking).

NIQE's second scale is defined by MATLAB's ``imresize(img, 0.5)``: a Keys cubic kernel (a = -0.5)
that, when down-scaling, is stretched by ``1/scale`` so it also low-passes, with symmetric
(mirror, edge pixel repeated) padding at the borders. ``cv2.resize``/``torch.nn.functional.interpolate``
do neither the stretching nor the padding the same way, so NIQE values would drift.

The resize is separable: each axis becomes one ``(out, in)`` weight matrix, the padding folded into it.
"""

from __future__ import annotations

import math

import numpy as np


def cubic_kernel(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic'); support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = 1.5 * ax3 - 2.5 * ax2 + 1.0
    far = -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    return np.where(ax <= 1.0, near, np.where(ax <= 2.0, far, 0.0))


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    """Map any integer index into [0, length) by symmetric reflection (-1 -> 0, length -> length - 1)."""
    period = 2 * length
    index = np.mod(index, period)
    return np.where(index >= length, period - 1 - index, index)


def resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The ``(out_len, in_len)`` matrix that resizes one axis the way MATLAB's ``imresize`` does.

    Output pixel ``k`` (1-based) sits at input coordinate ``u = k / scale + (1 - 1 / scale) / 2``, so pixel
    centres line up (0.5 maps to 0.5). Each output pixel mixes the input pixels within half a kernel
    width of ``u``; weights are normalised to sum to 1, and taps outside the image reflect back in.
    """
    shrink_aa = antialias and scale < 1.0
    width = 4.0 / scale if shrink_aa else 4.0
    u = np.arange(1, out_len + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    first = np.floor(u - width / 2.0)
    taps = math.ceil(width) + 2  # one spare tap on each side; its weight is 0 or tiny
    idx = first[:, None] + np.arange(taps)[None, :]  # 1-based input indices, (out_len, taps)
    dist = u[:, None] - idx
    weights = scale * cubic_kernel(dist * scale) if shrink_aa else cubic_kernel(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)

    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), taps)
    cols = _mirror(idx.astype(np.int64).ravel() - 1, in_len)
    np.add.at(matrix, (rows, cols), weights.ravel())
    return matrix


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Bicubic resize of an ``(H, W)`` or ``(H, W, C)`` array, as MATLAB ``imresize(image, scale)``.

    Give either ``scale`` (same for both axes; output size ``ceil(H * scale), ceil(W * scale)``) or
    ``size = (out_h, out_w)`` (then each axis uses its own ``out / in`` ratio). Works in float64 and
    returns float64 without rounding or clipping, whatever the input range.
    """
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale and size")
    img = np.asarray(image, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) array, got shape {img.shape}")
    in_h, in_w = img.shape[:2]
    if size is None:
        out_h, out_w = math.ceil(in_h * scale), math.ceil(in_w * scale)
        scale_h = scale_w = float(scale)
    else:
        out_h, out_w = size
        scale_h, scale_w = out_h / in_h, out_w / in_w
    m_h = resize_matrix(in_h, out_h, scale_h, antialias)  # (out_h, in_h)
    m_w = resize_matrix(in_w, out_w, scale_w, antialias)  # (out_w, in_w)
    # rows first, then columns (the order MATLAB uses when both scales are equal)
    rows_done = np.einsum("oh,hw...->ow...", m_h, img)
    return np.einsum("pw,ow...->op...", m_w, rows_done)
