"""Fixtures of the trainer tests: the tiny config (64-pixel images), an in-test data set, one CPU thread.

Tests run with one intra-op thread: the tiny model's kernels are too small to gain from more, and on a
loaded machine OpenMP's spinning threads make multi-threaded steps several times slower.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from lrmakeup.config import builtin_config_path, load_config

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import TinyTuples  # noqa: E402

# the tiny architecture; RANDOM VGG weights (explicit) so nothing is downloaded; no output unless asked
BASE = ["loss.vgg_weights=random", "train.log_every=1", "train.image_every=0", "train.checkpoint_every=0"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def make_config():
    def make(*overrides: str):
        return load_config(builtin_config_path("tiny"), BASE + list(overrides))

    return make


@pytest.fixture
def tuples():
    return TinyTuples
