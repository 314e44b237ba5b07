"""The trainer (METHOD §3): alternating D / G updates of the whole model, on CPU, one GPU or ``torchrun``.

One step:

1. the generator makes G_M(x, y), G_M(y, x), G_S(x̃_LR, m) and the two cycles (one DDP forward);
2. discriminator step: ``L_D`` on real images vs the detached generated ones, optimiser step;
3. generator step: eq. (20) through the just-updated discriminators (their parameters frozen), optimiser step.

Every loss is checked before its backward: a NaN/inf stops training with a :class:`TrainingError` naming the
term, its equation and the step, before it can reach the weights. Checkpoints (``train_state.pt`` and
``generator.safetensors``) are written atomically every ``train.checkpoint_every`` steps and at the end;
``resume=True`` continues from the last one: same weights, optimiser and scheduler state, RNG states and the
same data permutation at the same position.

Run folder::

    RUN/config.yaml              the resolved config of the run
    RUN/train_state.pt           the full training state (resume from here)
    RUN/generator.safetensors    the generator with its config, for inference (lrmakeup transfer --checkpoint)
    RUN/metrics.jsonl            one record of losses per logged step
    RUN/tensorboard/             TensorBoard scalars and image grids
    RUN/images/step_XXXXXXX.png  x | y | x̃_LR | x̃_SR | x̃_HR | Σ heatmaps | parsing, every train.image_every steps
    RUN/loss_curve.png           written at the end
"""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Sized
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, Dataset

from ..checkpoint import load_state_strict, read_checkpoint, save_generator
from ..config import Config, TrainConfig, config_from_dict
from ..errors import CheckpointError, ConfigError, DataError, InputError, LRMakeupError
from ..fileio import atomic_write
from ..models import LRMakeupGenerator
from ..models.psgan import load_psgan_makeup
from . import distributed as D
from .augment import random_crops, random_flips
from .monitor import IMAGES_DIR, LOSS_CURVE_FILE, METRICS_FILE, Monitor, image_grid
from .objective import (
    EQUATIONS,
    Discriminators,
    GeneratedImages,
    GeneratorPass,
    TermInputs,
    TrainingBatch,
    compute_terms,
    needs,
    needs_discriminators,
)
from .sampler import ResumableSampler
from .state import (
    FORMAT,
    PREVIOUS_STATE_FILE,
    STATE_FILE,
    capture_rng,
    has_state,
    load_latest_state,
    restore_rng,
    save_state,
)

CONFIG_FILE = "config.yaml"
SNAPSHOTS_DIR = "snapshots"
GENERATOR_FILE = "generator.safetensors"
OUR_FILES = (CONFIG_FILE, STATE_FILE, PREVIOUS_STATE_FILE, GENERATOR_FILE, METRICS_FILE, LOSS_CURVE_FILE)
OPTIMIZERS = ("rmsprop", "adam")
SCHEDULERS = ("none", "linear")


class TrainingError(LRMakeupError):
    """Training cannot go on (a loss became NaN or infinite). Not the user's input: the CLI exits with 1."""


@dataclass
class TrainResult:
    step: int  # optimisation steps done in total (including those before a resume)
    epoch: int  # the epoch the next step would be in
    run_dir: Path
    state_path: Path
    generator_path: Path
    losses: dict[str, float] = field(default_factory=dict)  # the last step's terms and totals
    stopped_by: str = ""  # "SIGTERM" / "SIGINT" when a signal ended the run early (its checkpoint is written)


def validate_config(config: Config) -> None:
    """Values a dataclass type check cannot catch (every section); ConfigError names the key."""
    config.validate()
    validate_train_config(config.train)


def validate_train_config(cfg: TrainConfig) -> None:
    """Values a dataclass type check cannot catch; ConfigError names the key."""
    if cfg.optimizer not in OPTIMIZERS:
        raise ConfigError(f"train.optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg.optimizer!r}")
    if cfg.scheduler not in SCHEDULERS:
        raise ConfigError(f"train.scheduler must be one of {', '.join(SCHEDULERS)}, got {cfg.scheduler!r}")
    positive = {"train.lr": cfg.lr, "train.batch_size": cfg.batch_size, "train.epochs": cfg.epochs}
    for key, value in positive.items():
        if not value > 0:
            raise ConfigError(f"{key} must be > 0, got {value!r}")
    non_negative = {"train.lr_d": cfg.lr_d, "train.max_steps": cfg.max_steps, "train.num_workers": cfg.num_workers,
                    "train.grad_clip": cfg.grad_clip, "train.checkpoint_every": cfg.checkpoint_every,
                    "train.snapshot_every": cfg.snapshot_every,
                    "train.log_every": cfg.log_every, "train.image_every": cfg.image_every}
    for key, value in non_negative.items():
        if value < 0:
            raise ConfigError(f"{key} must be >= 0, got {value!r}")
    if not 0.0 <= cfg.decay_start <= 1.0:
        raise ConfigError(f"train.decay_start must lie in [0, 1], got {cfg.decay_start!r}")
    if not 0.0 <= cfg.bare_fraction <= 1.0:
        raise ConfigError(f"train.bare_fraction must lie in [0, 1], got {cfg.bare_fraction!r}")
    if cfg.detail_crop <= 0 or cfg.detail_crop % 8:
        raise ConfigError(f"train.detail_crop must be a positive multiple of 8, got {cfg.detail_crop!r}")
    if cfg.detail_windows < 1:
        raise ConfigError(f"train.detail_windows must be >= 1, got {cfg.detail_windows!r}")


def make_optimizer(params: Any, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """RMSprop (the paper, FSRNet) or Adam (PSGAN) with the config's learning rate."""
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(cfg.adam_beta1, cfg.adam_beta2))


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> LambdaLR:
    """Per-step LR factor: constant 1 ("none"), or 1 until ``decay_start · total`` then linearly to 0 ("linear").

    The factor is a plain function of the current config (not pickled into the state), so a resumed run that
    extends ``max_steps`` decays over the new length.
    """
    start = int(cfg.decay_start * total_steps)

    def factor(step: int) -> float:
        if cfg.scheduler == "none" or step < start:
            return 1.0
        return max(0.0, (total_steps - step) / max(total_steps - start, 1))

    return LambdaLR(optimizer, factor)


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            diff = _first_difference(a.get(key), b.get(key), f"{where}.{key}" if where else key)
            if diff:
                return diff
        return None
    return None if a == b else where


def init_makeup_modules(generator: LRMakeupGenerator, path: str) -> str:
    """``train.init_psgan``: PSGAN's ``G.pth`` or an lrmakeup ``.safetensors`` -> the makeup modules.

    Only ``distill.*`` and ``apply_net.*`` are loaded (names and shapes checked); G_S keeps its initialisation.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"train.init_psgan: file not found: {p}")
    if p.suffix == ".safetensors":
        tensors, _, _ = read_checkpoint(p)
        makeup = {k: v for k, v in generator.state_dict().items() if k.startswith(("distill.", "apply_net."))}
        sub = nn.Module()  # a view that holds exactly the makeup tensors, for the strict name/shape check
        sub.distill, sub.apply_net = generator.distill, generator.apply_net
        load_state_strict(sub, {k: tensors[k] for k in makeup if k in tensors}, str(p))
        return f"makeup modules from {p} ({len(makeup)} tensors)"
    n = load_psgan_makeup(generator, p)
    return f"makeup modules from PSGAN {p} ({n} tensors)"


def init_generator(generator: LRMakeupGenerator, path: str) -> str:
    """``train.init``: every tensor of an lrmakeup generator checkpoint of the same architecture (strict).

    The one exception: tensors of a variant switched on since (``LRMakeupGenerator.grown_tensors``, e.g.
    ``model.makeup.reference_colour``) may be missing; they keep their zero initialisation, so the run starts
    from exactly the checkpoint's function.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"train.init: file not found: {p}")
    tensors, _, _ = read_checkpoint(p)
    tensors = {k: v.float() for k, v in tensors.items()}
    state = generator.state_dict()
    grown = sorted(k for k in generator.grown_tensors() if k not in tensors)
    tensors.update({k: state[k] for k in grown})
    load_state_strict(generator, tensors, str(p))
    return f"generator from {p}" + (f" ({len(grown)} new tensors at their zero initialisation)" if grown else "")


class Trainer:
    """Builds the models, optimisers and data order of a run, and trains it (see the module docstring).

    config: the run's config (with ``resume`` its model and loss sections must equal the saved ones).
    dataset: items as ``lrmakeup.data.tuples.TupleDataset`` yields them (dicts of tensors, see TrainingBatch).
    run_dir: the run folder; created if missing. A folder that already holds a run needs ``resume=True``.
    dist: rank / world size / device (``distributed.setup``); default: one process on the CPU.
    """

    def __init__(self, config: Config, dataset: Dataset, run_dir: str | Path, resume: bool = False,
                 dist: D.DistInfo | None = None, progress: bool = True):
        validate_config(config)
        self.dist = dist or D.DistInfo()
        self.device = self.dist.device
        self.run_dir = Path(run_dir)
        self.state_path = self.run_dir / STATE_FILE
        self.generator_path = self.run_dir / GENERATOR_FILE
        self._notes: list[str] = []
        self._keep_previous = True  # False after resuming from the previous state: keep that good one
        state = self._open_run(config, resume)
        self.cfg = config
        tc = config.train

        # Data: a seeded permutation per epoch, split over the ranks, resumable mid-epoch.
        if not isinstance(dataset, Sized) or len(dataset) == 0:
            raise DataError("the training data set is empty")
        self.dataset = dataset
        self.sampler = ResumableSampler(dataset, self.dist.world_size, self.dist.rank, tc.seed)
        self.steps_per_epoch = self.sampler.num_samples // tc.batch_size
        if self.steps_per_epoch == 0:
            raise DataError(f"{len(dataset)} training tuples are fewer than one batch per process "
                            f"(train.batch_size={tc.batch_size} x {self.dist.world_size} processes)")
        total = tc.epochs * self.steps_per_epoch
        self.total_steps = min(total, tc.max_steps) if tc.max_steps > 0 else total
        self.loader_generator = torch.Generator()
        self.loader = DataLoader(dataset, batch_size=tc.batch_size, sampler=self.sampler, num_workers=tc.num_workers,
                                 drop_last=True, pin_memory=self.device.type == "cuda", generator=self.loader_generator)

        # Models: the same seeded initialisation on every rank (DDP also broadcasts rank 0's).
        torch.manual_seed(tc.seed)
        random.seed(tc.seed)
        np.random.seed(tc.seed)
        self.generator = LRMakeupGenerator(config.model)
        self.discriminators = Discriminators(config)
        self.init_note = ""
        if tc.init_psgan and state is None:
            self.init_note = init_makeup_modules(self.generator, tc.init_psgan)
        if tc.init and state is None:  # a second phase starts from a first phase's generator
            self.init_note = init_generator(self.generator, tc.init)
        if tc.freeze_makeup:  # train G_S only (e.g. a detail phase on a finished G_M)
            self.generator.distill.requires_grad_(False)
            self.generator.apply_net.requires_grad_(False)
        self.generator.to(self.device).train()
        self.discriminators.to(self.device).train()
        self.vgg = None
        self.vgg_info = {"weights": "unused", "source": ""}
        if needs(config.loss, "uses_vgg"):
            from ..models.vgg import VGGFeatures  # torchvision: imported only when a perceptual term is on

            self.vgg = VGGFeatures(config.loss.vgg_weights).to(self.device)
            self.vgg_info = {"weights": self.vgg.weights, "source": self.vgg.weights_source}

        self.opt_g = make_optimizer([q for q in self.generator.parameters() if q.requires_grad], tc, tc.lr)
        self.opt_d = make_optimizer(self.discriminators.parameters(), tc, tc.lr_d or tc.lr)
        self.sched_g = make_scheduler(self.opt_g, tc, self.total_steps)
        self.sched_d = make_scheduler(self.opt_d, tc, self.total_steps)

        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        if state is not None:
            self._load(state)

        # DDP: the generator pass and the discriminators are each one DDP module with one forward per backward.
        g_pass: nn.Module = GeneratorPass(self.generator, cycle=needs(config.loss, "uses_cycle"),
                                          reverse=needs(config.loss, "uses_reverse"))
        d_pass: nn.Module = self.discriminators
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            unused = tc.ddp_find_unused or config.loss.lambda_p == 0  # λ_p = 0 leaves the prior heads unused
            g_pass = DDP(g_pass, device_ids=ids, find_unused_parameters=unused, broadcast_buffers=False)
            d_pass = DDP(d_pass, device_ids=ids)
        self.g_pass, self.d_pass = g_pass, d_pass
        self.detail = needs(config.loss, "uses_detail")
        self.progress = progress
        self.last_losses: dict[str, float] = {}
        self._images: tuple[TrainingBatch, GeneratedImages] | None = None
        self._write_config()

    # ----------------------------------------------------------------------------------------- run folder
    def _open_run(self, config: Config, resume: bool) -> dict[str, Any] | None:
        """Check the run folder against ``resume``; load the state to resume from; write config.yaml."""
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise InputError(f"run folder '{self.run_dir}' is a file")
        state = None
        if not has_state(self.state_path):
            if resume:  # never silently start over in a folder the user means to continue
                raise InputError(f"cannot resume '{self.run_dir}': it holds no training state ({STATE_FILE}); "
                                 "start the run without --resume")
        else:
            if not resume:
                raise InputError(f"run folder '{self.run_dir}' already holds a training run ({STATE_FILE}); "
                                 "pass --resume to continue it, or choose another --out")
            state, note = load_latest_state(self.state_path)  # the newest readable of the last two
            if note:
                self._notes.append(note)
                self._keep_previous = False
            try:  # through the dataclasses: fields added since the run started take their defaults
                saved = config_from_dict(yaml.safe_load(state["config"])).to_dict()
            except (yaml.YAMLError, LRMakeupError) as exc:
                raise CheckpointError(f"{self.state_path} carries an invalid config: {exc}") from exc
            for section in ("model", "loss"):
                diff = _first_difference(saved[section], config.to_dict()[section], section)
                if diff:
                    raise ConfigError(f"cannot resume '{self.run_dir}' with a different '{diff}' than it was "
                                      f"trained with (only train.* settings may change on resume)")
        return state

    def _write_config(self) -> None:
        """Create the run folder, drop temporary files a killed run left behind, write config.yaml."""
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for folder in (self.run_dir, self.run_dir / IMAGES_DIR):
                for tmp in folder.glob(".*.tmp"):
                    if tmp.name.startswith(tuple(f".{name}." for name in OUR_FILES)) or folder.name == IMAGES_DIR:
                        tmp.unlink(missing_ok=True)
            text = self.cfg.to_yaml()
            atomic_write(self.run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(text))
        D.barrier(self.dist)

    def _load(self, state: dict[str, Any]) -> None:
        load_state_strict(self.generator, state["generator"], f"{self.state_path} (generator)")
        for name in ("d_x", "d_y", "d_s"):
            load_state_strict(getattr(self.discriminators, name), state[name], f"{self.state_path} ({name})")
        if state.get("optimizer") != self.cfg.train.optimizer:
            raise ConfigError(f"cannot resume '{self.run_dir}' with train.optimizer={self.cfg.train.optimizer!r}: "
                              f"it was trained with {state.get('optimizer')!r}")
        try:
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"{self.state_path}: optimiser state does not fit ({exc}); "
                                  "was train.optimizer changed?") from exc
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        tc = self.cfg.train
        for opt, sched, lr in ((self.opt_g, self.sched_g, tc.lr), (self.opt_d, self.sched_d, tc.lr_d or tc.lr)):
            # the current config's lr and schedule apply from here on (unchanged config: the same values)
            sched.base_lrs = [lr] * len(opt.param_groups)
            for group, factor in zip(opt.param_groups, sched.lr_lambdas):
                group["initial_lr"] = lr
                group["lr"] = lr * factor(sched.last_epoch)
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        if state["world_size"] != self.dist.world_size or state["batch_size"] != tc.batch_size:
            # same samples consumed, in the new split: approximately the same position in the permutation
            consumed = self.batch_in_epoch * state["batch_size"] * state["world_size"]
            self.batch_in_epoch = min(consumed // (tc.batch_size * self.dist.world_size), self.steps_per_epoch)
        if self.batch_in_epoch >= self.steps_per_epoch:
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        if state.get("dataset_size") != len(self.dataset):
            self._notes.append(f"lrmakeup: note: the run was trained on {state.get('dataset_size')} tuples, the data "
                               f"now holds {len(self.dataset)}: the data order after the resume differs")
        rngs = state["rng"]
        restore_rng(rngs[self.dist.rank] if len(rngs) == self.dist.world_size else rngs[0], self.device)
        self.init_note = state.get("init", "")

    def _state(self, rngs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "batch_size": self.cfg.train.batch_size,
            "world_size": self.dist.world_size,
            "dataset_size": len(self.dataset),
            "config": self.cfg.to_yaml(),
            "generator": self.generator.state_dict(),
            "d_x": self.discriminators.d_x.state_dict(),
            "d_y": self.discriminators.d_y.state_dict(),
            "d_s": self.discriminators.d_s.state_dict(),
            "optimizer": self.cfg.train.optimizer,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "rng": rngs,
            "vgg": dict(self.vgg_info),
            "init": self.init_note,
        }

    def save_checkpoint(self) -> None:
        """Training state, then the inference generator, both atomic; every rank takes part (RNG gather, barrier)."""
        rngs = D.all_gather_object(self.dist, capture_rng(self.device))
        if self.dist.is_main:
            save_state(self.state_path, self._state(rngs), keep_previous=self._keep_previous)
            self._keep_previous = True
            provenance = {"trainer": "lrmakeup.training", "step": self.step, "epoch": self.epoch,
                          "vgg_weights": self.vgg_info["weights"], "vgg_source": self.vgg_info["source"],
                          "init": self.init_note}
            save_generator(self.generator_path, self.generator, self.cfg, provenance)
            if self._due(self.cfg.train.snapshot_every):  # for selection on held-out data (evaluation/selection.py)
                snapshot = self.run_dir / SNAPSHOTS_DIR / f"step_{self.step:07d}.safetensors"
                snapshot.parent.mkdir(exist_ok=True)
                save_generator(snapshot, self.generator, self.cfg, provenance)
        D.barrier(self.dist)

    # ----------------------------------------------------------------------------------------- one step
    def _autocast(self):
        if not self.cfg.train.bf16:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _guard(self, terms: dict[str, Tensor]) -> None:
        """Stop (on every rank) before a NaN/inf loss reaches the weights; name the term, equation and step."""
        values = torch.stack([v.detach().float().reshape(()) for v in terms.values()])
        finite = torch.isfinite(values)
        bad_here = not bool(finite.all())
        if not D.any_true(self.dist, bad_here):
            return
        step = self.step + 1
        if bad_here:
            names = list(terms)
            i = int((~finite).nonzero()[0])
            where = f"loss term '{names[i]}' ({EQUATIONS.get(names[i], '')}) is {values[i].item()}"
        else:
            where = "a loss term is not finite on another rank"
        raise TrainingError(f"training stopped: {where} at step {step}; the last checkpoint is kept "
                            "(lower train.lr, check the data, or turn off train.bf16)")

    def _clip(self, params: Any) -> None:
        if self.cfg.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.cfg.train.grad_clip)

    def make_batch(self, items: dict[str, Tensor]) -> TrainingBatch:
        """The step's batch: what G_M reads for this model, then the recipe's flips and "no makeup" samples.

        Both draw from torch's global RNG, which the training state saves: a resumed run draws the same."""
        tc = self.cfg.train
        batch = TrainingBatch.from_items(items, self.device, self.cfg.model)
        source_hr = items.get("x_hr")
        if tc.flip:
            batch, source_hr = random_flips(batch, source_hr)
        if tc.bare_fraction > 0:
            if source_hr is None:
                raise DataError("train.bare_fraction needs the sharp source (x_hr) in the data items")
            bare = torch.rand(batch.target.shape[0]) < tc.bare_fraction
            batch = batch.with_bare(bare.to(self.device), source_hr.to(self.device))
        if self.detail:
            batch = self._detail_crops(batch, items)
        return batch

    def _detail_crops(self, batch: TrainingBatch, items: dict[str, Tensor]) -> TrainingBatch:
        """The detail term's crops: ``train.detail_windows`` windows of every source and every reference.

        The reference photos wear makeup, but as super-resolution data they are just faces: the target is the
        sharp photo itself, and G_M runs with every region scale 0."""
        missing = [key for key in ("x_hr", "y_hr") if key not in items]
        if missing:
            raise DataError(f"loss.rec_detail needs the sharp photos ({', '.join(missing)}) in the data items")
        model, size = self.cfg.model, self.cfg.train.detail_crop
        view = ("x_lr", "y_lr") if model.makeup.resolution == "input" else ("x_image", "y_image")
        k = self.cfg.train.detail_windows
        low = torch.cat([items[view[0]], items[view[1]]]).float().repeat_interleave(k, 0)
        sharp = torch.cat([items["x_hr"], items["y_hr"]]).float().repeat_interleave(k, 0)
        size = size if model.makeup.resolution == "input" else size * model.scale
        lr, hr = random_crops(low, sharp, size)
        return batch._replace(detail_lr=lr.to(self.device), detail_hr=hr.to(self.device))

    def train_step(self, items: dict[str, Tensor], keep_images: bool = False) -> dict[str, Tensor]:
        """One alternating D / G update on a collated batch; returns the detached terms and totals."""
        loss_cfg = self.cfg.loss
        batch = self.make_batch(items)
        with self._autocast():
            out: GeneratedImages = self.g_pass(batch.x, batch.y, batch.region_scale, batch.detail_lr)

        # Discriminator step: L_D = λ_adv_M eq. (7) + λ_adv_S eq. (9), generated images detached.
        # Skipped when both adversarial λ are 0 (a supervised-only recipe such as the demo's).
        d_terms: dict[str, Tensor] = {}
        if needs_discriminators(loss_cfg):
            assert out.yx is not None
            self.opt_d.zero_grad(set_to_none=True)
            with self._autocast():
                scores = self.d_pass(batch.x.image, out.yx.detach(), batch.y.image, out.xy.detach(),
                                     batch.target, out.sr.detach())
                d_terms = compute_terms("D", TermInputs(out, batch, loss_cfg, scores=scores))
            self._guard(d_terms)
            d_terms["loss_D"].backward()
            self._clip(self.discriminators.parameters())
            self.opt_d.step()

        # Generator step: eq. (20) through the updated discriminators, whose parameters are frozen here.
        self.discriminators.requires_grad_(False)
        try:
            with self._autocast():
                g_terms = compute_terms("G", TermInputs(out, batch, loss_cfg, self.discriminators, self.vgg))
            self._guard(g_terms)
            self.opt_g.zero_grad(set_to_none=True)
            g_terms["loss_G"].backward()
        finally:
            self.discriminators.requires_grad_(True)
        self._clip(self.generator.parameters())
        self.opt_g.step()
        self.sched_g.step()
        if d_terms:  # the discriminators' schedule advances with their own updates only
            self.sched_d.step()
        if keep_images:
            self._images = (batch, out)
        return {k: v.detach().float() for k, v in {**d_terms, **g_terms}.items()}

    # ----------------------------------------------------------------------------------------- the loop
    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def fit(self) -> TrainResult:
        """Train until ``total_steps``; checkpoint every ``checkpoint_every`` steps and at the end."""
        tc = self.cfg.train
        monitor = Monitor(self.run_dir, self.total_steps, self.step, active=self.dist.is_main, progress=self.progress)
        if self.vgg is not None and self.vgg.weights == "random":
            monitor.note("lrmakeup: note: the perceptual losses use a RANDOM VGG-16 (loss.vgg_weights=random)")
        for note in self._notes:
            monitor.note(note)
        if self.step > 0:
            monitor.note(f"lrmakeup: resuming at step {self.step} (epoch {self.epoch}, batch {self.batch_in_epoch})")
        saved_at = self.step if self.state_path.is_file() else -1
        stop = SignalStop()  # SIGTERM / SIGINT: finish this step, checkpoint, return
        stop.install()
        try:
            while self.step < self.total_steps and not stop.agreed:
                self.sampler.set_position(self.epoch, self.batch_in_epoch * tc.batch_size)
                self.loader_generator.manual_seed(tc.seed * 1_000_003 + self.epoch)  # worker seeds per epoch
                for items in self.loader:
                    want_images = monitor.active and tc.image_every > 0 and (self.step + 1) % tc.image_every == 0
                    terms = self.train_step(items, keep_images=want_images)
                    self.step += 1
                    self.batch_in_epoch += 1
                    if self.batch_in_epoch >= self.steps_per_epoch:
                        self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                    monitor.advance()
                    if self._due(tc.log_every) or self.step == self.total_steps:
                        self._log(monitor, terms)
                    if want_images:
                        monitor.images(self.step, image_grid(*self._grid_inputs()))
                        self._images = None
                    if self._due(tc.checkpoint_every) or self.step == self.total_steps:
                        self.save_checkpoint()
                        saved_at = self.step
                    if stop.check(self.dist) or self.step >= self.total_steps or self.batch_in_epoch == 0:
                        break
            if saved_at != self.step:
                self.save_checkpoint()
        except KeyboardInterrupt:
            monitor.note(f"lrmakeup: interrupted at step {self.step}; --resume continues from the last checkpoint")
            monitor.close(plot=False)
            raise
        except BaseException:
            monitor.close(plot=False)
            raise
        finally:
            stop.restore()
        monitor.close(plot=True)
        return TrainResult(self.step, self.epoch, self.run_dir, self.state_path, self.generator_path, self.last_losses,
                           stopped_by=stop.name if stop.agreed else "")

    def _log(self, monitor: Monitor, terms: dict[str, Tensor]) -> None:
        names = list(terms)
        values = D.mean_over_ranks(self.dist, torch.stack([terms[n] for n in names]).to(self.device)).cpu().tolist()
        self.last_losses = dict(zip(names, values))
        monitor.log(self.step, self.epoch, self.last_losses, self.opt_g.param_groups[0]["lr"])

    def _grid_inputs(self) -> tuple[Tensor, ...]:
        assert self._images is not None
        batch, out = self._images
        return (batch.x.image, batch.y.image, out.xy, out.sr, batch.target, out.heatmaps, out.parsing)


class SignalStop:
    """SIGTERM (how clusters pre-empt jobs) or SIGINT during :meth:`Trainer.fit`: the current step finishes, a
    checkpoint is written and ``fit`` returns; a second signal aborts at once (KeyboardInterrupt).

    Under DDP every rank stops after the same step (``check`` is collective). Python only allows handlers in
    the main thread; elsewhere nothing is installed and signals keep their default action.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received = ""  # the signal this process got
        self.agreed = False  # True once any rank got one: stop after this step
        self.name = ""
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def check(self, dist: D.DistInfo) -> bool:
        if not self.agreed and D.any_true(dist, bool(self.received)):
            self.agreed, self.name = True, self.received or "SIGTERM"
        return self.agreed

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()


def train(config: Config, dataset: Dataset, run_dir: str | Path, resume: bool = False, device: str = "cpu",
          progress: bool = True) -> TrainResult:
    """Train ``config`` on ``dataset`` into ``run_dir``; under ``torchrun`` each process calls this (DDP)."""
    dist = D.setup(device)
    if dist.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels once
    try:
        return Trainer(config, dataset, run_dir, resume=resume, dist=dist, progress=progress).fit()
    finally:
        D.teardown(dist)

