"""Evaluation sets: one uniform sample type over the data formats lrmakeup writes (METHOD.md §4).

``open_eval_set(folder, split)`` reads ``folder/manifest.json`` and picks the reader by its ``"format"``:

- ``lrmakeup-tuples`` (``lrmakeup prepare``, :mod:`lrmakeup.data.tuples`): the target *is* the teacher's
  256x256 result, so the teacher is the reference row of the table, not a competitor;
- ``lrmakeup-benchmark-v1`` (:mod:`lrmakeup.data.benchmark`, synthetic looks rendered on bare faces): the
  target is the exactly rendered look, and the classic teacher is scored as a baseline at 256x256.

Every reader yields :class:`EvalSample`; everything downstream (runner, baselines, grid) sees only that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.manifest import MANIFEST, read_format
from ..errors import DataError
from ..face.analysis import FaceAnalysis
from ..models.inputs import REGIONS, FaceBatch, to_uint8_image

TUPLES_FORMAT = "lrmakeup-tuples"


@dataclass
class EvalSample:
    """One evaluation case. S = image size (256), F = feature size (64)."""

    name: str  # "source|reference", for file names and the report
    source: FaceBatch  # (1, ...) the generator's view of the 64x64 source
    reference: FaceBatch  # (1, ...) the same for the reference
    target: np.ndarray  # (S, S, 3) uint8: what the result is scored against
    regions: dict[str, np.ndarray]  # "lips"/"eyes"/"skin" -> (S, S) bool, the source's makeup regions
    source_image: np.ndarray  # (S, S, 3) uint8: bicubic up-sampling of x_LR (identity is scored against it)
    reference_image: np.ndarray  # (S, S, 3) uint8: bicubic up-sampling of y_LR (for the figure)
    teacher_faces: tuple[FaceAnalysis, FaceAnalysis] | None = None  # full-resolution analyses for a teacher
    extra: dict[str, Any] = field(default_factory=dict)
    inputs_lr: tuple[Any, Any] | None = None  # (1, 3, s, s) x_LR, y_LR in [-1, 1]: what a compact G_M reads

    def model_view(self, makeup_size: int) -> tuple[FaceBatch, FaceBatch]:
        """(source, reference) as a generator whose G_M reads ``makeup_size`` images wants them: the bicubic
        up-sampling (PSGAN's layout) or the 64x64 inputs themselves (model.makeup.resolution=input)."""
        if self.source.image.shape[-1] == makeup_size or self.inputs_lr is None:
            return self.source, self.reference
        x_lr, y_lr = self.inputs_lr
        return (FaceBatch(x_lr, self.source.masks, self.source.pos),
                FaceBatch(y_lr, self.reference.masks, self.reference.pos))


class EvalSet(Sequence):
    """A list of :class:`EvalSample` plus what the report needs to know about where they came from."""

    format: str = ""
    split: str = "test"
    image_size: int = 256
    input_size: int = 64
    target_is_teacher: bool = False  # True: a "teacher" baseline would be the target itself
    teacher_spec: str | None = None  # which teacher made the targets (tuples) or can be run (benchmark)
    root: Path

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.root), "format": self.format, "split": self.split, "samples": len(self),
                "image_size": self.image_size, "input_size": self.input_size,
                "target_is_teacher": self.target_is_teacher, "teacher": self.teacher_spec}


def open_eval_set(folder: str | Path, split: str = "test") -> EvalSet:
    """The evaluation set in ``folder``, read by the reader its manifest's ``format`` names."""
    fmt, _ = read_format(folder)
    if fmt == TUPLES_FORMAT:
        return TupleEvalSet(folder, split)
    if fmt.startswith("lrmakeup-benchmark"):
        return BenchmarkEvalSet(folder, split)
    raise DataError(f"{Path(folder) / MANIFEST}: unknown data format {fmt!r} "
                    f"(expected {TUPLES_FORMAT!r} or a synthetic benchmark)")


def _u8(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8 (exact for images that were uint8 on disk)."""
    return to_uint8_image(t)


def _regions(masks: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
    """(3, H, W) masks in REGIONS order (lips, skin, eyes) -> {name: (H, W) bool}."""
    m = masks.numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
    return {name: m[i] > 0.5 for i, name in enumerate(REGIONS)}


class TupleEvalSet(EvalSet):
    """The ``test`` (or ``train``) tuples of a prepared folder; target = the teacher's x̃_HR."""

    def __init__(self, folder: str | Path, split: str = "test"):
        from ..data.tuples import TupleDataset

        self.root = Path(folder)
        self.data = TupleDataset(folder, split)
        self.format, self.split = TUPLES_FORMAT, split
        self.image_size, self.input_size = self.data.image_size, self.data.input_size
        self.target_is_teacher = True
        self.teacher_spec = self.data.manifest.get("teacher")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> EvalSample:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        item = self.data[index % len(self)]
        x, y = self.data.names(index % len(self))
        return EvalSample(
            name=f"{x}|{y}",
            source=FaceBatch(item["x_image"][None], item["x_masks"][None], item["x_pos"][None]),
            reference=FaceBatch(item["y_image"][None], item["y_masks"][None], item["y_pos"][None]),
            target=_u8(item["target"]),
            regions=_regions(item["x_masks_full"]),
            source_image=_u8(item["x_image"]),
            reference_image=_u8(item["y_image"]),
            inputs_lr=(item["x_lr"][None], item["y_lr"][None]),
        )


class BenchmarkEvalSet(EvalSet):
    """A synthetic benchmark (``lrmakeup-benchmark-v1``, :mod:`lrmakeup.data.benchmark`): exact targets.

    The model's view of each face is the bicubic 256 up-sampling of its 64x64 image (``source_lr``,
    ``reference_lr``); its region masks and position features come from the landmarks and parsing the
    benchmark stores (found on the sharp 256x256 face), not from a fresh analysis of the blurry view — a
    slightly optimistic analysis, the same for the method and every baseline. Scoring regions are the
    target's ``target_masks`` at 256. The classic teacher can run on the sharp 256x256 source and reference.
    Triplets the manifest lists but that are not on disk (a build still running) are skipped.
    """

    def __init__(self, folder: str | Path, split: str = "test", eye_margin: int = 16):
        from ..data import benchmark

        self.root = Path(folder)
        self.format, manifest = read_format(folder)
        if self.format != benchmark.FORMAT:
            raise DataError(f"{folder}: benchmark format {self.format!r}, this lrmakeup reads {benchmark.FORMAT!r}")
        if split not in benchmark.SPLITS:
            raise DataError(f"split must be one of {', '.join(benchmark.SPLITS)}, got {split!r}")
        self.split = split
        sizes = manifest.get("sizes", {})
        self.image_size = int(sizes.get("hr", benchmark.HR_SIZE))
        self.input_size = int(sizes.get("lr", benchmark.LR_SIZE))
        self.feature_size = self.image_size // 4
        self.eye_margin = eye_margin
        self.target_is_teacher = False
        self.teacher_spec = "classic"
        self._load = benchmark.load_triplet
        self.ids = [t["id"] for t in manifest.get("triplets", [])
                    if t.get("split") == split and (self.root / t["id"]).is_dir()]

    def __len__(self) -> int:
        return len(self.ids)

    def _face(self, image: np.ndarray, image_lr: np.ndarray, landmarks: np.ndarray, parsing: np.ndarray
              ) -> tuple[FaceBatch, np.ndarray, FaceAnalysis]:
        from ..face.analysis import resize_bicubic
        from ..face.regions import position_features, region_masks

        up = resize_bicubic(image_lr, self.image_size)
        masks = region_masks(parsing, landmarks, self.feature_size, self.eye_margin)
        pos = position_features(landmarks, masks, self.image_size)
        hr = FaceAnalysis(image_lr=image, image_up=image, landmarks=landmarks.astype(np.float32), parsing=parsing,
                          masks=masks, pos=pos, crop_box=(0, 0, self.image_size, self.image_size),
                          face_box=(0, 0, self.image_size, self.image_size), num_faces=1)
        return FaceBatch.from_arrays(up, masks, pos), up, hr

    def __getitem__(self, index: int) -> EvalSample:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        tid = self.ids[index % len(self)]
        t = self._load(self.root / tid)
        src, src_up, src_hr = self._face(t["source"], t["source_lr"], t["source_landmarks"], t["source_parsing"])
        ref, ref_up, ref_hr = self._face(t["reference"], t["reference_lr"], t["reference_landmarks"],
                                         t["reference_parsing"])
        return EvalSample(
            name=tid, source=src, reference=ref, target=t["target"], regions=_regions(t["target_masks"]),
            source_image=src_up, reference_image=ref_up, teacher_faces=(src_hr, ref_hr),
            extra={"style": t["meta"].get("style")},
            inputs_lr=(FaceBatch.from_arrays(t["source_lr"], src.masks[0], src.pos[0]).image,
                       FaceBatch.from_arrays(t["reference_lr"], ref.masks[0], ref.pos[0]).image),
        )
