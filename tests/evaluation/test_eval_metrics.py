"""Table 1's full-reference metrics, the region colour / identity metrics and the MetricSuite."""

import math

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab

from lrmakeup.errors import InputError
from lrmakeup.evaluation import (
    ALL_COLUMNS,
    MetricSuite,
    ciede2000,
    ms_ssim,
    outside_region_error,
    psnr,
    ssim,
)
from lrmakeup.evaluation.metrics import fid_weights_file, lpips_backbone_file


def _image(seed, size=192):
    """A smooth-ish random RGB image (uint8) so SSIM-type metrics see structure, not only noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (size // 8, size // 8, 3)).astype(np.uint8)
    return np.ascontiguousarray(coarse.repeat(8, 0).repeat(8, 1))


def _checker_noise(image, amplitude):
    """``image`` +- ``amplitude`` in a checkerboard: MSE is exactly amplitude**2 (no clipping)."""
    assert image.min() >= amplitude and image.max() <= 255 - amplitude
    sign = np.where((np.indices(image.shape[:2]).sum(0) % 2) == 0, 1, -1)[..., None]
    return (image.astype(np.int16) + amplitude * sign).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- PSNR / SSIM


def test_psnr_of_identical_images_is_infinite():
    img = _image(0)
    assert psnr(img, img) == math.inf


def test_psnr_of_known_noise_matches_the_closed_form():
    target = np.full((64, 64, 3), 128, np.uint8)
    pred = _checker_noise(target, 10)
    # MSE = (10 / 255)^2 on a [0, 1] scale -> PSNR = 20 log10(255 / 10)
    assert psnr(pred, target) == pytest.approx(20 * math.log10(25.5), abs=1e-5)  # torchmetrics works in float32


def test_float_tensors_and_uint8_arrays_give_the_same_values():
    a, b = _image(0), _image(1)
    ta = torch.from_numpy(a).permute(2, 0, 1).float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1).float().unsqueeze(0) / 255
    assert psnr(ta, tb) == pytest.approx(psnr(a, b), abs=1e-4)
    assert ssim(ta, tb) == pytest.approx(ssim(a, b), abs=1e-5)


def test_ssim_and_ms_ssim_are_one_for_identical_images_and_lower_otherwise():
    a, b = _image(0), _image(1)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)  # float32 arithmetic
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, b) < 0.5
    assert ms_ssim(a, b) < 0.9


def test_ms_ssim_refuses_images_too_small_for_five_scales():
    img = _image(0, size=128)
    with pytest.raises(InputError, match="176"):
        ms_ssim(img, img)


def test_bad_inputs_are_refused_with_input_errors():
    a = _image(0, size=64)
    with pytest.raises(InputError, match="differ in size"):
        psnr(a, _image(0, size=128))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        psnr(torch.full((3, 8, 8), -1.0), torch.zeros(3, 8, 8))  # a model output still in [-1, 1]
    with pytest.raises(InputError, match="RGB"):
        psnr(a[..., 0], a[..., 0])


# ---------------------------------------------------------------------------------------------- CIEDE2000


def test_ciede2000_is_zero_for_identical_images():
    img = _image(2)
    assert ciede2000(img, img) == 0.0


def test_ciede2000_of_two_flat_colours_is_skimages_value():
    c1, c2 = np.array([200, 40, 60], np.uint8), np.array([180, 60, 70], np.uint8)
    expected = float(deltaE_ciede2000(rgb2lab(c1[None, None] / 255.0), rgb2lab(c2[None, None] / 255.0))[0, 0])
    assert 2 < expected < 20  # a visible difference
    a, b = np.broadcast_to(c1, (32, 32, 3)).copy(), np.broadcast_to(c2, (32, 32, 3)).copy()
    assert ciede2000(a, b) == pytest.approx(expected, abs=1e-9)


def test_ciede2000_only_looks_inside_the_mask_and_upsamples_small_masks():
    target = np.full((256, 256, 3), 120, np.uint8)
    pred = target.copy()
    pred[:128] = (200, 40, 60)  # only the top half changes
    top = np.zeros((64, 64), bool)  # a generator-resolution mask, 4x smaller
    top[:32] = True
    changed = ciede2000(pred[:1, :1], target[:1, :1])
    assert ciede2000(pred, target, top) == pytest.approx(changed, abs=1e-9)
    assert ciede2000(pred, target, ~top) == 0.0
    assert math.isnan(ciede2000(pred, target, np.zeros((64, 64), bool)))
    with pytest.raises(InputError, match="does not fit"):
        ciede2000(pred, target, np.zeros((100, 100), bool))


def test_outside_region_error_ignores_changes_inside_the_makeup_regions():
    source = np.clip(_image(3, size=256), 20, 235)
    mask = np.zeros((256, 256), bool)
    mask[100:150, 80:180] = True
    made_up = source.copy()
    made_up[mask] = (200, 40, 60)
    kept = outside_region_error(made_up, source, mask)
    assert kept.psnr == math.inf and kept.ciede2000 == 0.0

    noisy = _checker_noise(source, 10)
    noisy[mask] = source[mask]
    # 10/255 everywhere outside the mask -> the same closed form as whole-image PSNR
    assert outside_region_error(noisy, source, mask).psnr == pytest.approx(20 * math.log10(25.5), abs=1e-9)
    assert outside_region_error(noisy, source, mask).ciede2000 > 0


# ---------------------------------------------------------------------------------------------- learned metrics


def test_lpips_and_fid_are_unavailable_without_weights(empty_torch_home):
    suite = MetricSuite(lpips_net="alex", fid=True, niqe=False)
    img = _image(4)
    suite.update(img, img)
    suite.update(_image(5), img)
    result = suite.compute()
    for name in ("lpips", "fid"):
        assert result[name].value is None and not result[name].available
        assert result[name].reason
    assert lpips_backbone_file("alex").name in result["lpips"].reason
    assert str(empty_torch_home) in result["lpips"].reason
    assert "torch-fidelity" in result["fid"].reason or fid_weights_file().name in result["fid"].reason
    assert result["psnr"].available and result["psnr"].count == 2  # the rest still works


def test_lpips_with_standin_weights_is_zero_for_identical_images(standin_alexnet_home):
    suite = MetricSuite(lpips_net="alex", fid=False, niqe=False)
    assert "lpips" not in suite.unavailable
    a = _image(6, size=64)
    suite.update(a, a)
    assert suite.compute()["lpips"].value == pytest.approx(0.0, abs=1e-7)
    b = _image(7, size=64)
    suite.reset()
    suite.update(a, b)
    one = suite.compute()["lpips"].value
    assert one > 1e-3
    suite.update(b, a)  # LPIPS is symmetric, so the mean over both orders is the same number
    assert suite.compute()["lpips"].value == pytest.approx(one, rel=1e-5)
    assert suite.compute()["lpips"].count == 2


def test_fid_with_standin_inception_is_zero_for_identical_sets(tmp_path, monkeypatch):
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with monkeypatch.context() as m:  # build a random Inception without its (absent) weights
        m.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        m.setattr("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", lambda *a, **k: {})
        torch.manual_seed(0)
        state = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    fid_weights_file().parent.mkdir(parents=True)
    torch.save(state, fid_weights_file())

    # 64-d features (the first Inception block) keep this fast; the code path is the one 2048-d uses
    suite = MetricSuite(lpips_net=None, fid=True, niqe=False, fid_features=64)
    assert "fid" not in suite.unavailable
    suite.update(_image(8, 64), _image(8, 64))
    assert suite.compute()["fid"].reason.startswith("FID needs at least 2")
    suite.update(_image(9, 64), _image(9, 64))
    suite.update(_image(10, 64), _image(10, 64))
    assert suite.compute()["fid"].value == pytest.approx(0.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------- suite


def test_suite_means_over_pairs_and_explains_every_empty_column(empty_torch_home):
    suite = MetricSuite(niqe=True)
    target = np.full((64, 64, 3), 128, np.uint8)
    suite.update(_checker_noise(target, 10), target)
    suite.update(_checker_noise(target, 20), target)
    result = suite.compute()
    assert set(result) == set(ALL_COLUMNS)
    expected = (20 * math.log10(25.5) + 20 * math.log10(255 / 20)) / 2
    assert result["psnr"].value == pytest.approx(expected, abs=1e-5) and result["psnr"].count == 2
    assert "176" in result["ms_ssim"].reason  # 64x64 is too small, said rather than guessed
    assert "96x96" in result["niqe"].reason
    assert "lips" in result["ciede2000_lips"].reason
    assert "source" in result["identity_psnr"].reason
    for value in result.values():
        assert value.available or value.reason


def test_suite_region_and_identity_columns(empty_torch_home):
    suite = MetricSuite(lpips_net=None, fid=False)
    source = _image(11, size=256)
    target = source.copy()
    lips = np.zeros((64, 64), bool)
    lips[40:48, 24:40] = True
    eyes = np.zeros((64, 64), bool)  # a face whose eye-shadow region is empty
    up = lips.repeat(4, 0).repeat(4, 1)
    target[up] = (200, 40, 60)  # the teacher put lipstick on
    pred = target.copy()
    pred[up] = (180, 60, 70)  # the model got the colour slightly wrong, and nothing else
    suite.update(pred, target, source=source, regions={"lips": lips, "eyes": eyes})
    result = suite.compute()
    assert result["ciede2000_lips"].value == pytest.approx(ciede2000(pred[up][None], target[up][None]), abs=1e-9)
    assert not result["ciede2000_eyes"].available and not result["ciede2000_skin"].available
    assert result["identity_psnr"].value == math.inf and result["identity_ciede2000"].value == 0.0
    assert result["niqe"].available and result["ms_ssim"].available
    with pytest.raises(InputError, match="unknown region"):
        suite.update(pred, target, regions={"nose": lips})
    assert suite.compute()["psnr"].count == 1  # the refused call changed nothing


def test_suite_face_distance_to_the_sharp_source(empty_torch_home):
    """dlib's descriptor distance: 0 for the sharp source itself, small for its bicubic 4x, large for noise."""
    from lrmakeup.data.builtin import builtin_face
    from lrmakeup.face import FaceAnalyzer
    from lrmakeup.face.analysis import resize_bicubic
    from lrmakeup.face.crop import crop as crop_image

    photo = builtin_face("astronaut")
    face = FaceAnalyzer().analyze(photo)
    sharp = resize_bicubic(crop_image(photo, face.crop_box), 256)
    landmarks = face.landmarks  # in the 256-pixel coordinates of the crop
    scores = {}
    for name, pred in {"same": sharp, "bicubic": resize_bicubic(face.image_lr, 256),
                       "noise": np.random.default_rng(0).integers(0, 256, sharp.shape, dtype=np.uint8)}.items():
        suite = MetricSuite(lpips_net=None, fid=False, niqe=False)
        suite.update(pred, sharp, sharp_source=(sharp, landmarks))
        scores[name] = suite.compute()["face_distance"].value
    assert scores["same"] == pytest.approx(0.0, abs=1e-9)
    assert scores["bicubic"] < 0.6 < scores["noise"]
    assert not MetricSuite(lpips_net=None, fid=False, face_distance=False).compute()["face_distance"].available
