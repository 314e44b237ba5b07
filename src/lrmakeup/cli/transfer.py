"""``lrmakeup transfer``: source photo(s) + reference photo(s) -> made-up face(s).

One pair: ``--source S --reference R --output O``. A photo larger than 256x256 whose face is only part of
it gets the result blended back at the face's place (full-photo workflow; ``--all-faces`` does every face);
a small photo, one that is itself a face crop, or ``--crop-only`` gives the 256x256 face. Folders (or ``--pairs CSV``) run every pair
into an output folder: failures are reported and skipped, existing outputs are kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..api import MakeupControls, MakeupTransfer, wants_paste_back
from ..errors import InputError
from ..face import FaceAnalysis, read_image, write_image
from ..models import REGIONS
from .common import IMAGE_SUFFIXES, add_model_options, check_output_path, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help="transfer the makeup of a reference face onto a source face")
    p.add_argument("--source", required=True, help="bare-face photo, or a folder of them")
    p.add_argument("--reference", help="made-up photo, or a folder of them (not needed with --pairs)")
    p.add_argument("--pairs", help="CSV with columns source,reference[,output] (paths relative to the CSV)")
    p.add_argument("--output", required=True, help="output image (one pair) or folder (folders / --pairs)")
    p.add_argument("--crop-only", action="store_true", help="write the 256x256 face, not the whole photo")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--face-index", type=int, default=None, help="which face of the source photo (0 = largest)")
    faces.add_argument("--all-faces", action="store_true", help="make up every face of the source photo")
    p.add_argument("--reference-face-index", type=int, default=None, help="which face of the reference photo")
    p.add_argument("--intensity", type=float, default=1.0, help="overall makeup strength in [0, 1]")
    for region in REGIONS:
        p.add_argument(f"--{region}", type=float, default=1.0, metavar="S", help=f"{region} strength in [0, 1]")
        p.add_argument(f"--{region}-reference", metavar="IMG", help=f"take the {region} makeup from this photo")
    p.add_argument("--blend-reference", metavar="IMG", help="second reference to interpolate with")
    p.add_argument("--blend", type=float, default=0.5, help="weight of --blend-reference in [0, 1]")
    p.add_argument("--save-lr", help="one pair only: also write the low-resolution stage x̃_LR here")
    p.add_argument("--overwrite", action="store_true", help="batch: replace existing outputs")
    add_model_options(p)
    p.set_defaults(run=run)


def controls_from_args(args: argparse.Namespace) -> MakeupControls:
    controls = MakeupControls(
        intensity=args.intensity,
        regions={r: getattr(args, r) for r in REGIONS},
        references={r: getattr(args, f"{r}_reference") for r in REGIONS if getattr(args, f"{r}_reference")},
        blend=(args.blend_reference, args.blend) if args.blend_reference else None,
    )
    controls.validate()
    return controls


@dataclass
class Job:
    source: Path
    reference: Path
    output: Path


def run(args: argparse.Namespace) -> int:
    controls = controls_from_args(args)
    source = Path(args.source)
    batch = bool(args.pairs) or source.is_dir() or (args.reference is not None and Path(args.reference).is_dir())
    if not batch:
        if args.reference is None:
            raise InputError("--reference is required (or give --pairs)")
        output = check_output_path(args.output)
        save_lr = check_output_path(args.save_lr) if args.save_lr else None
        engine = load_model(args)
        transfer_one(engine, Job(source, Path(args.reference), output), args, controls, save_lr)
        print(f"wrote {output}")
        return 0
    if args.save_lr:
        raise InputError("--save-lr works for one pair only")
    jobs = batch_jobs(args)
    engine = load_model(args)
    controls = engine.analyzed(controls)  # extra references: analysed once, not once per pair
    references: dict[Path, FaceAnalysis] = {}  # each reference photo is analysed once for all its pairs
    written, skipped, failed = 0, 0, []
    for job in tqdm(jobs, desc="transfer", unit="pair"):
        if job.output.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            if job.reference not in references:
                references[job.reference] = engine.analyze(job.reference, args.reference_face_index)
            transfer_one(engine, job, args, controls, reference=references[job.reference])
            written += 1
        except InputError as exc:
            failed.append(f"{job.source.name} + {job.reference.name}: {' '.join(str(exc).split())}")
    for line in failed:
        print(f"lrmakeup: failed: {line}", file=sys.stderr)
    print(f"{written} written, {skipped} skipped (already there; --overwrite replaces them), {len(failed)} failed "
          f"-> {args.output}")
    return 2 if failed else 0


def transfer_one(engine: MakeupTransfer, job: Job, args: argparse.Namespace, controls: MakeupControls,
                 save_lr: Path | None = None, reference: FaceAnalysis | None = None) -> None:
    photo = read_image(job.source)
    faces = list(range(len(engine.analyzer.detect(photo)))) if args.all_faces else [args.face_index]
    if args.all_faces and not faces:
        raise InputError(f"no face found in {job.source}")
    pasted, results = engine.transfer_photo(photo, reference or job.reference, faces, args.reference_face_index,
                                            controls)
    first = results[0]
    size = engine.config.model.image_size
    crop_only = args.crop_only or not wants_paste_back(photo, first.source, size)
    write_image(job.output, first.image if crop_only else pasted)
    if save_lr:
        write_image(save_lr, first.image_lr)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def batch_jobs(args: argparse.Namespace) -> list[Job]:
    """Every (source, reference) pair of the folders, or the rows of --pairs; outputs go to --output/."""
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"--output must be a folder when transferring several pairs: {out}")
    if args.pairs:
        pairs = read_pairs(Path(args.pairs))
    else:
        if args.reference is None:
            raise InputError("--reference is required (or give --pairs)")
        sources = _images(Path(args.source)) if Path(args.source).is_dir() else [Path(args.source)]
        references = _images(Path(args.reference)) if Path(args.reference).is_dir() else [Path(args.reference)]
        if not sources or not references:
            raise InputError("no images found in the source or reference folder")
        pairs = [(s, r, None) for s in sources for r in references]
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for src, ref, name in pairs:
        output = out / (name or f"{src.stem}__{ref.stem}.png")
        check_output_path(output)
        jobs.append(Job(src, ref, output))
    return jobs


def read_pairs(path: Path) -> list[tuple[Path, Path, str | None]]:
    if not path.is_file():
        raise InputError(f"pairs file not found: {path}")
    try:
        with path.open(newline="") as fp:
            rows = list(csv.DictReader(fp))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read pairs file {path}: {exc}") from None
    if not rows or not {"source", "reference"} <= set(rows[0]):
        raise InputError(f"pairs file {path} needs a header with columns source,reference[,output]")
    base = path.parent
    return [(base / r["source"], base / r["reference"], r.get("output") or None) for r in rows]
