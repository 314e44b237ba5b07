"""The one place that reads and writes model checkpoints (safetensors).

A generator checkpoint holds the generator's tensors plus, in the safetensors metadata, the full YAML config
(so it rebuilds its own model) and a free-form provenance string. Writes are atomic: a temporary file in the
same folder, then a rename (``fileio.atomic_write``).

Reading never trusts the file. In order, before any model is allocated:

1. the header alone (names, shapes, dtypes; no tensor data) and the metadata are read;
2. the config is checked against sane bounds (:func:`lrmakeup.metadata.check_config_bounds`) and the model it
   describes is built on the ``meta`` device, which allocates nothing, to get the expected tensors and the
   parameter count (at most :data:`MAX_PARAMETERS`);
3. the header must name exactly those tensors, with their shapes and a compatible dtype;
4. only then are the tensors read, and every floating-point one must be finite (no NaN / inf).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .config import Config
from .errors import CheckpointError, LRMakeupError
from .fileio import atomic_write
from .metadata import check_config_bounds, config_from_metadata  # noqa: F401 - check_config_bounds re-exported
from .metadata import one_line as _one_line
from .models import LRMakeupGenerator
from .utils import check_keys_and_shapes

FORMAT = "lrmakeup-generator-v1"

MAX_PARAMETERS = 200_000_000  # 12x the paper's generator (16M); a 4-byte copy of it is 800 MB

FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
TORCH_DTYPES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64",
                torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8"}

Header = dict[str, tuple[tuple[int, ...], str]]  # tensor name -> (shape, safetensors dtype)


def save_generator(
    path: str | Path, model: nn.Module, config: Config, provenance: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Write the generator's weights (optionally cast, e.g. fp16 for shipping) with its config."""
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": config.to_yaml(), "provenance": json.dumps(provenance or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


# ---- reading, step by step --------------------------------------------------------------------------------

def read_header(path: str | Path, what: str = "checkpoint") -> tuple[Header, dict[str, str]]:
    """(tensor name -> (shape, dtype), metadata) of a safetensors file, without reading any tensor data."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            header = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors {what} ({_one_line(exc)})") from exc
    return header, metadata


def expected_tensors(build: Callable[[], nn.Module], source: str) -> dict[str, torch.Tensor]:
    """The state dict ``build()`` would have, as meta tensors (nothing allocated); at most MAX_PARAMETERS."""
    try:
        with torch.device("meta"):
            model = build()
    except LRMakeupError as exc:
        raise CheckpointError(f"{source} carries an invalid config: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError, or a shape the layers refuse
        raise CheckpointError(f"{source}: its config does not describe a buildable model ({_one_line(exc)})") from exc
    n = sum(p.numel() for p in model.parameters())
    if n > MAX_PARAMETERS:
        raise CheckpointError(f"{source}: its config describes a model of {n / 1e6:,.0f}M parameters, over the "
                              f"limit of {MAX_PARAMETERS / 1e6:,.0f}M")
    return model.state_dict()


def check_header(header: Header, expected: dict[str, torch.Tensor], source: str) -> None:
    """Every expected tensor present with its shape and a compatible dtype, nothing else (CheckpointError)."""
    check_keys_and_shapes({k: shape for k, (shape, _) in header.items()},
                          {k: tuple(v.shape) for k, v in expected.items()}, source)
    for key, (_, dtype) in header.items():
        want = expected[key]
        allowed = FLOAT_DTYPES if want.is_floating_point() else {TORCH_DTYPES.get(want.dtype, str(want.dtype))}
        if dtype not in allowed:
            raise CheckpointError(f"{source}: tensor '{key}' has dtype {dtype}, expected one of "
                                  f"{', '.join(sorted(allowed))}")


def check_finite(tensors: dict[str, torch.Tensor], source: str) -> None:
    """Every floating-point tensor holds only finite numbers; CheckpointError names the first that does not."""
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{source}: tensor '{key}' holds non-finite values (NaN or inf)")


def read_tensors(path: str | Path, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file whose header was already checked; they must be finite."""
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors {what} ({_one_line(exc)})") from exc
    check_finite(tensors, str(path))
    return tensors


def read_checked(path: str | Path, build: Callable[[], nn.Module], header: Header,
                 what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of ``path`` once its header fits the model ``build()`` makes (built on meta first)."""
    check_header(header, expected_tensors(build, str(path)), str(path))
    return read_tensors(path, what)


# ---- generator checkpoints --------------------------------------------------------------------------------

def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], Config, dict[str, Any]]:
    """Read a generator checkpoint: (tensors, config, provenance). Raises CheckpointError on any defect.

    The tensors are read only after the header matched the model the config describes (module docstring).
    """
    header, metadata = read_header(path)
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lrmakeup generator checkpoint (format {metadata.get('format')!r})")
    config, provenance = config_from_metadata(metadata, path)
    tensors = read_checked(path, lambda: LRMakeupGenerator(config.model), header)
    return tensors, config, provenance


def read_safetensors(path: str | Path, what: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of any safetensors file, finite-checked. Files that describe a model should use
    :func:`read_header` + :func:`read_checked` instead, so the header is checked before the data is read."""
    _, metadata = read_header(path, what)
    return read_tensors(path, what), metadata


def load_state_strict(model: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Load ``tensors`` into ``model``; any missing, unexpected, mis-shaped or non-finite tensor is a
    CheckpointError naming it."""
    expected = model.state_dict()
    check_keys_and_shapes({k: tuple(v.shape) for k, v in tensors.items()},
                          {k: tuple(v.shape) for k, v in expected.items()}, source)
    check_finite(tensors, source)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[LRMakeupGenerator, Config, dict]:
    """Rebuild the generator a checkpoint describes and load its weights (fp16 files are upcast to fp32)."""
    tensors, config, provenance = read_checkpoint(path)
    model = LRMakeupGenerator(config.model)
    load_state_strict(model, tensors, str(path))
    return model.to(device).eval(), config, provenance
