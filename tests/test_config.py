"""Typed configs: YAML round trip, dotted overrides, clear errors."""

import pytest

from lrmakeup.config import Config, builtin_config_path, config_from_dict, load_config
from lrmakeup.errors import ConfigError


def test_paper_yaml_is_the_defaults():
    assert load_config(builtin_config_path("paper")) == Config()
    c = Config()
    assert (c.train.optimizer, c.train.lr, c.train.batch_size, c.train.epochs) == ("rmsprop", 2.5e-4, 1, 200)
    assert (c.loss.adv_makeup, c.loss.per_makeup, c.loss.per_sr, c.loss.cyc_makeup, c.loss.make_makeup) == (
        1e-3, 1e-5, 1e-1, 1e-2, 1e-3)


def test_yaml_round_trip_and_overrides(tmp_path):
    cfg = load_config(builtin_config_path("tiny"), ["train.lr=1e-3", "model.sr.makeup_prior=false"])
    assert cfg.train.lr == 1e-3 and cfg.model.sr.makeup_prior is False and cfg.model.image_size == 64
    path = tmp_path / "c.yaml"
    cfg.save(path)
    assert load_config(path) == cfg


@pytest.mark.parametrize(
    "data, message",
    [
        ({"model": {"makeup": {"chanels": 3}}}, "unknown config key 'model.makeup.chanels'"),
        ({"train": {"lr": "fast"}}, "'train.lr' must be float"),
        ({"train": {"batch_size": 1.5}}, "'train.batch_size' must be int"),
        ({"model": 3}, "must be a mapping"),
    ],
)
def test_bad_configs(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_bad_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["train.lr"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
