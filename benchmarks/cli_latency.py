"""How long the ``lrmakeup`` command makes a user wait: start-up and one 64x64 pair (issue 9.1).

    python benchmarks/cli_latency.py [--runs 3] [--src OTHER_CHECKOUT/src]

Prints, in one run: the wall time of ``lrmakeup --help``, of a bad argument (a missing source), of one 64x64
pair with the shipped weights (``lrmakeup transfer``: the default, which runs them in onnxruntime, and
``--backend torch``, each --threads value asked for), and for each backend the breakdown of one pair measured
in a fresh process the way the CLI does it: imports, model load, face analysis (source and reference; the first
also loads dlib's models), generator.
Every figure is the minimum over ``--runs`` runs (the least disturbed by other work on the machine), wall time
and CPU time (user + system, which for a single-threaded run estimates the wall time on an idle machine); say
how busy the machine was next to the numbers. ``--src`` times another checkout (e.g. the code before a change:
``git worktree add /tmp/before HEAD~1``) with this interpreter.

Targets (idle 2-core machine): ``--help`` < 1.5 s, a bad argument < 2 s, one 64x64 transfer < 4 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One pair, step by step, as ``lrmakeup transfer`` runs it with each backend (cli/common.py: load_model).
BREAKDOWN = {
    "onnxruntime (default)": r"""
import json, sys, time
t0 = time.perf_counter()
import onnxruntime
from lrmakeup.serving.onnx_runtime import OnnxMakeupTransfer
t1 = time.perf_counter()
engine = OnnxMakeupTransfer.shipped(threads=int(sys.argv[3]))
""",
    "torch": r"""
import json, sys, time
t0 = time.perf_counter()
import torch
from lrmakeup.api import MakeupTransfer
t1 = time.perf_counter()
torch.set_num_threads(int(sys.argv[3]))
engine = MakeupTransfer.default()
""",
}
STEPS = r"""
t2 = time.perf_counter()
src, ref = engine.analyze(sys.argv[1]), engine.analyze(sys.argv[2])
t3 = time.perf_counter()
engine.transfer(src, ref)
t4 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "model load": t2 - t1, "face analysis (2 photos)": t3 - t2,
                  "generator": t4 - t3, "torch imported": "torch" in sys.modules}))
"""


def wall(cmd: list[str], env: dict[str, str], check: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one run of ``cmd``. On a busy machine the CPU time of a
    single-threaded run is the better estimate of its wall time on an idle one."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fastest(cmd: list[str], env: dict[str, str], runs: int, check: bool = True) -> tuple[float, float]:
    times = [wall(cmd, env, check) for _ in range(runs)]
    return min(t for t, _ in times), min(c for _, c in times)


def make_inputs(folder: Path) -> tuple[Path, Path]:
    """The built-in faces reduced to the model's 64x64 face crops (what a user of low-resolution faces has)."""
    from PIL import Image

    from lrmakeup.data.builtin import builtin_face
    from lrmakeup.face import FaceAnalyzer

    analyzer = FaceAnalyzer()
    paths = []
    for name in ("astronaut", "grace_hopper"):
        path = folder / f"{name}64.png"
        Image.fromarray(analyzer.analyze(builtin_face(name)).image_lr).save(path)
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the minimum is printed")
    parser.add_argument("--threads", default="1,2", help="--threads values to time the transfer with")
    parser.add_argument("--src", help="time the lrmakeup package in this src folder instead (e.g. older code)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(args.src).resolve()), env.get("PYTHONPATH")]))
    lrmakeup = [sys.executable, "-m", "lrmakeup"]
    where = subprocess.run([sys.executable, "-c", "import lrmakeup; print(lrmakeup.__file__)"], env=env,
                           capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    print(f"lrmakeup from {where}; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(over ~0.5 per core means other work competes); minimum of {args.runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source, reference = make_inputs(tmp)
        out = tmp / "out.png"
        rows = [("lrmakeup --help", fastest([*lrmakeup, "--help"], env, args.runs))]
        bad = [*lrmakeup, "transfer", "--source", str(tmp / "missing.png"), "--reference", str(reference),
               "--output", str(out)]
        rows.append(("bad argument (missing source)", fastest(bad, env, args.runs, check=False)))
        threads = [int(t) for t in args.threads.split(",") if t]
        pair = [*lrmakeup, "transfer", "--source", str(source), "--reference", str(reference), "--output", str(out)]
        for backend, extra in (("default", []), ("--backend torch", ["--backend", "torch"])):
            for n in threads:
                cmd = [*pair, *extra]
                if not args.src or n != threads[0]:
                    cmd += ["--threads", str(n)]  # older code may not know --threads: its default runs first
                label = (f"transfer, one 64x64 pair, {backend}, --threads {n}" if not args.src or n != threads[0]
                         else f"transfer, one 64x64 pair, {backend}, default threads")
                rows.append((label, fastest(cmd, env, args.runs)))
        for name, (seconds, cpu) in rows:
            print(f"{name:>58}: {seconds:6.2f} s wall, {cpu:6.2f} s CPU")
        print("breakdown of one pair (fresh process, shipped weights, as the CLI runs it):")
        for backend, load in BREAKDOWN.items():
            for n in threads:
                print(f"  {backend}, {n} thread(s): " + breakdown(load, source, reference, n, env, args.runs))


def breakdown(load: str, source: Path, reference: Path, threads: int, env: dict[str, str], runs: int) -> str:
    """The fastest of ``runs`` fresh processes, step by step (or why it could not run, e.g. older code)."""
    best: dict[str, float] = {}
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", load + STEPS, str(source), str(reference), str(threads)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            return "cannot run: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
        steps = json.loads(proc.stdout.strip().splitlines()[-1])
        torch_imported = steps.pop("torch imported")
        for step, seconds in steps.items():
            best[step] = min(best.get(step, float("inf")), seconds)
    return (", ".join(f"{step} {seconds:.2f} s" for step, seconds in best.items())
            + f", total {sum(best.values()):.2f} s" + ("" if torch_imported else " (torch never imported)"))


if __name__ == "__main__":
    main()
