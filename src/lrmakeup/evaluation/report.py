"""Markdown in the layout of the paper's Table 1 (METHOD.md §4), extended by region and identity columns."""

from __future__ import annotations

import math
from collections.abc import Mapping

from lrmakeup.evaluation.metrics import MetricValue

# column key -> (header, format); the arrows say which direction is better, as in the paper
TABLE1_HEADERS: dict[str, tuple[str, str]] = {
    "psnr": ("PSNR↑", "{:.2f}"),
    "ssim": ("SSIM↑", "{:.4f}"),
    "ms_ssim": ("MS-SSIM↑", "{:.4f}"),
    "lpips": ("LPIPS↓", "{:.4f}"),
    "fid": ("FID↓", "{:.2f}"),
    "niqe": ("NIQE↓", "{:.3f}"),
    "ciede2000_lips": ("ΔE00 lips↓", "{:.2f}"),
    "ciede2000_eyes": ("ΔE00 eyes↓", "{:.2f}"),
    "ciede2000_skin": ("ΔE00 skin↓", "{:.2f}"),
    "identity_psnr": ("identity PSNR↑", "{:.2f}"),
    "identity_ciede2000": ("identity ΔE00↓", "{:.2f}"),
    "face_distance": ("dlib distance↓", "{:.3f}"),
}

def _cell(key: str, value: MetricValue | float | None, notes: dict[str, int]) -> str:
    """One cell; an unavailable value's reason becomes a numbered footnote (``notes``: reason -> number), so a
    reason shared by many cells is written once."""
    if isinstance(value, MetricValue):
        if value.value is None:
            reason = " ".join((value.reason or "unavailable").split())
            return f"n/a [{notes.setdefault(reason, len(notes) + 1)}]"
        value = value.value
    if value is None:
        return "n/a (not measured)"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if math.isnan(value):
        return "n/a (nan)"
    return TABLE1_HEADERS[key][1].format(value)


def _escape(text: str) -> str:
    """Keep a reason inside its cell: one line, no column separators."""
    return " ".join(text.split()).replace("|", "\\|")


def render_table1(rows: Mapping[str, Mapping[str, MetricValue | float | None]]) -> str:
    """One Markdown table, a row per model, columns as Table 1 plus ΔE00 per region and identity.

    ``rows`` maps a model name to its results, e.g. ``{"method": suite.compute()}``; plain floats are
    accepted too. A missing value renders as ``n/a (not measured)``, an unavailable one as ``n/a [k]`` with
    its reason in footnote k below the table (once, however many cells share it). Scores that come from a
    single sample get a warning line.
    """
    header = "| model | " + " | ".join(h for h, _ in TABLE1_HEADERS.values()) + " |"
    rule = "|---|" + "---|" * len(TABLE1_HEADERS)
    lines = [header, rule]
    notes: dict[str, int] = {}
    for model, results in rows.items():
        cells = [_cell(key, results.get(key), notes) for key in TABLE1_HEADERS]
        lines.append(f"| {_escape(model)} | " + " | ".join(cells) + " |")
    single = sorted({model for model, results in rows.items() for v in results.values()
                     if isinstance(v, MetricValue) and v.available and v.count == 1})
    if notes or single:
        lines.append("")
    lines.extend(f"- [{k}] n/a: {_escape(reason)}" for reason, k in notes.items())
    if single:
        lines.append(f"- Warning: the scores of {', '.join(single)} come from a single sample: "
                     "they say little about the model (score more samples).")
    return "\n".join(lines) + "\n"
