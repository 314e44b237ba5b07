"""Makeup controls: intensity, per-region intensity, partial transfer, interpolation, paste-back."""

import numpy as np
import pytest
import torch

from lrmakeup.api import MakeupControls, wants_paste_back
from lrmakeup.errors import InputError
from lrmakeup.face.paste import paste_back


@pytest.fixture(scope="module")
def analysed(tiny_engine, faces):
    return {k: tiny_engine.analyze(v) for k, v in faces.items()}


def _run(engine, src, ref, controls):
    with torch.inference_mode():
        makeup, sr = engine.model(engine.batch(src), engine.references(ref, controls))
    return makeup, sr


def test_intensity_zero_equals_zero_makeup_matrices(tiny_engine, analysed):
    src, ref = analysed["astronaut"], analysed["hopper"]
    off, sr_off = _run(tiny_engine, src, ref, MakeupControls(intensity=0.0))
    on, _ = _run(tiny_engine, src, ref, MakeupControls())
    assert on.gamma.abs().sum() > 0 and off.gamma.abs().sum() == 0 and off.beta.abs().sum() == 0
    g = tiny_engine.model
    saved = g.distill.to_gamma.weight.clone(), g.distill.to_beta.weight.clone()
    try:
        with torch.no_grad():
            g.distill.to_gamma.weight.zero_()
            g.distill.to_beta.weight.zero_()
        zero, sr_zero = _run(tiny_engine, src, ref, MakeupControls())
    finally:
        with torch.no_grad():
            g.distill.to_gamma.weight.copy_(saved[0])
            g.distill.to_beta.weight.copy_(saved[1])
    torch.testing.assert_close(off.image, zero.image)
    torch.testing.assert_close(sr_off.image, sr_zero.image)


def test_region_intensity_changes_only_that_region(tiny_engine, analysed):
    src, ref = analysed["astronaut"], analysed["hopper"]
    full, _ = _run(tiny_engine, src, ref, MakeupControls())
    no_lips, _ = _run(tiny_engine, src, ref, MakeupControls(regions={"lips": 0.0}))
    lips = torch.from_numpy(src.masks[0]) > 0
    assert lips.any()
    assert full.gamma[0, 0][lips].abs().sum() > 0  # the lips do get makeup at full intensity
    assert (no_lips.gamma[0, 0][lips] == 0).all() and (no_lips.beta[0, 0][lips] == 0).all()  # lips=0: none there
    diff = (full.gamma - no_lips.gamma)[0, 0].abs() + (full.beta - no_lips.beta)[0, 0].abs()
    assert diff[~lips].max() == 0  # and every other region keeps its makeup unchanged
    # in the image: the change concentrates at the lips (instance norm spreads a faint global shift)
    img_diff = (full.image - no_lips.image)[0].abs().mean(0)
    near = torch.nn.functional.interpolate(lips[None, None].float(), size=img_diff.shape, mode="nearest")[0, 0]
    near = torch.nn.functional.max_pool2d(near[None, None], 9, 1, 4)[0, 0] > 0
    assert img_diff[near].mean() > 5 * img_diff[~near].mean()


def test_partial_transfer_takes_each_region_from_its_reference(tiny_engine, analysed):
    src, main, lips_ref = analysed["astronaut"], analysed["hopper"], analysed["hopper_red"]
    mixed, _ = _run(tiny_engine, src, main, MakeupControls(references={"lips": lips_ref}))
    only_main, _ = _run(tiny_engine, src, main, MakeupControls())
    only_lips, _ = _run(tiny_engine, src, lips_ref, MakeupControls())
    lips = torch.from_numpy(src.masks[0] > 0)
    torch.testing.assert_close(mixed.gamma[0, 0][lips], only_lips.gamma[0, 0][lips])
    torch.testing.assert_close(mixed.gamma[0, 0][~lips], only_main.gamma[0, 0][~lips])
    assert not torch.allclose(only_main.gamma[0, 0][lips], only_lips.gamma[0, 0][lips])


def test_interpolation_between_two_references(tiny_engine, analysed):
    src, a, b = analysed["astronaut"], analysed["hopper"], analysed["hopper_red"]
    ga = _run(tiny_engine, src, a, MakeupControls())[0].gamma
    gb = _run(tiny_engine, src, b, MakeupControls())[0].gamma
    for t in (0.0, 0.3, 1.0):
        gt = _run(tiny_engine, src, a, MakeupControls(blend=(b, t)))[0].gamma
        torch.testing.assert_close(gt, (1 - t) * ga + t * gb)


@pytest.mark.parametrize("kwargs", [dict(intensity=1.5), dict(regions={"lips": -0.1}), dict(regions={"nose": 0.5}),
                                    dict(blend=("x", 2.0)), dict(intensity="abc"), dict(intensity=None),
                                    dict(intensity=float("nan")), dict(regions={"lips": "1"}), dict(blend="x.png")])
def test_bad_controls_raise_input_error(kwargs):
    """Bad values are lrmakeup's InputError (not ValueError / TypeError), as soon as the controls are made."""
    with pytest.raises(InputError):
        MakeupControls(**kwargs)


@pytest.mark.parametrize("index", ["0", -1, 1.0, True])
def test_bad_face_index_raises_input_error(tiny_engine, faces, index):
    with pytest.raises(InputError, match="face index"):
        tiny_engine.transfer(faces["astronaut"], faces["hopper"], source_face=index)


def test_paste_back_changes_only_the_face(tiny_engine, faces):
    photo = faces["astronaut"]
    result = tiny_engine.transfer(photo, faces["hopper"])
    assert wants_paste_back(photo, result.source, 64)
    out = paste_back(photo, result.source.crop_box, result.image, result.source.parsing)
    assert out.shape == photo.shape and out.dtype == np.uint8
    left, t, r, b = result.source.crop_box
    outside = np.ones(photo.shape[:2], bool)
    outside[t:b, left:r] = False
    assert np.array_equal(out[outside], photo[outside])
    assert (out[t:b, left:r] != photo[t:b, left:r]).any()
    border = np.zeros(photo.shape[:2], bool)  # the crop's own border is faded out: no seam
    border[t:b, left:r] = True
    border[t + 1:b - 1, left + 1:r - 1] = False
    assert np.array_equal(out[border], photo[border])
