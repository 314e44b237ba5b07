"""Speed and memory of the paper-size generator at batch 1 (issue: foundation).

Prints, for fp32 and bf16 autocast: the generator's forward latency (median of --runs), the latency of the
attention step (AMM, eq. 3-5) alone, and its peak memory; and the same figures for the naive dense-attention
formulation (one HW x HW fp32 matrix per region, all regions at once, as PSGAN's reference code), so the ratio
is measured in one run. Inputs are the built-in faces' real region masks and position features.

    python benchmarks/model_speed.py [--runs 5] [--device cpu|cuda]

Peak memory: on CUDA torch's max_memory_allocated; on CPU the growth of the process's peak resident set
(VmHWM, reset through /proc/self/clear_refs) during the step. The script re-executes itself with glibc's
mmap threshold fixed at 64 KiB so that every large tensor is returned to the system when freed and the
resident-set peak of each step is its own, not hidden by memory the allocator kept from an earlier step.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from lrmakeup.api import MakeupTransfer
from lrmakeup.data.builtin import builtin_face
from lrmakeup.models import Reference
from lrmakeup.models.morph import attention_features, dense_morph_reference, morph


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(fn, runs: int, device: torch.device) -> tuple[float, float]:
    """(median seconds over ``runs`` after one warm-up, peak extra memory in MiB during one call)."""
    fn()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        base = _rss_mib("VmRSS")
        fn()
        peak = _rss_mib("VmHWM") - base
    return statistics.median(times), peak


def main() -> None:
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") != "65536":
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    engine = MakeupTransfer.untrained(device=args.device)
    device, model, mk = engine.device, engine.model, engine.config.model.makeup
    src = engine.batch(engine.analyze(builtin_face("astronaut")))
    ref = engine.batch(engine.analyze(builtin_face("grace_hopper")))
    with torch.inference_mode():
        v_x = model.apply_net.encode(src.image)
        v_y, gamma, beta = model.distill(ref.image)
    fs = attention_features(v_x, src.pos, mk.visual_weight)
    fr = attention_features(v_y, ref.pos, mk.visual_weight)
    values = torch.cat([gamma, beta], 1)
    pairs = sum(int(src.masks[0, r].sum() * ref.masks[0, r].sum()) for r in range(3))
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}; "
          f"region pixels src {src.masks[0].sum((1, 2)).int().tolist()} ref {ref.masks[0].sum((1, 2)).int().tolist()} "
          f"(lips, skin, eyes); same-region pairs {pairs:,} of {3 * 4096 * 4096:,} dense")
    rows = []
    for precision in ("fp32", "bf16"):
        autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
                    else contextlib.nullcontext())

        def run(f):
            def call():
                with torch.inference_mode(), autocast:
                    f()
            return call

        g = run(lambda: model(src, [Reference(ref)]))
        a = run(lambda: morph(fs, fr, src.masks, ref.masks, values, mk.temperature, chunk=mk.attention_chunk))
        n = run(lambda: dense_morph_reference(fs, fr, src.masks, ref.masks, values, mk.temperature))
        for name, fn in (("generator forward", g), ("attention (ours)", a), ("attention (naive dense)", n)):
            sec, mib = measure(fn, args.runs, device)
            rows.append((precision, name, sec, mib))
    print(f"\n{'precision':<10}{'step':<26}{'median ms':>12}{'peak MiB':>12}")
    for precision, name, sec, mib in rows:
        print(f"{precision:<10}{name:<26}{sec * 1000:>12.1f}{mib:>12.1f}")
    for precision in ("fp32", "bf16"):
        ours = next(r for r in rows if r[0] == precision and r[1] == "attention (ours)")
        naive = next(r for r in rows if r[0] == precision and r[1] == "attention (naive dense)")
        print(f"{precision}: attention speed-up {naive[2] / ours[2]:.1f}x, "
              f"memory {naive[3]:.0f} MiB -> {ours[3]:.0f} MiB")


if __name__ == "__main__":
    main()
