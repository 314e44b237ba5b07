"""The shipped model must keep doing its job on the built-in, license-clear faces (regression guard).

Source: scikit-image's astronaut reduced to the 64x64 input; reference: matplotlib's Grace Hopper wearing the
renderer's demo look (``data.builtin.DEMO_LOOK``: deep plum lipstick and eye shadow; the `make demo` pair).
What a user judges, in numbers (the thresholds of the issue "Real results"):
- outside the makeup regions the 256x256 result is at least 0.5 dB closer to the sharp photo than bicubic;
- the lips move >= 5 ΔE00 toward the reference's colour; ``--lips 0`` vs ``1`` differ by >= 5 ΔE00 in the lips
  and by < 1 ΔE00 in the skin; intensity 0 is the bare face; a region's control acts on that region only.
"""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from lrmakeup.api import SHIPPED_WEIGHTS, MakeupControls, MakeupTransfer
from lrmakeup.data.builtin import builtin_face, builtin_made_up
from lrmakeup.face import MT, region_masks
from lrmakeup.face.analysis import resize_bicubic
from lrmakeup.face.crop import crop as crop_image

pytestmark = pytest.mark.skipif(not SHIPPED_WEIGHTS.is_file(), reason="no demo weights in this checkout")
LIPS, SKIN, EYES = range(3)


@pytest.fixture(scope="module")
def pair():
    engine = MakeupTransfer.default()
    photo = builtin_face("astronaut")
    src = engine.analyze(photo, role="source")
    ref_photo = builtin_made_up("grace_hopper", detector=engine.analyzer.landmark_detector)
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
    engine, src, ref, sharp, _, regions, _ = pair
    out = engine.transfer(src, ref).image
    # everything the landmark-drawn face does not cover (hair, background, neck), and the fringe given back to
    # the hair (face.parsing.refine_forehead)
    outside = np.isin(src.parsing, (MT.BACKGROUND, MT.HAIR))
    bicubic = resize_bicubic(src.image_lr, 256)
    assert psnr(out, sharp, outside) >= psnr(bicubic, sharp, outside) + 0.5


def test_the_lips_take_the_reference_colour_and_the_lips_control_switches_them(pair):
    engine, src, ref, sharp, ref_sharp, regions, ref_regions = pair
    out = engine.transfer(src, ref).image
    target = mean_lab(ref_sharp, ref_regions[LIPS])
    moved = de(mean_lab(sharp, regions[LIPS]), target) - de(mean_lab(out, regions[LIPS]), target)
    assert moved >= 5
    lips_off = engine.transfer(src, ref, controls=MakeupControls(regions={"lips": 0.0})).image
    assert de(mean_lab(out, regions[LIPS]), mean_lab(lips_off, regions[LIPS])) >= 5
    assert de(mean_lab(out, regions[SKIN]), mean_lab(lips_off, regions[SKIN])) < 1


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


def test_half_intensity_gives_part_of_the_makeup_in_every_region(pair):
    """Intensity 0.5 lies between 0 and 1 and moves each region by at least a quarter of the full move (the
    makeup's confinement to the face must not square the intensity)."""
    engine, src, ref, _, _, regions, _ = pair
    bare = engine.transfer(src, ref, controls=MakeupControls(intensity=0.0)).image
    half = engine.transfer(src, ref, controls=MakeupControls(intensity=0.5)).image
    full = engine.transfer(src, ref).image
    for r in (LIPS, SKIN, EYES):
        moved_half = de(mean_lab(half, regions[r]), mean_lab(bare, regions[r]))
        moved_full = de(mean_lab(full, regions[r]), mean_lab(bare, regions[r]))
        assert 0.25 * moved_full <= moved_half < moved_full, r
