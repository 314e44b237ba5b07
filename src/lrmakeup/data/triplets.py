"""Renderer-made benchmark triplets (data/benchmark.py) as training tuples with exact targets.

A benchmark triplet is (bare source, reference = another face wearing look θ, target = the source wearing θ).
``TripletDataset`` yields the same items as ``TupleDataset`` (see data/tuples.py), with x̃_HR = the rendered
target instead of a teacher's guess. The model's view of each face is analysed from the triplet's 64x64 input,
exactly as at inference (landmarks on its 256 bicubic up-sampling, landmark-drawn parsing); the landmark and
parsing ground truth come from the sharp 256 source. Analyses are cached per triplet after first use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import PriorConfig
from ..errors import DataError
from ..face import FaceAnalyzer, landmark_heatmaps, nearest_resize, region_masks
from .benchmark import FORMAT, load_triplet
from .manifest import read_format
from .tuples import face_tensors, to_signed


class TripletDataset(Dataset):
    """Items of a benchmark split in the trainer's contract (keys of ``TupleDataset``).

    ``exclude_identities``: drop triplets whose source or reference identity is listed (keeps evaluation
    identities out of training when several data sets share photos).
    """

    def __init__(self, bench_dir: str | os.PathLike, split: str = "train", heatmap_sigma: float | None = None,
                 exclude_identities: set[str] | frozenset[str] = frozenset(), eye_margin: int = 16):
        self.root = Path(bench_dir)
        fmt, manifest = read_format(bench_dir)
        if fmt != FORMAT:
            raise DataError(f"{bench_dir} is not an lrmakeup benchmark (format {manifest.get('format')!r})")
        sizes = manifest["sizes"]
        self.image_size, self.input_size = int(sizes["hr"]), int(sizes["lr"])
        self.feature_size = self.image_size // 4
        # σ of the ground-truth heatmaps: the one setting, model.prior.heatmap_sigma (its default when not given)
        self.heatmap_sigma = PriorConfig().heatmap_sigma if heatmap_sigma is None else float(heatmap_sigma)
        self.eye_margin = eye_margin
        self.items = [t["id"] for t in manifest["triplets"] if t["split"] == split
                      and t["source_identity"] not in exclude_identities
                      and t["reference_identity"] not in exclude_identities]
        if not self.items:
            raise DataError(f"{bench_dir} has no '{split}' triplets to train on")
        self.analyzer: FaceAnalyzer | None = None
        self.cache: dict[str, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __getstate__(self) -> dict:  # DataLoader workers build their own dlib models
        return {**self.__dict__, "analyzer": None}

    def _record(self, image_lr: np.ndarray) -> dict[str, np.ndarray]:
        """The model's view of a 64x64 face, in the layout of ``tuples.face_record``."""
        if self.analyzer is None:
            self.analyzer = FaceAnalyzer(input_size=self.input_size, image_size=self.image_size,
                                         feature_size=self.feature_size, eye_margin=self.eye_margin)
        face = self.analyzer.analyze(image_lr, crop=False)
        full = region_masks(face.parsing, face.landmarks, self.image_size, self.eye_margin).astype(np.uint8)
        return {"image_lr": face.image_lr, "landmarks_lr": face.landmarks, "masks": face.masks,
                "masks_full": np.packbits(full, axis=-1)}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        tid = self.items[index]
        t = load_triplet(self.root / tid)
        if tid not in self.cache:
            self.cache[tid] = {**{f"x_{k}": v for k, v in self._record(t["source_lr"]).items()},
                               **{f"y_{k}": v for k, v in self._record(t["reference_lr"]).items()}}
        rec = self.cache[tid]
        x = {k[2:]: v for k, v in rec.items() if k.startswith("x_")}
        y = {k[2:]: v for k, v in rec.items() if k.startswith("y_")}
        item = {**face_tensors(x, "x", self.image_size), **face_tensors(y, "y", self.image_size)}
        item["target"] = to_signed(t["target"])
        item["heatmaps"] = torch.from_numpy(landmark_heatmaps(
            t["source_landmarks"], self.feature_size, self.heatmap_sigma, self.image_size))
        item["parsing"] = torch.from_numpy(nearest_resize(t["source_parsing"], self.feature_size).astype(np.int64))
        item["x_lr"] = to_signed(t["source_lr"])
        item["y_lr"] = to_signed(t["reference_lr"])
        item["x_hr"] = to_signed(t["source"])
        item["y_hr"] = to_signed(t["reference"])
        return item
