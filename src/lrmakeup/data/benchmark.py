"""A makeup-transfer benchmark with exact ground truth, built by rendering known looks on bare faces.

Nobody has the photo of person A wearing exactly person B's makeup, so we make it: a parametric look θ
(:mod:`lrmakeup.data.synthetic`) is rendered on a bare face B (the *reference*) and on a different bare
face A (the *target*); the model sees A bare (the *source*) and B made up, and must produce the target.

Faces are PSGAN-cropped at 256x256 (``FaceAnalyzer(input_size=256)``: landmarks and parsing at 256), and
identities are split *before* pairing, so no identity appears in both train and test. Each face file is
one identity; the built-in faces' augmented variants (a horizontal flip included) keep their identity.
With only one identity on a side (the tiny built-in default), a pair uses two different variants of it
(``same_identity`` is then true in its metadata).

Output layout (``out/``)::

    manifest.json               format "lrmakeup-benchmark-v1": settings, counts, identity split, faces,
                                skipped faces, and the triplet list (id, faces, identities, style, look)
    faces/NNNNN.npz             cache of the analysed bare faces (image 256x256x3, landmarks, parsing)
    {train,test}/NNNNN/         one triplet, written to a temporary folder and renamed: complete or absent
        source.png              A bare, 256x256                         (x_HR of the source)
        reference.png           B wearing θ, 256x256                    (y_HR)
        target.png              A wearing θ, 256x256                    (exact x̃_HR: the ground truth)
        reference_bare.png      B bare, 256x256                         (for the reverse direction)
        source_lr.png, reference_lr.png, target_lr.png
                                the same at 64x64 (Pillow bicubic, antialiased): x_LR, y_LR, and the
                                target at the input resolution
        look.json               θ (:class:`MakeupLook`, ``MakeupLook.load``)
        meta.json               id, split, face names, identities, same_identity, style
        meta.npz                source_landmarks, reference_landmarks   (68, 2) float32 (x, y) at 256
                                source_parsing, reference_parsing       (256, 256) uint8 MT labels
                                target_masks, reference_masks           (3, 256, 256) uint8 {0, 1}, REGIONS
                                                                        order (lips, skin, eyes) as
                                                                        face.regions.region_masks at 256
                                target_support, reference_support       (256, 256) bool: outside it the
                                                                        made-up image equals the bare one
                                target_alpha, reference_alpha           (256, 256) uint8: how much makeup
                                                                        each pixel got (0..255)

As training data it gives PSGAN-style tuples with an exact target instead of a teacher's:
``{x_LR: source_lr, y_LR: reference_lr, parsing_gt: source_parsing, keypoints_gt: source_landmarks,
x̃_HR: target}``; swapping roles (source = reference_bare, reference = target, target = reference) doubles it.

Building is deterministic given the seed and resumable: the manifest (written atomically) fixes the plan,
finished triplets are skipped, and faces where dlib finds no face are skipped and counted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from lrmakeup.data.builtin import BUILTIN_FACES, builtin_face
from lrmakeup.data.synthetic import MakeupLook, apply_look, look_masks, sample_look
from lrmakeup.data.synthetic.sampler import STYLES
from lrmakeup.errors import DataError, ImageReadError, InputError, NoFaceError
from lrmakeup.face.analysis import FaceAnalyzer, resize_bicubic
from lrmakeup.face.io import WRITE_FORMATS, read_image, write_image
from lrmakeup.face.parsing import PARSING_FORMATS
from lrmakeup.face.regions import region_masks
from lrmakeup.fileio import atomic_write

FORMAT = "lrmakeup-benchmark-v1"
HR_SIZE = 256
LR_SIZE = 64
SPLITS = ("train", "test")
BUILTIN = "builtin"
IMAGE_SUFFIXES = tuple(sorted(WRITE_FORMATS))
TRIPLET_FILES = (
    "source.png",
    "reference.png",
    "target.png",
    "reference_bare.png",
    "source_lr.png",
    "reference_lr.png",
    "target_lr.png",
    "look.json",
    "meta.json",
    "meta.npz",
)


@dataclass
class Face:
    """One analysed bare face: the 256x256 PSGAN crop with its landmarks and MT parsing at 256."""

    name: str
    identity: str
    image: np.ndarray  # (256, 256, 3) uint8
    landmarks: np.ndarray  # (68, 2) float32 (x, y)
    parsing: np.ndarray  # (256, 256) uint8 MT labels


@dataclass
class BenchmarkSummary:
    out: Path
    faces: int = 0
    faces_skipped: int = 0
    triplets: dict[str, int] = field(default_factory=dict)
    rendered: int = 0  # triplets written by this run
    already_done: int = 0  # triplets found complete and skipped


# ---- inputs -----------------------------------------------------------------------------------------


def list_face_images(folder: str | Path) -> list[Path]:
    """The image files (one identity each) directly inside ``folder``, sorted by name (DataError if none)."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"faces folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"--faces must be a folder of face photos or '{BUILTIN}', got the file {folder}")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise DataError(f"faces folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def builtin_variants(seed: int, variants: int) -> list[tuple[str, str, np.ndarray]]:
    """(name, identity, photo) for the built-in faces: the original, its mirror image, then random variants.

    Variants are small rotations, scalings, shifts and colour/exposure changes (and random flips): the
    same person, so the same identity.
    """
    out = []
    for index, identity in enumerate(BUILTIN_FACES):
        photo = builtin_face(identity)
        for k in range(max(1, variants)):
            if k == 0:
                out.append((identity, identity, photo))
            elif k == 1:
                out.append((f"{identity}-flip", identity, np.ascontiguousarray(photo[:, ::-1])))
            else:
                rng = np.random.default_rng([seed, index, k])
                out.append((f"{identity}-aug{k - 1}", identity, _augment(photo, rng)))
    return out


def _augment(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = photo.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-8, 8), rng.uniform(0.9, 1.1))
    matrix[:, 2] += rng.uniform(-0.04, 0.04, 2) * (width, height)
    image = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    f = image.astype(np.float32) / 255.0
    f = f ** rng.uniform(0.85, 1.15)  # exposure curve
    f = f * rng.uniform(0.93, 1.07, 3)  # white balance
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * rng.uniform(0.8, 1.2)  # saturation
    f = (f - 0.5) * rng.uniform(0.9, 1.1) + 0.5 + rng.uniform(-0.04, 0.04)  # contrast, brightness
    return np.ascontiguousarray(np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8))


# ---- the build --------------------------------------------------------------------------------------


def build_benchmark(
    faces: str | Path = BUILTIN,
    out: str | Path = "benchmark",
    pairs: int = 100,
    seed: int = 0,
    test_fraction: float = 0.2,
    style: str | None = None,
    variants: int = 4,
    parsing: str | Path | None = None,
    parsing_format: str = "mt",
    analyzer: FaceAnalyzer | None = None,
    progress: bool = True,
) -> BenchmarkSummary:
    """Build (or resume) the benchmark in ``out``; see the module docstring for the layout.

    ``faces``: a folder of bare-face photos (one identity per file) or ``"builtin"`` (the two built-in faces
    and ``variants`` variants of each). ``parsing``: optional folder of label maps named like the photos
    (``<stem>.png``, in ``parsing_format``); without one a face's regions are drawn from its landmarks.
    ``style``: "natural", "moderate", "dramatic", or None for a mix.

    Steps: check the options, analyse the faces (cached in out/faces, so a resumed build skips dlib), split the
    identities and plan the triplets (the plan depends only on the seed and the faces), write the manifest,
    render the triplets not yet on disk, mark the manifest complete.
    """
    _check_options(pairs, test_fraction, style, parsing_format)
    builtin = str(faces) == BUILTIN
    files = None if builtin else list_face_images(faces)
    if parsing is not None and not Path(parsing).is_dir():
        raise DataError(f"parsing folder {parsing} does not exist or is not a folder")
    out = Path(out)
    settings = {
        "faces": BUILTIN if builtin else str(Path(faces).resolve()),
        "face_files": [BUILTIN] if builtin else [p.name for p in files],
        "parsing": None if parsing is None else str(Path(parsing).resolve()),
        "parsing_format": parsing_format,
        "pairs": int(pairs),
        "seed": int(seed),
        "test_fraction": float(test_fraction),
        "style": style,
        "variants": int(variants) if builtin else None,
        "hr_size": HR_SIZE,
        "lr_size": LR_SIZE,
    }
    manifest_path = out / "manifest.json"
    _prepare_out(out, settings)
    summary = BenchmarkSummary(out=out)

    if builtin:
        sources = [(name, identity, photo) for name, identity, photo in builtin_variants(seed, variants)]
    else:
        sources = [(p.name, p.stem, p) for p in files]
    usable, skipped = _analyse_faces(out / "faces", sources, analyzer, parsing, parsing_format, progress)
    summary.faces, summary.faces_skipped = len(usable), len(skipped)
    if not usable:
        where = "the built-in faces" if builtin else f"any of the {len(sources)} images in {faces}"
        raise DataError(f"no usable face found in {where} (e.g. {skipped[0]['name']}: {skipped[0]['reason']})")

    split = _split_identities(sorted({f.identity for f in usable}), test_fraction, seed)
    plan = _plan_triplets(usable, split, pairs, test_fraction, seed, style)
    if not plan:
        raise DataError(
            f"cannot make pairs: {len(usable)} usable face(s); each side of the split needs at least two faces"
        )
    manifest = _manifest(settings, seed, len(sources), usable, skipped, split, plan)
    _write_json(manifest_path, manifest)
    summary.triplets = dict(manifest["counts"]["triplets"])

    summary.rendered, summary.already_done = _render_triplets(out, plan, {f.name: f for f in usable}, progress)
    manifest["complete"] = True
    _write_json(manifest_path, manifest)
    return summary


def _check_options(pairs: int, test_fraction: float, style: str | None, parsing_format: str) -> None:
    if pairs < 1:
        raise InputError(f"--pairs must be at least 1, got {pairs}")
    if not 0.0 <= test_fraction <= 1.0:
        raise InputError(f"--test-fraction must lie in [0, 1], got {test_fraction}")
    if style is not None and style not in STYLES:
        raise InputError(f"unknown style {style!r} (use one of {', '.join(STYLES)}, or leave it out for a mix)")
    if parsing_format not in PARSING_FORMATS:
        raise InputError(f"unknown parsing format {parsing_format!r} (use one of {', '.join(PARSING_FORMATS)})")


def _analyse_faces(face_dir: Path, sources: list[tuple[str, str, Any]], analyzer: FaceAnalyzer | None,
                   parsing: str | Path | None, parsing_format: str,
                   progress: bool) -> tuple[list[Face], list[dict[str, str]]]:
    """(usable faces, skipped images with the reason) of ``sources`` (name, identity, photo or path)."""
    analyzer = analyzer or FaceAnalyzer(input_size=HR_SIZE, image_size=HR_SIZE)
    if analyzer.input_size != HR_SIZE or analyzer.image_size != HR_SIZE:
        raise InputError(f"the benchmark needs FaceAnalyzer(input_size={HR_SIZE}, image_size={HR_SIZE})")
    face_dir.mkdir(exist_ok=True)
    usable: list[Face] = []
    skipped: list[dict[str, str]] = []
    for index, (name, identity, item) in enumerate(tqdm(sources, desc="faces", unit="face", disable=not progress)):
        face, reason = _cached_face(face_dir, index, name, identity, item, analyzer, parsing, parsing_format)
        if face is None:
            skipped.append({"name": name, "reason": reason})
        else:
            usable.append(face)
    return usable, skipped


def _manifest(settings: dict[str, Any], seed: int, n_images: int, usable: list[Face], skipped: list[dict[str, str]],
              split: dict[str, list[str]], plan: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest of a planned (not yet rendered: ``complete`` False) benchmark."""
    return {
        "format": FORMAT,
        "complete": False,
        "settings": settings,
        "seed": int(seed),
        "sizes": {"hr": HR_SIZE, "lr": LR_SIZE},
        "counts": {
            "images": n_images,
            "faces": len(usable),
            "faces_skipped": len(skipped),
            "identities": {s: len(split[s]) for s in SPLITS},
            "triplets": {s: sum(t["split"] == s for t in plan) for s in SPLITS},
            "same_identity_pairs": sum(t["same_identity"] for t in plan),
        },
        "split": split,
        "faces": [{"name": f.name, "identity": f.identity} for f in usable],
        "skipped": skipped,
        "files": list(TRIPLET_FILES),
        "triplets": plan,
    }


def _render_triplets(out: Path, plan: list[dict[str, Any]], by_name: dict[str, Face],
                     progress: bool) -> tuple[int, int]:
    """Render every planned triplet not yet on disk; returns (rendered, already done)."""
    for split_name in SPLITS:
        (out / split_name).mkdir(exist_ok=True)
    rendered = done = 0
    for entry in tqdm(plan, desc="triplets", unit="triplet", disable=not progress):
        final = out / entry["id"]
        if final.is_dir():
            done += 1
            continue
        _write_triplet(final, entry, by_name[entry["source"]], by_name[entry["reference"]])
        rendered += 1
    return rendered, done


def _prepare_out(out: Path, settings: dict[str, Any]) -> None:
    """Create ``out`` or check that it holds a benchmark with the same settings; drop half-written triplets."""
    manifest_path = out / "manifest.json"
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not manifest_path.is_file():
            raise InputError(f"--out {out} is not empty and holds no benchmark manifest; use a new folder")
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read {manifest_path}: {exc}") from exc
        if old.get("format") != FORMAT:
            raise InputError(f"{manifest_path} is not a {FORMAT} manifest")
        if old.get("settings") != settings:
            changed = sorted(k for k in settings if old.get("settings", {}).get(k) != settings[k])
            raise InputError(
                f"{out} holds a benchmark built with other settings ({', '.join(changed)}); use a new --out folder"
            )
        for split_name in SPLITS:
            folder = out / split_name
            for stale in folder.glob(".*.tmp") if folder.is_dir() else []:
                shutil.rmtree(stale, ignore_errors=True)
        return
    if not out.parent.is_dir():
        raise InputError(f"output folder's parent does not exist: {out.parent}")
    out.mkdir(exist_ok=True)
    # A manifest without a plan marks the folder as ours before any slow work starts.
    _write_json(manifest_path, {"format": FORMAT, "complete": False, "settings": settings})


def _cached_face(
    face_dir: Path,
    index: int,
    name: str,
    identity: str,
    item: Path | np.ndarray,
    analyzer: FaceAnalyzer,
    parsing: str | Path | None,
    parsing_format: str,
) -> tuple[Face | None, str]:
    cache = face_dir / f"{index:05d}.npz"
    skip = face_dir / f"{index:05d}.skip.txt"
    if cache.is_file():
        with np.load(cache) as data:
            return Face(name, identity, data["image"], data["landmarks"], data["parsing"]), ""
    if skip.is_file():
        return None, skip.read_text(encoding="utf-8").strip()
    try:
        photo = read_image(item) if isinstance(item, Path) else item
        labels = None
        if parsing is not None:
            label_file = Path(parsing) / f"{Path(name).stem}.png"
            if label_file.is_file():
                labels = np.asarray(Image.open(label_file))
                labels = labels[..., 0] if labels.ndim == 3 else labels
        analysis = analyzer.analyze(photo, parsing=labels, parsing_format=parsing_format, name=name)
    except (NoFaceError, ImageReadError) as exc:
        reason = str(exc)
        atomic_write(skip, lambda tmp: Path(tmp).write_text(reason + "\n", encoding="utf-8"))
        return None, reason
    face = Face(name, identity, analysis.image_lr, analysis.landmarks.astype(np.float32), analysis.parsing)

    def save(tmp: str) -> None:
        with open(tmp, "wb") as fp:
            np.savez_compressed(fp, image=face.image, landmarks=face.landmarks, parsing=face.parsing)

    atomic_write(cache, save)
    return face, ""


def _split_identities(identities: list[str], test_fraction: float, seed: int) -> dict[str, list[str]]:
    """Identities -> {"train": [...], "test": [...]}, disjoint; at least one on each side when possible."""
    n = len(identities)
    if test_fraction <= 0 or n < 2:
        n_test = 0 if test_fraction < 1 else n
    elif test_fraction >= 1:
        n_test = n
    else:
        n_test = int(np.clip(round(test_fraction * n), 1, n - 1))
    order = np.random.default_rng([seed, 7]).permutation(n)
    test = sorted(identities[i] for i in order[:n_test])
    train = sorted(identities[i] for i in order[n_test:])
    return {"train": train, "test": test}


def _plan_triplets(
    faces: list[Face], split: dict[str, list[str]], pairs: int, test_fraction: float, seed: int, style: str | None
) -> list[dict[str, Any]]:
    """The triplet list: per side, random (source, reference) pairs of different identities and a look each."""
    sides = {s: [f for f in faces if f.identity in set(split[s])] for s in SPLITS}
    pairable = {s: len(sides[s]) >= 2 for s in SPLITS}
    n_test = int(round(pairs * test_fraction)) if pairable["test"] else 0
    if not pairable["train"]:
        n_test = pairs if pairable["test"] else 0
    counts = {"train": (pairs - n_test) if pairable["train"] else 0, "test": n_test}
    plan = []
    for side_index, side in enumerate(SPLITS):
        members = sides[side]
        for i in range(counts[side]):
            rng = np.random.default_rng([seed, side_index, i])
            source = members[int(rng.integers(len(members)))]
            others = [f for f in members if f.identity != source.identity]
            same_identity = not others
            if same_identity:  # one identity on this side: a different variant of the same person
                others = [f for f in members if f.name != source.name]
            reference = others[int(rng.integers(len(others)))]
            look = sample_look(rng, style)
            plan.append(
                {
                    "id": f"{side}/{i:05d}",
                    "split": side,
                    "source": source.name,
                    "reference": reference.name,
                    "source_identity": source.identity,
                    "reference_identity": reference.identity,
                    "same_identity": same_identity,
                    "style": look.style,
                    "look": look.to_dict(),
                }
            )
    return plan


def _write_triplet(final: Path, entry: dict[str, Any], source: Face, reference: Face) -> None:
    """Render and write one triplet into a temporary sibling folder, then rename it to ``final``."""
    look = MakeupLook.from_dict(entry["look"])
    src_masks = look_masks(source.image, source.landmarks, look, source.parsing)
    ref_masks = look_masks(reference.image, reference.landmarks, look, reference.parsing)
    target = apply_look(source.image, look, src_masks)
    made_up = apply_look(reference.image, look, ref_masks)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        images = {
            "source": source.image,
            "reference": made_up,
            "target": target,
        }
        for name, image in images.items():
            write_image(tmp / f"{name}.png", image)
            write_image(tmp / f"{name}_lr.png", resize_bicubic(image, LR_SIZE))
        write_image(tmp / "reference_bare.png", reference.image)
        look.save(tmp / "look.json")
        meta = {k: v for k, v in entry.items() if k != "look"}
        _write_json(tmp / "meta.json", meta)
        arrays = {
            "source_landmarks": source.landmarks.astype(np.float32),
            "reference_landmarks": reference.landmarks.astype(np.float32),
            "source_parsing": source.parsing.astype(np.uint8),
            "reference_parsing": reference.parsing.astype(np.uint8),
            "target_masks": region_masks(source.parsing, source.landmarks, HR_SIZE).astype(np.uint8),
            "reference_masks": region_masks(reference.parsing, reference.landmarks, HR_SIZE).astype(np.uint8),
            "target_support": src_masks.support(),
            "reference_support": ref_masks.support(),
            "target_alpha": _alpha(src_masks, look),
            "reference_alpha": _alpha(ref_masks, look),
        }
        with open(tmp / "meta.npz", "wb") as fp:
            np.savez_compressed(fp, **arrays)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a finished triplet is an ordinary folder
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _alpha(masks, look: MakeupLook) -> np.ndarray:
    """(H, W) uint8: combined coverage 1 - prod(1 - strength x soft) of the look's products, 0..255."""
    products = look.products()
    clear = np.ones(masks.parsing.shape, np.float32)
    for name, soft in masks.soft.items():
        product = products[name]
        strength = max(getattr(product, key, 0.0) for key in ("opacity", "coverage", "smoothing"))
        clear *= 1.0 - strength * soft
    return np.clip(np.rint((1.0 - clear) * 255.0), 0, 255).astype(np.uint8)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=1)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))


def load_triplet(folder: str | Path) -> dict[str, Any]:
    """Read one triplet folder back: images as (H, W, 3) uint8, ``look`` as MakeupLook, meta.json and meta.npz."""
    folder = Path(folder)
    missing = [name for name in TRIPLET_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"triplet {folder} is incomplete: missing {', '.join(missing)}")
    out: dict[str, Any] = {p[:-4]: read_image(folder / p) for p in TRIPLET_FILES if p.endswith(".png")}
    out["look"] = MakeupLook.load(folder / "look.json")
    out["meta"] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    with np.load(folder / "meta.npz") as data:
        out.update({k: data[k] for k in data.files})
    return out
