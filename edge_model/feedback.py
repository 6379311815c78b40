"""Ignore and Raise: labelled examples for retraining and suppression rules.

Ignore = the alert's windows become normal examples (weight IGNORE_WEIGHT) and a scoped
SuppressionRule; Raise = they become theft examples with a high weight (RAISE_WEIGHT). The daemon
keeps both in the store's theft tables (edge_model.feedback_store); `store_examples` and
`household_examples` are the numpy side of those rows.
"""

from __future__ import annotations

import logging

import numpy as np

from edge_model import FEATURES_VERSION
from edge_model.dataset import Examples
from edge_model.features import N_FEATURES
from edge_model.feedback_store import FeedbackTables
from edge_model.ignore_rules import SuppressionRule, rule_from_alert
from edge_model.windows import Alert, Windows

log = logging.getLogger(__name__)

IGNORE_WEIGHT = 3.0
RAISE_WEIGHT = 10.0


def ignore(features: np.ndarray, w: Windows, alert: Alert, household: int = -1) -> tuple[Examples, SuppressionRule]:
    """The alert's windows as normal examples, and the rule that keeps that pattern quiet."""
    hits = np.asarray(alert.hits)
    examples = Examples(
        features[hits],
        np.zeros(len(hits), dtype=np.int64),
        np.full(len(hits), IGNORE_WEIGHT),
        np.full(len(hits), household),
    )
    return examples, rule_from_alert(w, alert)


def raise_theft(features: np.ndarray, alert: Alert, household: int = -1) -> Examples:
    """The alert's windows as theft examples with a high weight; the alert stays open."""
    hits = np.asarray(alert.hits)
    return Examples(
        features[hits],
        np.ones(len(hits), dtype=np.int64),
        np.full(len(hits), RAISE_WEIGHT),
        np.full(len(hits), household),
    )


def store_examples(tables: FeedbackTables, alert_id: int, examples: Examples, window_starts_s) -> int:
    """Add an answer's examples to the theft_examples table (float32 rows of this FEATURES_VERSION),
    each with its label and weight; returns how many."""
    rows = np.ascontiguousarray(examples.X, dtype="<f4")
    added = 0
    for label, weight in sorted({(int(y), float(wt)) for y, wt in zip(examples.y, examples.weight, strict=False)}):
        sel = (examples.y == label) & (examples.weight == weight)
        added += tables.add_examples(
            alert_id,
            label,
            weight,
            FEATURES_VERSION,
            (r.tobytes() for r in rows[sel]),
            [float(s) for s in np.asarray(window_starts_s)[sel]],
        )
    return added


def household_examples(tables: FeedbackTables, through_id: int | None = None) -> Examples | None:
    """The household's labelled examples that can train this gateway's model (with through_id, up
    to that row); None when there are none. Rows of another features version (computed before an
    upgrade) stay in the table unused."""
    rows, other = tables.examples(FEATURES_VERSION, N_FEATURES, through_id)
    if other:
        log.warning(
            "theft: %d feedback examples are of another features version than this gateway's (v%d); not used",
            other,
            FEATURES_VERSION,
        )
    if not rows:
        return None
    X = np.frombuffer(b"".join(r.features for r in rows), dtype="<f4").reshape(len(rows), N_FEATURES).astype(np.float32)
    return Examples(
        X, np.array([r.label for r in rows], dtype=np.int64), np.array([r.weight for r in rows]), np.full(len(rows), -1)
    )
