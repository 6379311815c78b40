"""Score feature rows with onnxruntime alone: the daemon's path never imports scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_model import METADATA_FILE, MODEL_FILE, EdgeModelError  # noqa: F401 - the file names are re-exported
from edge_model.features import FEATURES_VERSION, as_model_input


class Scorer:
    """One loaded model version: theft probability per feature row."""

    def __init__(self, model_dir: Path, threads: int = 1):
        model_dir = Path(model_dir)
        try:
            self.metadata = json.loads((model_dir / METADATA_FILE).read_text())
        except (OSError, ValueError) as err:
            raise EdgeModelError(f"model {model_dir}: unreadable {METADATA_FILE}: {err}") from err
        version = self.metadata.get("features_version")
        if version != FEATURES_VERSION:
            raise EdgeModelError(
                f"model {model_dir} was trained on features v{version}, this gateway computes v{FEATURES_VERSION}; "
                "retrain with `powergw model train` or roll back"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise EdgeModelError(f"model {model_dir}: onnxruntime cannot load it: {err}") from err
        self.model_dir = model_dir
        self.threshold = float(self.metadata["threshold"])
        self.version = str(self.metadata.get("version", model_dir.name))

    def score(self, rows: np.ndarray) -> np.ndarray:
        """float64 theft probabilities for float64 feature rows."""
        if len(rows) == 0:
            return np.zeros(0)
        _, probabilities = self.session.run(None, {"features": as_model_input(rows)})
        return probabilities[:, 1].astype(np.float64)
