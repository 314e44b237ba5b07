"""MakeupLook serialisation and validation, and the look sampler."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrmakeup.data.synthetic import STYLES, Lipstick, MakeupLook, sample_look
from lrmakeup.errors import ConfigError


def test_json_round_trip_gives_an_equal_look(full_look, tmp_path):
    assert MakeupLook.from_json(full_look.to_json()) == full_look
    assert MakeupLook.from_dict(json.loads(json.dumps(full_look.to_dict()))) == full_look
    path = tmp_path / "look.json"
    full_look.save(path)
    assert MakeupLook.load(path) == full_look


def test_default_look_is_bare_and_partial_dicts_take_defaults():
    assert MakeupLook().active_products() == []
    look = MakeupLook.from_dict({"lipstick": {"color": [200, 40, 50], "opacity": 0.8}})
    assert look.active_products() == ["lipstick"]
    assert look.lipstick == Lipstick(color=(200, 40, 50), opacity=0.8)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"lipstick": {"color": [300, 0, 0]}}, "Lipstick.color"),
        ({"lipstick": {"color": [1, 2]}}, "Lipstick.color"),
        ({"eye_shadow": {"opacity": 1.5}}, "EyeShadow.opacity"),
        ({"blush": {"position": [0.0, 2.0]}}, "Blush.position"),
        ({"mascara": {}}, "unknown key"),
        ({"lipstick": {"shine": 1}}, "unknown field"),
        ({"format": "other"}, "format"),
    ],
)
def test_invalid_looks_raise_config_errors_naming_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        MakeupLook.from_dict(data)


def test_invalid_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        MakeupLook.from_json("{lipstick")


@pytest.mark.parametrize("style", [*STYLES, None])
def test_sampler_yields_valid_looks_in_every_style(style):
    rng = np.random.default_rng(0)
    for _ in range(25):
        look = sample_look(rng, style)
        assert look.style in STYLES and (style is None or look.style == style)
        assert MakeupLook.from_dict(look.to_dict()) == look  # valid: passes validation again
        assert look.lipstick.active and look.eye_shadow.active and look.blush.active


def test_sampler_is_deterministic_and_styles_grow_in_strength():
    first = [sample_look(np.random.default_rng(5), s) for s in STYLES]
    again = [sample_look(np.random.default_rng(5), s) for s in STYLES]
    assert first == again
    rng = np.random.default_rng(1)
    lip = {s: np.mean([sample_look(rng, s).lipstick.opacity for _ in range(30)]) for s in STYLES}
    assert lip["natural"] < lip["moderate"] < lip["dramatic"]


def test_sampler_rejects_unknown_style():
    with pytest.raises(ConfigError, match="unknown makeup style"):
        sample_look(np.random.default_rng(0), "gothic")
