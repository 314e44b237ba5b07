"""The shipped model must keep doing its job on the built-in, license-clear faces (regression guard).

Source: scikit-image's astronaut reduced to the 64x64 input; reference: matplotlib's Grace Hopper wearing the
renderer's "dramatic" look (the `make demo` pair). What a user judges, in numbers:
- outside the makeup regions the 256x256 result is closer to the sharp photo than a bicubic up-scale;
- the makeup shows; intensity 0 is the bare face; a region's control acts on that region only.
Thresholds are guards at what the shipped weights reach; the issue's targets (lips moving >= 5 ΔE00 toward the
reference, +0.5 dB outside) are not met by these weights yet (docs/demo-weights.md).
"""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from lrmakeup.api import SHIPPED_WEIGHTS, MakeupControls, MakeupTransfer
from lrmakeup.data.builtin import builtin_face, builtin_made_up
from lrmakeup.face import region_masks
from lrmakeup.face.analysis import resize_bicubic
from lrmakeup.face.crop import crop as crop_image

pytestmark = pytest.mark.skipif(not SHIPPED_WEIGHTS.is_file(), reason="no demo weights in this checkout")
LIPS, SKIN, EYES = range(3)


@pytest.fixture(scope="module")
def pair():
    engine = MakeupTransfer.default()
    photo = builtin_face("astronaut")
    src = engine.analyze(photo, role="source")
    ref_photo = builtin_made_up("grace_hopper", "dramatic", 0, engine.analyzer.landmark_detector)
    ref = engine.analyze(ref_photo, role="reference")
    sharp = resize_bicubic(crop_image(photo, src.crop_box), 256)  # the photo's face crop at full detail
    ref_sharp = resize_bicubic(crop_image(ref_photo, ref.crop_box), 256)
    regions = region_masks(src.parsing, src.landmarks, 256, 16) > 0.5  # (3, 256, 256)
    ref_regions = region_masks(ref.parsing, ref.landmarks, 256, 16) > 0.5
    return engine, src, ref, sharp, ref_sharp, regions, ref_regions


def mean_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return rgb2lab(image)[mask].mean(0)


def de(a: np.ndarray, b: np.ndarray) -> float:
    return float(deltaE_ciede2000(a[None, None], b[None, None])[0, 0])


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask].mean()
    return 10 * np.log10(255.0**2 / mse)


def test_outside_the_makeup_the_result_beats_bicubic(pair):
    """Guard at what the shipped weights reach (+0.27 dB); the target of the issue (+0.5 dB) is not met yet."""
    engine, src, ref, sharp, _, regions, _ = pair
    out = engine.transfer(src, ref).image
    outside = src.parsing == 0  # everything the landmark-drawn face does not cover: hair, background, neck
    bicubic = resize_bicubic(src.image_lr, 256)
    assert psnr(out, sharp, outside) >= psnr(bicubic, sharp, outside) + 0.15


def test_the_makeup_is_visible_where_it_belongs(pair):
    engine, src, ref, _, _, regions, _ = pair
    out = engine.transfer(src, ref).image
    bare = engine.transfer(src, ref, controls=MakeupControls(intensity=0.0)).image
    assert de(mean_lab(out, regions[SKIN]), mean_lab(bare, regions[SKIN])) >= 2
    assert de(mean_lab(out, regions[EYES]), mean_lab(bare, regions[EYES])) >= 1.5


def test_intensity_zero_is_the_bare_face(pair):
    engine, src, ref, sharp, _, regions, _ = pair
    out = engine.transfer(src, ref, controls=MakeupControls(intensity=0.0)).image
    bare = resize_bicubic(src.image_lr, 256)
    for r in (LIPS, SKIN, EYES):
        assert de(mean_lab(out, regions[r]), mean_lab(bare, regions[r])) < 2, r


def test_a_region_control_acts_on_its_region_only(pair):
    engine, src, ref, _, _, regions, _ = pair
    on = engine.transfer(src, ref).image
    eyes_off = engine.transfer(src, ref, controls=MakeupControls(regions={"eyes": 0.0})).image
    assert de(mean_lab(on, regions[EYES]), mean_lab(eyes_off, regions[EYES])) >= 1.5
    assert de(mean_lab(on, regions[LIPS]), mean_lab(eyes_off, regions[LIPS])) < 1
    lips_off = engine.transfer(src, ref, controls=MakeupControls(regions={"lips": 0.0})).image
    assert de(mean_lab(on, regions[SKIN]), mean_lab(lips_off, regions[SKIN])) < 1
