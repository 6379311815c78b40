"""Theft detection at the edge: features, training, ONNX export, runtime scoring, feedback, evaluation.

Importing this package is cheap and pulls in neither scikit-learn nor onnxruntime; the scoring
path (`edge_model.scoring`) needs onnxruntime only.
"""

from gateway import PowerGwError

# Bumped whenever the feature columns change; a model records the version it was trained on, and
# a gateway scores only with models of its own version. Here, not in features.py, so that reading
# a model's version (doctor, /metrics, the dashboard) imports neither numpy nor onnxruntime.
FEATURES_VERSION = 5
# lifts.MIN_REF_DAYS + lifts.MIN_CAL_DAYS + SteadyPolicy.days: before it, no theft alert
# ("learning this house"; a test checks)
MIN_HISTORY_DAYS = 31
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
# A new model version is made current only if it loses no more than this on the fixed check set
# (ROC-AUC, and recall at its threshold): a local retrain and a model from the cloud alike.
MAX_AUC_LOSS = 0.005
MAX_RECALL_LOSS = 0.02


class EdgeModelError(PowerGwError):
    """Root of every error edge_model raises on purpose."""
