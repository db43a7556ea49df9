"""Document forensics: signs that a document was altered after it was made.

Digital PDFs (``pdf``: revisions, metadata, signatures, overlays, glyph runs, text layer vs the
rendered page) and scans/photos (``image``: error-level and noise-residual features scored by a
small ONNX model). Kept import-light: the gpu-inference image ships ``shared/forensics`` alone and
imports ``shared.forensics.image`` / ``shared.forensics.model`` without the rest of the core.
"""
