"""``torchrun`` with two CPU processes (gloo): DDP trains, the ranks stay identical, rank 0 checkpoints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lrmakeup.checkpoint import load_generator
from lrmakeup.training import load_state

WORKER = Path(__file__).parent / "ddp_worker.py"


def test_torchrun_two_processes_on_cpu(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(WORKER), str(run), "train.max_steps=3", "loss.per_makeup=0", "loss.per_sr=0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ranks = [(run / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert ranks[0][:2] == ranks[1][:2] == ["2", "3"]
    assert ranks[0][2] == ranks[1][2]  # DDP kept the weights of both ranks bitwise equal
    state = load_state(run / "train_state.pt")
    assert state["step"] == 3 and state["world_size"] == 2 and len(state["rng"]) == 2
    assert (state["epoch"], state["batch_in_epoch"]) == (1, 1)  # 4 tuples / 2 ranks = 2 steps per epoch
    model, config, provenance = load_generator(run / "generator.safetensors")
    assert provenance["step"] == 3 and config.train.max_steps == 3
    # only rank 0 writes the logs
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    assert (run / "images" / "step_0000002.png").is_file()
