"""Theft models from the cloud into the gateway's model registry: what an announcement must carry,
and the steps from a verified download to the model the theft job scores with.

The cloud announces a model (`model_published`) with the registry's own metadata.json. The
gateway refuses it before downloading anything when that metadata lacks what the registry and
the promotion need or was computed on other features; otherwise the Syncer downloads the bytes
and checks them against the announced SHA-256, and a child process (`cloud_sync.model_child`)
loads them with onnxruntime, adds them to the registry as a new version and makes it current only
if it does not regress. Only edge_model's light package constants are imported here: the registry
and the features version are given by runtime.py, and the heavy work happens in the child.
"""

from __future__ import annotations

import json
import logging
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# The registry's file names and promotion tolerances; importing the edge_model package itself
# loads neither numpy nor onnxruntime.
from edge_model import MAX_AUC_LOSS, MAX_RECALL_LOSS, METADATA_FILE, MODEL_FILE  # noqa: F401 - file names re-exported for model_child
from gateway.host import available_memory_mb as available_mb

from . import MetadataError, ModelRejected, SyncError

log = logging.getLogger(__name__)

MAX_METADATA_BYTES = 64 << 10
# The full check peaked at 238 MB resident in its child process here (numpy, onnxruntime,
# scikit-learn's metrics, the check set, one model at a time); with less memory available than
# this the figures recorded in the metadata decide instead.
CHECK_MIN_AVAILABLE_MB = 320
CHILD_TIMEOUT_S = 600
CHECK_SET_RULE = "check_set"  # edge_model.pipeline.promote_if_no_regression, run in the child
RECORDED_RULE = "recorded"  # the same comparison on the figures the two models' metadata record

_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# ---- pure: the announcement and its metadata ----------------------------------------------------


@dataclass(frozen=True)
class Announcement:
    """A `model_published` change: the cloud's name for the model, its SHA-256, where to fetch it, its metadata."""

    version: str
    sha256: str
    path: str
    metadata: dict


def _fraction(value: Any, field: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
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


def parse_announcement(info: Any) -> Announcement:
    """A `model_published` change's data -> Announcement; ModelRejected saying what is wrong otherwise."""
    if not isinstance(info, dict):
        raise ModelRejected(f"model announcement {info!r:.200}: expected an object")
    version, digest, path = info.get("version"), info.get("sha256"), info.get("path")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise ModelRejected(f"model announcement {info!r:.200}: bad version")
    if (
        not isinstance(digest, str)
        or not _SHA256.fullmatch(digest)
        or not isinstance(path, str)
        or not path.startswith("/")
    ):
        raise ModelRejected(f"model {version}: the announcement has no valid sha256 or path")
    if "metadata" not in info:
        raise ModelRejected(
            f"model {version}: the announcement carries no metadata (features_version, threshold, "
            "check-set figures); publish it again with its metadata.json"
        )
    try:
        metadata = parse_metadata(info["metadata"])
    except MetadataError as err:
        raise ModelRejected(f"model {version}: {err}; not used") from err
    return Announcement(version, digest, path, metadata)


def _figures(metadata: dict) -> dict | None:
    metrics = metadata.get("metrics")
    figures = metrics.get("check_set") if isinstance(metrics, dict) else None
    if not isinstance(figures, dict) or not all(
        isinstance(figures.get(k), (int, float)) for k in ("roc_auc", "recall_at_threshold")
    ):
        return None
    return figures


def _check_set_size(metadata: dict) -> tuple | None:
    size = metadata.get("check_set")
    return (size.get("households"), size.get("days")) if isinstance(size, dict) else None


def recorded_comparison(candidate: dict, current: dict, current_version: str) -> dict:
    """The promotion check of a local retrain (no more than MAX_AUC_LOSS of ROC-AUC and
    MAX_RECALL_LOSS of recall lost on the fixed check set), on the figures the two models'
    metadata record instead of a fresh measurement. Only like with like: figures on another
    check set, or none at all, promote nothing."""
    new, old = _figures(candidate), _figures(current)
    comparison: dict[str, Any] = {"candidate": new, "current": old, "current_version": current_version}
    if new is None or old is None:
        comparison.update(
            promoted=False, reason=f"{'it' if new is None else current_version} records no check-set figures to compare"
        )
    elif _check_set_size(candidate) != _check_set_size(current):
        comparison.update(
            promoted=False,
            reason=f"its figures are on another check set than those of {current_version} "
            f"({_check_set_size(candidate)} against {_check_set_size(current)})",
        )
    else:
        comparison["promoted"] = (
            new["roc_auc"] >= old["roc_auc"] - MAX_AUC_LOSS
            and new["recall_at_threshold"] >= old["recall_at_threshold"] - MAX_RECALL_LOSS
        )
    return comparison


def describe(name: str, answer: dict) -> str:
    """One line for the inbox, the log and `sync status`: where the model went and why."""
    version, rule, c = answer["version"], answer["rule"], answer["comparison"]
    how = "measured here" if rule == CHECK_SET_RULE else "as their metadata record them"
    if c.get("reason"):
        why = c["reason"]
    else:
        new, old = c["candidate"], c["current"]
        why = (
            f"check-set ROC-AUC {new['roc_auc']:.4f} against {old['roc_auc']:.4f} of {c['current_version']}, "
            f"recall {new['recall_at_threshold']:.3f} against {old['recall_at_threshold']:.3f}, {how}"
        )
        fb = c.get("feedback_accuracy")
        if fb:
            why += f"; accuracy on the household's own labels {fb['candidate']:.3f} against {fb['current']:.3f}"
    if answer["promoted"]:
        return f"model {name} added as {version} and made current ({why})"
    return (
        f"model {name} added as {version}, not made current: it does worse than {c['current_version']} ({why}); "
        f"`powergw model rollback --to {version}` would use it anyway"
    )


# ---- adapters: memory, the child process --------------------------------------------------------


def run_child(root: Path, staged: Path, rule: str, db: Path | None = None, timeout_s: float = CHILD_TIMEOUT_S) -> dict:
    """Run `cloud_sync.model_child` in a fresh interpreter and return its JSON answer (`db`: the
    gateway's database, whose theft examples the check compares on); SyncError when it fails, is
    killed or runs past `timeout_s`."""
    cmd = [sys.executable, "-m", "cloud_sync.model_child", str(root), str(staged), rule, *([str(db)] if db else [])]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as err:
        raise SyncError(f"the model check did not finish in {timeout_s:.0f} s") from err
    except OSError as err:
        raise SyncError(f"the model check could not start: {err}") from err
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SyncError(f"the model check failed (exit status {done.returncode}): {last[:300]}")
    try:
        answer = json.loads(lines[-1])
    except ValueError as err:
        raise SyncError(f"the model check answered {lines[-1][:200]!r}, not JSON") from err
    if not isinstance(answer, dict):
        raise SyncError(f"the model check answered {answer!r:.200}")
    return answer


# ---- the installer ------------------------------------------------------------------------------


class Registry(Protocol):
    """What the installer reads of edge_model.registry.ModelRegistry (the child does the writing)."""

    root: Path

    def versions(self) -> list[str]: ...

    def metadata(self, version: str | None = None) -> dict: ...


@dataclass(frozen=True)
class Installed:
    """An accepted model: one line saying what became of it, and what the inbox row records."""

    detail: str
    record: dict


Fetch = Callable[[str, str], bytes]  # (path, sha256) -> the bytes, verified; ChecksumError otherwise


class ModelInstaller:
    """Puts verified cloud models into the gateway's one model registry (next to its database)."""

    def __init__(
        self,
        registry: Registry,
        features_version: int,
        *,
        child: Callable[[Path, Path, str, Path | None], dict] = run_child,
        memory_mb: Callable[[], float | None] = available_mb,
        min_check_mb: float = CHECK_MIN_AVAILABLE_MB,
        legacy_dir: Path | None = None,
        db: Path | None = None,
    ):
        self.registry = registry
        self.features_version = features_version
        self.child = child
        self.memory_mb = memory_mb
        self.min_check_mb = min_check_mb
        self.legacy_dir = legacy_dir
        self.db = db  # the gateway's database: the household's own examples for the check

    @property
    def root(self) -> Path:
        return Path(self.registry.root)

    def find(self, name: str, sha256: str) -> str | None:
        """The registry version that came from this cloud model (same name and bytes), if any."""
        for version in self.registry.versions():
            try:
                cloud = self.registry.metadata(version).get("cloud")
            except (OSError, ValueError, AttributeError):
                continue  # a version being written, or not ours to judge
            if isinstance(cloud, dict) and cloud.get("version") == name and cloud.get("sha256") == sha256:
                return version
        return None

    def rule(self) -> str:
        available = self.memory_mb()
        return CHECK_SET_RULE if available is None or available >= self.min_check_mb else RECORDED_RULE

    def install(self, seq: int, info: dict, fetch: Fetch) -> Installed:
        """Check the announcement, fetch the bytes if the registry lacks them, and let the child
        add and (by the rule) promote them. ModelRejected when the gateway will not use it."""
        ann = parse_announcement(info)
        trained_on = ann.metadata["features_version"]
        if trained_on != self.features_version:
            raise ModelRejected(
                f"model {ann.version} was trained on features v{trained_on}, this gateway computes "
                f"v{self.features_version}; not used"
            )
        existing = self.find(ann.version, ann.sha256)
        if existing is not None:
            # Left as it is, current or not: a repeat must not undo `powergw model rollback`.
            return Installed(
                f"model {ann.version} is already in the registry as {existing}; not added again",
                {"registry_version": existing},
            )
        self._warn_legacy_dir()
        data = fetch(ann.path, ann.sha256)
        rule = self.rule()
        origin = {"version": ann.version, "sha256": ann.sha256, "seq": seq}
        with tempfile.TemporaryDirectory(prefix="powergw-model-") as tmp:
            staged = Path(tmp)
            (staged / MODEL_FILE).write_bytes(data)
            (staged / METADATA_FILE).write_text(json.dumps({**ann.metadata, "cloud": origin}, indent=2, sort_keys=True))
            try:
                answer = self.child(self.root, staged, rule, self.db)
            except SyncError as err:
                added = self.find(ann.version, ann.sha256)
                if added is None:
                    raise ModelRejected(f"model {ann.version}: {err}; not used") from err
                return Installed(
                    f"model {ann.version} added as {added}, not made current: {err}",
                    {"registry_version": added, "promoted": False, "rule": rule},
                )
        if "refused" in answer:
            raise ModelRejected(f"model {ann.version}: {answer['refused']}; not used")
        return Installed(
            describe(ann.version, answer),
            {"registry_version": answer["version"], "promoted": bool(answer["promoted"]), "rule": rule},
        )

    def _warn_legacy_dir(self) -> None:
        if self.legacy_dir is not None and _resolved(self.legacy_dir) != _resolved(self.root):
            log.warning(
                "[cloud] models_dir = %s is no longer used: theft models from the cloud go to the model "
                "registry beside the database, %s",
                self.legacy_dir,
                self.root,
            )


def _resolved(path: Path) -> Path:
    return Path(path).expanduser().resolve()
