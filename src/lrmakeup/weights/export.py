"""Re-save a trained generator as the shipped demo checkpoint: fp16 safetensors with its provenance.

    python -m lrmakeup.weights.export RUN/generator.safetensors src/lrmakeup/weights/demo.safetensors
"""

from __future__ import annotations

import sys

import torch

from ..checkpoint import load_generator, save_generator

PROVENANCE = {
    "name": "lrmakeup demo weights",
    "config": "configs/demo.yaml",
    "data": "classic-teacher tuples + renderer-made triplets from 129 photos of public makeup-transfer "
            "research repositories (many from the MT dataset, Li et al., BeautyGAN, ACM MM 2018)",
    "terms": "research use only; see docs/demo-weights.md",
}


def main(argv: list[str] | None = None) -> int:
    source, output = (argv or sys.argv[1:])[:2]
    model, config, provenance = load_generator(source)
    save_generator(output, model, config, {**PROVENANCE, "trained_steps": provenance.get("step")},
                   dtype=torch.float16)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
