"""``lrmakeup train`` in a child process, on the in-test tuples: ``python signal_worker.py RUN [--resume] [k=v ...]``.

The real command (``lrmakeup.cli.main``) with one stand-in: its data reader returns ``TinyTuples(3)``, so the
test needs no prepared data folder. The test sends SIGTERM / SIGINT to this process while it trains.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import TinyTuples  # noqa: E402

from lrmakeup.cli import main  # noqa: E402
from lrmakeup.config import builtin_config_path  # noqa: E402
from lrmakeup.data import training_set  # noqa: E402

training_set.open_training_data = lambda folders, config: TinyTuples(3)
torch.set_num_threads(1)
run, *rest = sys.argv[1:]
flags = [a for a in rest if a.startswith("--")]
overrides = [a for a in rest if not a.startswith("--")]
sys.exit(main(["train", "--config", str(builtin_config_path("tiny")), "--data", str(Path(run).parent), "--out", run,
               "--no-progress", *flags, "loss.vgg_weights=random", "train.log_every=1", "train.image_every=0",
               "train.checkpoint_every=0", *overrides]))
