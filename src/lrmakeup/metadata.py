"""What a model file carries besides its tensors: the YAML config, checked against sane bounds, and the provenance.

Shared by the safetensors checkpoints (:mod:`lrmakeup.checkpoint`) and the ONNX exports
(:mod:`lrmakeup.serving.onnx_runtime`), and torch-free, so that the onnxruntime backend never imports torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import yaml

from .config import Config, config_from_dict
from .errors import CheckpointError, LRMakeupError

MAX_SIZE = 1024  # any config field named *_size (pixels): activations grow with its square
MAX_FACTOR = 16  # any other integer field: at most 16x its default (or 64, whichever is larger)


def check_config_bounds(cfg: Any, where: str, source: str = "") -> None:
    """Refuse a config dataclass whose numbers could not describe a sane model (CheckpointError names the key
    and, when given, the file ``source``).

    Generic over the fields, so fields added later are covered: an integer named ``*_size`` is at most
    :data:`MAX_SIZE`, any other integer at most ``MAX_FACTOR`` x its default (at least 64), and no integer is
    negative; floats are finite. Nested dataclasses are checked recursively.
    """
    prefix = f"{source}: " if source else ""
    for f in dataclasses.fields(cfg):
        value, key = getattr(cfg, f.name), f"{where}.{f.name}"
        if dataclasses.is_dataclass(value):
            check_config_bounds(value, key, source)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            default = _default(f)
            limit = MAX_SIZE if f.name.endswith("_size") else max(MAX_FACTOR * abs(default or 0), 64)
            if not 0 <= value <= limit:
                raise CheckpointError(f"{prefix}config key '{key}' = {value} is outside the sane range 0..{limit}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{prefix}config key '{key}' = {value} is not a finite number")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default if isinstance(f.default, int) else None
    return None


def config_from_metadata(metadata: dict[str, str], path: str | Path) -> tuple[Config, dict[str, Any]]:
    """(config, provenance) from a model file's metadata: the YAML config (within sane bounds) and the provenance."""
    try:
        config = config_from_dict(yaml.safe_load(metadata["config"]))
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (KeyError, yaml.YAMLError, json.JSONDecodeError, LRMakeupError, RecursionError) as exc:
        raise CheckpointError(f"{path} carries an invalid config: {one_line(exc)}") from exc
    check_config_bounds(config.model, "model", str(path))
    return config, provenance


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 300 characters (for messages that quote a library's error)."""
    return " ".join(str(exc).split())[:300] or type(exc).__name__
