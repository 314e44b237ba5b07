"""Re-save a trained generator as the shipped demo checkpoint: fp16 safetensors with its provenance.

    python -m lrmakeup.weights.export RUN/generator.safetensors src/lrmakeup/weights/demo.safetensors --onnx

``--set model.makeup.confine=true`` records an inference-time switch that keeps the tensors (repeatable).
``--onnx`` also exports the written checkpoint for onnxruntime next to it (``demo.onnx``, the CLI's default
engine; its metadata records the sha256 of the ``demo.safetensors`` it was made from). Ship the two together:
the CLI never runs an export of other weights than the shipped ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from ..checkpoint import load_generator, save_generator
from ..config import Config, apply_overrides, config_from_dict
from ..errors import ConfigError, LRMakeupError
from ..models import LRMakeupGenerator

PROVENANCE = {
    "name": "lrmakeup demo weights",
    "config": "configs/demo.yaml",
    "data": "classic-teacher tuples + renderer-made triplets from 129 photos of public makeup-transfer "
            "research repositories (many from the MT dataset, Li et al., BeautyGAN, ACM MM 2018)",
    "terms": "research use only; see docs/demo-weights.md",
    "recipe": "joint phases, a detail phase (G_M frozen), then joint phases with the reference-colour path; "
              "the makeup confined to the face (model.makeup.confine), a last G_S detail phase; steps and "
              "commands in docs/demo-weights.md",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrmakeup.weights.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a trained generator checkpoint (e.g. RUN/generator.safetensors)")
    parser.add_argument("output", help="the checkpoint to write (e.g. src/lrmakeup/weights/demo.safetensors)")
    parser.add_argument("--onnx", action="store_true", help="also write OUTPUT with suffix .onnx, exported from it")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="a config switch recorded in OUTPUT that keeps the same tensors (e.g. "
                        "model.makeup.confine=true: trained weights run with an inference-time variant); repeatable")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return export(args.source, args.output, args.onnx, args.overrides)
    except LRMakeupError as exc:  # a missing / foreign source, an unwritable output: one line, exit 2
        print(f"export: error: {exc}", file=sys.stderr)
        return 2


def export(source: str, output: str, onnx: bool, overrides: list[str] | None = None) -> int:
    """Write ``output`` (fp16, PROVENANCE) from ``source`` and, with ``onnx``, its ONNX export beside it.

    overrides: ``section.key=value`` switches applied to the source's config; the model they describe must hold
    exactly the source's tensors (else a ConfigError), so only the function's inference-time variants change."""
    model, config, provenance = load_generator(source)
    if overrides:
        model, config = with_switches(model, config, overrides)
    steps = provenance.get("step", provenance.get("trained_steps"))  # a run's file, or a shipped one re-saved
    save_generator(output, model, config, {**PROVENANCE, "trained_steps": steps}, dtype=torch.float16)
    print(f"wrote {output}")
    if onnx:
        from ..serving.onnx import export_onnx

        graph = Path(output).with_suffix(".onnx")
        export_onnx(output, graph)  # from the fp16 file just written: the graph holds the shipped numbers
        print(f"wrote {graph}")
    return 0


def with_switches(model: LRMakeupGenerator, config: Config, overrides: list[str]) -> tuple[LRMakeupGenerator, Config]:
    """``model``'s tensors in the generator ``config`` with ``overrides`` describes (the same names and shapes)."""
    switched = config_from_dict(apply_overrides(dataclasses.asdict(config), overrides))
    rebuilt = LRMakeupGenerator(switched.model)
    state = model.state_dict()
    expected = rebuilt.state_dict()
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in state):
        raise ConfigError(f"--set {' '.join(overrides)} changes the model's tensors; only switches that keep them "
                          "can be recorded on trained weights")
    rebuilt.load_state_dict(state)
    return rebuilt.eval(), switched


if __name__ == "__main__":
    sys.exit(main())
