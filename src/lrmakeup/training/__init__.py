"""Training of the whole model (METHOD §2, §3): alternating D / G updates, checkpoints, resume, DDP.

- :mod:`.objective`: the loss terms of eq. (7)-(20) and which images each compares;
- :mod:`.trainer`: :class:`Trainer` / :func:`train`, the run folder, checkpoints and the NaN guard;
- :mod:`.sampler`: the seeded, resumable data order; :mod:`.state`: the training-state file;
- :mod:`.distributed`: torchrun / DDP set-up; :mod:`.monitor`: progress, metrics, images, loss curve.
"""

from .objective import (
    EQUATIONS,
    Discriminators,
    GeneratedImages,
    GeneratorPass,
    TrainingBatch,
)
from .state import STATE_FILE, load_state
from .trainer import (
    CONFIG_FILE,
    GENERATOR_FILE,
    Trainer,
    TrainingError,
    TrainResult,
    train,
)

__all__ = [
    "CONFIG_FILE",
    "EQUATIONS",
    "GENERATOR_FILE",
    "STATE_FILE",
    "Discriminators",
    "GeneratedImages",
    "GeneratorPass",
    "TrainResult",
    "Trainer",
    "TrainingBatch",
    "TrainingError",
    "load_state",
    "train",
]
