"""Judging a transfer on real photos, where no ground truth exists (``lrmakeup evaluate --real-pairs``).

Every non-makeup photo of an MT-layout folder is a source, every makeup photo a reference. Each photo is an
MT-style face crop: its centred square reduced to 64x64 (antialiased bicubic) is the model's input, the same
square at 256x256 is the *sharp* photo the result is compared with. Regions for scoring come from the MT label
maps (``segs/``; drawn from the landmarks where a map is missing) and dlib's landmarks on the sharp photo; the
model itself sees only what it would see in use (its own analysis of the 64x64 input).

Per pair and method (``METRICS``):

- ``carried_<region>``: did the region's mean colour (CIELAB) move toward the reference's by ≥ 1 ΔE00:
  ``ΔE00(src, ref) − ΔE00(out, ref) ≥ 1``, for lips, eye shadow and skin; ``de_<region>``: ``ΔE00(out, ref)``;
- ``ssim_out``, ``psnr_out``: SSIM and PSNR against the sharp source on the pixels outside every makeup region
  (background, hair, ears, neck: labels 0, 10-13), where a transfer should change nothing and an up-scale
  should restore detail;
- ``identity``: dlib face-descriptor distance to the sharp source (< 0.6: the same person);
- ``grad_ratio``: gradient energy (Sobel, luma) inside the face relative to the sharp source's (≈ 1: as sharp;
  > 1: artefacts; < 1: blur);
- ``niqe``: NIQE of the result (optional, slow).

Methods: ``bicubic`` (4x bicubic of the source, no makeup), ``classic`` (the classic teacher of
data/teachers.py run on the 64x64 inputs, then bicubic: the non-learned cascade a user would try first), and
``model`` (the checkpoint under test).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity
from tqdm.auto import tqdm

from ..data.mt import MTDataset
from ..data.tuples import seg_agreement
from ..errors import DataError, InputError
from ..face import FaceAnalysis, FaceAnalyzer, region_masks
from ..face.analysis import resize_bicubic
from ..face.io import write_image
from ..face.parsing import MT
from ..fileio import atomic_write
from .grid import example_grid
from .identity import IdentityEncoder, identity_distance

REGION_NAMES = ("lips", "skin", "eyes")  # REGIONS order
OUTSIDE_LABELS = (MT.BACKGROUND, MT.HAIR, MT.LEFT_EAR, MT.RIGHT_EAR, MT.NECK)
FACE_LABELS = tuple(range(1, 10))  # skin, brows, eyes, nose, lips, teeth
MIN_SEG_AGREEMENT = 0.3  # as data/tuples.py: below it the label map is ignored (landmark-drawn regions instead)
CARRIED_DE = 1.0  # ΔE00 a region's mean colour must move toward the reference's to count as carried
METHOD_LABELS = {
    "bicubic": "bicubic 4x (no makeup)",
    "classic": "classic teacher at 64x64 + bicubic",
    "model": "lrmakeup",
}


@dataclass
class RealFace:
    """One photo, analysed once: the model's view of its 64x64 input and what scoring needs of the sharp photo."""

    name: str
    sharp: np.ndarray  # (256, 256, 3) uint8: the photo's centred square at 256
    view: FaceAnalysis  # the model's analysis of the 64x64 input (landmark-drawn parsing, as in use)
    regions: np.ndarray  # (3, 256, 256) bool lips / skin / eye shadow of the sharp photo (MT labels)
    outside: np.ndarray  # (256, 256) bool: background, hair, ears, neck
    face: np.ndarray  # (256, 256) bool: skin, brows, eyes, nose, lips, teeth
    landmarks: np.ndarray  # (68, 2) (x, y) on the sharp photo

    def region_lab(self, image: np.ndarray) -> list[np.ndarray | None]:
        """Mean CIELAB colour of ``image`` inside each of this face's regions (None: region absent)."""
        lab = rgb2lab(image)
        return [lab[m].mean(0) if m.sum() >= 4 else None for m in self.regions]


class RealFaceLoader:
    """MT photos -> :class:`RealFace` (dlib on the sharp 256 square and on the 64x64 input's up-sampling)."""

    def __init__(self, input_size: int = 64, image_size: int = 256, eye_margin: int = 16):
        self.sharp_analyzer = FaceAnalyzer(input_size=image_size, image_size=image_size,
                                           feature_size=image_size // 4, eye_margin=eye_margin)
        self.view_analyzer = FaceAnalyzer(input_size=input_size, image_size=image_size,
                                          feature_size=input_size, eye_margin=eye_margin)
        self.image_size, self.eye_margin = image_size, eye_margin

    def __call__(self, name: str, photo: np.ndarray, seg: np.ndarray | None) -> RealFace:
        hr = self.sharp_analyzer.analyze(photo, crop=False, parsing=seg, name=name)
        if seg is not None and seg_agreement(hr) < MIN_SEG_AGREEMENT:  # a map in another label convention
            hr = self.sharp_analyzer.analyze(photo, crop=False, name=name)
        view = self.view_analyzer.analyze(photo, crop=False, name=name)
        regions = region_masks(hr.parsing, hr.landmarks, self.image_size, self.eye_margin) > 0.5
        return RealFace(name, hr.image_up, view, regions, np.isin(hr.parsing, OUTSIDE_LABELS),
                        np.isin(hr.parsing, FACE_LABELS), hr.landmarks)


def load_faces(root: str | Path, split: str, limit: int | None = None, progress: bool = True) -> list[RealFace]:
    """The ``split`` ("makeup" or "non-makeup") photos of an MT-layout folder, analysed; faces dlib cannot
    find are skipped (reported on stderr by the caller through the returned count)."""
    mt = MTDataset(root, missing_segs="landmarks")
    items = mt.makeup if split == "makeup" else mt.non_makeup
    items = list(items)[:limit] if limit else list(items)
    loader = RealFaceLoader()
    faces = []
    for item in tqdm(items, desc=f"analysing {split} photos", disable=not progress, unit="photo"):
        photo, seg = mt.read(item)
        try:
            faces.append(loader(item.name, photo, seg))
        except InputError:
            continue  # no usable face: the caller reports how many were used
    return faces


# ---- the methods ------------------------------------------------------------------------------------

Method = Callable[[RealFace, RealFace], np.ndarray]


def bicubic_method(src: RealFace, ref: RealFace) -> np.ndarray:
    return resize_bicubic(src.view.image_lr, src.sharp.shape[0])


def classic_method() -> Method:
    from ..data.teachers import ClassicTeacher

    teacher = ClassicTeacher()
    return lambda src, ref: teacher(src.view, ref.view)


def model_method(engine) -> Method:
    """A :class:`lrmakeup.api.MakeupTransfer` as a method (its own analysis of the 64x64 inputs)."""
    import torch

    def run(src: RealFace, ref: RealFace) -> np.ndarray:
        with torch.inference_mode():
            return engine.transfer(src.view, ref.view).image

    return run


# ---- the metrics ------------------------------------------------------------------------------------

def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def gradient_energy(image: np.ndarray, mask: np.ndarray) -> float:
    y = _luma(image)
    g = ndimage.sobel(y, 0) ** 2 + ndimage.sobel(y, 1) ** 2
    return float(g[mask].mean()) if mask.any() else math.nan


def masked_ssim_psnr(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    if not mask.any():
        return math.nan, math.nan
    _, full = structural_similarity(pred, target, channel_axis=2, data_range=255, full=True)
    mse = float(((pred.astype(np.float64) - target.astype(np.float64)) ** 2)[mask].mean())
    return float(full.mean(-1)[mask].mean()), (math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse))


def _de(a: np.ndarray, b: np.ndarray) -> float:
    return float(deltaE_ciede2000(a[None, None], b[None, None])[0, 0])


class PairScorer:
    """The metrics of one result against its source and reference (the module docstring lists them)."""

    def __init__(self, niqe: bool = False):
        self.identity = IdentityEncoder()
        self.niqe = niqe
        self._cache: dict[tuple[str, str], object] = {}

    def _cached(self, key: tuple[str, str], make: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def __call__(self, out: np.ndarray, src: RealFace, ref: RealFace) -> dict[str, float]:
        src_lab = self._cached(("lab", src.name), lambda: src.region_lab(src.sharp))
        ref_lab = self._cached(("lab", ref.name), lambda: ref.region_lab(ref.sharp))
        src_id = self._cached(("id", src.name), lambda: self.identity(src.sharp, src.landmarks))
        src_grad = self._cached(("grad", src.name), lambda: gradient_energy(src.sharp, src.face))
        scores: dict[str, float] = {}
        out_lab = src.region_lab(out)
        for r, region in enumerate(REGION_NAMES):
            if src_lab[r] is None or ref_lab[r] is None or out_lab[r] is None:
                scores[f"carried_{region}"] = scores[f"de_{region}"] = math.nan
                continue
            before, after = _de(src_lab[r], ref_lab[r]), _de(out_lab[r], ref_lab[r])
            scores[f"carried_{region}"] = float(before - after >= CARRIED_DE)
            scores[f"de_{region}"] = after
        scores["ssim_out"], scores["psnr_out"] = masked_ssim_psnr(out, src.sharp, src.outside)
        scores["identity"] = identity_distance(self.identity(out, src.landmarks), src_id)
        scores["grad_ratio"] = gradient_energy(out, src.face) / max(src_grad, 1e-9)
        if self.niqe:
            from .niqe import niqe

            scores["niqe"] = niqe(out)
        return scores


# ---- the run ----------------------------------------------------------------------------------------

@dataclass
class RealPairsResult:
    table: dict[str, dict[str, float]]  # method -> aggregated metric
    per_pair: list[dict]  # every (source, reference, method) score
    pairs: int
    sources: int
    references: int


AGGREGATES = (  # (column, per-pair metric, how) in the report's order
    ("lips carried", "carried_lips", "mean"),
    ("eye shadow carried", "carried_eyes", "mean"),
    ("skin carried", "carried_skin", "mean"),
    ("ΔE00 lips→ref (median)", "de_lips", "median"),
    ("ΔE00 eyes→ref (median)", "de_eyes", "median"),
    ("ΔE00 skin→ref (median)", "de_skin", "median"),
    ("SSIM outside", "ssim_out", "mean"),
    ("PSNR outside", "psnr_out", "mean"),
    ("identity (median)", "identity", "median"),
    ("gradient ratio (median)", "grad_ratio", "median"),
    ("NIQE", "niqe", "mean"),
)


def aggregate(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for column, key, how in AGGREGATES:
        values = np.array([r[key] for r in rows if key in r and not math.isnan(r[key])], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            out[column] = float(np.median(values) if how == "median" else values.mean())
    return out


def plan_pairs(sources: Sequence[RealFace], references: Sequence[RealFace], limit: int | None,
               seed: int = 0) -> list[tuple[int, int]]:
    """All sources x references, or ``limit`` of them drawn without replacement (seeded)."""
    pairs = [(i, j) for i in range(len(sources)) for j in range(len(references))]
    if limit and limit < len(pairs):
        rng = np.random.default_rng(seed)
        pairs = [pairs[k] for k in sorted(rng.choice(len(pairs), limit, replace=False))]
    return pairs


def evaluate_real_pairs(root: str | Path, methods: dict[str, Method], out_dir: str | Path | None = None,
                        pairs: int | None = None, seed: int = 0, niqe: bool = False, grid_rows: int = 8,
                        progress: bool = True, faces: tuple[list[RealFace], list[RealFace]] | None = None
                        ) -> RealPairsResult:
    """Score every method on the real pairs of ``root``; write results.md / results.json / grid.png to ``out_dir``."""
    sources, references = faces or (load_faces(root, "non-makeup", progress=progress),
                                    load_faces(root, "makeup", progress=progress))
    if not sources or not references:
        raise DataError(f"{root}: no usable source or reference photo (dlib found no face)")
    plan = plan_pairs(sources, references, pairs, seed)
    scorer = PairScorer(niqe=niqe)
    rows: list[dict] = []
    grid: list[list[np.ndarray]] = []
    for i, j in tqdm(plan, desc="real pairs", disable=not progress, unit="pair"):
        src, ref = sources[i], references[j]
        cells = [src.view.image_lr, ref.view.image_lr]
        for name, method in methods.items():
            out = method(src, ref)
            rows.append({"source": src.name, "reference": ref.name, "method": name, **scorer(out, src, ref)})
            cells.append(out)
        if len(grid) < grid_rows:
            grid.append(cells + [src.sharp])
    table = {name: aggregate([r for r in rows if r["method"] == name]) for name in methods}
    result = RealPairsResult(table, rows, len(plan), len(sources), len(references))
    if out_dir is not None:
        write_report(result, methods, out_dir, grid)
    return result


def format_table(result: RealPairsResult) -> str:
    columns = [c for c, _, _ in AGGREGATES if any(c in t for t in result.table.values())]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, agg in result.table.items():
        cells = []
        for c in columns:
            v = agg.get(c)
            cells.append("n/a" if v is None else (f"{100 * v:.1f} %" if "carried" in c else f"{v:.3f}"))
        lines.append(f"| {METHOD_LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(result: RealPairsResult, methods: dict[str, Method], out_dir: str | Path,
                 grid: list[list[np.ndarray]]) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = (f"# Real pairs: {result.pairs} pairs ({result.sources} sources x {result.references} references)\n\n"
            f"{format_table(result)}\n\n"
            f"carried: share of pairs whose region mean colour moved toward the reference's by >= {CARRIED_DE} "
            "ΔE00. SSIM / PSNR: against the sharp source outside every makeup region (background, hair, ears, "
            "neck). identity: dlib face-descriptor distance to the sharp source (< 0.6 same person). gradient "
            "ratio: face gradient energy / the sharp source's.\n")
    if result.pairs == 1:
        text += "\nWarning: scores from a single pair.\n"
    atomic_write(out / "results.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    payload = json.dumps({"table": result.table, "pairs": result.per_pair}, indent=1)
    atomic_write(out / "results.json", lambda tmp: Path(tmp).write_text(payload, encoding="utf-8"))
    if grid:
        columns = ["source 64", "reference 64", *(METHOD_LABELS.get(m, m) for m in methods), "sharp source"]
        write_image(out / "grid.png", example_grid(columns, grid))
