"""The tensors the generator consumes for one face (source or reference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..face.regions import REGIONS  # noqa: F401 - defined with the region masks (no torch there)
from ..generator_io import signed_image, uint8_image  # the numpy conversions both backends share


@dataclass
class FaceBatch:
    """A batch of faces prepared for the generator.

    image: (B, 3, S, S) in [-1, 1], S = 256 (the bicubic up-sampled 64x64 input)
    masks: (B, 3, F, F) in {0, 1}, F = 64, channels = REGIONS (lips, skin, eye shadow)
    pos:   (B, 136, F, F) relative-position features, masked per region and L2-normalised per pixel
    """

    image: Tensor
    masks: Tensor
    pos: Tensor

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "FaceBatch":
        return FaceBatch(*(t.to(device=device, dtype=dtype) for t in (self.image, self.masks, self.pos)))

    @property
    def batch_size(self) -> int:
        return self.image.shape[0]

    def __getitem__(self, index: slice | int) -> "FaceBatch":
        if isinstance(index, int):
            index = slice(index, index + 1)
        return FaceBatch(self.image[index], self.masks[index], self.pos[index])

    @staticmethod
    def cat(batches: list["FaceBatch"]) -> "FaceBatch":
        return FaceBatch(*(torch.cat(ts) for ts in zip(*((b.image, b.masks, b.pos) for b in batches))))

    @staticmethod
    def from_arrays(image: np.ndarray, masks: np.ndarray, pos: np.ndarray) -> "FaceBatch":
        """One face from numpy: image (S, S, 3) uint8 RGB, masks (3, F, F), pos (136, F, F)."""
        return FaceBatch(
            torch.from_numpy(signed_image(image)).unsqueeze(0),
            torch.from_numpy(np.array(masks, dtype=np.float32)).unsqueeze(0),
            torch.from_numpy(np.array(pos, dtype=np.float32)).unsqueeze(0),
        )


def to_uint8_image(t: Tensor) -> np.ndarray:
    """(3, H, W) or (1, 3, H, W) tensor in [-1, 1] -> (H, W, 3) uint8 RGB (``generator_io.uint8_image``)."""
    if t.dim() == 4:
        t = t[0]
    return uint8_image(t.detach().float().cpu().numpy())
