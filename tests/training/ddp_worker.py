"""One rank of the 2-process test: ``python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py RUN``.

Trains the tiny config on the in-test tuples with ``lrmakeup.training.train`` (gloo on CPU) and writes a
checksum of this rank's final generator and discriminator weights to RUN/rank<r>.txt, so the test can check
that DDP kept the ranks identical.
"""

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import TinyTuples  # noqa: E402

from lrmakeup.config import builtin_config_path, load_config  # noqa: E402
from lrmakeup.training import Trainer, distributed  # noqa: E402

run = Path(sys.argv[1])
cfg = load_config(builtin_config_path("tiny"), ["loss.vgg_weights=random", "train.log_every=1", "train.image_every=2",
                                                "train.checkpoint_every=2", *sys.argv[2:]])
torch.set_num_threads(1)
info = distributed.setup("cpu")
try:
    trainer = Trainer(cfg, TinyTuples(4), run, dist=info, progress=False)
    result = trainer.fit()
    total = sum(p.double().sum().item() for p in trainer.generator.parameters())
    total += sum(p.double().sum().item() for p in trainer.discriminators.parameters())
    (run / f"rank{info.rank}.txt").write_text(f"{info.world_size} {result.step} {total!r}\n")
finally:
    distributed.teardown(info)
print(f"rank {os.environ.get('RANK')} done")
