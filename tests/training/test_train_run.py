"""The trainer end to end on the tiny config: it learns, it resumes exactly, it stops on NaN, it never
leaves a broken checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from lrmakeup.checkpoint import load_generator
from lrmakeup.errors import CheckpointError, ConfigError, InputError
from lrmakeup.training import Trainer, TrainingError, load_state, objective
from lrmakeup.training import state as state_module


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_tiny_config_overfits_and_fills_the_run_folder(make_config, tuples, tmp_path):
    """Every loss on (random VGG), RMSprop: the SR loss of eq. (18) falls by at least half on two tuples."""
    run = tmp_path / "run"
    cfg = make_config("train.lr=0.002", "train.max_steps=14", "train.image_every=7", "train.checkpoint_every=7")
    trainer = Trainer(cfg, tuples(2), run, progress=False)
    result = trainer.fit()
    assert result.step == 14

    mse = [r["mse_sr"] for r in _records(run)]
    assert len(mse) == 14
    assert sum(mse[-3:]) / 3 <= 0.5 * mse[0], mse
    # every term of eq. (20) and of L_D was computed and logged (the compact recipe's rec_* are off: λ = 0)
    paper_terms = {t.name for t in objective.TERMS if not t.name.startswith("rec_")} | set(objective.TOTALS)
    assert paper_terms <= set(_records(run)[-1])
    assert not {"rec_lr", "rec_sr"} & set(_records(run)[-1])

    for name in ("config.yaml", "train_state.pt", "generator.safetensors", "loss_curve.png",
                 "images/step_0000007.png", "images/step_0000014.png"):
        assert (run / name).is_file(), name
    assert any((run / "tensorboard").iterdir())
    model, config, provenance = load_generator(run / "generator.safetensors")
    assert config == cfg and provenance["step"] == 14 and provenance["vgg_weights"] == "random"
    for key, value in model.state_dict().items():
        assert torch.equal(value, trainer.generator.state_dict()[key]), key
    assert load_state(run / "train_state.pt")["vgg"]["weights"] == "random"


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {f"G.{k}": v for k, v in trainer.generator.state_dict().items()}
    out.update({f"D.{k}": v for k, v in trainer.discriminators.state_dict().items()})
    for name, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for i, s in opt.state_dict()["state"].items():
            out.update({f"{name}.{i}.{k}": v for k, v in s.items() if torch.is_tensor(v)})
    return out


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
def test_kill_and_resume_gives_the_same_weights(make_config, tuples, tmp_path, monkeypatch):
    """6 steps straight == 3 steps, killed in the middle of step 5, resumed from the step-3 checkpoint.

    Three tuples: the run crosses an epoch boundary after step 3 and the kill lands mid-epoch, so the data
    order must continue the same permutation. The linear scheduler must also resume its position.
    """
    cfg = make_config("loss.per_makeup=0", "loss.per_sr=0", "train.max_steps=6", "train.checkpoint_every=3",
                      "train.scheduler=linear", "train.decay_start=0.3", "train.seed=7")
    straight = Trainer(cfg, tuples(3), tmp_path / "a", progress=False)
    straight.fit()

    run = tmp_path / "b"
    killed = Trainer(cfg, tuples(3), run, progress=False)
    real_step = killed.opt_g.step

    def dying_step(*args, **kwargs):  # D already updated in memory: the kill lands mid-step
        if killed.step == 4:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(killed.opt_g, "step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        killed.fit()
    assert load_state(run / "train_state.pt")["step"] == 3

    resumed = Trainer(cfg, tuples(3), run, resume=True, progress=False)
    assert (resumed.step, resumed.epoch, resumed.batch_in_epoch) == (3, 1, 0)
    resumed.fit()
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and len(a) > 50
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert resumed.opt_g.param_groups[0]["lr"] == straight.opt_g.param_groups[0]["lr"] < cfg.train.lr
    # the logged losses of the resumed steps are those of the straight run: same samples, same order
    ra, rb = _records(tmp_path / "a"), _records(run)
    assert [r["step"] for r in rb] == [1, 2, 3, 4, 5, 6]
    assert [r["loss_G"] for r in ra] == [r["loss_G"] for r in rb]


def test_nan_loss_stops_with_the_term_and_step(make_config, tuples, tmp_path, monkeypatch):
    cfg = make_config("loss.per_makeup=0", "loss.per_sr=0", "train.max_steps=1")
    run = tmp_path / "run"
    Trainer(cfg, tuples(2), run, progress=False).fit()
    before = load_state(run / "train_state.pt")

    monkeypatch.setattr(objective, "sr_mse_loss", lambda *a, **k: torch.tensor(float("nan")))
    cfg2 = make_config("loss.per_makeup=0", "loss.per_sr=0", "train.max_steps=3", "train.checkpoint_every=1")
    trainer = Trainer(cfg2, tuples(2), run, resume=True, progress=False)
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    message = str(info.value)
    assert "\n" not in message
    assert "'mse_sr'" in message and "eq. (18)" in message and "nan" in message and "step 2" in message
    # the guard fires before the backward: no NaN reached the weights, the checkpoint is the good one
    assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())
    after = load_state(run / "train_state.pt")
    assert after["step"] == 1
    for key, value in before["generator"].items():
        assert torch.equal(value, after["generator"][key])


def test_nan_in_discriminator_loss_is_named(make_config, tuples, tmp_path, monkeypatch):
    cfg = make_config("loss.per_makeup=0", "loss.per_sr=0", "train.max_steps=1", "loss.cyc_makeup=0")
    monkeypatch.setattr(objective, "lsgan_discriminator_loss", lambda r, f: r.mean() * float("inf"))
    with pytest.raises(TrainingError, match=r"'d_adv_makeup' \(eq\. \(7\)\) is -?(inf|nan) at step 1"):
        Trainer(cfg, tuples(2), tmp_path / "run", progress=False).fit()


def test_a_failed_checkpoint_write_keeps_the_previous_one(make_config, tuples, tmp_path, monkeypatch):
    """A crash in the middle of writing (here: half the bytes, then an error) never damages the last state."""
    run = tmp_path / "run"
    trainer = Trainer(make_config(), tuples(2), run, progress=False)
    trainer.save_checkpoint()
    good = (run / "train_state.pt").read_bytes()
    good_generator = (run / "generator.safetensors").read_bytes()

    real_save = torch.save

    def torn_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(f.tell() // 2)
        raise OSError("No space left on device")

    with torch.no_grad():
        for p in trainer.generator.parameters():
            p.add_(1.0)
    trainer.step = 5
    monkeypatch.setattr(state_module.torch, "save", torn_save)
    with pytest.raises((OSError, InputError), match="No space"):
        trainer.save_checkpoint()
    monkeypatch.undo()

    assert (run / "train_state.pt").read_bytes() == good
    assert (run / "generator.safetensors").read_bytes() == good_generator
    assert load_state(run / "train_state.pt")["step"] == 0
    assert sorted(p.name for p in run.iterdir() if p.name.endswith(".tmp")) == []
    Trainer(make_config(), tuples(2), run, resume=True, progress=False)  # still resumable


def test_a_truncated_state_file_is_a_clear_checkpoint_error(make_config, tuples, tmp_path):
    run = tmp_path / "run"
    Trainer(make_config(), tuples(2), run, progress=False).save_checkpoint()
    data = (run / "train_state.pt").read_bytes()
    (run / "train_state.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="train_state.pt is not a readable training state"):
        Trainer(make_config(), tuples(2), run, resume=True, progress=False)


def test_run_folder_rules(make_config, tuples, tmp_path):
    run = tmp_path / "run"
    Trainer(make_config(), tuples(2), run, progress=False).save_checkpoint()
    with pytest.raises(InputError, match="already holds a training run.*--resume"):
        Trainer(make_config(), tuples(2), run, progress=False)
    with pytest.raises(ConfigError, match="different 'model.sr.channels'"):
        Trainer(make_config("model.sr.channels=16"), tuples(2), run, resume=True, progress=False)
    with pytest.raises(ConfigError, match="train.optimizer"):
        Trainer(make_config("train.optimizer=adam"), tuples(2), run, resume=True, progress=False)
    with pytest.raises(ConfigError, match="train.scheduler must be one of"):
        Trainer(make_config("train.scheduler=cosine"), tuples(2), tmp_path / "other", progress=False)
    # resuming a folder without a checkpoint is refused (tests/training/test_resume_safety.py)
    with pytest.raises(InputError, match="cannot resume"):
        Trainer(make_config(), tuples(2), tmp_path / "fresh", resume=True, progress=False)
