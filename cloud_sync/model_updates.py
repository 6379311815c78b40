"""What a theft model published in the cloud must carry for a gateway to use it: the metadata the
reference API checks on upload (and the gateway again before it installs the model).
"""

from __future__ import annotations

import json
import math
from typing import Any

from . import MetadataError

MAX_METADATA_BYTES = 64 << 10


def _fraction(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise MetadataError(field, "expected a number from 0 to 1")
    return float(value)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MetadataError(field, "expected a whole number of at least 1")
    return value


def parse_metadata(value: Any) -> dict:
    """A published model's metadata.json, checked for what the gateway needs to use it: the
    features version and threshold the scorer reads, and the fixed check set's size and figures
    the promotion compares. Raises MetadataError naming the field."""
    if not isinstance(value, dict):
        raise MetadataError("metadata", "expected the model's metadata.json (a JSON object)")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise MetadataError("metadata", f"larger than {MAX_METADATA_BYTES} bytes")
    _count(value.get("features_version"), "metadata.features_version")
    _fraction(value.get("threshold"), "metadata.threshold")
    check_set = value.get("check_set")
    if not isinstance(check_set, dict):
        raise MetadataError("metadata.check_set", "expected the check set's size ({households, days})")
    for key in ("households", "days"):
        _count(check_set.get(key), f"metadata.check_set.{key}")
    metrics = value.get("metrics")
    figures = metrics.get("check_set") if isinstance(metrics, dict) else None
    if not isinstance(figures, dict):
        raise MetadataError("metadata.metrics.check_set", "expected the model's figures on the check set")
    for key in ("roc_auc", "recall_at_threshold"):
        _fraction(figures.get(key), f"metadata.metrics.check_set.{key}")
    names = value.get("feature_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise MetadataError("metadata.feature_names", "expected a list of feature names")
    return value
