"""What the web tests share: a free local port and a tiny random checkpoint to serve."""

from __future__ import annotations

import socket
from pathlib import Path

import torch

from lrmakeup.checkpoint import save_generator
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.models import LRMakeupGenerator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_checkpoint(folder: Path) -> Path:
    """A seeded, untrained tiny-config generator saved as ``folder/tiny.safetensors``."""
    cfg = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    path = Path(folder) / "tiny.safetensors"
    save_generator(path, LRMakeupGenerator(cfg.model), cfg)
    return path
