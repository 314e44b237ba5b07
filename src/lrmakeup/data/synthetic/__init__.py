"""Synthetic makeup: render a parametric look onto any real bare face (so exact ground truth exists).

- :mod:`.looks`: :class:`MakeupLook` and its six products (JSON round trip);
- :mod:`.sampler`: :func:`sample_look`, random plausible looks from natural to dramatic;
- :mod:`.masks`: :func:`look_masks`, where each product goes on a face (landmarks + MT parsing);
- :mod:`.render`: :func:`render`, the look applied in Lab, texture and shading kept.
"""

from lrmakeup.data.synthetic.looks import (
    Blush,
    BrowTint,
    Eyeliner,
    EyeShadow,
    Foundation,
    Lipstick,
    MakeupLook,
)
from lrmakeup.data.synthetic.masks import LookMasks, look_masks
from lrmakeup.data.synthetic.render import apply_look, render
from lrmakeup.data.synthetic.sampler import STYLES, sample_look

__all__ = [
    "Blush",
    "BrowTint",
    "EyeShadow",
    "Eyeliner",
    "Foundation",
    "Lipstick",
    "LookMasks",
    "MakeupLook",
    "STYLES",
    "apply_look",
    "look_masks",
    "render",
    "sample_look",
]
