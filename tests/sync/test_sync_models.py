"""Theft models from the cloud reach the theft detector: the reference API on waitress (127.0.0.1)
publishes a copy of the shipped model with its metadata, and a gateway with a real SQLite file
pulls it into its real model registry (beside the database), where `edge_model.scoring.Scorer`
and the daemon's theft job load it. The promotion check runs in its real child process."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
import requests

from cloud_sync import MetadataError, ModelRejected, model_updates
from cloud_sync.jobs import sync_round
from cloud_sync.model_updates import ModelInstaller, parse_announcement, parse_metadata, recorded_comparison
from cloud_sync.outbox import SyncState
from cloud_sync.runtime import build_syncer, registry_root
from cloud_sync.settings import CloudSection
from edge_model import FEATURES_VERSION
from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
from gateway import cli
from gateway.alerts import AlertStore
from gateway.app import JobContext, open_store
from gateway.config import parse_config
from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, ThreadServer
from tests.support.ingest import stand_in_writer

ADMIN = "adm"
ONNX = (SHIPPED_MODEL_DIR / "model.onnx").read_bytes()
METADATA = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())


@pytest.fixture
def cloud(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    server = ThreadServer(create_app(store, ServerSettings(admin_token=ADMIN)))  # the default body limits
    server.store = store
    server.household_id, server.code = store.add_household("Pillai")
    yield server
    server.close()
    store.close()


@pytest.fixture
def gw(tmp_path, cloud):
    """A registered gateway database in its own directory; its registry is `models` beside it."""
    db = tmp_path / "gw" / "powergw.db"
    db.parent.mkdir()
    store = open_store(db)
    assert cli.main(["cloud", "register", "--db", str(db), "--url", cloud.url, "--code", cloud.code]) == 0
    store.root = db.parent / "models"
    yield store
    store.close()


def publish(cloud, name, model=ONNX, metadata=METADATA):
    r = requests.put(
        f"{cloud.upload_url}/v1/admin/models/{name}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        files={"model": ("model.onnx", model), "metadata": ("metadata.json", json.dumps(metadata))},
    )
    assert r.status_code == 201, r.text
    return r.json()


def syncer(gw, **kw):
    return build_syncer(gw.conn, kw.pop("section", CloudSection()), clock_ms=FakeClock(), **kw)


def inbox(gw):
    return gw.conn.execute(
        "SELECT seq, status, detail, data FROM sync_inbox WHERE type = 'model_published' ORDER BY seq"
    ).fetchall()


def local_model(root: Path) -> str:
    """A model this gateway trained itself (a copy of the shipped one), promoted."""
    registry = ModelRegistry(root)
    version = registry.add(ONNX, {**METADATA, "trained_at": "locally"})
    registry.promote(version)
    return version


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def feature_rows():
    from edge_model.pipeline import CheckSet

    return CheckSet(households=1, days=35).examples().X  # a real simulated household's hours


def rejected_alerts(gw):
    return [a for a in AlertStore(gw).list(limit=100) if a["kind"] == "model_rejected"]


# ---- the model reaches the registry, the scorer and the theft job -------------------------------------


def test_a_published_model_becomes_the_current_version_and_scores_while_ingest_keeps_writing(gw, cloud):
    from edge_model.scoring import Scorer

    info = publish(cloud, "2025-06")
    with stand_in_writer(gw.path) as latencies:
        sync = syncer(gw)
        result = sync.run_once()
    assert result.pulled == 1 and not result.errors
    # The download and the check ran outside any transaction: ingest never waited for them (~2 s).
    assert len(latencies) > 50 and max(latencies) < 1.0

    registry = ModelRegistry(gw.root)
    assert registry.versions() == ["v0001"] and registry.current() == "v0001"
    meta = registry.metadata("v0001")
    assert meta["cloud"] == {"version": "2025-06", "sha256": info["sha256"], "seq": 1}
    assert meta["features_version"] == FEATURES_VERSION and meta["threshold"] == METADATA["threshold"]
    [(seq, status, detail, data)] = inbox(gw)
    assert (
        status == "applied"
        and detail.startswith("model 2025-06 added as v0001 and made current")
        and "measured here" in detail
    )
    assert json.loads(data)["registry_version"] == "v0001" and json.loads(data)["rule"] == "check_set"

    scorer = Scorer(registry.current_dir())
    rows = feature_rows()
    assert scorer.version == "v0001" and scorer.threshold == METADATA["threshold"]
    assert (scorer.score(rows) == Scorer(SHIPPED_MODEL_DIR).score(rows)).all()  # the very bytes published
    assert sync.status()["last_model"] == {
        "seq": 1,
        "version": "2025-06",
        "registry_version": "v0001",
        "status": "applied",
        "detail": detail,
    }


def test_the_daemon_jobs_put_it_where_the_theft_job_scores_from(gw, cloud, capsys):
    from edge_model.store_job import STATUS_KEY, score_job
    from edge_model.store_job import registry_root as theft_registry_root

    publish(cloud, "2025-06")
    ctx = JobContext(store=gw, config=parse_config({"gateway": {"db": str(gw.path)}}), now_ms=FakeClock(), extras={})
    sync_round(ctx)
    assert registry_root(gw.conn) == theft_registry_root(ctx) == gw.root
    score_job(ctx)  # the hourly theft job, as the daemon runs it
    assert json.loads(gw.get_meta(STATUS_KEY))["model"] == "v0001"
    assert cli.main(["sync", "status", "--db", str(gw.path)]) == 0
    out = capsys.readouterr().out
    assert (
        f"theft models:   {gw.root}" in out and "last model:     2025-06 (applied): model 2025-06 added as v0001" in out
    )


# ---- refused: nothing changes in the registry ---------------------------------------------------------


def test_a_model_trained_on_other_features_is_rejected_and_the_registry_is_untouched(gw, cloud):
    local_model(gw.root)
    before = snapshot(gw.root)
    publish(cloud, "old-features", metadata={**METADATA, "features_version": FEATURES_VERSION - 1})
    assert syncer(gw).run_once().pulled == 1
    [(seq, status, detail, _)] = inbox(gw)
    assert status == "rejected"
    assert (
        detail == f"model old-features was trained on features v{FEATURES_VERSION - 1}, "
        f"this gateway computes v{FEATURES_VERSION}; not used"
    )
    assert snapshot(gw.root) == before
    assert [(a["severity"], a["dedup_key"]) for a in rejected_alerts(gw)] == [("warning", f"cloud_sync:model:{seq}")]


def test_a_model_whose_checksum_is_not_the_announced_one_is_rejected_and_the_registry_is_untouched(gw, cloud):
    local_model(gw.root)
    before = snapshot(gw.root)
    publish(cloud, "2025-06")
    with cloud.store.tx() as tx:  # an announcement whose checksum does not match the file
        data = json.loads(tx.one("SELECT data FROM changes WHERE type = 'model_published'")[0])
        tx.execute(
            "UPDATE changes SET data = ?", (json.dumps({**data, "sha256": hashlib.sha256(b"other").hexdigest()}),)
        )
    assert syncer(gw).run_once().pulled == 1
    [(_, status, detail, _)] = inbox(gw)
    assert status == "rejected" and "SHA-256" in detail and "not used" in detail
    assert snapshot(gw.root) == before and len(rejected_alerts(gw)) == 1


def test_a_file_onnxruntime_cannot_score_is_rejected_before_it_enters_the_registry(gw, cloud):
    local_model(gw.root)
    before = snapshot(gw.root)
    publish(cloud, "garbage", model=b"these are not the model's bytes")
    syncer(gw).run_once()
    [(_, status, detail, _)] = inbox(gw)
    assert status == "rejected" and detail.startswith("model garbage: onnxruntime cannot score it")
    assert snapshot(gw.root) == before


# ---- once, and rollback still works --------------------------------------------------------------------


def test_a_repeated_pull_or_announcement_does_not_add_the_model_twice(gw, cloud):
    publish(cloud, "2025-06")
    sync = syncer(gw)
    sync.run_once()
    after = snapshot(gw.root)
    SyncState(gw.conn).set("cursor", 0)  # a lost cursor: the same change comes again
    assert sync.run_once().pulled == 1
    assert snapshot(gw.root) == after and len(inbox(gw)) == 1
    with cloud.store.tx() as tx:  # the same model announced again (another seq, e.g. after re-registering)
        tx.execute(
            "INSERT INTO changes (household_id, type, data, created_ms) "
            "SELECT household_id, type, data, created_ms FROM changes WHERE type = 'model_published'"
        )
    sync.run_once()
    assert snapshot(gw.root) == after
    assert [(status, detail) for _, status, detail, _ in inbox(gw)][1] == (
        "applied",
        "model 2025-06 is already in the registry as v0001; not added again",
    )


def test_rollback_undoes_a_cloud_model_and_a_repeat_does_not_redo_it(gw, cloud, capsys):
    from edge_model.scoring import Scorer

    local = local_model(gw.root)
    publish(cloud, "2025-06")
    sync = syncer(gw)
    sync.run_once()
    registry = ModelRegistry(gw.root)
    assert registry.current() == "v0002" and local == "v0001"
    assert cli.main(["model", "rollback", "--registry", str(gw.root)]) == 0
    assert "current model is now v0001" in capsys.readouterr().out
    assert Scorer(registry.current_dir()).version == "v0001"
    SyncState(gw.conn).set("cursor", 0)
    with cloud.store.tx() as tx:
        tx.execute(
            "INSERT INTO changes (household_id, type, data, created_ms) "
            "SELECT household_id, type, data, created_ms FROM changes WHERE type = 'model_published'"
        )
    sync.run_once()
    assert registry.current() == "v0001" and registry.versions() == ["v0001", "v0002"]
    assert cli.main(["model", "rollback", "--registry", str(gw.root), "--to", "v0002"]) == 0
    assert Scorer(registry.current_dir()).version == "v0002"


# ---- the promotion rule ----------------------------------------------------------------------------------


def test_a_model_that_does_worse_here_is_kept_but_not_made_current(gw, cloud):
    local_model(gw.root)
    # The figures it records are the shipped model's; only measuring shows what this threshold costs.
    publish(cloud, "too-strict", metadata={**METADATA, "threshold": 0.9})
    syncer(gw).run_once()
    registry = ModelRegistry(gw.root)
    assert registry.versions() == ["v0001", "v0002"] and registry.current() == "v0001"
    [(_, status, detail, data)] = inbox(gw)
    assert status == "applied" and detail.startswith(
        "model too-strict added as v0002, not made current: it does worse than v0001"
    )
    assert "measured here" in detail and "`powergw model rollback --to v0002` would use it anyway" in detail
    assert json.loads(data)["promoted"] is False and not rejected_alerts(gw)


def test_without_the_memory_for_the_check_the_recorded_figures_decide(gw, cloud):
    registry = ModelRegistry(gw.root)
    low_memory = ModelInstaller(registry, FEATURES_VERSION, memory_mb=lambda: 100.0)
    worse = json.loads(json.dumps(METADATA))
    worse["metrics"]["check_set"]["roc_auc"] -= 0.01
    publish(cloud, "2025-06")
    publish(cloud, "2025-07", metadata=worse)
    syncer(gw, models=low_memory).run_once()
    assert registry.versions() == ["v0001", "v0002"] and registry.current() == "v0001"
    (_, s1, d1, data1), (_, s2, d2, data2) = inbox(gw)
    assert json.loads(data1)["rule"] == json.loads(data2)["rule"] == "recorded"
    assert d1.startswith("model 2025-06 added as v0001 and made current") and "as their metadata record them" in d1
    auc = METADATA["metrics"]["check_set"]["roc_auc"]
    assert (
        d2.startswith("model 2025-07 added as v0002, not made current")
        and f"ROC-AUC {auc - 0.01:.4f} against {auc:.4f}" in d2
    )


def test_a_model_pulled_before_the_gateway_had_a_registry_is_installed_by_replay(gw, cloud):
    publish(cloud, "2025-06")
    without_registry = syncer(gw)
    without_registry.models = None  # a gateway without a registry (an in-memory database, no edge_model)
    without_registry.pull()
    assert [(status, detail) for _, status, detail, _ in inbox(gw)] == [
        ("pending", "no theft-model registry on this gateway")
    ]
    # A change pulled by the previous release: no metadata, so there is nothing to use it with.
    gw.conn.execute(
        "INSERT INTO sync_inbox (seq, type, data, received_ms, status, detail) VALUES (0, 'model_published', ?, 1, "
        "'pending', 'no handler on this gateway yet')",
        (
            json.dumps(
                {
                    "version": "v3",
                    "sha256": "0" * 64,
                    "path": "/v1/models/v3",
                    "file": "/var/lib/powergw/models/v3.onnx",
                }
            ),
        ),
    )
    sync = syncer(gw)
    assert sync.replay_pending() == 1 and sync.replay_pending() == 0
    (_, s0, d0, _), (_, s1, d1, _) = inbox(gw)
    assert s0 == "rejected" and "carries no metadata" in d0
    assert s1 == "applied" and ModelRegistry(gw.root).current() == "v0001"


def test_a_models_dir_set_elsewhere_is_no_longer_used_and_says_so(gw, cloud, tmp_path, caplog):
    old = tmp_path / "old-models"
    publish(cloud, "2025-06")
    with caplog.at_level(logging.WARNING, logger="cloud_sync"):
        syncer(gw, section=CloudSection(models_dir=old)).run_once()
    assert f"[cloud] models_dir = {old} is no longer used" in caplog.text and str(gw.root) in caplog.text
    assert not old.exists() and ModelRegistry(gw.root).current() == "v0001"


# ---- the pure parts ----------------------------------------------------------------------------------


def test_the_rule_and_the_file_names_are_edge_models_own():
    import edge_model
    from edge_model import pipeline

    # One definition each (edge_model/__init__.py), used by the local retrain and the cloud path.
    assert model_updates.MAX_AUC_LOSS is pipeline.MAX_AUC_LOSS is edge_model.MAX_AUC_LOSS
    assert model_updates.MAX_RECALL_LOSS is pipeline.MAX_RECALL_LOSS is edge_model.MAX_RECALL_LOSS
    assert (model_updates.MODEL_FILE, model_updates.METADATA_FILE) == (edge_model.MODEL_FILE, edge_model.METADATA_FILE)


def figures(roc_auc, recall, households=16, days=112):
    return {
        "check_set": {"households": households, "days": days},
        "metrics": {"check_set": {"roc_auc": roc_auc, "recall_at_threshold": recall}},
    }


@pytest.mark.parametrize(
    "candidate, promoted",
    [
        (figures(0.98, 0.90), True),
        (figures(0.9751, 0.881), True),  # within both tolerances
        (figures(0.974, 0.95), False),  # loses 0.006 of ROC-AUC
        (figures(0.99, 0.87), False),  # loses 3 points of recall
        (figures(0.99, 0.95, days=56), False),  # better figures, on another check set
        ({"check_set": {"households": 16, "days": 112}}, False),  # no figures
    ],
)
def test_recorded_comparison(candidate, promoted):
    comparison = recorded_comparison(candidate, figures(0.98, 0.90), "v0001")
    assert comparison["promoted"] is promoted and comparison["current_version"] == "v0001"


def test_an_announcement_needs_its_metadata():
    ok = {"version": "2025-06", "sha256": "a" * 64, "path": "/v1/models/2025-06", "metadata": METADATA}
    assert parse_announcement(ok).metadata == METADATA and parse_metadata(METADATA) is METADATA
    with pytest.raises(ModelRejected, match="^model 2025-06: the announcement carries no metadata"):
        parse_announcement({k: v for k, v in ok.items() if k != "metadata"})
    with pytest.raises(
        ModelRejected, match=r"^model 2025-06: metadata.threshold: expected a number from 0 to 1; not used$"
    ):
        parse_announcement({**ok, "metadata": {**METADATA, "threshold": "0.3"}})
    with pytest.raises(MetadataError) as err:
        parse_metadata({**METADATA, "check_set": {"households": 16, "days": 0}})
    assert err.value.field == "metadata.check_set.days"
    for bad in (
        {**ok, "version": "../x"},
        {**ok, "sha256": "abc"},
        {**ok, "path": "http://elsewhere/m"},
        ["not", "an", "object"],
    ):
        with pytest.raises(ModelRejected):
            parse_announcement(bad)
