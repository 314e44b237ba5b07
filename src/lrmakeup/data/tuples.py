"""Training tuples of METHOD §3: ``prepare`` builds them from an MT-layout folder, ``TupleDataset`` reads them.

A tuple is a random non-makeup source x and makeup reference y; the teacher transfers y's makeup onto x at full
resolution (``image_size``, 256) and that is the target x̃_HR. The model's inputs are x_LR, y_LR
(``input_size``, 64, antialiased bicubic reduction of the photo's crop) and everything the face analysis
derives from their bicubic 256 up-sampling, exactly as at inference (``FaceAnalyzer.analyze(crop=False)``:
MT photos are already face crops).

Ground truth, and the choices made:
- parsing: the MT label map of the *source photo* (``segs/``), cropped like the photo and nearest-resized to
  ``feature_size``. The paper runs BiSeNet on the teacher's result instead; the source's labels are the
  human-made ones and the teacher keeps the source's geometry, so they describe the target as well.
- landmarks: dlib's 68 points on the sharp full-resolution crop of the source (``image_size`` coordinates);
  the Dataset turns them into Gaussian heatmaps (``face.regions.landmark_heatmaps``) with a chosen sigma.
- a face is skipped (never drawn; listed with its reason in the manifest) when dlib finds no face in the
  photo (``no_face``) or when its label map contradicts its landmarks (``bad_seg``: under
  ``min_seg_agreement`` of the landmark-outlined face labelled skin/nose, e.g. a map in another label
  convention).
- the test split is held apart by identity: MT has one photo per person, so test *source photos* never occur
  in train. References are drawn from all makeup photos in both splits (shared between splits).

On disk (``OUT/``), every file written atomically (temporary file + rename), safetensors throughout:

    manifest.json                 written last; format/version, settings, counts, split, shard lists
    faces/faces-00000.safetensors per-face caches shared by all tuples (a face is analysed once), stacked rows:
        image_lr (n, s, s, 3) u8         x_LR / y_LR
        image_hr (n, S, S, 3) u8         the full-resolution crop the teacher sees
        landmarks_lr (n, 68, 2) f32      dlib on the bicubic up-sampling of image_lr (the model's view)
        landmarks_hr (n, 68, 2) f32      dlib on image_hr (landmark ground truth)
        parsing (n, S, S) u8             MT labels of the crop
        masks (n, 3, F, F) u8            region masks of the model's view (REGIONS order)
        masks_full (n, 3, S, S/8) u8     the same regions at image resolution, bit-packed (np.packbits)
        crop_box, face_box (n, 4) i32; num_faces (n,) i32
      metadata: JSON ``names`` (rows), ``failed`` ({name: reason} of skipped faces), the settings fingerprint.
    train/tuples-00000.safetensors, test/...: ``target`` (n, S, S, 3) u8, metadata ``x`` / ``y`` name lists.

Position features (136, F, F) are not stored: the Dataset recomputes them from ``landmarks_lr`` and ``masks``
with ``face.regions.position_features`` (3 ms, bit-identical to the analysis), which saves 1.1-2.2 MB per face
and avoids fp16 rounding that the attention's x200 temperature would amplify.

Re-running ``prepare`` with the same settings skips finished shards (face and tuple shards); an interrupted
run leaves only whole shards behind and resumes from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..config import PriorConfig
from ..errors import DataError, InputError
from ..face.analysis import FaceAnalysis, FaceAnalyzer, resize_bicubic
from ..face.parsing import MT, parsing_from_landmarks
from ..face.regions import landmark_heatmaps, nearest_resize, position_features, region_masks
from ..fileio import atomic_write
from ..models.inputs import FaceBatch
from .manifest import MANIFEST, read_format
from .mt import MTDataset
from .teachers import Teacher, make_teacher

FORMAT = "lrmakeup-tuples"
VERSION = 1
SPLITS = ("train", "test")
NO_FACE = "no_face"  # dlib found no face in the photo
BAD_SEG = "bad_seg"  # the label map contradicts the landmarks (another label convention, a wrong file)
FACE_SKIN = (MT.SKIN, MT.NOSE)


@dataclass
class PrepareOptions:
    """Everything ``prepare`` needs; the defaults reproduce the paper's data (METHOD §3)."""

    mt_root: str | os.PathLike
    out: str | os.PathLike
    teacher: str = "classic"  # "classic" or "psgan:PATH/TO/G.pth"
    pairs: int = 5000  # training tuples
    test_pairs: int = 100  # test tuples
    test_sources: int | None = None  # source photos held out for test; None: min(test_pairs, 10% of sources)
    seed: int = 0
    image_size: int = 256  # S: the teacher's and the model's image size
    input_size: int = 64  # s: x_LR, y_LR
    eye_margin: int = 16  # of the model-view region masks (FaceAnalyzer's default, as at inference)
    shard_size: int = 64  # tuples per shard
    face_shard_size: int = 64  # faces per face shard
    missing_segs: str = "error"  # or "landmarks": draw parsing from landmarks where segs/ has no map
    min_seg_agreement: float = 0.3  # skip faces whose label map contradicts their landmarks (0: no check)
    device: str = "cpu"  # for the psgan teacher

    @property
    def feature_size(self) -> int:
        return self.image_size // 4

    def check(self) -> None:
        for name in ("pairs", "test_pairs"):
            if getattr(self, name) < 0:
                raise InputError(f"{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.pairs + self.test_pairs == 0:
            raise InputError("nothing to prepare: --pairs and --test-pairs are both 0")
        if self.test_sources is not None and self.test_sources < 0:
            raise InputError(f"test-sources must be >= 0, got {self.test_sources}")
        if self.image_size < 32 or self.image_size % 8:
            raise InputError(f"image-size must be a multiple of 8 and at least 32, got {self.image_size}")
        if not 8 <= self.input_size <= self.image_size:
            raise InputError(f"input-size must lie in 8..image-size ({self.image_size}), got {self.input_size}")
        if not 0.0 <= self.min_seg_agreement <= 1.0:
            raise InputError(f"min_seg_agreement must lie in [0, 1], got {self.min_seg_agreement}")
        if self.shard_size < 1 or self.face_shard_size < 1:
            raise InputError("shard sizes must be >= 1")


# ---- the per-face cache ------------------------------------------------------------------------------


def _meta_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _read_meta(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="np") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise DataError(f"{path} is not a readable shard ({reason}); delete it and re-run") from exc


class FaceStore:
    """The face shards of a prepared folder: analyses by name, appended in shards of ``shard_size`` faces."""

    def __init__(self, folder: Path, fingerprint: dict[str, Any], shard_size: int = 64):
        self.folder = folder
        self.fingerprint = _meta_json(fingerprint)
        self.shard_size = shard_size
        self.rows: dict[str, tuple[Path, int]] = {}  # valid face -> (shard, row)
        self.failed: dict[str, str] = {}  # skipped face -> reason
        self.shards: list[dict[str, Any]] = []
        self._pending: list[tuple[str, dict[str, np.ndarray] | None]] = []
        self._next = 0
        self.loaded_shards = 0
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob("faces-*.safetensors")):
            self._index(path)
            self.loaded_shards += 1
        if self.shards:
            self._next = 1 + max(int(s["file"].split("-")[-1].split(".")[0]) for s in self.shards)

    def _index(self, path: Path) -> None:
        meta = _read_meta(path)
        if meta.get("format") != f"{FORMAT}-faces" or meta.get("fingerprint") != self.fingerprint:
            raise DataError(
                f"{path} was prepared with other settings (sizes, eye margin, MT root or version); "
                "use another --out folder"
            )
        names, failed = json.loads(meta["names"]), json.loads(meta["failed"])
        for row, name in enumerate(names):
            self.rows[name] = (path, row)
        self.failed.update(failed)
        self.shards.append({"file": f"faces/{path.name}", "faces": len(names), "failed": len(failed)})

    def known(self, name: str) -> bool:
        return name in self.rows or name in self.failed or any(n == name for n, _ in self._pending)

    @property
    def n_valid(self) -> int:
        return len(self.rows) + sum(isinstance(r, dict) for _, r in self._pending)

    @property
    def n_failed(self) -> int:
        return len(self.failed) + sum(isinstance(r, str) for _, r in self._pending)

    def valid(self, name: str) -> bool:
        if name in self.rows:
            return True
        return any(n == name and isinstance(rec, dict) for n, rec in self._pending)

    def add(self, name: str, record: dict[str, np.ndarray] | str) -> None:
        """Queue one analysed face (or the reason it is skipped); full shards are written as they fill."""
        self._pending.append((name, record))
        if len(self._pending) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write the queued faces as one shard (atomically)."""
        if not self._pending:
            return
        path = self.folder / f"faces-{self._next:05d}.safetensors"
        good = [(n, r) for n, r in self._pending if isinstance(r, dict)]
        failed = {n: r for n, r in self._pending if isinstance(r, str)}
        tensors = {}
        if good:
            tensors = {key: np.stack([r[key] for _, r in good]) for key in good[0][1]}
        meta = {"format": f"{FORMAT}-faces", "fingerprint": self.fingerprint,
                "names": json.dumps([n for n, _ in good]), "failed": json.dumps(failed)}
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
        self._pending = []
        self._next += 1
        self._index(path)

    def record(self, name: str) -> dict[str, np.ndarray]:
        """The stored arrays of one valid face."""
        for n, rec in self._pending:
            if n == name and isinstance(rec, dict):
                return rec
        path, row = self.rows[name]
        with safe_open(str(path), framework="np") as f:
            return {key: f.get_slice(key)[row] for key in f.keys()}


def face_record(lr: FaceAnalysis, hr: FaceAnalysis, image_size: int, eye_margin: int) -> dict[str, np.ndarray]:
    """The arrays ``FaceStore`` keeps for one face, from its model-view (lr) and full-resolution (hr) analyses."""
    masks_full = region_masks(lr.parsing, lr.landmarks, image_size, eye_margin).astype(np.uint8)
    return {
        "image_lr": lr.image_lr,
        "image_hr": hr.image_up,
        "landmarks_lr": lr.landmarks.astype(np.float32),
        "landmarks_hr": hr.landmarks.astype(np.float32),
        "parsing": hr.parsing.astype(np.uint8),
        "masks": lr.masks.astype(np.uint8),
        "masks_full": np.packbits(masks_full, axis=-1),
        "crop_box": np.array(hr.crop_box, dtype=np.int32),
        "face_box": np.array(hr.face_box, dtype=np.int32),
        "num_faces": np.array(hr.num_faces, dtype=np.int32),
    }


def hr_analysis(rec: dict[str, np.ndarray], feature_size: int, eye_margin: int) -> FaceAnalysis:
    """The full-resolution FaceAnalysis a teacher needs, rebuilt from a stored face record."""
    size = rec["image_hr"].shape[0]
    masks = region_masks(rec["parsing"], rec["landmarks_hr"], feature_size, eye_margin)
    return FaceAnalysis(
        image_lr=rec["image_hr"], image_up=rec["image_hr"], landmarks=rec["landmarks_hr"], parsing=rec["parsing"],
        masks=masks, pos=position_features(rec["landmarks_hr"], masks, size),
        crop_box=tuple(int(v) for v in rec["crop_box"]), face_box=tuple(int(v) for v in rec["face_box"]),
        num_faces=int(rec["num_faces"]),
    )


def seg_agreement(face: FaceAnalysis) -> float:
    """How much of the face that the landmarks outline the label map calls skin or nose, in [0, 1].

    A map in another label convention (some collected maps number skin 4 and background 12) scores near 0;
    MT's own maps score 0.65-1 (the landmark-drawn forehead is a guess).
    """
    drawn = np.isin(parsing_from_landmarks(face.landmarks, face.parsing.shape[0]), FACE_SKIN)
    if not drawn.any():
        return 0.0
    return float(np.isin(face.parsing[drawn], FACE_SKIN).mean())


# ---- the plan ------------------------------------------------------------------------------------------


def split_sources(names: list[str], n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """Hold ``n_test`` source photos out for test (one photo per identity in MT): (train, test), seeded."""
    order = np.random.default_rng([seed, 0]).permutation(len(names))
    shuffled = [names[i] for i in order]
    return shuffled[n_test:], shuffled[:n_test]


def plan_pairs(sources: list[str], references: list[str], n: int, rng: np.random.Generator,
               valid: Callable[[str], bool], split: str) -> list[tuple[str, str]]:
    """``n`` (source, reference) pairs: sources in turn (shuffled order), references uniformly at random.

    ``valid(name)`` is asked (and may analyse the face) before a face is used; faces that fail are dropped,
    so the plan is deterministic given the seed and the faces' analyses.
    """
    srcs, refs, pairs, turn = list(sources), list(references), [], 0
    for _ in range(n):
        while srcs and not valid(srcs[turn % len(srcs)]):
            srcs.pop(turn % len(srcs))
        while refs:
            j = int(rng.integers(len(refs)))
            if valid(refs[j]):
                break
            refs.pop(j)
        if not srcs or not refs:
            kind = "source (non-makeup)" if not srcs else "reference (makeup)"
            raise DataError(f"no usable {kind} photo left for the {split} split: dlib found no face in any of them")
        pairs.append((srcs[turn % len(srcs)], refs[j]))
        turn += 1
    return pairs


# ---- prepare -------------------------------------------------------------------------------------------


@dataclass
class PrepareResult:
    manifest: dict[str, Any]
    written: dict[str, int] = field(default_factory=dict)  # tuple shards written per split
    skipped: dict[str, int] = field(default_factory=dict)  # tuple shards already done per split
    faces_analysed: int = 0
    faces_reused: int = 0
    computed: int = 0  # tuples the teacher produced in this run
    seconds: float = 0.0
    teacher_seconds: float = 0.0


def _lists_digest(mt: MTDataset) -> str:
    names = [i.name for i in mt.non_makeup] + ["|"] + [i.name for i in mt.makeup]
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def prepare(options: PrepareOptions, progress: bool = True, teacher: Teacher | None = None) -> PrepareResult:
    """Build (or finish) the prepared folder ``options.out``; see the module docstring for the format.

    Steps: hold out the test sources, plan the pairs (analysing each face the first time it is drawn), run the
    teacher shard by shard (skipping finished shards), write the manifest.
    """
    started = time.perf_counter()
    opt = options
    opt.check()
    mt = MTDataset(opt.mt_root, opt.missing_segs)
    teacher = teacher or make_teacher(opt.teacher, opt.device)
    out = Path(opt.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    train_sources, test_sources = _hold_out_sources(opt, [i.name for i in mt.non_makeup])
    sizes = {"image_size": opt.image_size, "input_size": opt.input_size, "feature_size": opt.feature_size}
    face_fp = {"version": VERSION, **sizes, "eye_margin": opt.eye_margin, "missing_segs": opt.missing_segs,
               "min_seg_agreement": opt.min_seg_agreement, "mt_root": str(Path(opt.mt_root).resolve())}
    store = FaceStore(out / "faces", face_fp, opt.face_shard_size)
    faces_before = len(store.rows) + len(store.failed)
    # the teacher by kind and weights' hash (not path), so moving G.pth does not invalidate finished shards
    tuple_fp = _meta_json({**face_fp, "seed": opt.seed, "teacher": teacher.spec.split(":")[0],
                           "teacher_sha256": getattr(teacher, "sha256", None), "lists": _lists_digest(mt),
                           "test_sources": sorted(test_sources)})

    valid = _FaceCheck(mt, store, opt)
    plans = _plan_splits(opt, {"train": train_sources, "test": test_sources}, [i.name for i in mt.makeup], valid,
                         progress)
    store.flush()
    result = PrepareResult(manifest={}, faces_analysed=len(store.rows) + len(store.failed) - faces_before)
    result.faces_reused = faces_before
    shard_lists = _write_tuple_shards(opt, out, plans, store, teacher, tuple_fp, result, progress)
    manifest = _manifest(opt, teacher, face_fp, sizes, plans, store, shard_lists, train_sources, test_sources)
    try:  # a re-run keeps the folder's first creation time
        manifest["created"] = read_manifest(out)["created"]
        manifest["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    except (DataError, KeyError):
        pass
    atomic_write(out / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1) + "\n"))
    result.manifest = manifest
    result.seconds = time.perf_counter() - started
    return result


def _hold_out_sources(opt: PrepareOptions, source_names: list[str]) -> tuple[list[str], list[str]]:
    """(train, test) source photos: ``--test-sources`` of them (default: about a tenth, at most --test-pairs)."""
    n_test = opt.test_sources
    if n_test is None:
        n_test = min(opt.test_pairs, max(1, len(source_names) // 10)) if opt.test_pairs else 0
    if opt.test_pairs and n_test == 0:
        raise InputError("--test-pairs needs at least one held-out test source (--test-sources)")
    if opt.pairs and n_test >= len(source_names):
        raise DataError(f"{len(source_names)} source photos: none left for training after holding {n_test} out")
    return split_sources(source_names, n_test, opt.seed)


class _FaceCheck:
    """``check(name)``: whether an MT photo gives a usable face, analysing it (and storing the analysis or the
    reason it is skipped) the first time it is asked about."""

    def __init__(self, mt: MTDataset, store: FaceStore, opt: PrepareOptions):
        self.mt, self.store, self.opt = mt, store, opt
        self.lr = FaceAnalyzer(input_size=opt.input_size, image_size=opt.image_size, feature_size=opt.feature_size,
                               eye_margin=opt.eye_margin)
        self.hr = FaceAnalyzer(input_size=opt.image_size, image_size=opt.image_size, feature_size=opt.feature_size,
                               eye_margin=opt.eye_margin)
        self.hr.landmark_detector = self.lr.landmark_detector  # one set of dlib models

    def __call__(self, name: str) -> bool:
        store, opt = self.store, self.opt
        if not store.known(name):
            image, seg = self.mt.read(name)
            what = f"{self.mt.root / 'images' / name}"
            a_hr = self.hr.analyze(image, crop=False, parsing=seg, name=what)
            if a_hr.num_faces == 0:
                store.add(name, NO_FACE)
            elif seg is not None and seg_agreement(a_hr) < opt.min_seg_agreement:
                store.add(name, BAD_SEG)
            else:
                a_lr = self.lr.analyze(image, crop=False, parsing=seg, name=what)
                store.add(name, face_record(a_lr, a_hr, opt.image_size, opt.eye_margin))
        return store.valid(name)


def _plan_splits(opt: PrepareOptions, sources: dict[str, list[str]], ref_names: list[str],
                 valid: _FaceCheck, progress: bool) -> dict[str, list[tuple[str, str]]]:
    """The (source, reference) pairs of each split, test first, each split from its own seeded generator."""
    counts = {"train": opt.pairs, "test": opt.test_pairs}
    plans: dict[str, list[tuple[str, str]]] = {}
    with tqdm(total=opt.pairs + opt.test_pairs, desc="planning pairs / analysing faces", unit="pair",
              disable=not progress) as bar:
        def counting_valid(name: str) -> bool:
            ok = valid(name)
            bar.set_postfix(faces=valid.store.n_valid, skipped=valid.store.n_failed)
            return ok

        for split_id, split in enumerate(("test", "train")):
            rng = np.random.default_rng([opt.seed, 1 + split_id])
            plans[split] = []
            for pair in plan_pairs(sources[split], ref_names, counts[split], rng, counting_valid, split):
                plans[split].append(pair)
                bar.update(1)
    return plans


def _write_tuple_shards(opt: PrepareOptions, out: Path, plans: dict[str, list[tuple[str, str]]], store: FaceStore,
                        teacher: Teacher, tuple_fp: str, result: PrepareResult,
                        progress: bool) -> dict[str, list[dict[str, Any]]]:
    """Run the teacher on every planned pair, shard by shard; a finished shard of the same plan is kept.
    Counts go to ``result``; returns each split's list of shards for the manifest."""
    shard_lists: dict[str, list[dict[str, Any]]] = {}
    total_tuples = sum(len(p) for p in plans.values())
    with tqdm(total=total_tuples, desc=f"teacher {teacher.spec}", unit="tuple", disable=not progress) as bar:
        for split in SPLITS:
            folder = out / split
            folder.mkdir(exist_ok=True)
            shard_lists[split] = []
            result.written[split] = result.skipped[split] = 0
            plan = plans[split]
            for k, start in enumerate(range(0, len(plan), opt.shard_size)):
                chunk = plan[start:start + opt.shard_size]
                path = folder / f"tuples-{k:05d}.safetensors"
                shard_lists[split].append({"file": f"{split}/{path.name}", "tuples": len(chunk)})
                if _shard_done(path, chunk, tuple_fp):
                    result.skipped[split] += 1
                    bar.update(len(chunk))
                    bar.set_postfix(skipped=sum(result.skipped.values()))
                    continue
                _write_shard(path, split, chunk, opt, store, teacher, tuple_fp, result, bar)
                result.written[split] += 1
    return shard_lists


def _shard_done(path: Path, chunk: list[tuple[str, str]], tuple_fp: str) -> bool:
    """Whether ``path`` already holds this chunk's tuples; DataError when it was made with other settings."""
    if not path.exists():
        return False
    meta = _read_meta(path)
    if meta.get("format") != FORMAT or meta.get("fingerprint") != tuple_fp:
        raise DataError(
            f"{path} was prepared with other settings (seed, teacher, sizes, split or MT lists); "
            "use another --out folder"
        )
    return json.loads(meta["x"]) == [x for x, _ in chunk] and json.loads(meta["y"]) == [y for _, y in chunk]


def _write_shard(path: Path, split: str, chunk: list[tuple[str, str]], opt: PrepareOptions, store: FaceStore,
                 teacher: Teacher, tuple_fp: str, result: PrepareResult, bar: tqdm) -> None:
    """The teacher's x̃_HR of each pair of ``chunk``, written atomically as one shard."""
    targets = []
    for x_name, y_name in chunk:
        x = hr_analysis(store.record(x_name), opt.feature_size, opt.eye_margin)
        y = hr_analysis(store.record(y_name), opt.feature_size, opt.eye_margin)
        t0 = time.perf_counter()
        target = teacher(x, y)
        result.teacher_seconds += time.perf_counter() - t0
        if target.shape != (opt.image_size, opt.image_size, 3) or target.dtype != np.uint8:
            raise DataError(f"teacher {teacher.spec} returned {target.dtype} {target.shape}")
        targets.append(target)
        result.computed += 1
        bar.update(1)
    meta = {"format": FORMAT, "fingerprint": tuple_fp, "split": split,
            "x": json.dumps([x for x, _ in chunk]), "y": json.dumps([y for _, y in chunk])}
    tensors = {"target": np.stack(targets)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _manifest(opt: PrepareOptions, teacher: Teacher, face_fp: dict[str, Any], sizes: dict[str, int],
              plans: dict[str, list[tuple[str, str]]], store: FaceStore, shard_lists: dict[str, list[dict[str, Any]]],
              train_sources: list[str], test_sources: list[str]) -> dict[str, Any]:
    used = {s: sorted({x for x, _ in plans[s]}) for s in SPLITS}
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mt_root": face_fp["mt_root"],
        "teacher": teacher.spec,
        "teacher_sha256": getattr(teacher, "sha256", None),
        "seed": opt.seed,
        "sizes": sizes,
        "eye_margin": opt.eye_margin,
        "missing_segs": opt.missing_segs,
        "ground_truth": {
            "parsing": "MT label map of the source photo (segs/), nearest-resized to feature_size",
            "landmarks": "dlib 68 points on the source's full-resolution crop, image_size coordinates",
            # no σ here: prepare stores landmarks, TupleDataset draws them with the σ it is given (the training
            # config's model.prior.heatmap_sigma, recorded with the run's config and as TupleDataset.heatmap_sigma)
            "heatmaps": "drawn from the landmarks when read, with model.prior.heatmap_sigma of the training config",
        },
        "split": {
            "by": "source photo (MT has one photo per identity); references are shared between splits",
            "test_sources": sorted(test_sources),
            "train_sources": len(train_sources),
        },
        "counts": {
            "train": len(plans["train"]),
            "test": len(plans["test"]),
            "train_sources_used": len(used["train"]),
            "test_sources_used": len(used["test"]),
            "references_used": len({y for s in SPLITS for _, y in plans[s]}),
            "faces": len(store.rows),
            "skipped_faces": len(store.failed),
            **{f"skipped_{reason}": sum(r == reason for r in store.failed.values()) for reason in (NO_FACE, BAD_SEG)},
        },
        "skipped_faces": dict(sorted(store.failed.items())),
        "tuples_per_shard": opt.shard_size,
        "faces": store.shards,
        "shards": shard_lists,
    }


# ---- reading ------------------------------------------------------------------------------------------


def read_manifest(prepared_dir: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a prepared folder (DataError when missing, unreadable or of another format)."""
    fmt, manifest = read_format(prepared_dir)
    path = Path(prepared_dir) / MANIFEST
    if fmt != FORMAT:
        raise DataError(f"{path} is not an lrmakeup tuple manifest")
    if manifest.get("version") != VERSION:
        raise DataError(f"{path} has format version {manifest.get('version')}, this lrmakeup reads {VERSION}")
    return manifest


def to_signed(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)  # numpy: no torch threads in workers
    return torch.from_numpy(chw / np.float32(127.5) - np.float32(1.0))


def face_tensors(rec: dict[str, np.ndarray], prefix: str, image_size: int) -> dict[str, torch.Tensor]:
    """One face's model inputs from a stored ``face_record``: ``{prefix}_image/_masks/_pos/_masks_full``."""
    masks = rec["masks"].astype(np.float32)
    full = np.unpackbits(rec["masks_full"], axis=-1, count=image_size).astype(np.float32)
    return {
        f"{prefix}_image": to_signed(resize_bicubic(rec["image_lr"], image_size)),
        f"{prefix}_masks": torch.from_numpy(masks),
        f"{prefix}_pos": torch.from_numpy(position_features(rec["landmarks_lr"], masks, image_size)),
        f"{prefix}_masks_full": torch.from_numpy(full),
    }


class TupleDataset(Dataset):
    """Training tuples of a prepared folder as dicts of tensors (the trainer's contract).

    Shapes for S = image_size (256), s = input_size (64), F = feature_size (64):
        x_image (3, S, S) [-1, 1]   bicubic up-sampling of x_lr (what the modules see)
        x_masks (3, F, F)           region masks, REGIONS order (lips, skin, eyes)
        x_pos (136, F, F)           relative-position features
        x_masks_full (3, S, S)      the region masks at image resolution (makeup loss)
        y_image, y_masks, y_pos, y_masks_full   the same for the reference
        target (3, S, S) [-1, 1]    the teacher's x̃_HR
        heatmaps (68, F, F)         Gaussian landmark heatmaps of the source, peak 1, sigma in F pixels
        parsing (F, F) int64        MT labels of the source
        x_lr, y_lr (3, s, s) [-1, 1]  the low-resolution source and reference (what a compact G_M reads)
        x_hr (3, S, S) [-1, 1]      the sharp source crop (the target of "no makeup" samples)
        y_hr (3, S, S) [-1, 1]      the sharp reference crop (super-resolution data of the detail term)
    All float tensors are float32.
    """

    def __init__(self, prepared_dir: str | os.PathLike, split: str = "train", heatmap_sigma: float | None = None):
        if split not in SPLITS:
            raise InputError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.root = Path(prepared_dir)
        self.manifest = read_manifest(self.root)
        sizes = self.manifest["sizes"]
        self.image_size, self.input_size, self.feature_size = (
            sizes["image_size"], sizes["input_size"], sizes["feature_size"])
        self.heatmap_sigma = PriorConfig().heatmap_sigma if heatmap_sigma is None else float(heatmap_sigma)
        self.split = split
        self.faces: dict[str, tuple[str, int]] = {}
        for shard in self.manifest["faces"]:
            names = json.loads(self._meta(shard["file"])["names"])
            self.faces.update({name: (shard["file"], row) for row, name in enumerate(names)})
        self.items: list[tuple[str, int, str, str]] = []  # (shard file, row, x name, y name)
        for shard in self.manifest["shards"][split]:
            meta = self._meta(shard["file"])
            for row, (x, y) in enumerate(zip(json.loads(meta["x"]), json.loads(meta["y"]))):
                for name in (x, y):
                    if name not in self.faces:
                        raise DataError(f"{self.root / shard['file']} uses face '{name}' that no face shard holds")
                self.items.append((shard["file"], row, x, y))
        self._handles: dict[str, Any] = {}
        self._pid = os.getpid()

    def _meta(self, rel: str) -> dict[str, str]:
        path = self.root / rel
        if not path.is_file():
            raise DataError(f"{path} is listed in the manifest but missing")
        return _read_meta(path)

    def _open(self, rel: str):
        if self._pid != os.getpid():  # a forked DataLoader worker opens its own handles
            self._handles, self._pid = {}, os.getpid()
        handle = self._handles.get(rel)
        if handle is None:
            handle = self._handles[rel] = safe_open(str(self.root / rel), framework="np")
        return handle

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers open their own handles
        return {**self.__dict__, "_handles": {}}

    def __len__(self) -> int:
        return len(self.items)

    def face(self, name: str) -> dict[str, np.ndarray]:
        rel, row = self.faces[name]
        f = self._open(rel)
        return {key: f.get_slice(key)[row] for key in ("image_lr", "image_hr", "landmarks_lr", "landmarks_hr",
                                                         "parsing", "masks", "masks_full")}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rel, row, x_name, y_name = self.items[index]
        x, y = self.face(x_name), self.face(y_name)
        target = self._open(rel).get_slice("target")[row]
        item = {**face_tensors(x, "x", self.image_size), **face_tensors(y, "y", self.image_size)}
        item["target"] = to_signed(target)
        item["heatmaps"] = torch.from_numpy(
            landmark_heatmaps(x["landmarks_hr"], self.feature_size, self.heatmap_sigma, self.image_size))
        item["parsing"] = torch.from_numpy(nearest_resize(x["parsing"], self.feature_size).astype(np.int64))
        item["x_lr"] = to_signed(x["image_lr"])
        item["y_lr"] = to_signed(y["image_lr"])
        item["x_hr"] = to_signed(x["image_hr"])
        item["y_hr"] = to_signed(y["image_hr"])
        return item

    def names(self, index: int) -> tuple[str, str]:
        """The (source, reference) photo names of tuple ``index``."""
        return self.items[index][2], self.items[index][3]


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack a list of items into a batch (every key gains a leading batch axis)."""
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def face_batches(batch: dict[str, torch.Tensor]) -> tuple[FaceBatch, FaceBatch]:
    """A batch (or one item) of TupleDataset -> (source, reference) FaceBatch for the generator."""

    def one(prefix: str) -> FaceBatch:
        t = [batch[f"{prefix}_{k}"] for k in ("image", "masks", "pos")]
        if t[0].dim() == 3:
            t = [v.unsqueeze(0) for v in t]
        return FaceBatch(*t)

    return one("x"), one("y")
