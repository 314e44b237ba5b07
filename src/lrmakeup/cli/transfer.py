"""``lrmakeup transfer``: source photo(s) + reference photo(s) -> made-up face(s).

One pair: ``--source S --reference R --output O``. Every face of a photo is made up and pasted back into it
(as GFPGAN and CodeFormer do; ``--face-index N`` / ``--only-center-face`` pick one); a small photo, one that
is itself a face crop, ``--aligned`` or ``--crop-only`` give the 256x256 face (``--crop-only --all-faces``:
one file per face). Folders (or ``--pairs CSV``) run every pair into an output folder: the whole plan is
checked before any work (every output inside ``--output``, no two pairs with one output, the folder
writable), then each pair fails alone; existing outputs are kept unless ``--overwrite``.

Everything that can be checked without torch is checked before torch is imported.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..face.regions import REGIONS
from ..fileio import check_name_length, check_writable
from .common import (
    IMAGE_SUFFIXES,
    add_model_options,
    check_input_file,
    check_model_args,
    check_output_path,
    load_model,
    same_file,
)


def unit_float(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got '{text}'") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def face_index(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a face index (0 = largest), got '{text}'") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help="transfer the makeup of a reference face onto a source face",
                       description=__doc__.split("\n\n")[1].replace("``", "'"))
    p.add_argument("-i", "--source", help="bare-face photo, or a folder of them (not with --pairs)")
    p.add_argument("-r", "--reference", help="made-up photo, or a folder of them (not with --pairs)")
    p.add_argument("--pairs", help="CSV with a header source,reference[,output]: sources and references relative "
                   "to the CSV's folder, outputs relative to --output")
    p.add_argument("-o", "--output", required=True, help="output image (one pair) or folder (folders / --pairs)")
    p.add_argument("--crop-only", action="store_true", help="write the 256x256 face, not the whole photo")
    p.add_argument("--aligned", action="store_true",
                   help="the source is already a face crop: no detection, the whole image is the face "
                   "(writes the face)")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--face-index", type=face_index, default=None, metavar="N",
                       help="only this face of the source photo (0 = largest)")
    faces.add_argument("--only-center-face", "--only_center_face", action="store_true",
                       help="only the face nearest the photo's centre")
    faces.add_argument("--all-faces", action="store_true",
                       help="every face (the default for a full photo); with --crop-only: OUTPUT_faceN.png per face")
    p.add_argument("--reference-face-index", type=face_index, default=None, metavar="N",
                   help="which face of the reference photo (0 = largest, the default)")
    p.add_argument("--intensity", type=unit_float, default=1.0, help="overall makeup strength in [0, 1]")
    for region in REGIONS:
        p.add_argument(f"--{region}", type=unit_float, default=1.0, metavar="S", help=f"{region} strength in [0, 1]")
        p.add_argument(f"--{region}-reference", metavar="IMG", help=f"take the {region} makeup from this photo")
    p.add_argument("--blend-reference", metavar="IMG", help="second reference to interpolate with")
    p.add_argument("--blend", type=unit_float, default=None,
                   help="weight of --blend-reference in [0, 1] (default 0.5; needs --blend-reference)")
    p.add_argument("--save-lr", metavar="IMG", help="one pair only: also write the makeup-transfer stage x̃_LR, "
                   "before super-resolution, at the model's input size (64x64)")
    p.add_argument("--overwrite", action="store_true", help="batch: replace existing outputs")
    add_model_options(p)
    p.set_defaults(run=run)


@dataclass
class Job:
    source: Path
    reference: Path
    output: Path


def run(args: argparse.Namespace) -> int:
    control_refs = check_controls(args)
    check_model_args(args)
    batch = bool(args.pairs) or _is_dir(args.source) or _is_dir(args.reference)
    if not batch:
        return run_one(args, control_refs)
    jobs = plan_batch(args)
    engine = load_model(args)
    controls = engine.analyzed(make_controls(args))  # extra references: analysed once, not once per pair
    return run_batch(engine, jobs, args, controls)


def check_controls(args: argparse.Namespace) -> list[Path]:
    """Control options that need no model: --blend needs --blend-reference; extra references exist."""
    if args.blend is not None and not args.blend_reference:
        raise InputError("--blend needs --blend-reference (the second reference to interpolate with)")
    refs = [getattr(args, f"{r}_reference") for r in REGIONS] + [args.blend_reference]
    return [check_input_file(r, "reference") for r in refs if r]


def make_controls(args: argparse.Namespace):
    from ..api import MakeupControls

    return MakeupControls(
        intensity=args.intensity,
        regions={r: getattr(args, r) for r in REGIONS},
        references={r: getattr(args, f"{r}_reference") for r in REGIONS if getattr(args, f"{r}_reference")},
        blend=(args.blend_reference, 0.5 if args.blend is None else args.blend) if args.blend_reference else None,
    )


def _is_dir(path: str | None) -> bool:
    try:
        return path is not None and Path(path).is_dir()
    except OSError:  # a name too long for the file system: not a folder (its check says why)
        return False


# --- one pair ------------------------------------------------------------------------------------------------

def run_one(args: argparse.Namespace, control_refs: list[Path]) -> int:
    if args.source is None:
        raise InputError("--source is required (or give --pairs)")
    if args.reference is None:
        raise InputError("--reference is required (or give --pairs)")
    source = check_input_file(args.source, "source")
    reference = check_input_file(args.reference, "reference")
    output = check_output_path(args.output)
    save_lr = check_output_path(args.save_lr, what="--save-lr") if args.save_lr else None
    for given, what in ((source, "--source"), (reference, "--reference"), *((r, "a control reference")
                                                                          for r in control_refs)):
        for out, name in ((output, "--output"), (save_lr, "--save-lr")):
            if out is not None and same_file(out, given):
                raise InputError(f"{name} {out} is the same file as {what}: it would overwrite the input")
    if save_lr is not None and same_file(save_lr, output):
        raise InputError(f"--save-lr and --output are the same file ({output}): one would replace the other")
    from ..face.io import read_image

    photo = read_image(source)  # decoded before the model loads: a broken image is reported at once
    ref_photo = read_image(reference)
    engine = load_model(args)
    ref = engine.analyze(ref_photo, args.reference_face_index, role=f"reference photo {reference}")
    written = transfer_one(engine, photo, source, ref, output, args, make_controls(args), save_lr)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def face_choice(args: argparse.Namespace):
    if args.face_index is not None:
        return args.face_index
    if args.only_center_face:
        return "center"
    if args.crop_only and not args.all_faces:
        return "largest"
    return "all"


def transfer_one(engine, photo, source: Path, reference, output: Path, args: argparse.Namespace, controls,
                 save_lr: Path | None = None, faces=None) -> list[Path]:
    """Make up the selected faces of ``photo`` and write the result(s); returns the files written."""
    from ..api import wants_paste_back
    from ..face.io import write_image

    if faces is None:
        faces = engine.analyze_faces(photo, face_choice(args), role="source", aligned=args.aligned, name=str(source))
    pasted, results = engine.paste_faces(photo, faces, reference, args.reference_face_index, controls)
    size = engine.config.model.image_size
    crop_only = args.crop_only or args.aligned or not wants_paste_back(photo, faces[0], size)
    if crop_only and len(results) > 1:
        outputs = [output.with_name(f"{output.stem}_face{i}{output.suffix}") for i in range(len(results))]
        for path in outputs:
            check_output_path(path)
        for path, result in zip(outputs, results):
            write_image(path, result.image)
    else:
        outputs = [output]
        write_image(output, results[0].image if crop_only else pasted)
    if save_lr is not None:
        lr = engine.config.model.input_size
        write_image(save_lr, _resize(results[0].image_lr, lr))
        outputs.append(save_lr)
    return outputs


def _resize(image, size: int):
    import numpy as np
    from PIL import Image

    if image.shape[0] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BOX))


# --- batches -------------------------------------------------------------------------------------------------

def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def plan_batch(args: argparse.Namespace) -> list[Job]:
    """Every (source, reference) pair of the folders, or the rows of --pairs, with its output in --output/.

    The plan is checked as a whole before any work: every output lies inside --output, no two pairs share an
    output (same-stem sources like face.png and face.jpg get their extension in the name), and the folder
    is writable.
    """
    if args.save_lr:
        raise InputError("--save-lr works for one pair only")
    out = Path(args.output)
    check_name_length(out, "--output")
    if out.exists() and not out.is_dir():
        raise InputError(f"--output must be a folder when transferring several pairs: {out}")
    if out.suffix.lower() in IMAGE_SUFFIXES and not out.exists():
        raise InputError(f"--output {out} looks like an image file, but several pairs need a folder")
    explicit: set[int] = set()  # jobs whose output the CSV names: never renamed
    if args.pairs:
        if args.source is not None or args.reference is not None:
            raise InputError("--pairs takes sources and references from the CSV: drop --source/--reference")
        jobs = []
        for line, src, ref, name in read_pairs(Path(args.pairs)):
            jobs.append(Job(src, ref, _inside(out, name, line) if name else out / default_name(src, ref)))
            if name:
                explicit.add(id(jobs[-1]))
    else:
        if args.source is None or args.reference is None:
            raise InputError("--source and --reference are both required (or give --pairs)")
        sources = (_images(Path(args.source)) if Path(args.source).is_dir()
                   else [check_input_file(args.source, "source")])
        references = (_images(Path(args.reference)) if Path(args.reference).is_dir()
                      else [check_input_file(args.reference, "reference")])
        if not sources or not references:
            raise InputError("no images found in the source or reference folder")
        jobs = [Job(s, r, out / default_name(s, r)) for s in sources for r in references]
    jobs = _disambiguate(jobs, explicit)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create --output folder {out}: {exc.strerror or exc}") from exc
    for folder in sorted({job.output.parent for job in jobs}):
        if not folder.is_dir():
            raise InputError(f"output folder does not exist: {folder} (outputs of --pairs may name existing "
                             "sub-folders of --output only)")
        check_writable(folder / "probe.png", "--output")  # a read-only folder fails here, before the model loads
    for job in jobs:
        check_output_path(job.output, probe=False)  # extension and name length
    return jobs


def default_name(source: Path, reference: Path) -> str:
    return f"{source.stem}__{reference.stem}.png"


def _tagged_name(source: Path, reference: Path) -> str:
    def tag(p: Path) -> str:
        return f"{p.stem}_{p.suffix[1:].lower()}" if p.suffix else p.stem

    return f"{tag(source)}__{tag(reference)}.png"


def _disambiguate(jobs: list[Job], explicit: set[int]) -> list[Job]:
    """Give colliding default names their inputs' extensions; refuse collisions that remain."""
    def key(path: Path) -> str:
        return str(path.resolve()).casefold()  # case-insensitive file systems collide on case too

    counts = Counter(key(j.output) for j in jobs)
    jobs = [Job(j.source, j.reference, j.output.with_name(_tagged_name(j.source, j.reference)))
            if counts[key(j.output)] > 1 and id(j) not in explicit else j for j in jobs]
    seen: dict[str, Job] = {}
    for job in jobs:
        other = seen.setdefault(key(job.output), job)
        if other is not job:
            raise InputError(f"two pairs would write the same output {job.output}: {other.source.name} + "
                             f"{other.reference.name} and {job.source.name} + {job.reference.name} (rename one)")
    return jobs


def _inside(out: Path, name: str, line: int) -> Path:
    """``out / name`` when it stays inside ``out``: no absolute paths, no ``..`` escapes (also via links)."""
    rel = Path(name)
    if rel.is_absolute() or rel.drive:
        raise InputError(f"pairs file line {line}: output '{name}' must be relative to --output, not absolute")
    path = out / rel
    if ".." in rel.parts or out.resolve() not in path.resolve().parents:
        raise InputError(f"pairs file line {line}: output '{name}' would be written outside --output {out}")
    return path


def read_pairs(path: Path) -> list[tuple[int, Path, Path, str | None]]:
    """The rows of a pairs CSV: (line number, source, reference, output name or None); malformed rows are a
    one-line error naming the row."""
    check_input_file(path, "pairs file")
    rows, reader = [], None
    try:
        with path.open(newline="", encoding="utf-8-sig") as fp:
            reader = csv.reader(fp, strict=True)
            header = [h.strip() for h in next(reader, [])]
            if not {"source", "reference"} <= set(header):
                raise InputError(f"pairs file {path} needs a header with columns source,reference[,output]")
            col = {name: header.index(name) for name in ("source", "reference", "output") if name in header}
            needed = max(col["source"], col["reference"]) + 1  # a missing trailing output column is allowed
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                if not needed <= len(row) <= len(header):
                    raise InputError(f"pairs file {path} line {line}: {len(row)} column(s), expected "
                                     f"{len(header)} ({','.join(header)})")
                src, ref = row[col["source"]].strip(), row[col["reference"]].strip()
                name = row[col["output"]].strip() if "output" in col and col["output"] < len(row) else ""
                if not src or not ref:
                    raise InputError(f"pairs file {path} line {line}: empty source or reference")
                rows.append((line, path.parent / src, path.parent / ref, name or None))
    except csv.Error as exc:
        line = reader.line_num if reader is not None else 1
        raise InputError(f"pairs file {path} line {line}: malformed CSV ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read pairs file {path}: {exc}") from exc
    if not rows:
        raise InputError(f"pairs file {path} has no pairs")
    return rows


def run_batch(engine, jobs: list[Job], args: argparse.Namespace, controls) -> int:
    """Each pair fails alone; a broken source or reference is reported once, not once per pair."""
    from tqdm import tqdm

    from ..errors import LRMakeupError
    from ..face.io import read_image

    analysed: dict[tuple[str, Path], object] = {}  # (role, path) -> its analysis, or the error it gave
    written, skipped, failed, messages, crashed = 0, 0, 0, [], False

    def analysis(role: str, path: Path):
        if (role, path) not in analysed:
            try:
                if role == "source":
                    photo = read_image(path)
                    value = photo, engine.analyze_faces(photo, face_choice(args), role="source",
                                                        aligned=args.aligned, name=str(path))
                else:
                    value = engine.analyze(path, args.reference_face_index, role="reference")
            except LRMakeupError as exc:
                value = exc
                n = sum(1 for j in jobs if getattr(j, role) == path)
                messages.append(f"{path.name}: {_one_line(exc)}" + (f" (all its {n} pairs)" if n > 1 else ""))
            analysed[role, path] = value
        return analysed[role, path]

    for job in tqdm(jobs, desc="transfer", unit="pair"):
        if job.output.exists() and not args.overwrite:
            skipped += 1
            continue
        source, reference = analysis("source", job.source), analysis("reference", job.reference)
        if isinstance(source, Exception) or isinstance(reference, Exception):
            failed += 1  # already reported, once for the photo
            continue
        try:
            photo, faces = source
            transfer_one(engine, photo, job.source, reference, job.output, args, controls, faces=faces)
            written += 1
        except LRMakeupError as exc:
            failed += 1
            messages.append(f"{job.source.name} + {job.reference.name}: {_one_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - one pair's bug must not lose the rest of the batch
            failed, crashed = failed + 1, True
            messages.append(f"{job.source.name} + {job.reference.name}: internal error: {_one_line(exc)}")
    for line in messages:
        print(f"lrmakeup: failed: {line}", file=sys.stderr)
    parts = [f"{written} written"]
    if skipped:
        parts.append(f"{skipped} skipped (already there; --overwrite replaces them)")
    parts.append(f"{failed} failed")
    print(f"{', '.join(parts)} -> {args.output}")
    return 1 if crashed else 2 if failed else 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
