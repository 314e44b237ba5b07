"""The README's Python snippet runs as written, on the built-in faces.

To stay fast, ``MakeupTransfer.default()`` hands out a tiny untrained model here (tests/test_shipped_weights.py
checks that the real default loads the shipped weights); everything else in the snippet runs unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from lrmakeup.api import MakeupTransfer
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.builtin import builtin_face

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippet_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    Image.fromarray(builtin_face("astronaut")).save(tmp_path / "bare.jpg")
    Image.fromarray(builtin_face("grace_hopper")).save(tmp_path / "madeup.jpg")
    monkeypatch.chdir(tmp_path)
    tiny = MakeupTransfer.untrained(load_config(builtin_config_path("tiny")))
    monkeypatch.setattr(MakeupTransfer, "default", classmethod(lambda cls, device="cpu": tiny))
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    result, photo = namespace["result"], namespace["photo"]
    size = namespace["engine"].config.model.image_size
    assert result.image.shape == (size, size, 3) and result.image.dtype == np.uint8
    assert photo.shape == builtin_face("astronaut").shape
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), photo)
