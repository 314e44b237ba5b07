"""Map PSGAN's published generator (``G.pth``, METHOD §5) onto lrmakeup's makeup modules.

PSGAN's reference branch ``pnet_*`` is our ``distill``, its source branch ``tnet_*`` our ``apply_net`` and its
``simple_spade`` 1x1 convolutions our ``to_gamma`` / ``to_beta``. Its two ``atten_bottleneck_*`` layers are
never used in PSGAN's forward pass and are dropped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import MakeupConfig
from ..errors import CheckpointError
from ..utils import check_keys_and_shapes

PSGAN_UNUSED = {
    "atten_bottleneck_g.g.weight", "atten_bottleneck_g.g.bias",
    "atten_bottleneck_b.g.weight", "atten_bottleneck_b.g.bias",
}
PSGAN_MAKEUP = MakeupConfig()  # PSGAN's sizes are the paper's defaults


def psgan_key_map(cfg: MakeupConfig = PSGAN_MAKEUP) -> dict[str, str]:
    """PSGAN key -> lrmakeup generator key, for every PSGAN tensor that lrmakeup uses (47 of 51)."""
    keys: dict[str, str] = {}

    def conv_norm(psgan: str, ours: str, affine: bool) -> None:
        keys[f"{psgan}.0.weight"] = f"{ours}.0.weight"
        if affine:
            keys[f"{psgan}.1.weight"] = f"{ours}.1.weight"
            keys[f"{psgan}.1.bias"] = f"{ours}.1.bias"

    def block(psgan: str, ours: str, affine: bool) -> None:
        for conv, norm in ((0, 1), (3, 4)):
            keys[f"{psgan}.main.{conv}.weight"] = f"{ours}.main.{conv}.weight"
            if affine:
                keys[f"{psgan}.main.{norm}.weight"] = f"{ours}.main.{norm}.weight"
                keys[f"{psgan}.main.{norm}.bias"] = f"{ours}.main.{norm}.bias"

    conv_norm("pnet_in", "distill.stem", True)
    for i in (1, 2):
        conv_norm(f"pnet_down_{i}", f"distill.down.{i - 1}", True)
    for i in range(cfg.distill_blocks):
        block(f"pnet_bottleneck_{i + 1}", f"distill.blocks.{i}", True)
    keys["simple_spade.get_gamma.weight"] = "distill.to_gamma.weight"
    keys["simple_spade.get_beta.weight"] = "distill.to_beta.weight"

    keys["tnet_in_conv.weight"] = "apply_net.stem.0.weight"
    for i in (1, 2):
        keys[f"tnet_down_conv_{i}.weight"] = f"apply_net.down.{i - 1}.0.weight"
        keys[f"tnet_up_conv_{i}.weight"] = f"apply_net.up.{i - 1}.0.weight"
    for i in range(cfg.apply_blocks):
        before = i < cfg.modulate_at
        ours = f"apply_net.blocks_before.{i}" if before else f"apply_net.blocks_after.{i - cfg.modulate_at}"
        block(f"tnet_bottleneck_{i + 1}", ours, False)
    keys["tnet_out.0.weight"] = "apply_net.out.weight"
    return keys


def read_psgan_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a PSGAN ``G.pth`` safely (``weights_only=True``); accepts a bare state dict or {'state_dict': ...}."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"PSGAN checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / non-torch files
        reason = " ".join(str(exc).split())[:200]  # the underlying reason, on one line
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: {reason})") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def convert_psgan_state(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor],
                        source: str) -> dict[str, torch.Tensor]:
    """Rename PSGAN tensors to lrmakeup keys, checking every name, shape and value (finite) against ``expected``."""
    mapping = psgan_key_map()
    used = {k: v for k, v in state.items() if k not in PSGAN_UNUSED}
    check_keys_and_shapes({k: tuple(v.shape) for k, v in used.items()},
                          {k: tuple(expected[ours].shape) for k, ours in mapping.items()}, source,
                          kind="PSGAN tensor", foreign=" (not part of PSGAN's generator)")
    out = {}
    for key, value in used.items():
        ours = mapping[key]
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{source}: tensor '{key}' holds non-finite values (NaN or inf)")
        out[ours] = value.float()
    return out


def load_psgan_makeup(model: torch.nn.Module, path: str | Path) -> int:
    """Load PSGAN's published weights into ``model``'s makeup modules (distill + apply); returns #tensors.

    ``model`` is an ``LRMakeupGenerator`` whose makeup config has PSGAN's sizes; the other modules are untouched.
    """
    expected = model.state_dict()
    converted = convert_psgan_state(read_psgan_state(path), expected, str(path))
    makeup_keys = {k for k in expected if k.startswith(("distill.", "apply_net."))}
    uncovered = sorted(makeup_keys - set(converted))
    if uncovered:
        raise CheckpointError(f"{path}: the model's makeup tensor '{uncovered[0]}' has no PSGAN counterpart")
    model.load_state_dict(converted, strict=False)
    return len(converted)
