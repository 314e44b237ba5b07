"""Eq. (15): histogram matching per region and the makeup loss built on it (PSGAN's criterionHis)."""

import numpy as np
import pytest
import torch
from skimage import data, exposure

from lrmakeup.config import LossConfig
from lrmakeup.losses import histogram_match, makeup_loss, region_histogram_loss


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1.0


def _to_levels(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) integer levels."""
    return ((image + 1.0) * 127.5).round().permute(1, 2, 0).numpy()


def _box(size: int, top: int, bottom: int, left: int, right: int, batch: int = 1) -> torch.Tensor:
    mask = torch.zeros(batch, 1, size, size)
    mask[..., top:bottom, left:right] = 1.0
    return mask


def _oracle_match(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The definition, one level at a time: each source level -> first reference level whose CDF reaches it."""
    src_cdf = np.cumsum(np.bincount(src, minlength=256)) / src.size
    ref_cdf = np.cumsum(np.bincount(ref, minlength=256)) / ref.size
    table = [next(j for j in range(256) if ref_cdf[j] >= src_cdf[i] - 1e-12) for i in range(256)]
    return np.asarray(table)[src]


@pytest.fixture(scope="module")
def faces():
    source = data.astronaut()[100:356, 150:406]  # 256x256, a face and a suit
    reference = data.chelsea()[:256, 100:356]  # 256x256, a cat's fur: very different colours
    return source, reference


def test_histogram_match_agrees_with_skimage_inside_the_region(faces):
    source, reference = faces
    src_mask, ref_mask = _box(256, 40, 200, 60, 220), _box(256, 20, 230, 30, 180)
    matched = _to_levels(histogram_match(_to_tensor(source), _to_tensor(reference), src_mask, ref_mask)[0])
    inside_src, inside_ref = src_mask[0, 0].bool().numpy(), ref_mask[0, 0].bool().numpy()
    for c in range(3):
        expected = exposure.match_histograms(source[..., c][inside_src], reference[..., c][inside_ref])
        assert np.abs(matched[..., c][inside_src] - expected).mean() < 2.0
    # the matched region really takes the reference's colours (the cat is far from the astronaut)
    assert np.abs(matched[inside_src].mean(0) - reference[inside_ref].mean(0)).max() < 2.0
    assert np.abs(source[inside_src].mean(0) - reference[inside_ref].mean(0)).max() > 10.0
    # outside the region the source is returned unchanged
    np.testing.assert_array_equal(matched[~inside_src], source[~inside_src])


def test_histogram_match_equals_the_definition_exactly():
    gen = np.random.default_rng(0)
    source = gen.integers(40, 120, size=(24, 24, 3), dtype=np.uint8)
    reference = np.clip(gen.normal(180, 30, size=(24, 24, 3)), 0, 255).astype(np.uint8)
    src_mask, ref_mask = _box(24, 2, 20, 3, 15), _box(24, 5, 24, 0, 24)
    matched = _to_levels(histogram_match(_to_tensor(source), _to_tensor(reference), src_mask, ref_mask)[0])
    inside_src, inside_ref = src_mask[0, 0].bool().numpy(), ref_mask[0, 0].bool().numpy()
    for c in range(3):
        expected = _oracle_match(source[..., c][inside_src], reference[..., c][inside_ref])
        np.testing.assert_array_equal(matched[..., c][inside_src], expected)


def test_histogram_match_batches_samples_independently(faces):
    source, reference = faces
    src = torch.cat([_to_tensor(source), _to_tensor(reference)])[..., ::4, ::4]  # (2, 3, 64, 64)
    ref = torch.cat([_to_tensor(reference), _to_tensor(source)])[..., ::4, ::4]
    src_mask = torch.cat([_box(64, 10, 50, 10, 50), _box(64, 0, 30, 20, 64)])
    ref_mask = torch.cat([_box(64, 5, 60, 0, 40), _box(64, 30, 64, 0, 64)])
    batched = histogram_match(src, ref, src_mask, ref_mask)
    for b in range(2):
        single = histogram_match(src[b : b + 1], ref[b : b + 1], src_mask[b : b + 1], ref_mask[b : b + 1])
        torch.testing.assert_close(batched[b : b + 1], single, rtol=0, atol=0)


def test_histogram_match_resizes_low_resolution_masks(faces):
    source, reference = faces
    low = _box(64, 10, 50, 15, 55)  # the generator's 64x64 region masks
    full = torch.nn.functional.interpolate(low, size=(256, 256), mode="nearest")
    a = histogram_match(_to_tensor(source), _to_tensor(reference), low, low)
    b = histogram_match(_to_tensor(source), _to_tensor(reference), full, full)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_histogram_match_is_idempotent_so_the_loss_vanishes_at_the_matched_image(faces):
    source, reference = faces
    src, ref = _to_tensor(source), _to_tensor(reference)
    masks_src = torch.cat([_box(256, 180, 210, 90, 170), _box(256, 60, 200, 60, 200), _box(256, 80, 110, 70, 190)], 1)
    masks_ref = torch.cat([_box(256, 150, 200, 80, 180), _box(256, 30, 230, 30, 230), _box(256, 60, 100, 50, 200)], 1)
    assert makeup_loss(src, ref, masks_src, masks_ref).item() > 1.0
    output = src
    for r in range(3):  # matching a region again changes nothing, so its loss at the matched image is 0
        output = histogram_match(output, ref, masks_src[:, r : r + 1], masks_ref[:, r : r + 1])
        assert region_histogram_loss(output, ref, masks_src[:, r : r + 1], masks_ref[:, r : r + 1]).item() == 0.0


def test_makeup_loss_hand_value_and_region_weights():
    output = -torch.ones(2, 3, 16, 16)  # level 0 everywhere
    reference = torch.ones(2, 3, 16, 16)  # level 255 everywhere: every region is matched to 255
    masks = torch.cat([_box(16, 0, 4, 0, 16, 2), _box(16, 4, 12, 0, 16, 2), _box(16, 12, 16, 0, 8, 2)], 1)
    cfg = LossConfig(hist_lips=1.0, hist_skin=0.1, hist_eyes=2.0)
    # L1 in [0, 255] units averaged over all B·3·H·W elements: 255 · (region area / image area)
    expected = 255.0 * (1.0 * 64 / 256 + 0.1 * 128 / 256 + 2.0 * 32 / 256)
    assert makeup_loss(output, reference, masks, masks, cfg).item() == pytest.approx(expected, rel=1e-6)
    default = 255.0 * (1.0 * 64 / 256 + 0.1 * 128 / 256 + 1.0 * 32 / 256)  # PSGAN's weights 1, 0.1, 1
    assert makeup_loss(output, reference, masks, masks).item() == pytest.approx(default, rel=1e-6)


def test_makeup_loss_gradient_flows_to_the_output_region_only(faces):
    source, reference = faces
    output = _to_tensor(source)[..., ::4, ::4].clone().requires_grad_()
    reference_t = _to_tensor(reference)[..., ::4, ::4].clone().requires_grad_()
    masks = torch.cat([_box(64, 40, 50, 20, 44), _box(64, 10, 40, 10, 54), _box(64, 20, 26, 12, 52)], 1)
    masks[:, 1] -= masks[:, 2] * masks[:, 1]  # eye shadow is cut out of the skin, as in PSGAN
    makeup_loss(output, reference_t, masks, masks).backward()
    assert reference_t.grad is None  # the matched image is a fixed target
    grad = output.grad.abs().sum(1)[0]
    assert grad[masks[0].sum(0) > 0].sum() > 0
    assert grad[masks[0].sum(0) == 0].sum() == 0


def test_empty_regions_give_zero_loss_and_finite_gradients(faces):
    source, reference = faces
    output = _to_tensor(source)[..., ::4, ::4].clone().requires_grad_()
    ref = _to_tensor(reference)[..., ::4, ::4]
    empty, full = torch.zeros(1, 3, 64, 64), torch.ones(1, 3, 64, 64)
    for src_masks, ref_masks in ((empty, empty), (empty, full), (full, empty)):
        loss = makeup_loss(output, ref, src_masks, ref_masks)
        loss.backward()
        assert loss.item() == 0.0
        assert torch.isfinite(output.grad).all() and output.grad.abs().sum() == 0
        output.grad = None
    matched = histogram_match(output.detach(), ref, full[:, :1], empty[:, :1])
    torch.testing.assert_close(matched, output.detach(), rtol=0, atol=0)


def test_match_from_uses_another_image_for_the_histogram():
    output = torch.zeros(1, 3, 8, 8)  # one colour, level 127.5
    reference = torch.linspace(-1, 1, 64).view(1, 1, 8, 8).expand(1, 3, 8, 8).contiguous()  # 64 spread levels
    source = reference.clone()  # same colours as the reference: matching it changes nothing
    mask = torch.ones(1, 1, 8, 8)
    levels = (reference[0, 0] + 1) * 127.5
    # PSGAN: the output itself is matched; a one-colour image has CDF 1 at its level -> the top reference level
    psgan = region_histogram_loss(output, reference, mask, mask)
    assert psgan.item() == pytest.approx(levels.max().item() - 127.5, abs=1e-3)
    # BeautyGAN's reading: the source is matched (to itself here); the loss is measured from the output to it
    beautygan = region_histogram_loss(output, reference, mask, mask, match_from=source)
    assert beautygan.item() == pytest.approx((levels.round() - 127.5).abs().mean().item(), abs=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_histogram_match_on_cuda_equals_cpu(faces):
    source, reference = faces
    src, ref = _to_tensor(source), _to_tensor(reference)
    mask_src, mask_ref = _box(256, 40, 200, 60, 220), _box(256, 20, 230, 30, 180)
    cpu = histogram_match(src, ref, mask_src, mask_ref)
    gpu = histogram_match(src.cuda(), ref.cuda(), mask_src.cuda(), mask_ref.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=0)
