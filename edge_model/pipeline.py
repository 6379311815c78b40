"""Train, check, version and promote: the steps behind `powergw model train` and `retrain`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_model import MAX_AUC_LOSS, MAX_RECALL_LOSS
from edge_model.dataset import CHECK_SEEDS, DatasetSpec, Examples, training_examples
from edge_model.features import FEATURE_NAMES, FEATURES_VERSION, as_model_input
from edge_model.registry import ModelRegistry
from edge_model.scoring import Scorer
from edge_model.training import ForestParams, fit_and_export, library_versions, parity_check

log = logging.getLogger(__name__)

TARGET_WINDOW_FPR = 0.02  # the global threshold: 2 % of normal windows score above it; persistence does the rest
# Promotion: the candidate may not lose more than this on the fixed check set.


@dataclass(frozen=True)
class CheckSet:
    """The fixed check set: simulated houses of the wide family no model ever trains on, each clean and tapped."""

    households: int = 16
    days: int = 120

    def examples(self) -> Examples:
        """Its rows: kept by this CheckSet after the first call, and on disk (`check_set_cache_dir`) so
        that a retrain, a cloud model's check and the next run do not simulate 16 houses again (most
        of a check's time: about a minute here, several on a Pi)."""
        held = self.__dict__.get("_held")
        if held is None:
            held = _cached(self) or _store(
                self,
                training_examples(
                    DatasetSpec(first_seed=CHECK_SEEDS, households=self.households, days=self.days, clean_share=1.0)
                ),
            )
            object.__setattr__(self, "_held", held)
        return held


# What shapes the check set's rows: a change to any of these files makes the cache another file.
_ROW_SOURCES = (
    "edge_model/series.py",
    "edge_model/lifts.py",
    "edge_model/pulses.py",
    "edge_model/features.py",
    "edge_model/taps.py",
    "edge_model/dataset.py",
    "gateway/simulation",
    "gateway/public_holidays.py",
    "gateway/data/holiday_overrides.toml",
)


def check_set_cache_dir(environ=None) -> Path:
    """$POWERGW_DATA_DIR/cache (the service's one writable directory on a Pi), else
    $XDG_CACHE_HOME/powergw, else ~/.cache/powergw."""
    environ = os.environ if environ is None else environ
    if environ.get("POWERGW_DATA_DIR"):
        return Path(environ["POWERGW_DATA_DIR"]) / "cache"
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "powergw"


def _cache_file(check: CheckSet) -> Path:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"v{FEATURES_VERSION} {check.households}x{check.days} {CHECK_SEEDS}".encode())
    for name in _ROW_SOURCES:
        path = root / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if f.is_file():
                digest.update(f.read_bytes())
    return (
        check_set_cache_dir()
        / f"check-set-v{FEATURES_VERSION}-{check.households}x{check.days}-{digest.hexdigest()[:16]}.npz"
    )


def _cached(check: CheckSet) -> Examples | None:
    path = _cache_file(check)
    try:
        with np.load(path, allow_pickle=False) as f:
            return Examples(f["X"], f["y"], f["weight"], f["group"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as err:  # a damaged file: simulate again and rewrite it
        log.warning("check set cache %s cannot be read (%s); simulating it again", path, err)
        return None


def _store(check: CheckSet, held: Examples) -> Examples:
    """Write the rows for the next run (atomically; the same set made by older code goes); a
    directory that cannot be written costs only the time."""
    path = _cache_file(check)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "wb") as f:
                np.savez(f, X=held.X, y=held.y, weight=held.weight, group=held.group)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.npz"):  # the same set made by older code
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as err:
        log.info("check set not cached in %s: %s", path.parent, err)
    return held


def check_metrics(probabilities: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    flagged = probabilities >= threshold
    return {
        "roc_auc": float(roc_auc_score(y, probabilities)),
        "pr_auc": float(average_precision_score(y, probabilities)),
        "recall_at_threshold": float(flagged[y == 1].mean()),
        "window_fpr_at_threshold": float(flagged[y == 0].mean()),
    }


def train_model(
    spec: DatasetSpec,
    params: ForestParams,
    check: CheckSet,
    extra: Examples | None = None,
    progress: bool = True,
) -> tuple[bytes, dict]:
    """Train on simulated data (+ feedback examples), export, parity-check and pick the threshold on the check set."""
    data = training_examples(spec, progress=progress)
    if extra is not None and len(extra):
        data = Examples(
            np.concatenate([data.X, as_model_input(extra.X)]),
            np.concatenate([data.y, extra.y]),
            np.concatenate([data.weight, extra.weight]),
            np.concatenate([data.group, extra.group]),
        )
    holder = [data]
    del data  # fit_and_export frees the rows before the export
    forest, onnx_bytes, summary = fit_and_export(holder, params, progress)
    held = check.examples()
    parity = parity_check(forest, onnx_bytes, held.X)
    if parity["label_agreement"] < 1.0 or parity["max_abs_dp"] > 1e-6:
        from edge_model import EdgeModelError

        raise EdgeModelError(f"ONNX export does not score like the forest: {parity}")
    p = forest.predict_proba(as_model_input(held.X))[:, 1]
    threshold = float(np.quantile(p[held.y == 0], 1 - TARGET_WINDOW_FPR))
    summary["feedback_rows"] = int(len(extra)) if extra is not None else 0
    metadata = {
        "features_version": FEATURES_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold": threshold,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": spec.to_dict(),
        "check_set": {"households": check.households, "days": check.days, "rows": int(len(held))},
        "training": summary,
        "metrics": {"check_set": check_metrics(p, held.y, threshold), "parity": parity},
        "libraries": library_versions(),
    }
    return onnx_bytes, metadata


def check_model(model_dir, check: CheckSet, held: Examples | None = None) -> dict:
    """Score the check set with onnxruntime, the way the daemon would."""
    scorer = Scorer(model_dir)
    held = held if held is not None else check.examples()
    return check_metrics(scorer.score(held.X), held.y, scorer.threshold)


def promote_if_no_regression(
    registry: ModelRegistry, version: str, check: CheckSet, feedback: Examples | None = None
) -> tuple[bool, dict]:
    """Promote `version` unless it is worse than the current model on the fixed check set
    (or on the household's own labels)."""
    held = check.examples()
    new = check_model(registry.root / version, check, held)
    in_use = registry.load_current()[0].model_dir  # the shipped model while the current one cannot be loaded
    old = check_model(in_use, check, held)
    comparison = {"candidate": new, "current": old, "current_version": registry.current() or "shipped"}
    ok = (
        new["roc_auc"] >= old["roc_auc"] - MAX_AUC_LOSS
        and new["recall_at_threshold"] >= old["recall_at_threshold"] - MAX_RECALL_LOSS
    )
    if feedback is not None and len(feedback):
        new_fb = _feedback_accuracy(registry.root / version, feedback)
        old_fb = _feedback_accuracy(in_use, feedback)
        comparison["feedback_accuracy"] = {"candidate": new_fb, "current": old_fb}
        ok = ok and new_fb >= old_fb
    if ok:
        registry.promote(version)
    comparison["promoted"] = ok
    return ok, comparison


def _feedback_accuracy(model_dir, feedback: Examples) -> float:
    scorer = Scorer(model_dir)
    predicted = scorer.score(feedback.X) >= scorer.threshold
    return float(np.average(predicted == (feedback.y == 1), weights=feedback.weight))
