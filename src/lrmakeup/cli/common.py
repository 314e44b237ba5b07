"""Helpers shared by the CLI commands: option groups, argument checks and model loading.

Nothing here imports torch at module level: every command checks its arguments and paths first (a bad one is
reported at once), and only then imports the heavy parts it needs.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from pathlib import Path

from ..errors import InputError
from ..fileio import check_writable

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
DEFAULT_THREADS = 1  # measured (benchmarks/cli_latency.py): one 64x64 pair is fastest on 1 thread on 2 cores
_DEVICE = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")


def device_name(text: str) -> str:
    """argparse type of ``--device``: the spelling only (whether CUDA exists is asked once torch is loaded)."""
    if not _DEVICE.match(text):
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
                   help=f"CPU threads for PyTorch (default: {DEFAULT_THREADS}, fastest for single pairs on small "
                   "machines; more help large batches on many idle cores)")


def add_model_options(p: argparse.ArgumentParser, backend: bool = True) -> None:
    p.add_argument("--checkpoint", help="lrmakeup checkpoint (.safetensors)"
                   + (", or with --backend onnxruntime an exported .onnx" if backend else "")
                   + "; default: the shipped demo weights")
    if backend:
        p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                       help="run the generator in PyTorch (default) or onnxruntime (a model from "
                       "`lrmakeup export-onnx`)")
    add_device_option(p)
    add_threads_option(p)


def check_model_args(args: argparse.Namespace) -> None:
    """Checks of the model options that need no torch: the checkpoint file exists and is a file."""
    if getattr(args, "backend", "torch") == "onnxruntime" and not args.checkpoint:
        raise InputError("--backend onnxruntime needs --checkpoint MODEL.onnx (made by `lrmakeup export-onnx`)")
    if args.checkpoint:
        check_input_file(args.checkpoint, "checkpoint")


def set_threads(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(getattr(args, "threads", None) or DEFAULT_THREADS)


def load_model(args: argparse.Namespace):
    """The ``MakeupTransfer`` engine the model options ask for (imports torch)."""
    check_model_args(args)
    set_threads(args)
    if getattr(args, "backend", "torch") == "onnxruntime":
        from ..serving.onnx import onnx_transfer_engine  # onnxruntime is imported only when asked for

        return onnx_transfer_engine(args.checkpoint, device=args.device)
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
