"""The one reader of data-set manifests (prepared tuples, benchmarks): ``<folder>/manifest.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import DataError

MANIFEST = "manifest.json"


def read_format(folder: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """(format, manifest) of a data folder; DataError when the manifest is missing, unreadable or untagged."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{folder} is not a prepared tuple folder or benchmark: {MANIFEST} is missing "
                        "(run lrmakeup prepare or lrmakeup make-benchmark)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format"), str):
        raise DataError(f"{path} has no \"format\" field")
    return manifest["format"], manifest
