"""lrmakeup evaluate: the method and its baselines scored by one metric code on a tiny prepared tuple set."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import save_file

from lrmakeup.checkpoint import save_generator
from lrmakeup.cli import evaluate as evaluate_cli
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.evaluation import psnr, ssim
from lrmakeup.evaluation.baselines import load_cascade, save_cascade, train_cascade
from lrmakeup.evaluation.datasets import open_eval_set
from lrmakeup.evaluation.runner import EvalOptions, evaluate
from lrmakeup.face.io import read_image
from lrmakeup.models import LRMakeupGenerator
from lrmakeup.models.cascade import CascadeConfig, CascadeSR, cascade_for_budget, count_parameters

S, s, F = 64, 16, 16  # the tiny config: image, input and feature size


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def write_tiny_tuples(root: Path, astronaut: np.ndarray, n_faces: int = 4, n_test: int = 2, n_train: int = 3) -> Path:
    """A prepared-tuple folder (``lrmakeup-tuples`` v1) in the tiny config's sizes, written directly."""
    rng = np.random.default_rng(0)
    (root / "faces").mkdir(parents=True)
    face = astronaut[30:230, 140:340]  # the astronaut's face, roughly
    names = [f"face{i}.png" for i in range(n_faces)]
    hr = [np.clip(_resize(face, S).astype(int) + rng.integers(-20, 20, 3), 0, 255).astype(np.uint8)
          for _ in names]
    yy, xx = np.mgrid[0:S, 0:S]
    full = np.stack([(np.abs(yy - 48) < 4) & (np.abs(xx - 32) < 10),  # lips
                     (np.abs(yy - 32) < 20) & (np.abs(xx - 32) < 20),  # skin
                     (np.abs(yy - 24) < 4) & (np.abs(xx - 32) < 16)]).astype(np.uint8)  # eyes
    full[1] &= 1 - (full[0] | full[2])
    lm = np.stack([rng.uniform(12, 52, 2) for _ in range(68)]).astype(np.float32)
    faces = {
        "image_lr": np.stack([_resize(h, s) for h in hr]),
        "image_hr": np.stack(hr),
        "landmarks_lr": np.stack([lm] * n_faces),
        "landmarks_hr": np.stack([lm] * n_faces),
        "parsing": np.zeros((n_faces, S, S), np.uint8),
        "masks": np.stack([full[:, ::4, ::4]] * n_faces),
        "masks_full": np.stack([np.packbits(full, axis=-1)] * n_faces),
        "crop_box": np.zeros((n_faces, 4), np.int32),
        "face_box": np.zeros((n_faces, 4), np.int32),
        "num_faces": np.ones(n_faces, np.int32),
    }
    save_file(faces, str(root / "faces" / "faces-00000.safetensors"),
              metadata={"format": "lrmakeup-tuples-faces", "fingerprint": "{}", "names": json.dumps(names),
                        "failed": "[]"})
    shards = {}
    for split, count in (("test", n_test), ("train", n_train)):
        (root / split).mkdir()
        xs = [names[i % n_faces] for i in range(count)]
        ys = [names[(i + 1) % n_faces] for i in range(count)]
        targets = np.stack([np.clip(hr[i % n_faces].astype(int) + 15, 0, 255).astype(np.uint8) for i in range(count)])
        save_file({"target": targets}, str(root / split / "tuples-00000.safetensors"),
                  metadata={"format": "lrmakeup-tuples", "fingerprint": "{}", "split": split,
                            "x": json.dumps(xs), "y": json.dumps(ys)})
        shards[split] = [{"file": f"{split}/tuples-00000.safetensors", "tuples": count}]
    manifest = {"format": "lrmakeup-tuples", "version": 1, "teacher": "classic",
                "sizes": {"image_size": S, "input_size": s, "feature_size": F},
                "faces": [{"file": "faces/faces-00000.safetensors", "faces": n_faces, "failed": 0}],
                "shards": shards}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture
def tiny_set(tmp_path, astronaut_rgb):
    return write_tiny_tuples(tmp_path / "data", astronaut_rgb)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    config = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_generator(path, LRMakeupGenerator(config.model), config, {"untrained": True})
    return path


def test_adapter_yields_uniform_samples(tiny_set):
    data = open_eval_set(tiny_set, "test")
    assert len(data) == 2 and data.target_is_teacher and data.format == "lrmakeup-tuples"
    sample = data[0]
    assert sample.source.image.shape == (1, 3, S, S) and sample.source.masks.shape == (1, 3, F, F)
    assert sample.source.pos.shape == (1, 136, F, F)
    assert sample.target.shape == (S, S, 3) and sample.target.dtype == np.uint8
    assert set(sample.regions) == {"lips", "eyes", "skin"} and sample.regions["lips"].shape == (S, S)
    assert sample.regions["lips"].any() and not (sample.regions["lips"] & sample.regions["skin"]).any()


def test_evaluate_with_bicubic_writes_reports_that_match_the_saved_images(tiny_set, tiny_checkpoint, tmp_path,
                                                                        empty_torch_home):
    out = tmp_path / "eval"
    parser = argparse.ArgumentParser()
    evaluate_cli.add_parser(parser.add_subparsers())  # registered in lrmakeup.cli by its owner
    args = parser.parse_args(["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_set),
                                      "--out", str(out), "--baselines", "bicubic,cascade,teacher"])
    assert args.run(args) == 0
    doc = json.loads((out / "results.json").read_text())
    md = (out / "results.md").read_text()
    assert (out / "grid.png").is_file() and read_image(out / "grid.png").shape[1] > 5 * S
    assert "| method |" in md and "| LR transfer + bicubic |" in md and "PSNR↑" in md
    method, bicubic = doc["rows"]["method"], doc["rows"]["LR transfer + bicubic"]
    for row in (method, bicubic):
        assert math.isfinite(row["psnr"]["value"]) and math.isfinite(row["ssim"]["value"])
        assert row["psnr"]["count"] == 2
        assert row["lpips"]["value"] is None and "not found" in row["lpips"]["reason"]  # never made up
    assert doc["rows"]["LR transfer + cascade SR"]["psnr"]["value"] is None  # no checkpoint: n/a with reason
    assert "cascade" in doc["notes"]
    assert doc["rows"]["teacher (= target)"]["psnr"]["value"] == "inf"  # the reference row
    # one sample, recomputed from the PNGs the run saved
    target = read_image(out / "images" / "0001_target.png")
    for key in ("method", "bicubic"):
        pred = read_image(out / "images" / f"0001_{key}.png")
        assert doc["per_sample"][1][key]["psnr"] == pytest.approx(psnr(pred, target), abs=1e-9)
        assert doc["per_sample"][1][key]["ssim"] == pytest.approx(ssim(pred, target), abs=1e-9)
    mean = np.mean([r["method"]["psnr"] for r in doc["per_sample"]])
    assert method["psnr"]["value"] == pytest.approx(mean)


def test_bicubic_baseline_is_transfer_at_lr_then_bicubic(tiny_set, tiny_checkpoint, tmp_path, empty_torch_home):
    out = tmp_path / "eval"
    evaluate(EvalOptions(tiny_checkpoint, tiny_set, out, baselines=("bicubic",), limit=1, lpips_net=None,
                         fid=False, progress=False))
    lr = read_image(out / "images" / "0000_lr_transfer.png")
    expected = _resize(_resize(lr, s), S)
    np.testing.assert_array_equal(read_image(out / "images" / "0000_bicubic.png"), expected)


def test_cascade_network_shape_and_budget():
    net = CascadeSR(CascadeConfig(channels=8, n_blocks=2))
    assert net(torch.zeros(2, 3, s, s)).shape == (2, 3, S, S)
    cfg = cascade_for_budget(200_000, channels=16)
    assert abs(count_parameters(CascadeSR(cfg)) - 200_000) <= count_parameters(CascadeSR(CascadeConfig(16, 1))) // 2


def test_train_cascade_reduces_its_loss_and_round_trips(tiny_set, tmp_path):
    train = open_eval_set(tiny_set, "train")
    torch.manual_seed(0)
    net = CascadeSR(CascadeConfig(channels=8, n_blocks=1))
    net, losses = train_cascade(train, steps=30, model=net, input_size=s, batch_size=2, lr=2e-3, progress=False)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    save_cascade(tmp_path / "c.safetensors", net)
    again, _ = load_cascade(tmp_path / "c.safetensors")
    x = torch.rand(1, 3, s, s) * 2 - 1
    torch.testing.assert_close(again(x), net(x))


def test_evaluate_uses_a_cascade_checkpoint(tiny_set, tiny_checkpoint, tmp_path, empty_torch_home):
    torch.manual_seed(0)
    save_cascade(tmp_path / "c.safetensors", CascadeSR(CascadeConfig(channels=8, n_blocks=1)))
    result = evaluate(EvalOptions(tiny_checkpoint, tiny_set, tmp_path / "eval", baselines=("cascade",),
                                  cascade_checkpoint=tmp_path / "c.safetensors", lpips_net=None, fid=False,
                                  progress=False, save_images=False))
    assert math.isfinite(result.rows["LR transfer + cascade SR"]["psnr"].value)


def test_benchmark_adapter_yields_the_same_sample_type(tmp_path):
    from lrmakeup.data.benchmark import build_benchmark
    from lrmakeup.data.teachers import make_teacher

    build_benchmark("builtin", tmp_path / "bench", pairs=6, variants=2, progress=False)
    data = open_eval_set(tmp_path / "bench", "test")
    assert data.format == "lrmakeup-benchmark-v1" and not data.target_is_teacher and len(data) >= 1
    sample = data[0]
    assert sample.source.image.shape == (1, 3, 256, 256) and sample.source.pos.shape == (1, 136, 64, 64)
    assert sample.target.shape == (256, 256, 3) and sample.regions["lips"].any()
    assert make_teacher("classic")(*sample.teacher_faces).shape == (256, 256, 3)
