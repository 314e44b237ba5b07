"""Reading and writing face photos safely (the input side of METHOD §1 and §5).

Every image leaves this module as an ``(H, W, 3)`` uint8 RGB array, whatever its file format or mode,
with its EXIF orientation applied. Anything that cannot be decoded completely and safely (a missing
file, a non-image, a truncated file, a decompression bomb) raises :class:`ImageReadError` with a
one-line message naming the file. This module never sets ``ImageFile.LOAD_TRUNCATED_IMAGES``: a
truncated file must stay an error.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageReadError, InputError
from ..fileio import atomic_write

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
READ_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF")
WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def check_rgb_image(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) uint8 RGB array and return it C-contiguous (InputError otherwise)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"{what} must be an (H, W, 3) uint8 RGB array, got {got}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{what} is empty: shape {image.shape}")
    return np.ascontiguousarray(image)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG, JPEG, WebP, BMP or TIFF file -> (H, W, 3) uint8 RGB, EXIF orientation applied."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"cannot read image {path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"cannot read image {path}: it is a directory")
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses anything but a file
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fp:
            if not stat.S_ISREG(os.fstat(fp.fileno()).st_mode):
                raise ImageReadError(f"cannot read image {path}: not a regular file")
            os.set_blocking(fp.fileno(), True)
            return _decode(fp, str(path))
    except OSError as exc:  # permission denied and the like; decoding errors are handled in _decode
        raise ImageReadError(f"cannot read image {path}: {exc.strerror or exc}") from exc


def decode_image(data: bytes, name: str = "upload") -> np.ndarray:
    """Decode an image file held in memory (e.g. a web upload) -> (H, W, 3) uint8 RGB; errors name ``name``."""
    return _decode(io.BytesIO(data), name)


def _decode(fp: BinaryIO, name: str) -> np.ndarray:
    """Open, size-check (from the header), fully decode and convert one image file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp, formats=READ_FORMATS) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise ImageReadError(
                        f"cannot read image {name}: {width}x{height} pixels exceeds the limit of "
                        f"{MAX_PIXELS // 1_000_000} megapixels"
                    )
                im.load()  # decodes everything now, so a truncated file fails here
                im = ImageOps.exif_transpose(im)
                return _to_rgb(im, name)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"cannot read image {name}: too many pixels to decode safely") from exc
    except Image.UnidentifiedImageError as exc:
        formats = ", ".join(READ_FORMATS)
        raise ImageReadError(f"cannot read image {name}: not a supported image file ({formats})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageReadError(f"cannot read image {name}: corrupt or truncated ({reason})") from exc


def _to_rgb(im: Image.Image, name: str) -> np.ndarray:
    """Any supported Pillow mode -> (H, W, 3) uint8 RGB; transparency is composited onto white."""
    if im.mode in _SIXTEEN_BIT_MODES:
        # 16-bit grey (PNG/TIFF): map 0..65535 onto 0..255 (x / 257) instead of clipping at 255.
        grey = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if im.mode == "F":
        raise ImageReadError(f"cannot read image {name}: floating-point images are not supported")
    if im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an (H, W, 3) RGB or (H, W) grey/label uint8 array atomically; the extension picks the format.

    The image goes to a temporary file in the destination folder first, which then replaces ``path``
    in one step (``os.replace``), so ``path`` is never left half-written and an existing file survives
    a failed write untouched.
    """
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(WRITE_FORMATS))
        raise InputError(f"cannot write {path}: unknown image extension {path.suffix!r} (use one of {known})")
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InputError(f"cannot write {path}: expected a uint8 array, got {getattr(image, 'dtype', type(image))}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape:
        raise InputError(f"cannot write {path}: expected an (H, W, 3) or (H, W) array, got shape {image.shape}")
    picture = Image.fromarray(np.ascontiguousarray(image))
    atomic_write(path, lambda tmp: picture.save(tmp, format=fmt, **_SAVE_OPTIONS.get(fmt, {})))
