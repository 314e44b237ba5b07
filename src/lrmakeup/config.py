"""Typed configuration of lrmakeup: dataclasses whose defaults reproduce the paper (METHOD §1–3).

A :class:`Config` is loaded from YAML (``load_config``), can be overridden with dotted ``key=value`` strings
(``train.lr=1e-4``), saved back to YAML, and is stored inside every checkpoint so that a checkpoint rebuilds
its own model.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


@dataclass
class MakeupConfig:
    """Makeup distill / attentive morphing / makeup apply (PSGAN's generator, METHOD §1.1–1.3, §5)."""

    channels: int = 64  # stem width; the bottleneck has 4x this (256 in PSGAN)
    distill_blocks: int = 3  # residual blocks of the reference branch
    apply_blocks: int = 6  # residual blocks of the source branch
    modulate_at: int = 3  # the modulation happens before this (0-based) apply block: PSGAN's bottleneck_4
    visual_weight: float = 0.01  # ω of eq. (2)
    temperature: float = 200.0  # logits scale before the softmax of eq. (3)
    detach_attention: bool = True  # PSGAN detaches A before warping γ, β
    attention_chunk: int = 4096  # source pixels per attention block (bounds peak memory)
    # Variants (docs/architecture.md); the defaults are PSGAN's layout, so paper.yaml and import-psgan behave
    # as PSGAN. The compact model of configs/demo.yaml uses resolution=input, output=residual, norm=none.
    resolution: str = "upsampled"  # G_M reads the bicubic 256 images ("upsampled") or the 64x64 inputs ("input")
    output: str = "tanh"  # x̃_LR = tanh(decoder) ("tanh", PSGAN) or source + decoder, zero-initialised ("residual")
    norm: str = "instance"  # normalisation in the makeup modules: "instance" (PSGAN) or "none" (strictly local)
    soften: float = 0.0  # σ (feature pixels) of a Gaussian that feathers γ', β' across region borders; 0: off
    # The attention also warps the reference's colours, and G_M adds a zero-initialised function of
    # (warped reference colour - source colour) inside the regions (generator.py, "reference colour"); off in PSGAN.
    reference_colour: bool = False
    # G_M's makeup is confined to the source's makeup regions: x̃_LR and m are G_M's bare output plus the
    # region-scale map (feathered as γ', β') times the makeup's change to it, so hair, background, neck and
    # ears stay exactly as without makeup (generator.py, "confine"); off in PSGAN.
    confine: bool = False
    confine_margin: int = 0  # feature pixels the face's outline is pulled in for ``confine`` (0: the outline)

    def validate(self) -> None:
        _choice("model.makeup.resolution", self.resolution, ("upsampled", "input"))
        _choice("model.makeup.output", self.output, ("tanh", "residual"))
        _choice("model.makeup.norm", self.norm, ("instance", "none"))
        if self.soften < 0:
            raise ConfigError(f"model.makeup.soften must be >= 0, got {self.soften!r}")
        if self.confine_margin < 0:
            raise ConfigError(f"model.makeup.confine_margin must be >= 0, got {self.confine_margin!r}")


@dataclass
class PriorConfig:
    """Prior estimation network on x̃_LR (METHOD §1.4, FSRNet's prior network)."""

    channels: int = 128
    stem_blocks: int = 3  # residual blocks at 64x64 before the hourglass
    hourglass_order: int = 4
    n_landmarks: int = 68  # landmark heatmap channels
    n_parsing: int = 14  # parsing classes (MT labels)
    heatmap_sigma: float = 1.5  # Gaussian σ of ground-truth heatmaps, in 64x64 pixels


@dataclass
class SRConfig:
    """Super-resolution module on [prior p, makeup information m] (METHOD §1.5, docs/architecture.md)."""

    channels: int = 64
    n_blocks: int = 3
    makeup_prior: bool = True  # False: feed the un-modulated 4th-bottleneck feature (the paper's ablation)
    global_residual: bool = True  # x̃_SR = x̃_LR + decoder(...)
    # "paper": the reading of METHOD §1.5 with instance norm and transposed convolutions (sr.py);
    # "residual": no normalisation, x̃_SR = bicubic(x̃_LR) + a zero-initialised residual (EDSR-like)
    kind: str = "paper"
    upsample: str = "transposed"  # "transposed" (4x4 stride 2), "pixelshuffle" (ICNR init) or "resize" (+ conv)

    def validate(self) -> None:
        _choice("model.sr.kind", self.kind, ("paper", "residual"))
        _choice("model.sr.upsample", self.upsample, ("transposed", "pixelshuffle", "resize"))


@dataclass
class DiscriminatorConfig:
    """PSGAN's spectral-norm PatchGAN, used for D_X, D_Y and D_S (METHOD §1.6, §5)."""

    channels: int = 64
    n_layers: int = 3  # stride-2 4x4 convolutions
    spectral_norm: bool = True


@dataclass
class ModelConfig:
    input_size: int = 64  # the low-resolution inputs x_LR, y_LR
    image_size: int = 256  # every module sees images of this size (bicubic up-sampled inputs)
    makeup: MakeupConfig = field(default_factory=MakeupConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    sr: SRConfig = field(default_factory=SRConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

    @property
    def feature_size(self) -> int:
        """Side of the bottleneck feature maps: 64 for 256 images (two stride-2 stages) or 64x64 inputs."""
        return self.input_size if self.makeup.resolution == "input" else self.image_size // 4

    @property
    def scale(self) -> int:
        """The super-resolution factor image_size / input_size (4 in the paper)."""
        return self.image_size // self.input_size

    @property
    def makeup_size(self) -> int:
        """Side of the images G_M reads and writes (x, y, x̃_LR): image_size, or input_size with resolution=input."""
        return self.input_size if self.makeup.resolution == "input" else self.image_size

    def validate(self) -> None:
        if self.input_size < 8 or self.image_size % self.input_size:
            raise ConfigError(f"model.image_size ({self.image_size}) must be a multiple of model.input_size "
                              f"({self.input_size}), which must be >= 8")
        if self.makeup.resolution == "upsampled" and self.image_size % 4:
            raise ConfigError(f"model.image_size must be a multiple of 4, got {self.image_size}")
        self.makeup.validate()
        self.sr.validate()


@dataclass
class LossConfig:
    """Loss weights of eq. (20) (METHOD §2) and the makeup-loss details of PSGAN (METHOD §5)."""

    lambda_p: float = 1.0  # prior error inside the MSE term, eq. (18)
    adv_makeup: float = 1e-3
    adv_sr: float = 1e-3
    per_makeup: float = 1e-5
    per_sr: float = 1e-1
    cyc_makeup: float = 1e-2
    make_makeup: float = 1e-3
    mse_sr: float = 1.0
    # per-region weights inside the makeup loss (lips, skin, eye shadow) as PSGAN trains them
    hist_lips: float = 1.0
    hist_skin: float = 0.1
    hist_eyes: float = 1.0
    vgg_weights: str = "imagenet"  # "imagenet" (torchvision's official file) or "random" (explicit choice)
    # added with the trainer: which image eq. (15) histogram-matches to the reference's regions:
    # "output" = G_M(x, y) itself (PSGAN's code), "source" = x (BeautyGAN's HM(x, y))
    makeup_match: str = "output"
    # added with the compact recipe (configs/demo.yaml): direct supervision of both stages against the target,
    # L1 over the image plus, per region (lips, skin, eye shadow), L1 averaged inside the region, so that a
    # small region (the lips are ~1 % of the pixels) weighs as much as the whole image (losses/reconstruction.py)
    rec_lr: float = 0.0  # x̃_LR vs the target reduced to input_size
    rec_sr: float = 0.0  # x̃_SR vs the target
    region_weight: float = 1.0  # weight of each region's term inside rec_lr / rec_sr
    # plain L1 of G_S on random crops of bare faces (sources and references, without makeup) against their
    # sharp crops: the detail term, trained on hair, background and skin alike (training/augment.py)
    rec_detail: float = 0.0

    def validate(self) -> None:
        _choice("loss.makeup_match", self.makeup_match, ("output", "source"))
        _choice("loss.vgg_weights", self.vgg_weights, ("imagenet", "random"))


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping (METHOD §3); defaults reproduce the paper."""

    optimizer: str = "rmsprop"
    lr: float = 2.5e-4
    batch_size: int = 1
    epochs: int = 200
    max_steps: int = 0  # 0: run all epochs
    seed: int = 0
    num_workers: int = 0
    bf16: bool = False
    grad_clip: float = 0.0
    checkpoint_every: int = 1000
    snapshot_every: int = 0  # also keep RUN/snapshots/step_XXXXXXX.safetensors every N steps (checkpoint selection)
    log_every: int = 50
    image_every: int = 500
    init_psgan: str = ""  # path of a PSGAN G.pth (or imported checkpoint) for the makeup modules
    init: str = ""  # path of an lrmakeup generator checkpoint to start from (every module; same architecture)
    freeze_makeup: bool = False  # train G_S only (G_M's weights fixed): a detail phase after a full one
    # added with the trainer (training/):
    lr_d: float = 0.0  # learning rate of the discriminators; 0: same as lr
    adam_beta1: float = 0.5  # optimizer=adam only (PSGAN's 0.5, 0.999)
    adam_beta2: float = 0.999
    scheduler: str = "none"  # "none" (the paper: constant lr) or "linear" (decay to 0 from decay_start)
    decay_start: float = 0.5  # linear scheduler: fraction of the run after which lr decays linearly to 0
    ddp_find_unused: bool = False  # DDP find_unused_parameters (forced on when loss.lambda_p = 0)
    # added with the compact recipe: share of samples trained as "no makeup" (every region scale 0, target =
    # the sharp source), so that intensity 0 gives the bare face; and random horizontal flips of both faces
    bare_fraction: float = 0.0
    flip: bool = False
    detail_crop: int = 24  # loss.rec_detail: side of each random crop in input pixels (a multiple of 8)
    detail_windows: int = 1  # loss.rec_detail: random crops per photo (source and reference) of each tuple


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Values a type check cannot catch (allowed strings, ranges); ConfigError names the key."""
        self.model.validate()
        self.loss.validate()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())


T = typing.TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from a (possibly partial) nested dict; unknown keys and bad types raise."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{where or cls.__name__}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown config key '{_join(where, unknown[0])}'")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, _join(where, name))
    return cls(**kwargs)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _coerce(tp: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"config key '{where}' must be {getattr(tp, '__name__', tp)}, got {value!r}")


def config_from_dict(data: dict[str, Any] | None) -> Config:
    config = from_dict(Config, data)
    config.validate()
    return config


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML scalars) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like section.key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{part}' is not a section")
        node[parts[-1]] = value
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config (or the paper defaults when ``path`` is None) and apply dotted overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    data = apply_overrides(data, overrides or [])
    return config_from_dict(data)


def builtin_config_path(name: str) -> Path:
    """Path of a config shipped with the package (``paper``, ``tiny``, ``demo``)."""
    path = Path(__file__).parent / "configs" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no built-in config named '{name}'")
    return path
