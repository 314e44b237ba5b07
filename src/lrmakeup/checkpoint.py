"""The one place that reads and writes model checkpoints (safetensors).

A generator checkpoint holds the generator's tensors plus, in the safetensors metadata, the full YAML config
(so it rebuilds its own model) and a free-form provenance string. Writes are atomic: a temporary file in the
same folder, then a rename (``fileio.atomic_write``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .config import Config, config_from_dict
from .errors import CheckpointError, LRMakeupError
from .fileio import atomic_write
from .models import LRMakeupGenerator

FORMAT = "lrmakeup-generator-v1"


def save_generator(
    path: str | Path, model: nn.Module, config: Config, provenance: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Write the generator's weights (optionally cast, e.g. fp16 for shipping) with its config."""
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": config.to_yaml(), "provenance": json.dumps(provenance or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_safetensors(path: str | Path, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file; CheckpointError when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors {what} ({exc})") from None


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], Config, dict[str, Any]]:
    """Read a generator checkpoint: (tensors, config, provenance). Raises CheckpointError on any defect."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lrmakeup generator checkpoint (format {metadata.get('format')!r})")
    return (tensors, *config_from_metadata(metadata, path))


def config_from_metadata(metadata: dict[str, str], path: str | Path) -> tuple[Config, dict[str, Any]]:
    """(config, provenance) from a model file's metadata: the YAML config and the JSON provenance."""
    try:
        config = config_from_dict(yaml.safe_load(metadata["config"]))
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (KeyError, yaml.YAMLError, json.JSONDecodeError, LRMakeupError) as exc:
        raise CheckpointError(f"{path} carries an invalid config: {exc}") from None
    return config, provenance


def load_state_strict(model: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Load ``tensors`` into ``model``; any missing, unexpected or mis-shaped key is a CheckpointError naming it."""
    expected = model.state_dict()
    for key in expected:
        if key not in tensors:
            raise CheckpointError(f"{source}: missing tensor '{key}'")
    for key, value in tensors.items():
        if key not in expected:
            raise CheckpointError(f"{source}: unexpected tensor '{key}'")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{source}: tensor '{key}' has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}"
            )
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[LRMakeupGenerator, Config, dict]:
    """Rebuild the generator a checkpoint describes and load its weights (fp16 files are upcast to fp32)."""
    tensors, config, provenance = read_checkpoint(path)
    model = LRMakeupGenerator(config.model)
    load_state_strict(model, tensors, str(path))
    return model.to(device).eval(), config, provenance
