"""Resume never loses a run: no state means no resume, two states are kept, SIGTERM / SIGINT checkpoint.

A cluster pre-empts a job with SIGTERM; a user stops it with Ctrl+C. Either way the step in progress finishes,
a checkpoint is written, and ``--resume`` continues bitwise as if the run had never stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lrmakeup.errors import CheckpointError, InputError
from lrmakeup.training import Trainer, load_state
from lrmakeup.training.state import PREVIOUS_STATE_FILE, load_latest_state

WORKER = Path(__file__).parent / "signal_worker.py"
RECIPE = ("loss.per_makeup=0", "loss.per_sr=0", "train.seed=3")


def _weights(trainer_or_state) -> dict[str, torch.Tensor]:
    if isinstance(trainer_or_state, Trainer):
        return {**{f"generator.{k}": v for k, v in trainer_or_state.generator.state_dict().items()},
                **{f"d_x.{k}": v for k, v in trainer_or_state.discriminators.d_x.state_dict().items()}}
    return {**{f"generator.{k}": v for k, v in trainer_or_state["generator"].items()},
            **{f"d_x.{k}": v for k, v in trainer_or_state["d_x"].items()}}


def _worker(run: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(WORKER), str(run), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _logged_steps(run: Path) -> int:
    metrics = run / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.is_file() else 0


# --- resume without a state ----------------------------------------------------------------------------

def test_resume_in_a_folder_without_state_refuses_and_touches_nothing(make_config, tuples, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "generator.safetensors").write_bytes(b"the user's weights")
    (run / "metrics.jsonl").write_text('{"step": 7}\n')
    with pytest.raises(InputError, match=r"cannot resume '.*run': it holds no training state \(train_state\.pt\)"):
        Trainer(make_config(), tuples(2), run, resume=True, progress=False)
    assert (run / "generator.safetensors").read_bytes() == b"the user's weights"
    assert (run / "metrics.jsonl").read_text() == '{"step": 7}\n'
    assert sorted(p.name for p in run.iterdir()) == ["generator.safetensors", "metrics.jsonl"]


def test_resume_without_state_on_the_command_line_is_exit_2_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.run([sys.executable, str(WORKER), str(run), "--resume", "train.max_steps=2"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err
    assert "cannot resume" in err and "no training state" in err
    assert list(run.iterdir()) == []


# --- two states ----------------------------------------------------------------------------------------

def test_the_last_two_states_are_kept_and_a_corrupt_newest_falls_back(make_config, tuples, tmp_path):
    run = tmp_path / "run"
    cfg = make_config(*RECIPE, "train.max_steps=2", "train.checkpoint_every=1")
    Trainer(cfg, tuples(2), run, progress=False).fit()
    assert load_state(run / "train_state.pt")["step"] == 2
    assert load_state(run / PREVIOUS_STATE_FILE)["step"] == 1
    step1 = load_state(run / PREVIOUS_STATE_FILE)

    data = (run / "train_state.pt").read_bytes()
    (run / "train_state.pt").write_bytes(data[: len(data) // 2])  # a disk fault or a copy cut short
    resumed = Trainer(make_config(*RECIPE, "train.max_steps=3", "train.checkpoint_every=1"), tuples(2), run,
                      resume=True, progress=False)
    assert resumed.step == 1
    note = " ".join(resumed._notes)
    assert "train_state.pt is not a readable training state" in note
    assert "resuming from the previous state train_state.prev.pt (step 1)" in note and "\n" not in note
    for key, value in _weights(step1).items():
        assert torch.equal(_weights(resumed)[key], value), key
    resumed.fit()
    # the good previous state was not replaced by the corrupt one: prev stays step 1 until a good step 2 exists
    assert load_state(run / "train_state.pt")["step"] == 3
    assert load_state(run / PREVIOUS_STATE_FILE)["step"] == 2


def test_both_states_unreadable_is_a_clear_error(make_config, tuples, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_state.pt").write_bytes(b"junk")
    (run / PREVIOUS_STATE_FILE).write_bytes(b"junk too")
    with pytest.raises(CheckpointError, match="the previous state is unreadable too"):
        load_latest_state(run / "train_state.pt")
    with pytest.raises(CheckpointError, match="not a readable training state"):
        Trainer(make_config(), tuples(2), run, resume=True, progress=False)


# --- SIGTERM / SIGINT ----------------------------------------------------------------------------------

def _signal_mid_run(run: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start `lrmakeup train` in a child, signal it after step 2 has been logged; (stopped step, stderr)."""
    proc = _worker(run, *RECIPE, "train.max_steps=1000")
    deadline = time.monotonic() + 120
    while _logged_steps(run) < 2:  # well into the run, in the middle of some step
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child did not start training"
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 30  # one step and one checkpoint, not the rest of the run
    assert proc.returncode == 128 + sig, err
    stopped = load_state(run / "train_state.pt")["step"]
    assert 2 <= stopped < 1000
    lines = [line for line in err.strip().splitlines() if line.startswith("lrmakeup: stopped")]
    assert lines == [f"lrmakeup: stopped by {sig.name} at step {stopped}; wrote {run / 'train_state.pt'}; "
                     "run again with --resume to continue"], err
    assert "Traceback" not in err
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == stopped
    return stopped, err


def test_sigterm_checkpoints_the_current_step_and_resume_loses_nothing(make_config, tuples, tmp_path):
    """`lrmakeup train` in a child process, pre-empted mid-run: exit 143 with one line, a checkpoint at the
    step it was in; --resume then ends with exactly the weights of an uninterrupted run."""
    run = tmp_path / "run"
    stopped, _ = _signal_mid_run(run, signal.SIGTERM)
    total = stopped + 2
    resumed = _worker(run, "--resume", *RECIPE, f"train.max_steps={total}")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    straight = Trainer(make_config(*RECIPE, f"train.max_steps={total}"), tuples(3), tmp_path / "straight",
                       progress=False)
    straight.fit()
    a, b = _weights(straight), _weights(load_state(run / "train_state.pt"))
    assert a.keys() == b.keys() and len(a) > 50
    for key in a:
        assert torch.equal(a[key], b[key]), key
    logged = [json.loads(r)["step"] for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged == list(range(1, total + 1))


def test_ctrl_c_checkpoints_too(tmp_path):
    """SIGINT (Ctrl+C) takes the same path: the step finishes, a checkpoint is written, exit 130."""
    run = tmp_path / "run"
    stopped, err = _signal_mid_run(run, signal.SIGINT)
    assert "KeyboardInterrupt" not in err
    assert load_state(run / "train_state.pt")["step"] == stopped
