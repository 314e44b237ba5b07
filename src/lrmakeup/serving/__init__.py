"""Serving: running a trained generator outside the training code (ONNX export, onnxruntime backend)."""
