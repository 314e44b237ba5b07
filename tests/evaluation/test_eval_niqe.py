"""NIQE (METHOD.md §5): the value the paper's NIQE column is computed with, and its building blocks."""

import numpy as np
import pytest
import torch
from skimage import data

from lrmakeup.errors import InputError
from lrmakeup.evaluation.imresize import imresize
from lrmakeup.evaluation.niqe import fit_aggd, gaussian_window, load_pristine_model, niqe, rgb_to_y

ASTRONAUT_NIQE = 3.0649476661849033  # BasicSR's calculate_niqe(astronaut, crop_border=0), Y channel


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


def test_niqe_of_astronaut_matches_the_published_reference(astronaut):
    assert niqe(astronaut) == pytest.approx(ASTRONAUT_NIQE, abs=1e-3)


def test_niqe_accepts_a_float_tensor_and_gives_the_uint8_value(astronaut):
    crop = astronaut[100:300, 50:350]  # 2x3 blocks
    tensor = torch.from_numpy(crop).permute(2, 0, 1).float() / 255.0
    assert niqe(tensor) == pytest.approx(niqe(crop), abs=1e-9)
    assert niqe(tensor.unsqueeze(0)) == pytest.approx(niqe(crop), abs=1e-9)


def test_crop_border_is_the_same_as_cropping_first(astronaut):
    crop = astronaut[:300, :300]
    assert niqe(crop, crop_border=4) == pytest.approx(niqe(crop[4:-4, 4:-4]), abs=1e-12)
    assert niqe(crop, crop_border=4) != pytest.approx(niqe(crop), abs=1e-3)


def test_a_blurred_image_scores_worse_than_the_original(astronaut):
    blurred = imresize(imresize(astronaut / 255.0, scale=0.25), scale=4.0).clip(0, 1)
    assert niqe(blurred) > niqe(astronaut) + 1.0


def test_niqe_refuses_an_image_smaller_than_one_block():
    with pytest.raises(InputError, match="96x96"):
        niqe(np.zeros((64, 64, 3), np.uint8))


def test_our_gaussian_window_is_the_vendored_one():
    np.testing.assert_allclose(gaussian_window(7, 7 / 6), load_pristine_model().window, atol=1e-12)


def test_pristine_model_shapes():
    model = load_pristine_model()
    assert model.mu.shape == (36,) and model.cov.shape == (36, 36)
    np.testing.assert_allclose(model.cov, model.cov.T, atol=1e-9)


def test_luma_is_matlab_rgb2ycbcr():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(rgb_to_y(rgb)[0], [16.0, 235.0, 81.481, 144.553, 40.966], atol=1e-9)


def test_aggd_fit_recovers_a_gaussian_shape_and_scale():
    x = np.random.default_rng(0).normal(0.0, 2.0, size=(1, 200_000))
    shape, left, right = fit_aggd(x)
    # a Gaussian is a GGD of shape 2 whose scale is sqrt(2) * sigma
    assert shape[0] == pytest.approx(2.0, abs=0.03)
    assert left[0] == pytest.approx(2.0 * np.sqrt(2), rel=0.02)
    assert right[0] == pytest.approx(2.0 * np.sqrt(2), rel=0.02)


# BasicSR's MATLAB-equivalent imresize on small inputs (values taken from basicsr 1.4.2).
def test_imresize_down_by_half_with_antialiasing():
    x = (np.arange(36, dtype=np.float64).reshape(6, 6) ** 1.5) / 36**1.5
    expected = [
        [0.03247875, 0.05926649, 0.0937961],
        [0.28273958, 0.3406901, 0.40196756],
        [0.6776567, 0.7540868, 0.8331564],
    ]
    np.testing.assert_allclose(imresize(x, scale=0.5), expected, atol=1e-6)


def test_imresize_up_by_two():
    x = np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 0, 1, 1]], np.float64)
    out = imresize(x, scale=2.0)
    assert out.shape == (6, 8)
    expected_first_cols = [
        [-0.20507812, 0.17529297, 0.93603516],
        [0.1730957, 0.35632324, 0.7227783],
        [0.92944336, 0.7183838, 0.29626465],
        [0.9550781, 0.6500244, 0.03991699],
        [0.25, 0.15124512, -0.04626465],
        [-0.10253906, -0.09814453, -0.08935547],
    ]
    np.testing.assert_allclose(out[:, :3], expected_first_cols, atol=1e-6)


def test_imresize_keeps_constants_and_handles_channels():
    img = np.full((10, 14, 3), 0.25)
    out = imresize(img, scale=0.5)
    assert out.shape == (5, 7, 3)
    np.testing.assert_allclose(out, 0.25, atol=1e-12)
    assert imresize(img, size=(20, 7)).shape == (20, 7, 3)


def test_edge_cases_are_defined_one_block_is_finite_and_a_flat_image_is_nan(astronaut):
    assert np.isfinite(niqe(astronaut[:150, :150]))  # a single 96x96 block: zero feature covariance
    assert np.isnan(niqe(np.full((96, 96, 3), 128, np.uint8)))  # no texture: NIQE is undefined
