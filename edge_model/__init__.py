"""Theft detection at the edge: features, training, ONNX export, runtime scoring, feedback, evaluation.

Importing this package is cheap and pulls in neither scikit-learn nor onnxruntime; the scoring
path (`edge_model.scoring`) needs onnxruntime only.
"""

from gateway import PowerGwError


class EdgeModelError(PowerGwError):
    """Root of every error edge_model raises on purpose."""
