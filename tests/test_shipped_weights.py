"""The demo weights shipped inside the package: fp16, at most 20 MB, with provenance, used by default."""

import pytest
from safetensors import safe_open

from lrmakeup.api import SHIPPED_WEIGHTS, MakeupTransfer

pytestmark = pytest.mark.skipif(not SHIPPED_WEIGHTS.is_file(), reason="no demo weights in this checkout")


def test_shipped_weights_are_small_fp16_with_provenance():
    assert SHIPPED_WEIGHTS.stat().st_size <= 20 * 2**20
    with safe_open(str(SHIPPED_WEIGHTS), framework="pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
        meta = f.metadata()
    assert dtypes == {"F16"}
    assert "research use" in meta["provenance"]


def test_default_engine_uses_them():
    engine = MakeupTransfer.default()
    assert engine.trained and engine.provenance["config"] == "configs/demo.yaml"
