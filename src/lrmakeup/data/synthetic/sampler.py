"""Random plausible makeup looks, from natural to dramatic, drawn from real product palettes.

``sample_look(rng, style)`` is a pure function of the generator's state: the same seed gives the same
look. Colours are picked from named palettes (the shade families sold as lipstick, eye shadow, liner,
blush, foundation and brow products) and jittered slightly, so no two looks are exactly alike.
"""

from __future__ import annotations

import numpy as np

from lrmakeup.data.synthetic.looks import (
    RGB,
    Blush,
    BrowTint,
    Eyeliner,
    EyeShadow,
    Foundation,
    Lipstick,
    MakeupLook,
)
from lrmakeup.errors import ConfigError

STYLES = ("natural", "moderate", "dramatic")

# Shades as they look on the face (sRGB). Families follow the usual product ranges.
LIPSTICK_PALETTES: dict[str, list[RGB]] = {
    "nude": [(196, 132, 118), (178, 116, 102), (206, 150, 134), (160, 104, 92)],
    "pink": [(222, 108, 140), (204, 88, 122), (234, 138, 162), (190, 78, 112)],
    "red": [(186, 26, 38), (162, 20, 32), (204, 40, 46), (142, 16, 28)],
    "berry": [(132, 30, 72), (112, 24, 62), (152, 42, 88)],
    "coral": [(240, 110, 92), (226, 94, 76), (248, 128, 106)],
    "plum": [(104, 36, 72), (90, 30, 62), (122, 46, 88)],
}
EYE_SHADOW_PALETTES: dict[str, list[RGB]] = {
    "brown": [(140, 96, 72), (118, 80, 60), (160, 116, 90)],
    "bronze": [(172, 112, 62), (150, 96, 52)],
    "smoky_grey": [(84, 82, 90), (62, 60, 68), (104, 102, 110)],
    "plum": [(112, 62, 102), (96, 50, 88)],
    "gold": [(204, 164, 92), (188, 146, 80)],
    "pink": [(214, 140, 150), (200, 120, 136)],
    "taupe": [(150, 126, 116), (132, 112, 104)],
    "navy": [(52, 62, 104)],
    "olive": [(96, 104, 64)],
}
EYELINER_PALETTES: dict[str, list[RGB]] = {
    "black": [(22, 20, 22)],
    "brown": [(62, 40, 30)],
    "navy": [(28, 32, 72)],
    "plum": [(62, 26, 52)],
}
BLUSH_PALETTES: dict[str, list[RGB]] = {
    "pink": [(236, 132, 142)],
    "peach": [(240, 152, 122)],
    "rose": [(202, 102, 112)],
    "coral": [(240, 122, 102)],
    "berry": [(182, 72, 102)],
}
FOUNDATION_SHADES: dict[str, list[RGB]] = {
    "porcelain": [(240, 214, 198)],
    "ivory": [(234, 204, 180)],
    "beige": [(220, 184, 156)],
    "sand": [(206, 166, 132)],
    "honey": [(190, 140, 102)],
    "tan": [(168, 120, 86)],
    "deep": [(120, 80, 56)],
}
BROW_PALETTES: dict[str, list[RGB]] = {
    "dark_brown": [(62, 46, 36)],
    "soft_brown": [(118, 90, 70)],
    "taupe": [(100, 86, 76)],
    "black": [(28, 24, 24)],
    "auburn": [(110, 60, 40)],
}

# Foundation is worn close to one's own skin tone; a look must suit both faces it is rendered on, so the
# sampler keeps to the light-to-medium middle of the range (the extremes stay available to hand-made looks).
_FOUNDATION_FAMILIES = ["ivory", "beige", "sand", "honey"]

# Which shade families each style draws from, and the ranges of the numeric parameters.
_STYLE = {
    "natural": {
        "lipstick": (["nude", "pink", "coral"], (0.4, 0.65), (0.0, 0.6)),
        "eye_shadow": (["brown", "bronze", "gold", "pink", "taupe"], (0.3, 0.5), (0.2, 0.5), (0.5, 0.9)),
        "eyeliner": (["brown", "black"], 0.5, (0.3, 0.6), (0.1, 0.35), (0.0, 0.2)),
        "blush": (["pink", "peach", "rose", "coral"], (0.12, 0.25), (0.3, 0.7)),
        "foundation": ((0.1, 0.3), (0.1, 0.3)),
        "brow": (0.5, (0.15, 0.35)),
    },
    "moderate": {
        "lipstick": (["nude", "pink", "red", "berry", "coral", "plum"], (0.55, 0.8), (0.0, 0.7)),
        "eye_shadow": (list(EYE_SHADOW_PALETTES), (0.4, 0.6), (0.4, 0.7), (0.3, 0.8)),
        "eyeliner": (list(EYELINER_PALETTES), 0.8, (0.6, 0.9), (0.3, 0.6), (0.0, 0.6)),
        "blush": (list(BLUSH_PALETTES), (0.2, 0.32), (0.4, 0.8)),
        "foundation": ((0.2, 0.4), (0.15, 0.4)),
        "brow": (0.7, (0.25, 0.5)),
    },
    "dramatic": {
        "lipstick": (["red", "berry", "plum", "pink"], (0.8, 1.0), (0.0, 0.8)),
        "eye_shadow": (["smoky_grey", "plum", "brown", "bronze", "navy", "gold"], (0.6, 0.85), (0.6, 1.0), (0.2, 0.7)),
        "eyeliner": (["black", "navy", "plum", "brown"], 1.0, (0.85, 1.0), (0.6, 1.0), (0.4, 1.0)),
        "blush": (list(BLUSH_PALETTES), (0.28, 0.42), (0.5, 1.0)),
        "foundation": ((0.3, 0.55), (0.25, 0.5)),
        "brow": (0.85, (0.35, 0.6)),
    },
}


def sample_look(rng: np.random.Generator | int, style: str | None = None) -> MakeupLook:
    """A random plausible look of ``style`` ("natural", "moderate", "dramatic"; None = any of the three).

    ``rng``: a numpy Generator (advanced by the call) or an integer seed.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if style is None:
        style = STYLES[int(rng.integers(len(STYLES)))]
    if style not in _STYLE:
        raise ConfigError(f"unknown makeup style {style!r} (use one of {', '.join(STYLES)} or None)")
    spec = _STYLE[style]

    def uniform(bounds: tuple[float, float]) -> float:
        return round(float(rng.uniform(*bounds)), 3)

    families, opacity, gloss = spec["lipstick"]
    lipstick = Lipstick(color=_pick(rng, LIPSTICK_PALETTES, families), opacity=uniform(opacity), gloss=uniform(gloss))

    families, opacity, extent, gradient = spec["eye_shadow"]
    eye_shadow = EyeShadow(
        color=_pick(rng, EYE_SHADOW_PALETTES, families),
        opacity=uniform(opacity),
        extent=uniform(extent),
        gradient=uniform(gradient),
    )

    families, chance, opacity, thickness, wing = spec["eyeliner"]
    liner_on = rng.random() < chance
    eyeliner = Eyeliner(
        color=_pick(rng, EYELINER_PALETTES, families),
        opacity=uniform(opacity) if liner_on else 0.0,
        thickness=uniform(thickness),
        wing=uniform(wing),
    )

    families, opacity, size = spec["blush"]
    blush = Blush(
        color=_pick(rng, BLUSH_PALETTES, families),
        opacity=uniform(opacity),
        position=(uniform((-0.5, 0.5)), uniform((-0.5, 0.5))),
        size=uniform(size),
    )

    coverage, smoothing = spec["foundation"]
    foundation = Foundation(
        color=_pick(rng, FOUNDATION_SHADES, _FOUNDATION_FAMILIES),
        coverage=uniform(coverage),
        smoothing=uniform(smoothing),
    )

    chance, opacity = spec["brow"]
    brow_on = rng.random() < chance
    brow = BrowTint(color=_pick(rng, BROW_PALETTES, list(BROW_PALETTES)), opacity=uniform(opacity) if brow_on else 0.0)

    return MakeupLook(
        foundation=foundation, blush=blush, eye_shadow=eye_shadow, eyeliner=eyeliner, brow=brow, lipstick=lipstick,
        style=style,
    )


def _pick(rng: np.random.Generator, palettes: dict[str, list[RGB]], families: list[str], jitter: float = 8.0) -> RGB:
    """One shade of a random family, jittered by up to ``jitter`` per channel."""
    family = palettes[families[int(rng.integers(len(families)))]]
    base = np.array(family[int(rng.integers(len(family)))], dtype=np.float64)
    shade = np.clip(np.rint(base + rng.uniform(-jitter, jitter, 3)), 0, 255).astype(int)
    return (int(shade[0]), int(shade[1]), int(shade[2]))
