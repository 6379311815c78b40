"""Ignore and Raise: labelled examples for retraining and suppression rules, stored as plain files.

Ignore = the alert's windows become normal examples (weight IGNORE_WEIGHT) and a scoped
SuppressionRule; Raise = they become theft examples with a high weight (RAISE_WEIGHT).
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from edge_model.alerting import Alert, SuppressionRule, Windows, rule_from_alert
from edge_model.dataset import Examples
from edge_model.features import N_FEATURES

log = logging.getLogger(__name__)

IGNORE_WEIGHT = 3.0
RAISE_WEIGHT = 10.0


def ignore(features: np.ndarray, w: Windows, alert: Alert, household: int = -1) -> tuple[Examples, SuppressionRule]:
    """The alert's windows as normal examples, and the rule that keeps that pattern quiet."""
    hits = np.asarray(alert.hits)
    examples = Examples(features[hits], np.zeros(len(hits), dtype=np.int64), np.full(len(hits), IGNORE_WEIGHT), np.full(len(hits), household))
    return examples, rule_from_alert(w, alert)


def raise_theft(features: np.ndarray, alert: Alert, household: int = -1) -> Examples:
    """The alert's windows as theft examples with a high weight; the alert stays open."""
    hits = np.asarray(alert.hits)
    return Examples(features[hits], np.ones(len(hits), dtype=np.int64), np.full(len(hits), RAISE_WEIGHT), np.full(len(hits), household))


def merge(*parts: Examples | None) -> Examples | None:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return None
    return Examples(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("X", "y", "weight", "group")))


def save_examples(path: Path, examples: Examples, alert_id: int = -1) -> None:
    """Append to the household's feedback file (written atomically); rows of an older features version are replaced.

    alert_id tags the rows with the alert they came from (-1: none), so that a later change of mind
    about that alert can take them back (`forget_alert`).
    """
    path = Path(path)
    old = load_examples(path)
    old_ids = _alert_ids(path, len(old)) if old is not None else np.zeros(0, dtype=np.int64)
    combined = merge(old, examples)
    ids = np.concatenate([old_ids, np.full(len(examples), alert_id, dtype=np.int64)]) if len(examples) else old_ids
    _write(path, combined, ids)


def forget_alert(path: Path, alert_id: int) -> int:
    """Take back the rows an earlier action on `alert_id` stored (a Raise after an Ignore); returns how many."""
    path = Path(path)
    examples = load_examples(path)
    if examples is None:
        return 0
    ids = _alert_ids(path, len(examples))
    keep = ids != alert_id
    if keep.all():
        return 0
    _write(path, Examples(examples.X[keep], examples.y[keep], examples.weight[keep], examples.group[keep]), ids[keep])
    return int((~keep).sum())


def _alert_ids(path: Path, n: int) -> np.ndarray:
    """The alert each stored row came from; files written before the tag existed say -1 for every row."""
    with np.load(path) as data:
        ids = data["alert"] if "alert" in data.files else None
    return ids.astype(np.int64) if ids is not None and len(ids) == n else np.full(n, -1, dtype=np.int64)


def _write(path: Path, examples: Examples | None, alert_ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    if examples is None:
        examples = Examples(np.zeros((0, N_FEATURES)), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    np.savez(tmp, X=examples.X, y=examples.y, weight=examples.weight, group=examples.group, alert=alert_ids)
    os.replace(tmp, path)


def load_examples(path: Path) -> Examples | None:
    """The household's labelled examples; None when there are none for this gateway's features.

    Rows computed by an older features version (another width) cannot train today's model; they
    are left in the file, unused, and the household's next Ignore/Raise starts a new one.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            examples = Examples(data["X"], data["y"], data["weight"], data["group"])
        if len({len(examples.X), len(examples.y), len(examples.weight), len(examples.group)}) != 1:
            raise ValueError("its columns have different lengths")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        # A cut-off write or a damaged card: keep the file for whoever looks, and start a new one, so
        # that one bad file does not stop every later Ignore/Raise from being stored.
        aside = path.with_name(f"{path.stem}.unreadable-{int(time.time())}{path.suffix}")
        os.replace(path, aside)
        log.error("%s: unreadable feedback file (%s); moved to %s, the next Ignore/Raise starts a new one", path, err, aside.name)
        return None
    if examples.X.ndim != 2 or examples.X.shape[1] != N_FEATURES:
        log.warning("%s: feedback rows have %s features, this gateway computes %d; not used", path, examples.X.shape[1:], N_FEATURES)
        return None
    return examples


def save_rules(path: Path, rules: list[SuppressionRule]) -> None:
    Path(path).write_text(json.dumps([r.to_dict() for r in rules], indent=2))


def load_rules(path: Path, now_s: float | None = None) -> list[SuppressionRule]:
    """Rules from the file, dropping those expired at now_s."""
    path = Path(path)
    if not path.is_file():
        return []
    rules = [SuppressionRule.from_dict(row) for row in json.loads(path.read_text())]
    return [r for r in rules if now_s is None or r.expires_s > now_s]
