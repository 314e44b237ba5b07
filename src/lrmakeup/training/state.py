"""The training state file: everything a killed run needs to continue exactly where it stopped.

``train_state.pt`` in the run folder, written through :func:`lrmakeup.fileio.atomic_write` (a temporary file
beside it, fsync'ed, then renamed over the old one): a reader sees the previous complete state or the new
complete state, never a partial one. Before each write the current state becomes ``train_state.prev.pt`` (a
hard link, so no copy), so the last two states are kept: when the newest cannot be read (a disk fault, a
copy cut short), :func:`load_latest_state` falls back to the previous one and says so. States are read with
``weights_only=True``, so they hold only tensors and plain Python values (RNG states are converted
accordingly).

Contents: the generator, D_X, D_Y, D_S, both optimisers and schedulers, the RNG states of python / numpy /
torch / CUDA of every rank, the data position (epoch, batches done in that epoch, batch size, world size),
the step, the config (YAML) and the VGG weights that were used.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError
from ..fileio import atomic_write

FORMAT = "lrmakeup-train-state-v1"
STATE_FILE = "train_state.pt"
PREVIOUS_STATE_FILE = "train_state.prev.pt"


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


def previous_state_path(path: str | Path) -> Path:
    """Where the state before ``path`` is kept: ``train_state.prev.pt`` beside it."""
    return Path(path).with_name(PREVIOUS_STATE_FILE)


def has_state(path: str | Path) -> bool:
    """True when there is a state to resume from: ``path`` or the previous one beside it."""
    return Path(path).is_file() or previous_state_path(path).is_file()


def save_state(path: str | Path, state: dict[str, Any], keep_previous: bool = True) -> None:
    """Write ``state`` atomically (temporary file, fsync, rename); an existing file stays valid on any failure.

    keep_previous: first make the current file the previous state (``train_state.prev.pt``); False keeps the
    previous state as it is (after resuming from it because the newest was unreadable).
    """
    path = Path(path)
    if keep_previous and path.is_file():
        _keep_as_previous(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(state, f)

    atomic_write(path, write)
    _fsync_dir(path.parent)


def _keep_as_previous(path: Path) -> None:
    """``path`` -> ``train_state.prev.pt`` without ever removing ``path``: a hard link (a copy where the file
    system has none) under a temporary name, then an atomic rename over the old previous state."""
    prev = previous_state_path(path)
    tmp = prev.with_name(f".{prev.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, prev)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        raise CheckpointError(f"{path} is not a readable training state ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lrmakeup training state")
    return state


def load_latest_state(path: str | Path) -> tuple[dict[str, Any], str]:
    """The newest readable state: ``path``, else the previous one beside it. Returns (state, note); the note
    is empty, or one line saying that the newest was unreadable and which state is used instead."""
    path = Path(path)
    try:
        return load_state(path), ""
    except CheckpointError as exc:
        prev = previous_state_path(path)
        if not prev.is_file():
            raise
        newest = exc
    try:
        state = load_state(prev)
    except CheckpointError as exc:
        raise CheckpointError(f"{newest}; the previous state is unreadable too ({exc})") from exc
    newest_line = " ".join(str(newest).split())
    return state, (f"lrmakeup: note: {newest_line}; resuming from the previous state {prev.name} "
                   f"(step {state.get('step')})")
