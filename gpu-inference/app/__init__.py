"""Papyr GPU inference service: OCR (and, later, the fraud model) on ONNX Runtime."""
