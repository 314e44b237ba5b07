"""The networks of the method (METHOD §1) and the tensors they consume."""

from ..utils import count_parameters
from .discriminator import PatchDiscriminator
from .generator import LRMakeupGenerator, MakeupOutput, Reference, SROutput
from .inputs import REGIONS, FaceBatch

__all__ = [
    "REGIONS",
    "FaceBatch",
    "LRMakeupGenerator",
    "MakeupOutput",
    "PatchDiscriminator",
    "Reference",
    "SROutput",
    "count_parameters",
]
