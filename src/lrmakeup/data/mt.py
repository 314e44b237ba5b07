"""Reader of the MT makeup dataset's folder layout (METHOD §3).

    ROOT/images/makeup/*.png       faces with makeup (the references y)
    ROOT/images/non-makeup/*.png   faces without makeup (the sources x)
    ROOT/segs/makeup/*.png         MT label maps (14 labels, METHOD §5), same names and sizes as the photos
    ROOT/segs/non-makeup/*.png
    ROOT/makeup.txt                one photo a line, relative to images/ (``makeup/vFG112.png``)
    ROOT/non-makeup.txt

MT photos are already face crops (361x361 in MT). The layout is checked when the reader is built (lists
present, every listed photo present, no path leaving the root, no duplicates); a problem raises
:class:`DataError` naming the file. A missing label map is an error by default; with
``missing_segs="landmarks"`` the item's ``seg_path`` is None and face analysis draws the MT map from dlib's
landmarks instead (``face.parsing.parsing_from_landmarks``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ..errors import DataError, ImageReadError
from ..face.io import read_image
from ..face.parsing import MT

LISTS = {"makeup": "makeup.txt", "non-makeup": "non-makeup.txt"}
MISSING_SEGS = ("error", "landmarks")


@dataclass(frozen=True)
class MTItem:
    """One listed photo. ``name`` is its path relative to ``images/`` as the list spells it."""

    name: str  # e.g. "non-makeup/00036.png"
    image_path: Path
    seg_path: Path | None  # None: no label map (only with missing_segs="landmarks")
    makeup: bool


class MTDataset:
    """The photos and label maps of an MT-layout folder: ``.makeup`` (references) and ``.non_makeup`` (sources)."""

    def __init__(self, root: str | os.PathLike, missing_segs: str = "error"):
        if missing_segs not in MISSING_SEGS:
            raise DataError(f"missing_segs must be one of {', '.join(MISSING_SEGS)}, got {missing_segs!r}")
        self.root = Path(root)
        self.missing_segs = missing_segs
        if not self.root.is_dir():
            raise DataError(f"MT dataset folder not found: {self.root}")
        for sub in ("images", "segs"):
            if not (self.root / sub).is_dir() and not (sub == "segs" and missing_segs == "landmarks"):
                raise DataError(f"{self.root} is not an MT-layout folder: it has no '{sub}/' subfolder")
        self.makeup = self._read_list("makeup")
        self.non_makeup = self._read_list("non-makeup")
        self._by_name = {item.name: item for item in self.makeup + self.non_makeup}

    def _read_list(self, kind: str) -> list[MTItem]:
        list_path = self.root / LISTS[kind]
        if not list_path.is_file():
            raise DataError(f"{self.root} is not an MT-layout folder: list file {LISTS[kind]} is missing")
        try:
            lines = list_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read {list_path}: {exc}") from exc
        items, seen = [], set()
        for number, line in enumerate(lines, 1):
            name = line.strip().replace("\\", "/")
            if not name or name.startswith("#"):
                continue
            where = f"{list_path}, line {number}"
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts:
                raise DataError(f"{where}: '{name}' must be a path relative to images/")
            if name in seen:
                raise DataError(f"{where}: '{name}' is listed twice")
            seen.add(name)
            image_path = self.root / "images" / rel
            if not image_path.is_file():
                raise DataError(f"{where}: listed photo images/{name} is missing")
            seg_path = self.root / "segs" / rel
            if not seg_path.is_file():
                if self.missing_segs == "error":
                    raise DataError(
                        f"{where}: label map segs/{name} is missing (use missing_segs='landmarks' to draw "
                        "parsing from landmarks instead)"
                    )
                seg_path = None
            items.append(MTItem(name, image_path, seg_path, kind == "makeup"))
        if not items:
            raise DataError(f"{list_path} lists no photos")
        return items

    def __len__(self) -> int:
        return len(self._by_name)

    def __getitem__(self, name: str) -> MTItem:
        try:
            return self._by_name[name]
        except KeyError as exc:
            raise DataError(f"'{name}' is not listed in {self.root}") from exc

    def read(self, item: MTItem | str) -> tuple[np.ndarray, np.ndarray | None]:
        """The photo (H, W, 3) uint8 RGB and its MT label map (H, W) uint8 (None without one)."""
        if isinstance(item, str):
            item = self[item]
        try:
            image = read_image(item.image_path)
        except ImageReadError as exc:
            raise DataError(str(exc)) from exc
        seg = None if item.seg_path is None else read_seg(item.seg_path)
        if seg is not None and seg.shape != image.shape[:2]:
            raise DataError(
                f"label map {item.seg_path} is {seg.shape[1]}x{seg.shape[0]} but its photo is "
                f"{image.shape[1]}x{image.shape[0]}"
            )
        return image, seg


def read_seg(path: str | os.PathLike) -> np.ndarray:
    """An MT label map file -> (H, W) uint8 labels 0..13 (single-channel, palette, or grey RGB PNGs)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "P":
                labels = np.asarray(im)  # palette indices are the labels
            elif im.mode in ("L", "I", "I;16"):
                labels = np.asarray(im)
            elif im.mode in ("RGB", "RGBA"):
                rgb = np.asarray(im.convert("RGB"))
                if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
                    raise DataError(f"label map {path} is a colour image, expected one label per pixel")
                labels = rgb[..., 0]
            else:
                raise DataError(f"label map {path} has unsupported mode {im.mode}")
    except DataError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read label map {path}: {' '.join(str(exc).split())}") from exc
    labels = np.asarray(labels)
    if labels.size and labels.max() >= len(MT):
        raise DataError(f"label map {path} has label {int(labels.max())}; MT labels are 0..{len(MT) - 1}")
    return labels.astype(np.uint8)
