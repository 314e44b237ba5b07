"""open_training_data: the library's assembly of a run's training data (what ``lrmakeup train`` trains on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.manifest import read_format
from lrmakeup.data.mt import MTDataset
from lrmakeup.data.training_set import open_training_data
from lrmakeup.data.tuples import PrepareOptions, TupleDataset, prepare, split_sources
from lrmakeup.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def two_folders(mt_folder, tmp_path_factory):
    """Two prepared folders of the same photos whose seeds hold out different test sources."""
    root = tmp_path_factory.mktemp("mix")
    names = [i.name for i in MTDataset(mt_folder).non_makeup]
    held, seeds = set(), []
    for seed in range(20):  # two seeds that hold out two different usable photos
        (test,) = split_sources(names, 1, seed)[1]
        if test not in held and "noface" not in test and "badseg" not in test:
            held.add(test)
            seeds.append(seed)
    folders = []
    for seed in seeds[:2]:
        out = root / f"seed{seed}"
        prepare(PrepareOptions(mt_folder, out, pairs=4, test_pairs=1, test_sources=1, seed=seed, image_size=64,
                               input_size=16, shard_size=4), progress=False)
        folders.append(out)
    tests = [read_format(f)[1]["split"]["test_sources"] for f in folders]
    assert tests[0] != tests[1], "the fixture needs folders that hold out different sources"
    return folders, {Path(n).stem for t in tests for n in t}


def test_one_folder_is_its_train_split(two_folders):
    folders, _ = two_folders
    config = load_config(builtin_config_path("tiny"), ["model.prior.heatmap_sigma=2.0"])
    data = open_training_data([folders[0]], config)
    assert isinstance(data, TupleDataset) and len(data) == 4
    assert data.heatmap_sigma == 2.0  # the ground truth is drawn with the config's σ


def test_mixed_folders_keep_every_held_out_identity_out(two_folders):
    """A source one folder holds out for test is not trained on from the other folder either."""
    folders, held_out = two_folders
    data = open_training_data(folders, load_config(builtin_config_path("tiny")))
    names = [part.dataset.names(i) if hasattr(part, "dataset") else part.names(i)
             for part in data.datasets for i in (part.indices if hasattr(part, "indices") else range(len(part)))]
    assert 0 < len(data) < 8 and len(names) == len(data)
    assert not {Path(n).stem for pair in names for n in pair} & held_out


def test_wrong_sizes_and_missing_folders_are_refused(two_folders, tmp_path):
    folders, _ = two_folders
    with pytest.raises(ConfigError, match="prepared with image_size 64 but the model has model.image_size=256"):
        open_training_data(folders[:1], load_config(None))
    with pytest.raises(DataError, match="training data folder not found"):
        open_training_data([tmp_path / "nowhere"], load_config(builtin_config_path("tiny")))
