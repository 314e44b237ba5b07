"""The benchmark builder: layout, exact targets, identity split, resuming, and input errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from lrmakeup.data.benchmark import FORMAT, TRIPLET_FILES, build_benchmark, load_triplet
from lrmakeup.data.synthetic import MakeupLook
from lrmakeup.errors import DataError, InputError, LRMakeupError
from lrmakeup.face.io import write_image

SMALL = {"pairs": 6, "test_fraction": 0.5, "variants": 2, "progress": False}  # the built-in set, kept small


def _triplets(out):
    return sorted(p for split in ("train", "test") for p in (out / split).iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def builtin_bench(tmp_path_factory, analyzer256):
    """The default built-in set, kept small: 2 identities x 2 variants (original, flip), 6 triplets."""
    out = tmp_path_factory.mktemp("bench") / "builtin"
    summary = build_benchmark("builtin", out, seed=3, analyzer=analyzer256, **SMALL)
    return out, summary


@pytest.fixture(scope="module")
def folder_bench(tmp_path_factory, analyzer256, astronaut_rgb, grace_hopper_rgb):
    """A folder of four face files (four identities by the one-file-one-identity rule), split 2 / 2."""
    faces = tmp_path_factory.mktemp("faces")
    for name, photo in {
        "a.png": astronaut_rgb,
        "b.png": grace_hopper_rgb,
        "c.png": np.ascontiguousarray(astronaut_rgb[:, ::-1]),
        "d.png": np.ascontiguousarray(grace_hopper_rgb[:, ::-1]),
    }.items():
        write_image(faces / name, photo)
    (faces / "notes.txt").write_text("not an image")
    write_image(faces / "e.png", np.full((300, 300, 3), 128, np.uint8))  # no face: skipped and counted
    out = tmp_path_factory.mktemp("bench") / "folder"
    summary = build_benchmark(faces, out, pairs=4, seed=1, test_fraction=0.5, analyzer=analyzer256, progress=False)
    return out, summary


def test_builtin_benchmark_layout_and_manifest(builtin_bench):
    out, summary = builtin_bench
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == FORMAT and manifest["complete"] and manifest["seed"] == 3
    assert manifest["sizes"] == {"hr": 256, "lr": 64}
    assert summary.rendered == 6 and sum(manifest["counts"]["triplets"].values()) == 6
    looks = {t["id"]: t["look"] for t in manifest["triplets"]}
    assert sorted(looks) == [f"{p.parent.name}/{p.name}" for p in _triplets(out)]
    for folder in _triplets(out):
        assert sorted(os.listdir(folder)) == sorted(TRIPLET_FILES)
        t = load_triplet(folder)
        for name in ("source", "reference", "target", "reference_bare"):
            assert t[name].shape == (256, 256, 3)
        for name in ("source_lr", "reference_lr", "target_lr"):
            assert t[name].shape == (64, 64, 3)
        assert t["look"] == MakeupLook.from_dict(looks[f"{folder.parent.name}/{folder.name}"])
        assert t["source_landmarks"].shape == (68, 2) and t["target_masks"].shape == (3, 256, 256)
        assert t["target_masks"].dtype == np.uint8 and t["target_masks"][0].sum() > 0  # lips present


def test_target_equals_source_outside_the_makeup_regions(builtin_bench):
    out, _ = builtin_bench
    for folder in _triplets(out):
        t = load_triplet(folder)
        outside = ~t["target_support"]
        assert 0.3 < outside.mean() < 0.98
        assert np.array_equal(t["target"][outside], t["source"][outside])
        assert np.array_equal(t["reference"][~t["reference_support"]], t["reference_bare"][~t["reference_support"]])
        assert np.any(t["target"] != t["source"])  # the look shows
        assert t["target_alpha"][outside].max() == 0


def test_identity_split_holds(builtin_bench, folder_bench):
    for out, _ in (builtin_bench, folder_bench):
        manifest = json.loads((out / "manifest.json").read_text())
        train, test = set(manifest["split"]["train"]), set(manifest["split"]["test"])
        assert train and test and not train & test
        for t in manifest["triplets"]:
            side = train if t["split"] == "train" else test
            assert t["source_identity"] in side and t["reference_identity"] in side
            meta = json.loads((out / t["id"] / "meta.json").read_text())
            assert meta["source_identity"] == t["source_identity"]
    # with several identities per side, source and reference are always different people
    manifest = json.loads((folder_bench[0] / "manifest.json").read_text())
    assert all(t["source_identity"] != t["reference_identity"] for t in manifest["triplets"])
    # in the built-in set, a flip is the same identity as its original
    manifest = json.loads((builtin_bench[0] / "manifest.json").read_text())
    identities = {f["name"]: f["identity"] for f in manifest["faces"]}
    assert identities["astronaut-flip"] == "astronaut" and identities["grace_hopper-flip"] == "grace_hopper"


def test_faces_without_a_detected_face_are_skipped_and_counted(folder_bench):
    out, summary = folder_bench
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary.faces == 4 and summary.faces_skipped == 1
    assert manifest["counts"]["faces_skipped"] == 1 and manifest["skipped"][0]["name"] == "e.png"


def test_rerun_skips_finished_work_and_redoes_interrupted_triplets(builtin_bench, analyzer256):
    out, _ = builtin_bench
    folders = _triplets(out)
    stamps = {p: p.joinpath("target.png").stat().st_mtime_ns for p in folders}
    # simulate an interrupted run: one triplet missing, one half-written temporary folder left behind
    victim = folders[0]
    for name in os.listdir(victim):
        (victim / name).unlink()
    victim.rmdir()
    stale = victim.parent / f".{victim.name}.abc.tmp"
    stale.mkdir()
    (stale / "source.png").write_bytes(b"partial")
    summary = build_benchmark("builtin", out, seed=3, analyzer=analyzer256, **SMALL)
    assert summary.rendered == 1 and summary.already_done == 5
    assert not stale.exists() and victim.is_dir()
    for p in folders[1:]:
        assert p.joinpath("target.png").stat().st_mtime_ns == stamps[p]


def test_rerun_with_other_settings_is_refused(builtin_bench, analyzer256):
    out, _ = builtin_bench
    with pytest.raises(InputError, match="other settings.*seed"):
        build_benchmark("builtin", out, seed=4, analyzer=analyzer256, **SMALL)


def test_bad_faces_folders_give_clear_errors(tmp_path, analyzer256):
    with pytest.raises(DataError, match="does not exist"):
        build_benchmark(tmp_path / "missing", tmp_path / "out1", analyzer=analyzer256, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        build_benchmark(tmp_path / "empty", tmp_path / "out2", analyzer=analyzer256, progress=False)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="must be a folder"):
        build_benchmark(tmp_path / "file.png", tmp_path / "out3", analyzer=analyzer256, progress=False)
    blank = tmp_path / "blank"
    blank.mkdir()
    write_image(blank / "grey.png", np.full((200, 200, 3), 90, np.uint8))
    (blank / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="no usable face"):
        build_benchmark(blank, tmp_path / "out4", analyzer=analyzer256, progress=False)
    with pytest.raises(InputError, match="not empty"):
        build_benchmark("builtin", blank, analyzer=analyzer256, progress=False)


def test_cli_reports_a_bad_faces_folder_as_an_lrmakeup_error(tmp_path):
    from lrmakeup.cli import _Parser, make_benchmark

    parser = _Parser(prog="lrmakeup")
    make_benchmark.add_parser(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(["make-benchmark", "--faces", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert args.pairs == 100 and args.seed == 0 and args.test_fraction == 0.2
    with pytest.raises(LRMakeupError, match="faces folder .*nope does not exist"):
        args.run(args)
    with pytest.raises(InputError):
        parser.parse_args(["make-benchmark", "--out", "x", "--style", "gothic"])
