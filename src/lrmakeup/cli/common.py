"""Helpers shared by the CLI commands: option groups, argument checks and model loading.

Nothing here imports torch at module level: every command checks its arguments and paths first (a bad one is
reported at once), and only then imports the heavy parts it needs. The shipped weights run in onnxruntime by
default (``--backend auto``, see :func:`choose_backend`), which imports no torch at all.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import stat
import sys
from pathlib import Path

from ..errors import InputError
from ..fileio import check_writable
from ..utils import DEVICE_NAME

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
DEFAULT_THREADS = 1  # measured (benchmarks/cli_latency.py): one 64x64 pair is fastest on 1 thread on 2 cores
BACKENDS = ("auto", "torch", "onnxruntime")


def device_name(text: str) -> str:
    """argparse type of ``--device``: the spelling only (whether CUDA exists is asked once torch is loaded)."""
    if not DEVICE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"unknown device '{text}' (use cpu, cuda, cuda:N or auto)")
    return text


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_device_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", type=device_name, help="cpu, cuda, cuda:N or auto (default: cpu)")


def add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help=f"CPU threads for PyTorch or onnxruntime (default: {DEFAULT_THREADS}, fastest for single "
                   "pairs on small machines; more help large batches on many idle cores)")


def add_model_options(p: argparse.ArgumentParser, backend: bool = True) -> None:
    p.add_argument("--checkpoint", help="lrmakeup checkpoint (.safetensors)"
                   + (", or an exported .onnx (run by onnxruntime)" if backend else "")
                   + "; default: the shipped demo weights")
    if backend:
        p.add_argument("--backend", choices=BACKENDS, default="auto",
                       help="auto (default): the shipped weights on the CPU run in onnxruntime (same numbers as "
                       "PyTorch, faster start), a .onnx checkpoint in onnxruntime, anything else in PyTorch; the "
                       "other choices force one")
    add_device_option(p)
    add_threads_option(p)


def check_model_args(args: argparse.Namespace) -> None:
    """Checks of the model options that need no torch: the checkpoint file exists and is a file."""
    if args.checkpoint:
        check_input_file(args.checkpoint, "checkpoint")


def choose_backend(args: argparse.Namespace) -> str:
    """The backend the model options ask for, "torch" or "onnxruntime" (imports nothing).

    ``--backend auto``: onnxruntime for a .onnx checkpoint, and for the shipped weights when the device is the
    CPU, onnxruntime is installed and the package has their export (``weights/demo.onnx``; :func:`load_model`
    checks that it is not stale); PyTorch otherwise.
    """
    backend = getattr(args, "backend", "torch")
    if backend != "auto":
        return backend
    if args.checkpoint:
        return "onnxruntime" if Path(args.checkpoint).suffix.lower() == ".onnx" else "torch"
    from ..api import SHIPPED_ONNX

    usable = args.device == "cpu" and SHIPPED_ONNX.is_file() and importlib.util.find_spec("onnxruntime") is not None
    return "onnxruntime" if usable else "torch"


def set_threads(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(getattr(args, "threads", None) or DEFAULT_THREADS)


def load_model(args: argparse.Namespace):
    """The transfer engine the model options ask for (:func:`choose_backend`); only PyTorch's imports torch.

    The default (``--backend auto``, no --checkpoint) falls back to PyTorch, with a one-line note, when the
    shipped ONNX export is stale (made from other weights than the shipped ones) or unreadable.
    """
    check_model_args(args)
    threads = getattr(args, "threads", None) or DEFAULT_THREADS
    if choose_backend(args) == "onnxruntime":
        from ..errors import CheckpointError
        from ..serving.onnx_runtime import OnnxMakeupTransfer  # onnxruntime, no torch

        if args.checkpoint:
            return OnnxMakeupTransfer(args.checkpoint, args.device, threads)
        try:
            return OnnxMakeupTransfer.shipped(args.device, threads)
        except CheckpointError as exc:
            if args.backend == "onnxruntime":
                raise
            print(f"lrmakeup: note: {exc}; running the shipped weights in PyTorch", file=sys.stderr)
    set_threads(args)
    from ..api import MakeupTransfer

    if args.checkpoint:
        return MakeupTransfer.from_checkpoint(args.checkpoint, device=args.device)
    engine = MakeupTransfer.default(device=args.device)
    if engine.trained:
        return engine
    print("lrmakeup: note: no --checkpoint given: using a randomly initialised (UNTRAINED) paper-size model; "
          "the result shows the pipeline, not real makeup", file=sys.stderr)
    return engine


def check_input_file(path: str | Path, what: str) -> Path:
    """An existing regular file (not a folder, not a named pipe that would block the read)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InputError(f"{what} not found: {path} (no such file)") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} {path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {what} {path}: permission denied")
    return path


def check_output_path(path: str | Path, overwrite: bool = True, what: str = "output",
                      suffixes: set[str] | None = None, probe: bool = True) -> Path:
    """Fail early (before any work) on an output path that cannot be written (``probe``: try creating a
    file in its folder; a batch probes each folder once)."""
    path = Path(path)
    suffixes = IMAGE_SUFFIXES if suffixes is None else suffixes
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{what} '{path}' must end in one of {', '.join(sorted(suffixes))}")
    check_writable(path, what, probe)
    if path.exists() and not overwrite:
        raise InputError(f"{what} '{path}' exists (use --overwrite)")
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (resolved; hard links too when both exist)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False
