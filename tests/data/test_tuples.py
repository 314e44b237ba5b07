"""`lrmakeup prepare` and TupleDataset on a tiny MT-layout folder (64-pixel tuples, 16-pixel inputs)."""

import argparse
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from torch.utils.data import DataLoader

from lrmakeup.cli import prepare as prepare_cli
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.mt import MTDataset
from lrmakeup.data.teachers import ClassicTeacher
from lrmakeup.data.tuples import TupleDataset, collate, face_batches
from lrmakeup.errors import DataError, InputError
from lrmakeup.face import FaceAnalyzer, nearest_resize, resize_bicubic
from lrmakeup.models import LRMakeupGenerator

SIZES = ["--image-size", "64", "--input-size", "16"]
SETTINGS = ["--teacher", "classic", "--pairs", "5", "--test-pairs", "2", "--test-sources", "2", "--seed", "0",
            "--shard-size", "2", *SIZES, "--quiet"]


def run_prepare(argv: list[str]) -> int:
    """``lrmakeup prepare ARGV`` through the command's own parser and run function."""
    parser = argparse.ArgumentParser(prog="lrmakeup")
    prepare_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["prepare", *argv])
    return args.run(args)


@pytest.fixture(scope="module")
def prepared(mt_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "tuples"
    assert run_prepare(["--mt-root", str(mt_folder), "--out", str(out), *SETTINGS]) == 0
    return out


def shard_files(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.safetensors"))


def test_manifest(prepared):
    m = json.loads((prepared / "manifest.json").read_text())
    assert (m["format"], m["version"], m["teacher"], m["seed"]) == ("lrmakeup-tuples", 1, "classic", 0)
    assert m["sizes"] == {"image_size": 64, "input_size": 16, "feature_size": 16}
    assert m["counts"]["train"] == 5 and m["counts"]["test"] == 2
    assert m["counts"]["skipped_faces"] == 2
    assert m["skipped_faces"] == {"non-makeup/grace_badseg.png": "bad_seg", "non-makeup/noface.png": "no_face"}
    assert m["created"] and len(m["split"]["test_sources"]) == 2
    assert [s["tuples"] for s in m["shards"]["train"]] == [2, 2, 1]
    assert [s["tuples"] for s in m["shards"]["test"]] == [2]
    listed = [s["file"] for s in m["faces"]] + [s["file"] for split in ("train", "test") for s in m["shards"][split]]
    assert sorted(listed) == shard_files(prepared)
    assert not list(prepared.rglob("*.tmp"))


EXPECTED = {  # key -> (shape, dtype, low, high) for S = 64, s = 16, F = 16
    "x_image": ((3, 64, 64), torch.float32, -1, 1), "x_masks": ((3, 16, 16), torch.float32, 0, 1),
    "x_pos": ((136, 16, 16), torch.float32, -1, 1), "x_masks_full": ((3, 64, 64), torch.float32, 0, 1),
    "y_image": ((3, 64, 64), torch.float32, -1, 1), "y_masks": ((3, 16, 16), torch.float32, 0, 1),
    "y_pos": ((136, 16, 16), torch.float32, -1, 1), "y_masks_full": ((3, 64, 64), torch.float32, 0, 1),
    "target": ((3, 64, 64), torch.float32, -1, 1), "heatmaps": ((68, 16, 16), torch.float32, 0, 1),
    "parsing": ((16, 16), torch.int64, 0, 13), "x_lr": ((3, 16, 16), torch.float32, -1, 1),
    "y_lr": ((3, 16, 16), torch.float32, -1, 1), "x_hr": ((3, 64, 64), torch.float32, -1, 1),
    "y_hr": ((3, 64, 64), torch.float32, -1, 1),
}


def test_dataset_items_follow_the_contract(prepared):
    for split, n in (("train", 5), ("test", 2)):
        ds = TupleDataset(prepared, split)
        assert len(ds) == n
        for i in range(n):
            item = ds[i]
            assert set(item) == set(EXPECTED)
            for key, (shape, dtype, low, high) in EXPECTED.items():
                t = item[key]
                assert tuple(t.shape) == shape and t.dtype == dtype, key
                assert low <= t.min() and t.max() <= high, key
            for p in ("x", "y"):
                masks, full = item[f"{p}_masks"], item[f"{p}_masks_full"]
                assert set(masks.unique().tolist()) <= {0.0, 1.0} and masks[0].sum() > 0  # lips present
                torch.testing.assert_close(torch.from_numpy(nearest_resize(full.numpy(), 16)), masks)
                norm = item[f"{p}_pos"].norm(dim=0)
                inside = masks.sum(0) > 0
                torch.testing.assert_close(norm[inside], torch.ones_like(norm[inside]))
                assert (norm[~inside] == 0).all()
            assert item["heatmaps"].amax(dim=(1, 2)).min() > 0.3
            labels = set(item["parsing"].unique().tolist())
            assert 1 in labels and labels & {7, 9}  # skin and lips


def test_inputs_are_what_the_model_sees_at_inference(prepared, mt_folder, face_analyzer):
    """x_LR, its bicubic up-sampling, masks and position features equal a fresh analysis of the photo."""
    ds = TupleDataset(prepared, "train")
    item, (x_name, _) = ds[0], ds.names(0)
    image, seg = MTDataset(mt_folder).read(x_name)
    analyzer = FaceAnalyzer(input_size=16, image_size=64, feature_size=16)
    analyzer.landmark_detector = face_analyzer.landmark_detector
    a = analyzer.analyze(image, crop=False, parsing=seg)
    to_signed = lambda im: torch.from_numpy(im.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)  # noqa: E731
    torch.testing.assert_close(item["x_lr"], to_signed(a.image_lr))
    torch.testing.assert_close(item["x_image"], to_signed(resize_bicubic(a.image_lr, 64)))
    torch.testing.assert_close(item["x_masks"], torch.from_numpy(a.masks))
    torch.testing.assert_close(item["x_pos"], torch.from_numpy(a.pos))
    torch.testing.assert_close(item["parsing"], torch.from_numpy(nearest_resize(a.parsing, 16).astype(np.int64)))


def test_test_split_is_held_apart_by_source_photo(prepared):
    manifest = json.loads((prepared / "manifest.json").read_text())
    train, test = TupleDataset(prepared, "train"), TupleDataset(prepared, "test")
    train_src = {train.names(i)[0] for i in range(len(train))}
    test_src = {test.names(i)[0] for i in range(len(test))}
    assert train_src and test_src and not train_src & test_src
    assert test_src <= set(manifest["split"]["test_sources"])
    assert not {"non-makeup/noface.png", "non-makeup/grace_badseg.png"} & (train_src | test_src)


def test_rerun_skips_finished_work(prepared, mt_folder, capsys):
    capsys.readouterr()
    before = {f: (prepared / f).stat().st_mtime_ns for f in shard_files(prepared)}
    assert run_prepare(["--mt-root", str(mt_folder), "--out", str(prepared), *SETTINGS]) == 0
    out = capsys.readouterr().out
    assert "train: 5 tuples in 3 shard(s): 0 written, 3 skipped" in out
    assert "test: 2 tuples in 1 shard(s): 0 written, 1 skipped" in out
    assert "0 analysed now" in out
    assert {f: (prepared / f).stat().st_mtime_ns for f in shard_files(prepared)} == before


def test_interrupted_run_leaves_whole_shards_and_resumes(prepared, mt_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "tuples"
    out.mkdir()
    shutil.copytree(prepared / "faces", out / "faces")  # face caches are shared: only the teacher runs again
    real_call, calls = ClassicTeacher.__call__, []

    def failing(self, x, y):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("simulated crash")
        return real_call(self, x, y)

    monkeypatch.setattr(ClassicTeacher, "__call__", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_prepare(["--mt-root", str(mt_folder), "--out", str(out), *SETTINGS])
    faces = [f for f in shard_files(prepared) if f.startswith("faces/")]
    assert shard_files(out) == [*faces, "train/tuples-00000.safetensors"]  # train runs first; shard 1 died
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*")) and not (out / "manifest.json").exists()

    monkeypatch.setattr(ClassicTeacher, "__call__", real_call)
    capsys.readouterr()
    assert run_prepare(["--mt-root", str(mt_folder), "--out", str(out), *SETTINGS]) == 0
    assert "train: 5 tuples in 3 shard(s): 2 written, 1 skipped" in capsys.readouterr().out
    assert shard_files(out) == shard_files(prepared)
    for f in shard_files(prepared):
        a, b = load_file(prepared / f), load_file(out / f)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_other_settings_in_the_same_folder_are_refused(prepared, mt_folder, tmp_path):
    out = tmp_path / "tuples"
    shutil.copytree(prepared, out)
    with pytest.raises(DataError, match="prepared with other settings"):
        run_prepare(["--mt-root", str(mt_folder), "--out", str(out), *SETTINGS, "--seed", "1"])
    with pytest.raises(DataError, match="prepared with other settings"):
        run_prepare(["--mt-root", str(mt_folder), "--out", str(out), *SETTINGS[:-1], "--image-size", "128"])


def test_batches_feed_the_generator(prepared):
    loader = DataLoader(TupleDataset(prepared, "train", heatmap_sigma=1.0), batch_size=2, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["x_image"].shape == (2, 3, 64, 64) and batch["parsing"].shape == (2, 16, 16)
    x, y = face_batches(batch)
    assert x.batch_size == y.batch_size == 2 and x.pos.shape == (2, 136, 16, 16)
    config = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    with torch.no_grad():
        out = LRMakeupGenerator(config.model).makeup(x, y)
    assert out.image.shape == (2, 3, 64, 64)
    one_x, _ = face_batches(TupleDataset(prepared, "test")[0])
    assert one_x.image.shape == (1, 3, 64, 64)


def test_psgan_teacher_prepares_tuples(prepared, mt_folder, stand_in_g, tmp_path):
    out = tmp_path / "tuples"
    out.mkdir()
    shutil.copytree(prepared / "faces", out / "faces")
    args = ["--mt-root", str(mt_folder), "--out", str(out), "--teacher", f"psgan:{stand_in_g}", "--pairs", "2",
            "--test-pairs", "0", *SIZES, "--quiet"]
    assert run_prepare(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["teacher"] == f"psgan:{stand_in_g}" and len(manifest["teacher_sha256"]) == 64
    assert manifest["counts"]["train"] == 2 and manifest["shards"]["test"] == []
    assert TupleDataset(out, "train")[1]["target"].shape == (3, 64, 64)
    assert len(TupleDataset(out, "test")) == 0


@pytest.mark.parametrize(
    "change, error, message",
    [
        # the CLI checks paths and spellings before torch is imported (issue: start-up time)
        ({"--mt-root": "{tmp}/nowhere"}, InputError, "--mt-root folder not found"),
        ({"--teacher": "fancy"}, InputError, "--teacher must be 'classic' or 'psgan:PATH', got 'fancy'"),
        ({"--teacher": "psgan:{tmp}/G.pth"}, InputError, "PSGAN teacher not found"),
        ({"--pairs": "-1"}, InputError, "pairs must be >= 0"),
        ({"--image-size": "60"}, InputError, "image-size must be a multiple of 8"),
        ({"--out": "{tmp}/file.txt"}, InputError, "is not a folder"),
    ],
)
def test_bad_inputs_are_one_line_lrmakeup_errors(mt_folder, tmp_path, change, error, message):
    (tmp_path / "file.txt").write_text("x")
    options = {"--mt-root": str(mt_folder), "--out": str(tmp_path / "out"), "--teacher": "classic", "--pairs": "1"}
    options.update({k: v.format(tmp=tmp_path) for k, v in change.items()})
    argv = [*SIZES, *[s for kv in options.items() for s in kv], "--test-pairs", "0", "--quiet"]
    with pytest.raises(error) as exc:
        run_prepare(argv)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_dataset_errors(prepared, tmp_path):
    with pytest.raises(DataError, match="manifest.json is missing"):
        TupleDataset(tmp_path)
    with pytest.raises(InputError, match="split must be one of train, test"):
        TupleDataset(prepared, "val")


def test_cli_registration(mt_folder, tmp_path, capsys):
    from lrmakeup.cli import COMMANDS, main

    assert prepare_cli in COMMANDS, "lrmakeup prepare is not registered in cli/__init__.py"
    code = main(["prepare", "--mt-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"),
                 "--teacher", "classic"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--mt-root folder not found" in err
