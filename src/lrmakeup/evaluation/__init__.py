"""Evaluation: the paper's Table 1 metrics (METHOD.md §4), region colour and identity metrics, NIQE.

Learned metrics (LPIPS, FID) need pretrained backbone weights in ``$TORCH_HOME/hub/checkpoints``; without
them they are reported as unavailable with the reason. NIQE's pristine model ships in ``data/``.
"""

from lrmakeup.evaluation.imresize import imresize
from lrmakeup.evaluation.metrics import (
    ALL_COLUMNS,
    REGION_NAMES,
    MetricSuite,
    MetricValue,
    OutsideRegionError,
    ciede2000,
    ms_ssim,
    outside_region_error,
    psnr,
    ssim,
)
from lrmakeup.evaluation.niqe import niqe
from lrmakeup.evaluation.report import render_table1

__all__ = [
    "ALL_COLUMNS",
    "REGION_NAMES",
    "MetricSuite",
    "MetricValue",
    "OutsideRegionError",
    "ciede2000",
    "imresize",
    "ms_ssim",
    "niqe",
    "outside_region_error",
    "psnr",
    "render_table1",
    "ssim",
]
