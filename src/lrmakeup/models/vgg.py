"""Frozen VGG-16 feature extractor for the perceptual losses, eq. (11) and (12) (METHOD §2).

``VGGFeatures`` is torchvision's VGG-16 ``features`` cut after ``relu5_3`` (the layer FSRNet and the paper
name; PSGAN itself uses pool5, which is max-pooled relu5_3). It takes images in [-1, 1], normalises them
to ImageNet statistics inside, is always in eval mode and has no trainable parameters.

Weights are an explicit choice:

- ``weights="imagenet"``: torchvision's official ``vgg16-397923af.pth``, found, in this order, at the
  ``path`` argument, in torch.hub's cache (``$TORCH_HOME/hub/checkpoints/``), or downloaded by
  ``torch.hub.load_state_dict_from_url``. If none works a :class:`CheckpointError` says where to put the file.
- ``weights="random"``: a seeded random initialisation (for tests and tiny runs). Never a silent fallback.

``weights`` and ``weights_source`` record what was used, so the trainer can store it in checkpoints.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.models import vgg as tv_vgg

from ..errors import CheckpointError, ConfigError

VGG16_FILENAME = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_FILENAME}"
RELU5_3 = 30  # torchvision vgg16.features[:30] ends with relu5_3 (index 29); index 30 is pool5
WEIGHT_CHOICES = ("imagenet", "random")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_cache_path() -> Path:
    """Where torch.hub keeps torchvision's VGG-16 file: ``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILENAME


def _build_layers() -> nn.Sequential:
    """torchvision's VGG-16 (config "D", no batch norm) ``features`` up to and including relu5_3."""
    return tv_vgg.make_layers(tv_vgg.cfgs["D"], batch_norm=False)[:RELU5_3]


def _init_random(layers: nn.Sequential, seed: int) -> None:
    """torchvision's VGG initialisation (Kaiming normal, zero bias), from a private seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    for m in layers.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=gen)  # kaiming_normal_, fan_out, relu
                m.bias.zero_()


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a bad checkpoint
        raise CheckpointError(f"cannot read VGG-16 weights from {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def _download_state_dict() -> dict[str, Tensor]:
    """torchvision's standard download into torch.hub's cache; a clear CheckpointError when it fails."""
    try:
        return torch.hub.load_state_dict_from_url(VGG16_URL, map_location="cpu", check_hash=True, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - no network, proxy, hash mismatch, ...
        raise CheckpointError(
            f"ImageNet VGG-16 weights not found and the download failed ({type(exc).__name__}: {exc}). "
            f"Download {VGG16_URL} and put it at {vgg16_cache_path()} "
            f"(or pass its path explicitly, or choose loss.vgg_weights=random)"
        ) from exc


def _load_features(layers: nn.Sequential, state: dict[str, Tensor], where: str) -> None:
    """Copy the ``features.N.*`` tensors of an official VGG-16 file into ``layers``; classifier keys are ignored."""
    ours = layers.state_dict()
    wanted = {f"features.{k}": k for k in ours}
    missing = sorted(set(wanted) - set(state))
    if missing:
        raise CheckpointError(f"{where} is not a torchvision VGG-16 file: missing key '{missing[0]}'")
    unexpected = sorted(k for k in state if k not in wanted and not k.startswith("classifier."))
    if unexpected:
        raise CheckpointError(f"{where} is not a torchvision VGG-16 file: unexpected key '{unexpected[0]}'")
    for theirs, mine in wanted.items():
        if tuple(state[theirs].shape) != tuple(ours[mine].shape):
            raise CheckpointError(
                f"{where}: '{theirs}' has shape {tuple(state[theirs].shape)}, expected {tuple(ours[mine].shape)}"
            )
    layers.load_state_dict({mine: state[theirs] for theirs, mine in wanted.items()})


class VGGFeatures(nn.Module):
    """VGG-16 ``relu5_3`` features of images in [-1, 1]: (B, 3, H, W) -> (B, 512, H/16, W/16).

    Frozen (no parameter requires grad) and always in eval mode; gradients still flow to the input.

    Attributes:
        weights: "imagenet" or "random", the choice that was made.
        weights_source: the file the ImageNet weights were read from, or ``"seed=<n>"`` for random ones.
    """

    def __init__(self, weights: str = "imagenet", path: str | Path | None = None, seed: int = 0):
        super().__init__()
        if weights not in WEIGHT_CHOICES:
            raise ConfigError(f"VGG weights must be one of {WEIGHT_CHOICES}, got {weights!r}")
        if weights == "random" and path is not None:
            raise ValueError("a weights path was given together with weights='random'")
        self.layers = _build_layers()
        if weights == "random":
            _init_random(self.layers, seed)
            self.weights_source = f"seed={seed}"
        else:
            if path is not None:
                path = Path(path)
                if not path.is_file():
                    raise CheckpointError(f"VGG-16 weights file not found: {path}")
                state, source = _read_state_dict(path), str(path)
            elif vgg16_cache_path().is_file():
                state, source = _read_state_dict(vgg16_cache_path()), str(vgg16_cache_path())
            else:
                state, source = _download_state_dict(), str(vgg16_cache_path())
            _load_features(self.layers, state, source)
            self.weights_source = source
        self.weights = weights
        self.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        super().train(False)

    def train(self, mode: bool = True) -> "VGGFeatures":
        """Stays in eval mode whatever the enclosing module asks: it is a fixed measuring instrument."""
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) in [-1, 1] -> relu5_3 features (B, 512, H/16, W/16)."""
        x = ((x + 1.0) / 2.0 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self.layers(x)
