"""Train the Random Forest, export it to ONNX and prove the export scores like the original.

This is the only module that imports scikit-learn and skl2onnx; the daemon never loads it.
"""

from __future__ import annotations

import gc
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from edge_model import EdgeModelError
from edge_model.features import FEATURE_NAMES, FEATURES_VERSION, N_FEATURES, as_model_input


@dataclass(frozen=True)
class ForestParams:
    """Sized so the ONNX file stays a few MB and a Pi can score a day in milliseconds."""

    n_trees: int = 60
    max_depth: int = 14
    min_samples_leaf: int = 20
    max_features: float = 0.35
    seed: int = 0
    n_jobs: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


def train_forest(X: np.ndarray, y: np.ndarray, weight: np.ndarray, params: ForestParams, progress: bool = True):
    """Fit a RandomForestClassifier on float32-cast rows, growing trees in steps behind a progress bar."""
    from sklearn.ensemble import RandomForestClassifier
    from tqdm import tqdm

    if len(np.unique(y)) < 2:
        raise EdgeModelError("training needs both theft and normal examples")
    forest = RandomForestClassifier(
        n_estimators=0,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        max_features=params.max_features,
        random_state=params.seed,
        n_jobs=params.n_jobs,
        warm_start=True,
    )
    X32 = as_model_input(X)
    step = max(1, params.n_trees // 20)
    with tqdm(total=params.n_trees, desc="training trees", unit="tree", disable=not progress) as bar:
        while forest.n_estimators < params.n_trees:
            forest.n_estimators = min(params.n_trees, forest.n_estimators + step)
            forest.fit(X32, y, sample_weight=weight)
            bar.update(forest.n_estimators - bar.n)
    return forest


def export_onnx(forest) -> bytes:
    """skl2onnx export: float32 input named "features", zipmap off so probabilities are a plain tensor."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = convert_sklearn(
        forest,
        initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
        options={id(forest): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    model.doc_string = f"powergw theft model, features v{FEATURES_VERSION}"
    return model.SerializeToString()


def parity_check(forest, onnx_bytes: bytes, X: np.ndarray) -> dict:
    """sklearn predict_proba against onnxruntime on the same float32 rows."""
    import onnxruntime as ort

    X32 = as_model_input(X)
    p_sk = forest.predict_proba(X32)[:, 1]
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"features": X32})
    p_ort = probabilities[:, 1].astype(np.float64)
    # A row whose probability is 0.5 give or take float32 rounding is a tie: sklearn and
    # onnxruntime may break it differently, and no alert depends on it (the decision uses our
    # own threshold on the probability, checked by max_abs_dp). Labels are compared elsewhere.
    decided = np.abs(p_sk - 0.5) > 1e-6
    same = labels.astype(np.int64) == forest.predict(X32)
    return {
        "rows": int(len(X32)),
        "label_agreement": float(np.mean(same[decided])) if decided.any() else 1.0,
        "max_abs_dp": float(np.max(np.abs(p_sk - p_ort))) if len(X32) else 0.0,
    }


def library_versions() -> dict:
    import onnxruntime
    import skl2onnx
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def fit_and_export(examples, params: ForestParams, progress: bool = True) -> tuple[object, bytes, dict]:
    """Train, export and time it; returns (forest, onnx bytes, training summary).

    `examples` is a one-item list holding the training `Examples`; it is emptied once the forest is
    grown, so the rows (84 MB for the shipped recipe) are freed before skl2onnx builds the graph, the
    peak of a training run (measured in docs/theft-detection.md).
    """
    data = examples.pop()
    t0 = time.perf_counter()
    forest = train_forest(data.X, data.y, data.weight, params, progress)
    train_s = time.perf_counter() - t0
    rows, theft_rows = len(data.y), int(np.sum(data.y == 1))
    del data
    gc.collect()
    onnx_bytes = export_onnx(forest)
    summary = {
        "rows": rows,
        "theft_rows": theft_rows,
        "features": list(FEATURE_NAMES),
        "forest": params.to_dict(),
        "train_seconds": round(train_s, 1),
        "onnx_bytes": len(onnx_bytes),
        "nodes": int(sum(tree.tree_.node_count for tree in forest.estimators_)),
    }
    return forest, onnx_bytes, summary
