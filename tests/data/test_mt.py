"""The MT-layout reader: lists, photos and label maps, and a clear DataError for every broken layout."""

import shutil

import numpy as np
import pytest
from PIL import Image

from lrmakeup.data.mt import MTDataset, read_seg
from lrmakeup.errors import DataError, InputError


@pytest.fixture
def mt_copy(mt_folder, tmp_path):
    """A private copy of the tiny MT folder that a test may break."""
    root = tmp_path / "mt"
    shutil.copytree(mt_folder, root)
    return root


def test_reads_lists_photos_and_label_maps(mt_folder):
    mt = MTDataset(mt_folder)
    assert [i.name for i in mt.non_makeup] == [
        "non-makeup/astro.png", "non-makeup/grace.png", "non-makeup/astro_warm.png", "non-makeup/noface.png",
        "non-makeup/grace_badseg.png"]
    assert len(mt.makeup) == 3 and all(i.makeup for i in mt.makeup) and not any(i.makeup for i in mt.non_makeup)
    assert len(mt) == 8
    image, seg = mt.read("makeup/grace_red.png")
    assert image.dtype == np.uint8 and image.shape == (160, 160, 3)
    assert seg.dtype == np.uint8 and seg.shape == (160, 160)
    assert set(np.unique(seg)) >= {0, 1, 7, 9}  # background, skin, lips


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: shutil.rmtree(r), "MT dataset folder not found"),
        (lambda r: (r / "makeup.txt").unlink(), "list file makeup.txt is missing"),
        (lambda r: shutil.rmtree(r / "images"), "has no 'images/' subfolder"),
        (lambda r: (r / "images/makeup/grace_red.png").unlink(), "listed photo images/makeup/grace_red.png is missing"),
        (lambda r: (r / "segs/non-makeup/grace.png").unlink(), "label map segs/non-makeup/grace.png is missing"),
        (lambda r: (r / "makeup.txt").write_text("../outside.png\n"), "must be a path relative to images/"),
        (lambda r: (r / "makeup.txt").write_text("makeup/grace_red.png\nmakeup/grace_red.png\n"), "listed twice"),
        (lambda r: (r / "non-makeup.txt").write_text("\n\n"), "lists no photos"),
    ],
)
def test_broken_layouts_raise_data_error(mt_copy, breakage, message):
    breakage(mt_copy)
    with pytest.raises(DataError) as exc:
        MTDataset(mt_copy)
    assert message in _one_line(exc)
    assert issubclass(DataError, InputError)  # the CLI reports it in one line with exit code 2


def test_missing_label_map_can_fall_back_to_landmarks(mt_copy):
    (mt_copy / "segs/non-makeup/grace.png").unlink()
    mt = MTDataset(mt_copy, missing_segs="landmarks")
    assert mt["non-makeup/grace.png"].seg_path is None
    image, seg = mt.read("non-makeup/grace.png")
    assert image.shape == (160, 160, 3) and seg is None


def test_bad_label_maps(mt_copy):
    seg_path = mt_copy / "segs/makeup/grace_red.png"
    Image.fromarray(np.full((160, 160), 20, np.uint8)).save(seg_path)
    with pytest.raises(DataError, match="has label 20; MT labels are 0..13"):
        read_seg(seg_path)
    Image.fromarray(np.zeros((80, 80), np.uint8)).save(seg_path)
    with pytest.raises(DataError, match="is 80x80 but its photo is 160x160"):
        MTDataset(mt_copy).read("makeup/grace_red.png")
    seg_path.write_text("not a png")
    with pytest.raises(DataError, match="cannot read label map"):
        MTDataset(mt_copy).read("makeup/grace_red.png")


def test_palette_and_grey_rgb_label_maps_are_read_as_labels(tmp_path):
    labels = (np.arange(64 * 64).reshape(64, 64) % 14).astype(np.uint8)
    grey = Image.fromarray(np.repeat(labels[..., None], 3, -1))
    grey.save(tmp_path / "rgb.png")
    palette = Image.new("P", (64, 64))
    palette.putdata(labels.ravel().tolist())
    palette.putpalette(np.random.default_rng(0).integers(0, 255, 768).tolist())  # colours do not matter
    palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_seg(tmp_path / "rgb.png"), labels)
    np.testing.assert_array_equal(read_seg(tmp_path / "p.png"), labels)
