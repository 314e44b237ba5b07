"""Small utilities shared by the library's layers: the device to run on, a module's size, a file's digest.

torch is imported inside the functions that need it: the onnxruntime backend uses :func:`file_sha256`
without torch.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointError, InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

DEVICE_NAME = re.compile(r"^(cpu|auto|cuda(:(\d+))?)$")  # how a device is spelled; group 3: the CUDA index


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'auto' -> a usable torch.device; InputError names what is wrong.

    Plain 'cuda' (and 'auto' on a CUDA machine) means cuda:``local_rank``: GPU 0 for one process, each
    torchrun rank's own GPU otherwise.
    """
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise InputError(f"unknown device '{name}' (use cpu, cuda, cuda:N or auto)") from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise InputError(f"unsupported device '{name}' (use cpu, cuda, cuda:N or auto)")
    if not torch.cuda.is_available():
        raise InputError(f"device '{name}' was asked for but no CUDA GPU is available")
    index = local_rank if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise InputError(f"device cuda:{index} does not exist ({torch.cuda.device_count()} GPUs visible)")
    return torch.device("cuda", index)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (every element of every parameter tensor)."""
    return sum(p.numel() for p in module.parameters())


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_keys_and_shapes(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]], source: str,
                          kind: str = "tensor", foreign: str = "") -> None:
    """The strict check of every checkpoint reader: each expected key present, no other key, every shape as
    expected. CheckpointError names the first offending key (``kind`` words a missing one, ``foreign`` is added
    to an unexpected one)."""
    for key in expected:
        if key not in found:
            raise CheckpointError(f"{source}: missing {kind} '{key}'")
    for key, shape in found.items():
        if key not in expected:
            raise CheckpointError(f"{source}: unexpected tensor '{key}'{foreign}")
        if tuple(shape) != tuple(expected[key]):
            raise CheckpointError(f"{source}: tensor '{key}' has shape {tuple(shape)}, expected {tuple(expected[key])}")
