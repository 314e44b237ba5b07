"""The demo weights shipped inside the package: fp16, at most 20 MB, with provenance, used by default; their ONNX
export is of these very weights and gives PyTorch's images."""

import numpy as np
import pytest
from safetensors import safe_open

from lrmakeup.api import SHIPPED_ONNX, SHIPPED_WEIGHTS, MakeupControls, MakeupTransfer
from lrmakeup.data.builtin import builtin_face
from lrmakeup.utils import file_sha256

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


# --- their ONNX export (weights/demo.onnx), the CLI's default engine -------------------------------------------

REMAKE = ("remake it: python -m lrmakeup.weights.export SNAPSHOT src/lrmakeup/weights/demo.safetensors --onnx, or "
          "from the shipped file alone: lrmakeup export-onnx --output src/lrmakeup/weights/demo.onnx")


@pytest.fixture(scope="module")
def engines():
    """The PyTorch and the onnxruntime engine of the shipped weights, sharing one face analyser."""
    from lrmakeup.serving.onnx_runtime import OnnxMakeupTransfer

    if not SHIPPED_ONNX.is_file():
        pytest.fail(f"{SHIPPED_ONNX} is missing: {REMAKE}")
    torch_engine = MakeupTransfer.default()
    return torch_engine, OnnxMakeupTransfer.shipped(threads=1, analyzer=torch_engine.analyzer)


@pytest.fixture(scope="module")
def faces(engines):
    hopper = builtin_face("grace_hopper")
    red = np.clip(hopper.astype(int) * [1.2, 0.8, 0.9], 0, 255).astype(np.uint8)
    analyze = engines[0].analyze
    return {"astronaut": analyze(builtin_face("astronaut")), "hopper": analyze(hopper), "red": analyze(red)}


def test_shipped_onnx_is_the_export_of_the_shipped_weights(engines):
    torch_engine, onnx_engine = engines
    meta = onnx_engine.generator.metadata
    assert meta["source_sha256"] == file_sha256(SHIPPED_WEIGHTS), f"{SHIPPED_ONNX.name} is stale: {REMAKE}"
    assert SHIPPED_ONNX.stat().st_size <= 10 * 2**20
    assert onnx_engine.config == torch_engine.config and onnx_engine.provenance == torch_engine.provenance


CONTROLS = {
    "default": lambda f: MakeupControls(),
    "intensity and regions": lambda f: MakeupControls(intensity=0.7, regions={"lips": 1.0, "skin": 0.3, "eyes": 0.5}),
    "blend": lambda f: MakeupControls(blend=(f["red"], 0.4)),
    "region references": lambda f: MakeupControls(intensity=0.9, references={"lips": f["red"], "eyes": f["astronaut"]},
                                                  blend=(f["red"], 0.5)),
}


@pytest.mark.parametrize("case", sorted(CONTROLS))
def test_onnx_engine_gives_pytorchs_images(engines, faces, case):
    """Same 256x256 result and x̃_LR within a grey level or two, same priors, for every kind of control."""
    controls = CONTROLS[case](faces)
    got, want = (engine.transfer(faces["astronaut"], faces["hopper"], controls=controls) for engine in engines)
    assert np.abs(got.image.astype(int) - want.image).max() <= 2
    assert np.abs(got.image_lr.astype(int) - want.image_lr).max() <= 2
    assert np.abs(got.heatmaps - want.heatmaps).max() <= 1e-3
    assert (got.parsing == want.parsing).mean() >= 0.999


def test_onnx_engine_pastes_back_the_same_photo(engines):
    photo = builtin_face("astronaut")
    (got, _), (want, _) = (engine.transfer_photo(photo, builtin_face("grace_hopper")) for engine in engines)
    assert got.shape == photo.shape and np.abs(got.astype(int) - want).max() <= 2
