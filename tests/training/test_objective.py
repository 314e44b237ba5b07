"""The pieces of one training step: batched generator calls, gradients, schedule and data order."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import default_collate

from lrmakeup.models import FaceBatch, LRMakeupGenerator
from lrmakeup.training import Trainer, TrainingBatch
from lrmakeup.training.objective import GeneratorPass
from lrmakeup.training.sampler import ResumableSampler
from lrmakeup.training.trainer import make_scheduler


def test_generator_pass_equals_separate_calls(make_config, tuples):
    """G_M(x, y) and G_M(y, x) run as one batch of 2: the same images as two calls; cycles keep their geometry."""
    cfg = make_config()
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    b = TrainingBatch.from_items(default_collate([tuples(2)[0], tuples(2)[1]]), torch.device("cpu"))
    with torch.no_grad():
        out = GeneratorPass(g)(b.x, b.y)
        xy, yx = g.makeup(b.x, b.y), g.makeup(b.y, b.x)
        sr = g.super_resolve(xy.image, xy.m)
        xyx = g.makeup(FaceBatch(xy.image, b.x.masks, b.x.pos), b.x).image
    for got, want in ((out.xy, xy.image), (out.yx, yx.image), (out.sr, sr.image), (out.heatmaps, sr.heatmaps),
                      (out.xyx, xyx)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("bf16", [False, True])
def test_one_step_reaches_every_parameter(make_config, tuples, tmp_path, bf16):
    """After one step every generator and discriminator parameter has a finite gradient (DDP relies on it:
    find_unused_parameters stays off), and every term is finite (also under bf16 autocast)."""
    cfg = make_config(f"train.bf16={str(bf16).lower()}")
    trainer = Trainer(cfg, tuples(2), tmp_path / "run", progress=False)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    terms = trainer.train_step(default_collate([tuples(2)[0]]))
    assert all(torch.isfinite(v) for v in terms.values()), terms
    for name, p in list(trainer.generator.named_parameters()) + list(trainer.discriminators.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    changed = [k for k, v in trainer.generator.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)


def test_linear_schedule():
    cfg = type("T", (), {"scheduler": "linear", "decay_start": 0.5})()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make_scheduler(opt, cfg, total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [1.0] * 5 + [1.0, 0.8, 0.6, 0.4, 0.2]
    cfg.scheduler = "none"
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert make_scheduler(opt, cfg, 10).lr_lambdas[0](9) == 1.0


def test_sampler_resumes_the_same_permutation_and_splits_ranks():
    data = list(range(10))
    full = list(ResumableSampler(data, 1, 0, seed=3))
    s = ResumableSampler(data, 1, 0, seed=3)
    s.set_position(0, 4)
    assert list(s) == full[4:] and len(s) == 6
    s.set_position(1, 0)
    assert list(s) != full and sorted(s) == data  # a new permutation each epoch
    ranks = [ResumableSampler(data, 2, r, seed=3) for r in (0, 1)]
    assert sorted(list(ranks[0]) + list(ranks[1])) == data


def test_init_makeup_modules_from_a_checkpoint(make_config, tuples, tmp_path):
    """train.init_psgan with an lrmakeup .safetensors loads G_M (distill, apply) only; G_S keeps its init."""
    from lrmakeup.checkpoint import save_generator
    from lrmakeup.errors import CheckpointError

    cfg = make_config()
    torch.manual_seed(123)
    donor = LRMakeupGenerator(cfg.model)
    save_generator(tmp_path / "donor.safetensors", donor, cfg)
    trainer = Trainer(make_config(f"train.init_psgan={tmp_path / 'donor.safetensors'}"), tuples(2), tmp_path / "run",
                      progress=False)
    ours, theirs = trainer.generator.state_dict(), donor.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if k.startswith(("distill.", "apply_net.")))
    assert not torch.equal(ours["sr.out.weight"], theirs["sr.out.weight"])
    assert "donor.safetensors" in trainer.init_note
    with pytest.raises(CheckpointError, match="init_psgan: file not found"):
        Trainer(make_config("train.init_psgan=/nonexistent/G.pth"), tuples(2), tmp_path / "run2", progress=False)


def test_init_from_a_model_without_reference_colour(make_config, tuples, tmp_path):
    """train.init loads strictly, except the zero-initialised tensors of a variant switched on since
    (model.makeup.reference_colour): the run starts from the donor's function; any other gap is still an error."""
    from lrmakeup.checkpoint import save_generator
    from lrmakeup.errors import CheckpointError

    cfg = make_config()
    torch.manual_seed(123)
    donor = LRMakeupGenerator(cfg.model)
    path = tmp_path / "donor.safetensors"
    save_generator(path, donor, cfg)
    trainer = Trainer(make_config("model.makeup.reference_colour=true", f"train.init={path}"), tuples(2),
                      tmp_path / "run", progress=False)
    ours, theirs = trainer.generator.state_dict(), donor.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    assert set(ours) - set(theirs) == trainer.generator.grown_tensors()
    assert all(not ours[k].any() for k in trainer.generator.grown_tensors())
    assert "2 new tensors at their zero initialisation" in trainer.init_note
    with pytest.raises(CheckpointError):  # a different architecture is still refused
        Trainer(make_config("model.makeup.channels=4", f"train.init={path}"), tuples(2), tmp_path / "run2",
                progress=False)


def test_makeup_loss_matches_output_or_source(make_config, tuples):
    """loss.makeup_match: eq. (15) histogram-matches G_M(x, y) itself (PSGAN) or the source x (BeautyGAN)."""
    from lrmakeup.training.objective import Discriminators, TermInputs, compute_terms

    cfg = make_config("loss.per_makeup=0", "loss.per_sr=0")
    torch.manual_seed(0)
    g, d = LRMakeupGenerator(cfg.model), Discriminators(cfg)
    b = TrainingBatch.from_items(default_collate([tuples(2)[0]]), torch.device("cpu"))
    with torch.no_grad():
        out = GeneratorPass(g)(b.x, b.y)
        psgan = compute_terms("G", TermInputs(out, b, cfg.loss, d))["make_makeup"]
        cfg.loss.makeup_match = "source"
        beautygan = compute_terms("G", TermInputs(out, b, cfg.loss, d))["make_makeup"]
    assert torch.isfinite(psgan) and torch.isfinite(beautygan) and not torch.isclose(psgan, beautygan)
