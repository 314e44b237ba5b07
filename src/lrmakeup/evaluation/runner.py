"""``lrmakeup evaluate``: the method and its baselines over a test split, scored by one metric code (METHOD.md §4).

Every model's 256x256 result is quantised to uint8 (what a user gets as a PNG) *before* it is scored, so
the saved images under ``OUT/images`` reproduce every per-sample number in ``results.json``. Each model has
its own :class:`MetricSuite`; a model that cannot run (no checkpoint given, no teacher for this data) keeps
a row of ``n/a (reason)`` — never a made-up number.

Outputs (each written atomically): ``results.md`` (the paper's Table 1 layout via ``render_table1``),
``results.json`` (means with counts and reasons, per-sample PSNR/SSIM, the settings), ``grid.png`` (the
first samples: inputs, every model, target), and ``images/NNNN_<model>.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..checkpoint import load_generator
from ..errors import DataError, InputError
from ..face.io import write_image
from ..fileio import atomic_write
from ..models import LRMakeupGenerator
from ..models.generator import Reference
from ..models.inputs import to_uint8_image
from ..utils import count_parameters
from .baselines import bicubic_baseline, cascade_baseline, load_cascade, save_cascade, train_cascade
from .datasets import EvalSample, EvalSet, open_eval_set
from .grid import write_grid
from .metrics import ALL_COLUMNS, MetricSuite, MetricValue, psnr, ssim
from .report import render_table1

BASELINES = ("bicubic", "cascade", "ablation", "teacher")
ROW_NAMES = {
    "method": "method",
    "bicubic": "LR transfer + bicubic",
    "cascade": "LR transfer + cascade SR",
    "ablation": "method without makeup matrix",
    "teacher": "teacher",
}


@dataclass
class EvalOptions:
    checkpoint: str | Path
    data: str | Path
    out: str | Path
    baselines: tuple[str, ...] = BASELINES
    cascade_checkpoint: str | Path | None = None
    cascade_train_steps: int = 0  # > 0: train the cascade SR on the train split first (saved to OUT)
    ablation_checkpoint: str | Path | None = None
    limit: int | None = None
    split: str = "test"
    device: str | torch.device = "cpu"
    grid_rows: int = 4
    lpips_net: str | None = "alex"
    fid: bool = True
    niqe: bool = True
    save_images: bool = True
    progress: bool = True


@dataclass
class EvalResult:
    rows: dict[str, dict[str, MetricValue]]  # row name -> column -> value
    per_sample: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # model key -> note (why n/a, or a caveat)
    files: dict[str, str] = field(default_factory=dict)


def parse_baselines(text: str) -> tuple[str, ...]:
    """"bicubic,cascade" -> ("bicubic", "cascade"); "" or "none" -> (); InputError on an unknown name."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    return tuple(dict.fromkeys(names))


_SHORT_REASON = {"cascade": "no cascade SR network, see notes", "ablation": "no ablation checkpoint, see notes",
                 "teacher": "no teacher, see notes"}


def _na_row(reason: str) -> dict[str, MetricValue]:
    return {col: MetricValue.unavailable(reason) for col in ALL_COLUMNS}


def _check_sizes(model: LRMakeupGenerator, data: EvalSet, what: str) -> None:
    cfg = model.cfg
    if (cfg.image_size, cfg.input_size) != (data.image_size, data.input_size):
        raise DataError(f"{what} works on {cfg.input_size}->{cfg.image_size} px, the data set on "
                        f"{data.input_size}->{data.image_size} px")


@torch.inference_mode()
def _run_generator(model: LRMakeupGenerator, sample: EvalSample, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """(x̃_SR, x̃_LR) as (S, S, 3) uint8."""
    source, reference = sample.model_view(model.cfg.makeup_size)
    mk, sr = model(source.to(device), [Reference(reference.to(device))])
    return to_uint8_image(sr.image), to_uint8_image(mk.image)


# A model's runner: (sample, the method's x̃_LR, the method's x̃_SR) -> its (S, S, 3) uint8 result, or None when
# it cannot run on this sample. The method's own outputs are computed once per sample and handed to every runner.
Runner = Callable[[EvalSample, np.ndarray, np.ndarray], "np.ndarray | None"]


def evaluate(opts: EvalOptions) -> EvalResult:
    """Run the method and the requested baselines over ``opts.data``'s split and write the report to ``opts.out``.

    Steps: check the options and open the data, load the method, set up a runner (or a note saying why it is
    n/a) for each baseline, run and score every sample, make the table's rows, write the reports.
    """
    out = Path(opts.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    if opts.limit is not None and opts.limit < 1:
        raise InputError(f"--limit must be >= 1, got {opts.limit}")
    device = torch.device(opts.device)
    data = open_eval_set(opts.data, opts.split)
    n = len(data) if opts.limit is None else min(opts.limit, len(data))
    if n == 0:
        raise DataError(f"{opts.data} has no {opts.split} samples")

    model, config, _ = load_generator(opts.checkpoint, device)
    _check_sizes(model, data, f"checkpoint {opts.checkpoint}")
    notes: dict[str, str] = {}
    runners: dict[str, Runner] = {"method": lambda s, x_lr, sr: sr, **_baseline_runners(opts, model, data, out,
                                                                                       device, notes)}
    suites = {key: MetricSuite(lpips_net=opts.lpips_net, fid=opts.fid, niqe=opts.niqe, device=device)
              for key in runners}
    out.mkdir(parents=True, exist_ok=True)
    per_sample, grid_rows, missing_teacher = _run_samples(opts, model, data, n, runners, suites, out / "images",
                                                          device)

    rows: dict[str, dict[str, MetricValue]] = {}
    for key in ("method", *opts.baselines):
        label = ROW_NAMES[key] + (" (= target)" if key == "teacher" and data.target_is_teacher else "")
        rows[label] = suites[key].compute() if key in suites else _na_row(_SHORT_REASON.get(key, "not run"))
    if missing_teacher:
        notes["teacher"] = notes.get("teacher", "") + f"; skipped {missing_teacher} samples without face analyses"

    result = EvalResult(rows=rows, per_sample=per_sample, notes=notes)
    _write_reports(opts, data, n, result, out, list(runners), grid_rows, config)
    return result


def _baseline_runners(opts: EvalOptions, model: LRMakeupGenerator, data: EvalSet, out: Path, device: torch.device,
                      notes: dict[str, str]) -> dict[str, Runner]:
    """A runner for each requested baseline that can run here; for the others, ``notes`` says why not."""
    runners: dict[str, Runner] = {}
    if "bicubic" in opts.baselines:
        runners["bicubic"] = lambda s, x_lr, sr: bicubic_baseline(x_lr, data.input_size)
    if "cascade" in opts.baselines:
        cascade = None
        if opts.cascade_checkpoint:
            cascade, _ = load_cascade(opts.cascade_checkpoint, device)
            notes["cascade"] = f"cascade SR from {opts.cascade_checkpoint}"
        elif opts.cascade_train_steps > 0:
            cascade = _train_cascade_for(opts, model, data, out, notes)
        else:
            notes["cascade"] = "no --cascade-checkpoint and no --cascade-train-steps given"
        if cascade is not None:
            if cascade.cfg.scale * data.input_size != data.image_size:
                raise InputError(f"the cascade network up-samples x{cascade.cfg.scale}, the data set needs "
                                 f"{data.input_size}->{data.image_size}")
            runners["cascade"] = lambda s, x_lr, sr, net=cascade: cascade_baseline(net, x_lr, data.input_size)
    if "ablation" in opts.baselines:
        if opts.ablation_checkpoint:
            ablation, abl_cfg, _ = load_generator(opts.ablation_checkpoint, device)
            _check_sizes(ablation, data, f"ablation checkpoint {opts.ablation_checkpoint}")
            if abl_cfg.model.sr.makeup_prior:
                notes["ablation"] = (f"WARNING: {opts.ablation_checkpoint} was trained with "
                                     "model.sr.makeup_prior=true, so it is not the ablation")
            runners["ablation"] = lambda s, x_lr, sr, net=ablation: _run_generator(net, s, device)[0]
        else:
            notes["ablation"] = "no --ablation-checkpoint given (a model trained with model.sr.makeup_prior=false)"
    if "teacher" in opts.baselines:
        if data.target_is_teacher:
            notes["teacher"] = (f"the targets ARE the teacher's ({data.teacher_spec}) results: reference row "
                                "(PSNR ∞, SSIM 1 by construction; NIQE/ΔE00/identity of the targets themselves)")
            runners["teacher"] = lambda s, x_lr, sr: s.target
        else:
            teacher = _benchmark_teacher(data, notes)
            if teacher is not None:
                notes["teacher"] = (f"the {data.teacher_spec} teacher applied to the sharp {data.image_size}px "
                                    f"source and reference (not their {data.input_size}px inputs): an upper "
                                    "reference, not a competitor on equal inputs")
                runners["teacher"] = lambda s, x_lr, sr: _teacher_or_none(teacher, s)
    return runners


def _run_samples(opts: EvalOptions, model: LRMakeupGenerator, data: EvalSet, n: int, runners: dict[str, Runner],
                 suites: dict[str, MetricSuite], images_dir: Path, device: torch.device,
                 ) -> tuple[list[dict[str, Any]], list[list[np.ndarray | None]], int]:
    """Run every model on the first ``n`` samples, score them and save their images.

    Returns (per-sample PSNR / SSIM records, the grid's first rows, how many results were missing)."""
    if opts.save_images:
        images_dir.mkdir(exist_ok=True)
    per_sample: list[dict[str, Any]] = []
    grid_rows: list[list[np.ndarray | None]] = []
    missing = 0
    for i in tqdm(range(n), desc="evaluating", unit="sample", disable=not opts.progress):
        sample = data[i]
        sr, x_lr = _run_generator(model, sample, device)
        sharp = None  # the sharp source and its landmarks (synthetic benchmarks), for the dlib face distance
        if sample.teacher_faces is not None and sample.teacher_faces[0].image_lr.shape[0] == sample.target.shape[0]:
            sharp = (sample.teacher_faces[0].image_lr, sample.teacher_faces[0].landmarks)
        record: dict[str, Any] = {"index": i, "name": sample.name}
        outputs: dict[str, np.ndarray | None] = {}
        for key, run in runners.items():
            pred = run(sample, x_lr, sr)
            outputs[key] = pred
            if pred is None:
                missing += 1
                continue
            suites[key].update(pred, sample.target, source=sample.source_image, regions=sample.regions,
                               sharp_source=sharp)
            record[key] = {"psnr": psnr(pred, sample.target), "ssim": ssim(pred, sample.target)}
        per_sample.append(record)
        if opts.save_images:
            for key, image in {"source": sample.source_image, "reference": sample.reference_image,
                               "lr_transfer": x_lr, **outputs, "target": sample.target}.items():
                if image is not None:
                    write_image(images_dir / f"{i:04d}_{key}.png", image)
        if i < opts.grid_rows:
            grid_rows.append([sample.source_image, sample.reference_image,
                              *(outputs[k] for k in runners), sample.target])
    return per_sample, grid_rows, missing


def _train_cascade_for(opts: EvalOptions, model: LRMakeupGenerator, data: EvalSet, out: Path,
                       notes: dict[str, str]):
    from ..models.cascade import CascadeSR, cascade_for_budget

    try:
        train = open_eval_set(opts.data, "train")
    except InputError as exc:
        notes["cascade"] = f"cannot train the cascade SR: {exc}"
        return None
    if len(train) == 0:
        notes["cascade"] = "cannot train the cascade SR: the data set has no train split"
        return None
    budget = count_parameters(model.prior) + count_parameters(model.sr)
    cfg = cascade_for_budget(budget, scale=data.image_size // data.input_size)
    net, losses = train_cascade(train, opts.cascade_train_steps, CascadeSR(cfg), data.input_size,
                                device=opts.device, progress=opts.progress)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cascade.safetensors"
    save_cascade(path, net, {"steps": opts.cascade_train_steps, "data": str(opts.data), "final_loss": losses[-1],
                             "budget_G_S": budget})
    notes["cascade"] = (f"cascade SR trained here: {opts.cascade_train_steps} steps (L1) on {len(train)} train "
                        f"targets, {count_parameters(net)} parameters vs G_S {budget}; saved to {path}")
    return net


def _benchmark_teacher(data: EvalSet, notes: dict[str, str]):
    try:
        from ..data.teachers import make_teacher
    except ImportError as exc:
        notes["teacher"] = f"no teacher module (lrmakeup.data.teachers): {exc}"
        return None
    return make_teacher("classic")


def _teacher_or_none(teacher, sample: EvalSample) -> np.ndarray | None:
    if sample.teacher_faces is None:
        return None
    return teacher(*sample.teacher_faces)


def _json_value(v: MetricValue) -> dict[str, Any]:
    value = v.value
    if value is not None and not math.isfinite(value):
        value = "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    return {"value": value, "reason": v.reason, "count": v.count}


def _write_reports(opts: EvalOptions, data: EvalSet, n: int, result: EvalResult, out: Path,
                   models: list[str], grid_rows: list, config) -> None:
    settings = {k: (str(v) if isinstance(v, (Path, torch.device)) else v) for k, v in asdict(opts).items()}
    settings["baselines"] = list(opts.baselines)
    doc = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "data": {**data.describe(), "evaluated": n},
        "rows": {name: {col: _json_value(v) for col, v in cols.items()} for name, cols in result.rows.items()},
        "notes": result.notes,
        "per_sample": [_finite(r) for r in result.per_sample],
    }
    md = [f"# Evaluation of {opts.checkpoint}\n",
          f"Data: {data.root} ({data.format}, {data.split} split, {n} of {len(data)} samples, "
          f"{data.input_size}->{data.image_size} px). Scored against the targets at {data.image_size} px; "
          "identity = outside the makeup regions, against the bicubic up-sampled source; dlib distance = "
          "face-recognition descriptor distance to the sharp source (< 0.6: the same person).\n",
          render_table1(result.rows)]
    if result.notes:
        md.append("\nNotes:\n")
        md.extend(f"- {ROW_NAMES.get(k, k)}: {v}\n" for k, v in result.notes.items())
    files = {"results.md": out / "results.md", "results.json": out / "results.json", "grid": out / "grid.png"}
    atomic_write(files["results.json"], lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1) + "\n"))
    atomic_write(files["results.md"], lambda tmp: Path(tmp).write_text("".join(md)))
    if grid_rows:
        columns = ["source", "reference", *(ROW_NAMES[k] for k in models), "target"]
        write_grid(files["grid"], columns, grid_rows)
    result.files = {k: str(v) for k, v in files.items()}


def _finite(record: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf: write non-finite numbers as strings."""
    def fix(v):
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
        return v
    return fix(record)
