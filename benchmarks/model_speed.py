"""Speed and memory of the paper-size generator at batch 1 (issue: foundation).

Prints, for fp32 and bf16 autocast: the generator's forward latency (median of --runs), the latency of the
attention step (AMM, eq. 3-5) alone, and its peak memory; and the same figures for the naive dense-attention
formulation (one HW x HW fp32 matrix per region, all regions at once, as PSGAN's reference code), so the ratio
is measured in one run. Inputs are the built-in faces' real region masks and position features.

    python benchmarks/model_speed.py [--runs 5] [--device cpu|cuda] [--threads N]

Peak memory: on CUDA, torch's max_memory_allocated. On CPU, the growth of the process's peak resident set
(VmHWM, reset through /proc/self/clear_refs) during one call, measured in a child process whose glibc mmap
threshold is fixed at 64 KiB, so that every large tensor goes back to the system when freed and each step's
peak is its own, not hidden by memory the allocator kept from an earlier step. Timings come from the parent,
whose allocator is left as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from lrmakeup.api import MakeupTransfer
from lrmakeup.data.builtin import builtin_face
from lrmakeup.models import Reference
from lrmakeup.models.morph import attention_features, dense_morph_reference, morph

PRECISIONS = ("fp32", "bf16")
STEPS = ("generator forward", "attention (ours)", "attention (naive dense)")


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_time(fn, runs: int, device: torch.device) -> float:
    """Median seconds over ``runs`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(runs):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_memory(fn, device: torch.device) -> float:
    """Extra memory (MiB) at the peak of one call, after a warm-up call."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    base = _rss_mib("VmRSS")
    fn()
    return _rss_mib("VmHWM") - base


def build_steps(device_name: str):
    """The three measured calls for each precision, on the built-in faces: {(precision, step): fn}."""
    engine = MakeupTransfer.untrained(device=device_name)
    device, model, mk = engine.device, engine.model, engine.config.model.makeup
    src = engine.batch(engine.analyze(builtin_face("astronaut")))
    ref = engine.batch(engine.analyze(builtin_face("grace_hopper")))
    with torch.inference_mode():
        fs = attention_features(model.apply_net.encode(src.image), src.pos, mk.visual_weight)
        v_y, gamma, beta = model.distill(ref.image)
        fr = attention_features(v_y, ref.pos, mk.visual_weight)
    values = torch.cat([gamma, beta], 1)
    calls = {
        "generator forward": lambda: model(src, [Reference(ref)]),
        "attention (ours)": lambda: morph(fs, fr, src.masks, ref.masks, values, mk.temperature,
                                          chunk=mk.attention_chunk),
        "attention (naive dense)": lambda: dense_morph_reference(fs, fr, src.masks, ref.masks, values, mk.temperature),
    }
    steps = {}
    for precision in PRECISIONS:
        for name, f in calls.items():
            def call(f=f, precision=precision):
                autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
                            else contextlib.nullcontext())
                with torch.inference_mode(), autocast:
                    f()
            steps[(precision, name)] = call
    sizes = [(int(src.masks[0, r].sum()), int(ref.masks[0, r].sum())) for r in range(3)]
    pairs = sum(a * b for a, b in sizes)
    info = (f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}; region pixels "
            f"src {src.masks[0].sum((1, 2)).int().tolist()} ref {ref.masks[0].sum((1, 2)).int().tolist()} "
            f"(lips, skin, eyes); same-region pairs {pairs:,} vs {3 * 4096 * 4096:,} dense; largest attention "
            f"block {max(a * b for a, b in sizes) * 4 / 2**20:.1f} MiB in fp32")
    return device, steps, info


def _memory_in_child(args: argparse.Namespace) -> dict[tuple[str, str], float]:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    cmd = [sys.executable, __file__, "--memory-only", "--device", args.device, "--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    result = {}
    for line in out.splitlines():
        precision, name, mib = line.split("|")
        result[(precision, name)] = float(mib)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device, steps, info = build_steps(args.device)
    if args.memory_only:
        for (precision, name), fn in steps.items():
            print(f"{precision}|{name}|{peak_memory(fn, device):.1f}", flush=True)
        return
    times = {key: median_time(fn, args.runs, device) for key, fn in steps.items()}
    if device.type == "cuda":
        memory = {key: peak_memory(fn, device) for key, fn in steps.items()}
    else:
        memory = _memory_in_child(args)
    print(info)
    print(f"\n{'precision':<10}{'step':<26}{'median ms':>12}{'peak MiB':>12}")
    for (precision, name), sec in times.items():
        print(f"{precision:<10}{name:<26}{sec * 1000:>12.1f}{memory[(precision, name)]:>12.1f}")
    for precision in PRECISIONS:
        ours, naive = (precision, "attention (ours)"), (precision, "attention (naive dense)")
        print(f"{precision}: attention {times[naive] / times[ours]:.1f}x faster than naive, "
              f"peak memory {memory[naive]:.0f} MiB -> {memory[ours]:.0f} MiB")


if __name__ == "__main__":
    main()
