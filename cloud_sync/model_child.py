"""`python -m cloud_sync.model_child ROOT STAGED RULE [DB]`: add one verified cloud model to the registry.

Runs in a process of its own, started by `model_updates.run_child`: the check needs numpy,
onnxruntime, scikit-learn's metrics and the check set (238 MB resident here), and they go back to
the system when it ends instead of staying in the daemon. It loads STAGED/model.onnx with
onnxruntime and scores one row (a file it cannot score never enters the registry), adds it to the
registry at ROOT with STAGED/metadata.json, and promotes it by RULE:

- "check_set": `edge_model.pipeline.promote_if_no_regression`, the check a local retrain passes
  (the fixed check set rebuilt from the simulator, and the household's own Ignore/Raise examples,
  read from the theft tables of the gateway's database DB, opened read-only);
- "recorded": `model_updates.recorded_comparison`, the same tolerances on the figures the two
  models' metadata record (for a gateway without the memory for the full check).

Prints one JSON line: {"version", "promoted", "rule", "comparison"} or {"refused": reason}.
Besides runtime.py this is the only module of cloud_sync that imports edge_model.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import suppress
from pathlib import Path

from .model_updates import CHECK_SET_RULE, METADATA_FILE, MODEL_FILE, RECORDED_RULE, recorded_comparison


def main(argv: list[str]) -> int:
    root, staged, rule = Path(argv[0]), Path(argv[1]), argv[2]
    db = Path(argv[3]) if len(argv) > 3 else None
    if rule not in (CHECK_SET_RULE, RECORDED_RULE):
        print(f"unknown rule {rule!r}", file=sys.stderr)
        return 2
    with suppress(OSError):  # where renicing is refused the check runs at the same priority
        os.nice(10)  # the daemon's ingest comes first
    import numpy as np

    from edge_model.features import N_FEATURES
    from edge_model.registry import ModelRegistry
    from edge_model.scoring import Scorer

    try:
        Scorer(staged).score(np.zeros((1, N_FEATURES)))
    except Exception as err:  # EdgeModelError, or onnxruntime's own untyped errors (a wrong input width)
        return _answer({"refused": f"onnxruntime cannot score it: {str(err)[:300]}"})
    registry = ModelRegistry(root)
    metadata = json.loads((staged / METADATA_FILE).read_text())
    version = registry.add((staged / MODEL_FILE).read_bytes(), metadata)
    if rule == CHECK_SET_RULE:
        from edge_model.pipeline import CheckSet, promote_if_no_regression

        promoted, comparison = promote_if_no_regression(registry, version, CheckSet(), _household_examples(db))
    else:
        current = registry.metadata()  # what scores now: the current version, or the shipped model
        comparison = recorded_comparison(metadata, current, str(current.get("version") or "shipped"))
        promoted = comparison["promoted"]
        if promoted:
            registry.promote(version)
    return _answer({"version": version, "promoted": bool(promoted), "rule": rule, "comparison": comparison})


def _household_examples(db: Path | None):
    """The household's labelled examples (None without any, or without a database)."""
    if db is None:
        return None
    from edge_model.feedback import household_examples
    from edge_model.feedback_store import FeedbackTables
    from gateway.store import connect

    conn = connect(db, readonly=True)
    try:
        return household_examples(FeedbackTables(conn))
    finally:
        conn.close()


def _answer(answer: dict) -> int:
    print(json.dumps(answer, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
