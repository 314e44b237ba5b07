"""The losses of METHOD §2, one equation per function; the trainer weighs and sums them (eq. 20).

- :mod:`.adversarial`: LSGAN, eq. (7)-(10)
- :mod:`.perceptual`: VGG-16 relu5_3, eq. (11), (12)
- :mod:`.cycle`: L1 cycle consistency, eq. (14)
- :mod:`.makeup`: histogram makeup loss, eq. (15), and the histogram matching it relies on
- :mod:`.sr`: the SR MSE term with the prior error, eq. (18)
- :mod:`.reconstruction`: the compact recipe's region-weighted L1 on x̃_LR and x̃_SR (not in the paper)
"""

from .adversarial import lsgan_discriminator_loss, lsgan_generator_loss
from .cycle import cycle_loss
from .makeup import histogram_match, makeup_loss, region_histogram_loss
from .perceptual import perceptual_loss
from .reconstruction import reduce_to, region_l1_loss
from .sr import prior_loss, sr_mse_loss

__all__ = [
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "perceptual_loss",
    "cycle_loss",
    "histogram_match",
    "region_histogram_loss",
    "makeup_loss",
    "prior_loss",
    "sr_mse_loss",
    "region_l1_loss",
    "reduce_to",
]
