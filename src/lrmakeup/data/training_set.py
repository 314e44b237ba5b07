"""The training data of one run: the train splits of several prepared folders, mixed, with held-out identities.

``open_training_data(folders, config)`` is what ``lrmakeup train`` trains on, and what a Python user of
:func:`lrmakeup.training.train` passes the same way. Each folder is either prepared teacher tuples
(``lrmakeup prepare``, :class:`~lrmakeup.data.tuples.TupleDataset`) or renderer-made benchmark triplets with
exact targets (``lrmakeup make-benchmark``, :class:`~lrmakeup.data.triplets.TripletDataset`). Their train
splits are concatenated; a face identity that any of them holds out for test is kept out of training in all of
them; every folder must have been made at the model's sizes. The ground-truth heatmaps are drawn with the
config's ``model.prior.heatmap_sigma``.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import ConcatDataset, Dataset, Subset

from ..config import Config
from ..errors import ConfigError, DataError
from .manifest import read_format
from .triplets import TripletDataset
from .tuples import TupleDataset


def open_training_data(folders: list[str | os.PathLike], config: Config) -> Dataset:
    """The train splits of ``folders`` checked against ``config.model``'s sizes, held-out identities removed."""
    folders = [Path(f) for f in folders]
    if not folders:
        raise DataError("no training data folder given")
    for folder in folders:
        if not folder.is_dir():
            raise DataError(f"training data folder not found: {folder}")
    manifests = [read_format(folder) for folder in folders]
    held_out = set().union(*(_test_identities(fmt, manifest) for fmt, manifest in manifests))
    sigma = config.model.prior.heatmap_sigma
    parts = []
    for folder, (fmt, _) in zip(folders, manifests):
        if _is_benchmark(fmt):
            dataset: Dataset = TripletDataset(folder, "train", sigma, exclude_identities=held_out)
        else:
            dataset = TupleDataset(folder, split="train", heatmap_sigma=sigma)
            if len(folders) > 1:
                dataset = _without_identities(dataset, held_out)
        check_sizes(folder, getattr(dataset, "dataset", dataset), config)
        parts.append(dataset)
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def check_sizes(folder: Path, dataset: TupleDataset | TripletDataset, config: Config) -> None:
    """ConfigError unless the data was made at the model's image, input and feature sizes."""
    model = config.model
    for name, want in (("image_size", model.image_size), ("input_size", model.input_size),
                       ("feature_size", model.feature_size)):
        got = getattr(dataset, name)
        if got != want:
            raise ConfigError(f"{folder} was prepared with {name} {got} but the model has model.{name}={want} "
                              "(prepare the data at the model's sizes or change the config)")


def _is_benchmark(fmt: str) -> bool:
    return fmt.startswith("lrmakeup-benchmark")


def _identity(name: str) -> str:
    return Path(name).stem


def _test_identities(fmt: str, manifest: dict) -> set[str]:
    """The face identities a folder holds out for test (sources and references of a benchmark's test triplets,
    the test source photos of prepared tuples)."""
    if _is_benchmark(fmt):
        test = [t for t in manifest.get("triplets", []) if t.get("split") == "test"]
        return {t["source_identity"] for t in test} | {t["reference_identity"] for t in test}
    return {_identity(n) for n in manifest.get("split", {}).get("test_sources", [])}


def _without_identities(dataset: TupleDataset, held_out: set[str]) -> Dataset:
    keep = [i for i in range(len(dataset)) if not {_identity(n) for n in dataset.names(i)} & held_out]
    return Subset(dataset, keep) if len(keep) < len(dataset) else dataset
