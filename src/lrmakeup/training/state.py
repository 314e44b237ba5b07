"""The training state file: everything a killed run needs to continue exactly where it stopped.

One file, ``train_state.pt`` in the run folder, written through :func:`lrmakeup.fileio.atomic_write` (a
temporary file beside it, fsync'ed, then renamed over the old one): a reader sees the previous
complete state or the new complete state, never a partial one. It is read with ``weights_only=True``, so it
holds only tensors and plain Python values (RNG states are converted accordingly).

Contents: the generator, D_X, D_Y, D_S, both optimisers and schedulers, the RNG states of python / numpy /
torch / CUDA of every rank, the data position (epoch, batches done in that epoch, batch size, world size),
the step, the config (YAML) and the VGG weights that were used.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..fileio import atomic_write

FORMAT = "lrmakeup-train-state-v1"
STATE_FILE = "train_state.pt"


def capture_rng(device: torch.device | None = None) -> dict[str, Any]:
    """RNG states of python, numpy, torch (CPU) and this process's CUDA device, as weights_only-loadable values.

    Only ``device``'s CUDA generator is saved: asking for every GPU's would create a context on each of them
    in every DDP process.
    """
    np_state = np.random.get_state(legacy=True)  # ('MT19937', keys uint32[624], pos, has_gauss, cached_gaussian)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device | None = None) -> None:
    random.setstate(_as_tuple(state["python"]))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temporary file, fsync, rename); an existing file stays valid on any failure."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(state, f)

    atomic_write(path, write)
    _fsync_dir(Path(path).parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training state (``weights_only=True``); CheckpointError names the file on any defect."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for truncated or foreign files
        raise CheckpointError(f"{path} is not a readable training state ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lrmakeup training state")
    return state
