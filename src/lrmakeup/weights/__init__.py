"""Weights shipped inside the package (``demo.safetensors``, see docs/demo-weights.md)."""
