"""Group photos: every face by default, pasted back into the full photo; one face on request (issue 9.2)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lrmakeup.api import wants_paste_back
from lrmakeup.cli import main
from lrmakeup.data.builtin import builtin_face


def _half(photo: np.ndarray, box) -> np.ndarray:
    """A 410x440 window of ``photo`` around the face ``box``."""
    cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    left = int(np.clip(cx - 205, 0, photo.shape[1] - 410))
    top = int(np.clip(cy - 200, 0, photo.shape[0] - 440))
    return photo[top:top + 440, left:left + 410]


@pytest.fixture(scope="module")
def group(tmp_path_factory, face_analyzer):
    """The two built-in faces side by side: an 820x440 photo whose faces fill its height."""
    a, g = builtin_face("astronaut"), builtin_face("grace_hopper")
    photo = np.ascontiguousarray(np.concatenate([_half(a, face_analyzer.detect(a)[0]),
                                                 _half(g, face_analyzer.detect(g)[0])], axis=1))
    path = tmp_path_factory.mktemp("group") / "group.png"
    Image.fromarray(photo).save(path)
    return path, photo


@pytest.fixture(scope="module")
def boxes(tiny_engine, group):
    return [f.crop_box for f in tiny_engine.analyze_faces(group[1])]


def _changed(out: np.ndarray, photo: np.ndarray) -> np.ndarray:
    return (out != photo).any(axis=2)


def _inside(boxes, shape) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for left, t, r, b in boxes:
        mask[t:b, left:r] = True
    return mask


def test_every_face_is_made_up_and_the_rest_is_byte_identical(tiny_checkpoint, group, boxes, tmp_path, capsys):
    path, photo = group
    assert len(boxes) == 2
    out = tmp_path / "out.png"
    assert main(["transfer", "--source", str(path), "--reference", str(path), "--output", str(out),
                 "--checkpoint", str(tiny_checkpoint)]) == 0, capsys.readouterr().err
    result = np.asarray(Image.open(out))
    assert result.shape == photo.shape  # the full photo, not one 256x256 crop
    changed = _changed(result, photo)
    assert not changed[~_inside(boxes, photo.shape)].any()  # outside the two faces: byte-identical
    for left, t, r, b in boxes:
        assert changed[t:b, left:r].sum() > 1000  # both faces changed


def test_face_index_changes_only_that_face_in_the_full_photo(tiny_checkpoint, group, boxes, tmp_path, capsys):
    path, photo = group
    out = tmp_path / "one.png"
    assert main(["transfer", "--source", str(path), "--reference", str(path), "--output", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--face-index", "1"]) == 0, capsys.readouterr().err
    result = np.asarray(Image.open(out))
    assert result.shape == photo.shape
    changed = _changed(result, photo)
    assert changed[~_inside(boxes[1:], photo.shape)].sum() == 0 and changed.sum() > 1000


def test_crop_only_all_faces_writes_every_face(tiny_checkpoint, group, tmp_path, capsys):
    path, _ = group
    out = tmp_path / "face.png"
    assert main(["transfer", "--source", str(path), "--reference", str(path), "--output", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--crop-only", "--all-faces"]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face_face0.png", "face_face1.png"]
    assert all(Image.open(tmp_path / n).size == (64, 64) for n in ("face_face0.png", "face_face1.png"))


def test_two_faces_side_by_side_are_not_taken_for_a_face_crop(tiny_engine, group):
    photo = group[1]
    faces = tiny_engine.analyze_faces(photo)
    assert all(wants_paste_back(photo, f, 256) for f in faces)
    single = tiny_engine.analyze_faces(photo[:, :410], "largest")[0]  # one face filling a 410x440 window
    assert wants_paste_back(photo[:, :410], single, 256)
    crop = tiny_engine.analyze(builtin_face("astronaut"))
    left, t, r, b = crop.crop_box
    face_only = np.ascontiguousarray(builtin_face("astronaut")[t:b, left:r])  # a photo that is a face crop
    assert not wants_paste_back(face_only, tiny_engine.analyze(face_only), 128)
