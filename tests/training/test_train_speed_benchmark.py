"""benchmarks/train_speed.py runs the shipped recipe's every term (its synthetic items carry what the trainer's
data contract asks for: the detail term's sharp photos of source and reference included)."""

import importlib.util
from pathlib import Path

import torch

from lrmakeup.config import builtin_config_path

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("train_speed", ROOT / "benchmarks" / "train_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_speed_times_the_demo_recipe_at_tiny_sizes(capsys):
    """The demo recipe (confine, reference colour, the detail term, bare samples, flips) at tiny sizes."""
    torch.manual_seed(0)
    tiny = ["model.input_size=16", "model.image_size=64", "model.makeup.channels=4", "model.prior.channels=8",
            "model.prior.hourglass_order=2", "model.sr.channels=8", "model.sr.n_blocks=1", "train.batch_size=2",
            "train.detail_crop=8"]
    rate = _benchmark().time_config(str(builtin_config_path("demo")), tiny, steps=1, warmup=0, device="cpu")
    assert rate > 0
    assert "samples/s" in capsys.readouterr().out
