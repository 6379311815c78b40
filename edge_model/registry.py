"""Versioned model directories: add, promote, roll back; the shipped model is the fallback.

Layout under a registry root (by default under the gateway's data directory):
    v0001/model.onnx, v0001/metadata.json, ...   every version ever trained, never deleted here
    state.json                                   {"current": "v0003", "history": ["v0001", "v0003"]}
"current" is null while the shipped model scores (none promoted yet, or a rollback to "shipped").
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from edge_model import FEATURES_VERSION, METADATA_FILE, MODEL_FILE, EdgeModelError

log = logging.getLogger(__name__)

SHIPPED_MODEL_DIR = Path(__file__).parent / "models" / "shipped"
SHIPPED = "shipped"  # the name `rollback` and the history give the model shipped in the package
STATE_FILE = "state.json"


class ModelRegistry:
    """Model versions in one directory; `current_dir` falls back to the model shipped in the package."""

    def __init__(self, root: Path, shipped: Path = SHIPPED_MODEL_DIR):
        self.root = Path(root)
        self.shipped = Path(shipped)

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / MODEL_FILE).is_file())

    def _state(self) -> dict:
        """state.json; while it cannot be read (damaged on the SD card) there is no current version,
        so the shipped model scores, and a copy of the damaged file is kept (state.json.unreadable)."""
        path = self.root / STATE_FILE
        try:
            text = path.read_text()
        except FileNotFoundError:
            return {"current": None, "history": []}
        try:
            state = json.loads(text)
            if not isinstance(state, dict) or not isinstance(state.get("history", []), list):
                raise ValueError(f"a JSON object with a history list was expected, got {text[:60]!r}")
            return {"current": state.get("current"), "history": state.get("history", [])}
        except ValueError as err:
            kept = self.root / (STATE_FILE + ".unreadable")
            if not kept.exists():
                kept.write_text(text)
                log.warning(
                    "theft model registry %s: %s is unreadable (%s); the shipped model is used, the file is kept as %s",
                    self.root,
                    STATE_FILE,
                    err,
                    kept.name,
                )
            return {"current": None, "history": []}

    def _write_state(self, state: dict) -> None:
        tmp = self.root / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.root / STATE_FILE)

    def current(self) -> str | None:
        return self._state()["current"]

    def current_dir(self) -> Path:
        """The current version, or the shipped model while there is none or it was trained on other
        features (after an upgrade that bumped FEATURES_VERSION, until a retrain adds a new version)."""
        current = self.current()
        if current and self.metadata(current).get("features_version") == FEATURES_VERSION:
            return self.root / current
        return self.shipped

    def load_current(self):
        """(Scorer, problem): the current model and "", or, when it cannot be loaded (a file damaged
        on the SD card, a metadata file cut off), the shipped model and why, so that theft detection
        goes on and a retrain is compared with the model really in use. The shipped model itself
        failing is an error."""
        from edge_model.scoring import Scorer

        try:
            return Scorer(self.current_dir()), ""
        except (EdgeModelError, OSError, ValueError) as err:
            current = self.current()
            if current is None:
                raise
            log.warning(
                "the current theft model %s cannot be loaded (%s); the shipped model is used until a retrain "
                "or `powergw model rollback`",
                current,
                err,
            )
            return Scorer(self.shipped), f"model {current} cannot be loaded, using the shipped model; see the log"

    def metadata(self, version: str | None = None) -> dict:
        path = (self.root / version if version else self.current_dir()) / METADATA_FILE
        return json.loads(path.read_text())

    def add(self, onnx_bytes: bytes, metadata: dict) -> str:
        """Store a new version (not yet promoted) and return its name."""
        self.root.mkdir(parents=True, exist_ok=True)
        existing = self.versions()
        number = int(existing[-1][1:]) + 1 if existing else 1
        version = f"v{number:04d}"
        path = self.root / version
        path.mkdir()
        (path / MODEL_FILE).write_bytes(onnx_bytes)
        (path / METADATA_FILE).write_text(json.dumps({**metadata, "version": version}, indent=2, sort_keys=True))
        return version

    def promote(self, version: str) -> None:
        if version not in self.versions():
            raise EdgeModelError(f"no model version {version!r} in {self.root}; have {self.versions()}")
        state = self._state()
        state["current"] = version
        state["history"] = [*state["history"], version]
        self._write_state(state)

    def rollback(self, version: str | None = None) -> str:
        """Make `version` (default: the one promoted before the current) current again; returns it.
        SHIPPED ("shipped") makes the model shipped in the package score: no version is current."""
        state = self._state()
        history = state["history"]
        if version is None:
            earlier = [v for v in history[:-1] if v != (state["current"] or SHIPPED)]
            if not earlier:
                raise EdgeModelError(
                    f"nothing to roll back to in {self.root}: history {history}; "
                    f"`--to {SHIPPED}` makes the shipped model current"
                )
            version = earlier[-1]
        if version != SHIPPED and version not in self.versions():
            raise EdgeModelError(f"no model version {version!r} in {self.root}; have {[*self.versions(), SHIPPED]}")
        self.root.mkdir(parents=True, exist_ok=True)
        state["current"] = None if version == SHIPPED else version
        state["history"] = [*history, version]
        self._write_state(state)
        return version


def model_in_use(root: Path) -> dict:
    """The model the scorer would load now from the registry at `root`: its version, source ("registry" or
    "shipped") and trained_at; ValueError naming the version and the fault when it cannot be read."""
    registry = ModelRegistry(root)
    current = registry.current()
    try:
        model_dir = registry.current_dir()
        meta = registry.metadata()
    except (OSError, ValueError) as err:
        where = f"version {current} in {root}" if current else f"shipped with the package ({registry.shipped})"
        also = "; the daemon scores with the shipped model meanwhile" if current else ""
        raise ValueError(f"theft model {where} is unreadable: {err}{also}") from err
    # The current version of other features is not used: the shipped model scores until a retrain.
    source = "registry" if model_dir != registry.shipped else "shipped"
    version = str(meta.get("version") or (current if source == "registry" else "shipped"))
    return {"version": version, "source": source, "trained_at": meta.get("trained_at")}
