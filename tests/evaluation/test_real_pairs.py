"""Real-pairs evaluation (no ground truth) on a tiny MT-layout folder made of the built-in faces."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from lrmakeup.cli import main
from lrmakeup.data.builtin import builtin_face, builtin_made_up
from lrmakeup.evaluation.real_pairs import (
    aggregate,
    bicubic_method,
    classic_method,
    evaluate_real_pairs,
    load_faces,
)


def _square(image: np.ndarray, size: int = 320) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 3, (w - side) // 2  # keep the face (upper part of the portrait)
    return np.asarray(Image.fromarray(image[top:top + side, left:left + side]).resize((size, size)))


@pytest.fixture(scope="module")
def mt_folder(tmp_path_factory):
    """Two bare sources (astronaut, Grace Hopper) and one made-up reference, without label maps."""
    root = tmp_path_factory.mktemp("mt")
    for sub in ("images/makeup", "images/non-makeup"):
        (root / sub).mkdir(parents=True)
    Image.fromarray(_square(builtin_face("astronaut"))).save(root / "images/non-makeup/astronaut.png")
    Image.fromarray(_square(builtin_face("grace_hopper"))).save(root / "images/non-makeup/hopper.png")
    Image.fromarray(_square(builtin_made_up("grace_hopper", "dramatic", 0))).save(root / "images/makeup/hopper_mu.png")
    (root / "non-makeup.txt").write_text("non-makeup/astronaut.png\nnon-makeup/hopper.png\n")
    (root / "makeup.txt").write_text("makeup/hopper_mu.png\n")
    return root


@pytest.fixture(scope="module")
def faces(mt_folder):
    return load_faces(mt_folder, "non-makeup", progress=False), load_faces(mt_folder, "makeup", progress=False)


def test_bicubic_carries_nothing_the_classic_cascade_carries_the_lips(mt_folder, faces):
    result = evaluate_real_pairs(mt_folder, {"bicubic": bicubic_method, "classic": classic_method()}, None,
                                 faces=faces, progress=False)
    assert result.pairs == 2
    bicubic, classic = result.table["bicubic"], result.table["classic"]
    assert bicubic["lips carried"] == 0.0 and bicubic["skin carried"] == 0.0
    assert classic["lips carried"] == 1.0
    assert classic["ΔE00 lips→ref (median)"] < bicubic["ΔE00 lips→ref (median)"]
    # a bicubic up-scale is blurrier than the sharp photo; identity stays (same person)
    assert bicubic["gradient ratio (median)"] < 0.9
    assert bicubic["identity (median)"] < 0.6


def test_the_sharp_source_itself_scores_perfect_fidelity(mt_folder, faces):
    result = evaluate_real_pairs(mt_folder, {"oracle": lambda src, ref: src.sharp}, None, faces=faces,
                                 progress=False)
    rows = result.per_pair
    assert all(r["ssim_out"] == pytest.approx(1.0) and math.isinf(r["psnr_out"]) for r in rows)
    assert all(r["identity"] == pytest.approx(0.0, abs=1e-6) and r["grad_ratio"] == pytest.approx(1.0) for r in rows)
    assert all(r["carried_lips"] == 0.0 for r in rows)  # the bare photo moves nowhere


def test_aggregate_skips_missing_values():
    rows = [{"carried_lips": 1.0, "identity": 0.2}, {"carried_lips": 0.0, "identity": math.nan}]
    agg = aggregate(rows)
    assert agg["lips carried"] == 0.5 and agg["identity (median)"] == pytest.approx(0.2)


def test_cli_writes_the_report_grid_and_per_pair_scores(mt_folder, tmp_path, capsys):
    """`lrmakeup evaluate --real-pairs` with the shipped (or untrained) model beside both baselines."""
    out = tmp_path / "real"
    assert main(["evaluate", "--real-pairs", str(mt_folder), "--out", str(out), "--pairs", "1"]) == 0
    text = (out / "results.md").read_text()
    assert "bicubic 4x" in text and "classic teacher" in text and "lrmakeup" in text
    payload = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in payload["pairs"]} == {"bicubic", "classic", "model"}
    assert (out / "grid.png").is_file()
    assert "single pair" in capsys.readouterr().err


def test_cli_refuses_a_folder_that_is_not_mt_layout(tmp_path, capsys):
    assert main(["evaluate", "--real-pairs", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not an MT-layout folder" in capsys.readouterr().err
