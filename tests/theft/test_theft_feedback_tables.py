"""The household's answers on theft alerts as tables (edge_model.feedback_store), on real SQLite files:
the upgrade from the meta keys and models/feedback.npz of older gateways, the cursor over
alert_actions (each answer taken in once, in order), and examples of another features version."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from edge_model import FEATURES_VERSION, store_job
from edge_model.features import N_FEATURES
from edge_model.feedback import household_examples
from edge_model.feedback_store import FeedbackTables
from edge_model.ignore_rules import SuppressionRule
from edge_model.npz_file import read_npz
from gateway.alerts import AlertStore, alerts_migrations
from gateway.app import open_store
from gateway.store import Store
from tests.support.theft_store import first_alert, job_context, saved_examples, saved_rules

T0 = 1_750_000_000_000
V4_WIDTH = 65  # the columns of features v4, the last version that wrote models/feedback.npz
NIGHTS = SuppressionRule(
    first_hour=23,
    last_hour=6,
    weekdays=frozenset(range(7)),
    max_power_w=1_050.0,
    expires_s=T0 / 1000 + 60 * 86_400,
    excess_cap_w=900.0,
    usual_w=(150.0,) * 24,
    start_s=T0 / 1000 - 10 * 86_400,
    usual_floor_w=(80.0,) * 24,
    floor_cap_w=40.0,
    renew_days=90.0,
    hours=(23, 0, 1, 2, 3, 4, 5),
    steady_cap_w=10.0,
)
OLD_ROW = {
    "first_hour": 13,
    "last_hour": 17,
    "weekdays": [5, 6],
    "max_power_w": 900.0,
    "expires_s": T0 / 1000 + 5 * 86_400,
}


def old_gateway(path, rules=None, feedback=None, extra_meta=None) -> list[int]:
    """A database as a gateway before the theft tables left it: three theft alerts, the first two
    answered before the theft job's last run, the third after; its rules, marks and retrain
    counter under meta keys; models/feedback.npz beside it (`feedback`: np.savez's arrays, or bytes).
    Returns the alert ids."""
    store = Store(path, migrations=[alerts_migrations])
    alerts = AlertStore(store)
    ids = [
        alerts.raise_alert("theft", None, f"+{300 + i} W from 01:00 to 04:00", now_ms=T0 + i, dedup_key=f"theft:{i}")[0]
        for i in range(3)
    ]
    alerts.act(ids[0], "ignore", "owner", now_ms=T0 + 1_000)
    alerts.act(ids[1], "raise", "owner", now_ms=T0 + 2_000)
    alerts.act(ids[2], "ignore", "owner", now_ms=T0 + 9_000)  # after the last run below: not taken in yet
    rows = [{**NIGHTS.to_dict(), "alert_id": ids[0]}, {**OLD_ROW, "alert_id": -1}, {"first_hour": 0, "alert_id": 7}]
    meta = {
        "theft.rules": json.dumps(rows) if rules is None else rules,
        "theft.rules_unreadable": json.dumps(['{"first_hour": "cut']),
        "theft.feedback_done": json.dumps([f"{ids[0]}:ignored", f"{ids[1]}:raised"]),
        "theft.retrained_feedback_rows": "5",
        "theft.last_retrain": json.dumps({"version": "v0001", "promoted": True, "at_ms": T0 + 4_000}),
        "theft.scored_until_s": str((T0 + 5_000) / 1000),
        "theft.status": json.dumps({"learning": False, "status": "watching"}),
    } | (extra_meta or {})
    for key, value in meta.items():
        store.set_meta(key, value)
    store.close()
    if feedback is not None:
        (path.parent / "models").mkdir()
        target = path.parent / "models" / "feedback.npz"
        target.write_bytes(feedback) if isinstance(feedback, bytes) else np.savez(target, **feedback)
    return ids


def five_rows(width: int = V4_WIDTH, alert=True) -> dict:
    """feedback.npz as the last gateway with it wrote it: 3 normal rows of one alert, 2 theft rows of another."""
    arrays = {
        "X": np.arange(5 * width, dtype=np.float64).reshape(5, width) / 7,
        "y": np.array([0, 0, 0, 1, 1]),
        "weight": np.array([3.0, 3.0, 3.0, 10.0, 10.0]),
        "group": np.full(5, -1),
    }
    return arrays | ({"alert": np.array([1, 1, 1, 2, 2])} if alert else {})


def test_an_old_gateways_rules_examples_and_marks_move_into_the_tables_once(tmp_path, caplog):
    db = tmp_path / "powergw.db"
    ids = old_gateway(db, feedback=five_rows())
    store = open_store(db)
    tables = FeedbackTables(store)
    rules = {r.alert_id: r.fields for r in tables.rules()}
    assert set(rules) == {ids[0], None}
    assert SuppressionRule.from_dict(rules[ids[0]]) == NIGHTS  # every field, typed
    assert SuppressionRule.from_dict(rules[None]).hours == () and rules[None]["weekdays"] == [
        5,
        6,
    ]  # a row from before alert ids
    kept = store.conn.execute("SELECT text, reason FROM theft_rules_unreadable ORDER BY id").fetchall()
    assert [t for t, _ in kept] == ['{"first_hour": "cut', '{"alert_id": 7, "first_hour": 0}']
    assert "last_hour" in kept[1][1]  # why it could not be read
    assert [k for (k,) in store.conn.execute("SELECT key FROM meta WHERE key LIKE 'theft.%' ORDER BY key")] == [
        "theft.scored_until_s",
        "theft.status",
    ]  # the job's own marks stay; the rest moved
    # The rows are of features v4, each with its alert: kept, exact, and never trained on by a v5 gateway.
    assert store.conn.execute("SELECT alert_id, features_version FROM theft_examples ORDER BY id").fetchall() == [
        (1, 4),
        (1, 4),
        (1, 4),
        (2, 4),
        (2, 4),
    ]
    rows, other = tables.examples(4, V4_WIDTH)
    assert np.array_equal(
        np.frombuffer(b"".join(r.features for r in rows), "<f4").reshape(5, V4_WIDTH),
        five_rows()["X"].astype(np.float32),
    )
    assert [r.label for r in rows] == [0, 0, 0, 1, 1] and [r.weight for r in rows] == [3.0, 3.0, 3.0, 10.0, 10.0]
    assert household_examples(tables) is None and "5 feedback examples are of another features version" in caplog.text
    (retrain,) = tables.retrains()
    assert (retrain["version"], retrain["promoted"], retrain["examples"]) == ("v0001", 1, 5)
    assert tables.last_trained() == tables.fingerprint(4, V4_WIDTH)  # that retrain trained on exactly these rows
    assert tables.fingerprint(FEATURES_VERSION, N_FEATURES) == (0, 0)  # and there is nothing of v5 to retrain on
    # The answers given before the old job's last run were taken in; the one after is new.
    assert [(a.alert_id, a.action) for a in tables.new_answers()] == [(ids[2], "ignore")]
    assert (tmp_path / "models" / "feedback.npz").exists()  # left where it was, no longer read
    store.close()
    store = open_store(db)  # once: opening again moves nothing twice
    assert len(FeedbackTables(store).rules()) == 2 and len(FeedbackTables(store).examples(4, V4_WIDTH)[0]) == 5
    store.close()


def test_examples_of_an_older_features_version_move_but_are_not_trained_on(tmp_path, caplog):
    db = tmp_path / "powergw.db"
    old_gateway(db, feedback=five_rows(width=55, alert=False))  # v3's width, written before rows knew their alert
    store = open_store(db)
    tables = FeedbackTables(store)
    assert store.conn.execute("SELECT DISTINCT alert_id, features_version FROM theft_examples").fetchall() == [
        (None, 3)
    ]
    assert household_examples(tables) is None and "5 feedback examples are of another features version" in caplog.text
    assert tables.fingerprint(FEATURES_VERSION, N_FEATURES) == (0, 0)
    (retrain,) = tables.retrains()
    assert (retrain["version"], retrain["examples"]) == ("v0001", 5)  # history: it trained on those v3 rows
    assert store_job.retrain_job(job_context(store, tmp_path, T0)) is False  # and there is nothing to retrain on now
    store.close()


def test_a_fortran_order_feedback_file_moves_row_by_row(tmp_path):
    db = tmp_path / "powergw.db"
    arrays = five_rows()
    old_gateway(db, feedback=arrays | {"X": np.asfortranarray(arrays["X"])})
    store = open_store(db)
    rows, _ = FeedbackTables(store).examples(4, V4_WIDTH)
    assert np.array_equal(
        np.frombuffer(b"".join(r.features for r in rows), "<f4").reshape(5, V4_WIDTH), arrays["X"].astype(np.float32)
    )
    store.close()


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 cut off", b"not a numpy file at all"])
def test_an_unreadable_feedback_file_is_left_where_it_is_and_the_upgrade_goes_on(tmp_path, caplog, damage):
    db = tmp_path / "powergw.db"
    ids = old_gateway(db, feedback=damage)
    with caplog.at_level(logging.WARNING):
        store = open_store(db)
    assert "could not be read" in caplog.text and (tmp_path / "models" / "feedback.npz").read_bytes() == damage
    tables = FeedbackTables(store)
    assert store.conn.execute("SELECT count(*) FROM theft_examples").fetchone() == (0,)
    assert {r.alert_id for r in tables.rules()} == {ids[0], None}
    (retrain,) = tables.retrains()
    assert retrain["version"] is None  # trained on rows that are no more: not counted as this set's retrain
    store.close()


def test_a_feedback_file_with_columns_of_other_lengths_is_not_moved(tmp_path, caplog):
    db = tmp_path / "powergw.db"
    old_gateway(db, feedback=five_rows() | {"weight": np.ones(3)})
    store = open_store(db)
    assert (
        store.conn.execute("SELECT count(*) FROM theft_examples").fetchone() == (0,)
        and "could not be read" in caplog.text
    )
    store.close()


@pytest.mark.parametrize("text", ["{cut off", '{"first_hour": 1}'])
def test_saved_rules_that_are_not_a_list_are_kept_as_one_text(tmp_path, text):
    db = tmp_path / "powergw.db"
    old_gateway(db, rules=text)
    store = open_store(db)
    assert FeedbackTables(store).rules() == []
    texts = [t for (t,) in store.conn.execute("SELECT text FROM theft_rules_unreadable ORDER BY id")]
    assert texts == ['{"first_hour": "cut', text]  # nothing the household said is lost
    store.close()


def test_a_damaged_keeping_place_and_retrain_record_still_upgrade(tmp_path):
    db = tmp_path / "powergw.db"
    old_gateway(
        db,
        feedback=five_rows(),
        extra_meta={"theft.rules_unreadable": "[cut", "theft.last_retrain": "{cut", "theft.scored_until_s": "soon"},
    )
    store = open_store(db)
    tables = FeedbackTables(store)
    assert [t for (t,) in store.conn.execute("SELECT text FROM theft_rules_unreadable ORDER BY id")][0] == "[cut"
    assert tables.retrains() == [] and tables.cursor() == 0  # every answer is taken in again (each by its alert)
    store.close()


def test_the_npz_reader_reads_what_numpy_writes(tmp_path):
    path = tmp_path / "a.npz"
    values = {
        "f8": np.linspace(-1, 1, 12).reshape(3, 4),
        "f4": np.arange(4, dtype=np.float32),
        "i8": np.array([-1, 7]),
        "big": np.arange(3, dtype=">f8"),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    }
    np.savez(path, **values)
    arrays = read_npz(path)
    for name, array in values.items():
        dtype, shape, raw = arrays[name]
        assert shape == array.shape
        assert np.array_equal(np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape), array)
    np.savez_compressed(path, X=np.zeros(3))
    assert read_npz(path)["X"][1] == (3,)
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", b"not an array")
    with pytest.raises(ValueError, match="not a .npy array"):
        read_npz(path)


# -- the cursor ------------------------------------------------------------------------------------


def _first_alert(store, tmp_path, series):
    alert, now_ms = first_alert(store, tmp_path, series)
    return job_context(store, tmp_path, now_ms), alert["id"]


def test_each_answer_is_taken_in_once_in_the_order_given(tmp_path, tapped):
    series, store = tapped
    ctx, aid = _first_alert(store, tmp_path, series)
    alerts, tables = AlertStore(store), FeedbackTables(store)
    alerts.act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    alerts.act(aid, "raise", "owner", "no, not ours", now_ms=ctx.now_ms())
    alerts.raise_alert("node_offline", None, "kitchen silent", now_ms=ctx.now_ms(), dedup_key="offline:kitchen")
    alerts.act(alerts.list(kind="node_offline")[0]["id"], "resolve", "owner", now_ms=ctx.now_ms())  # not a theft answer
    alerts.act(aid, "resolve", "owner", now_ms=ctx.now_ms())
    assert [a.action for a in tables.new_answers()] == ["ignore", "raise", "resolve"]
    store_job.score_job(ctx)
    assert (
        tables.new_answers() == []
        and tables.cursor() == store.conn.execute("SELECT max(id) FROM alert_actions").fetchone()[0]
    )
    examples = saved_examples(store)
    assert saved_rules(store) == [] and examples.y.all()  # the Ignore, then the Raise that took it back
    n = len(examples)
    store_job.score_job(ctx)
    assert len(saved_examples(store)) == n  # nothing taken in twice


def test_answers_another_process_took_in_meanwhile_are_not_taken_in_again(tmp_path, tapped, monkeypatch):
    """A retrain on the command line and the hourly job can read the same new answers; each answer
    commits with the cursor moved past it, so the second one skips what the first took in."""
    series, store = tapped
    ctx, aid = _first_alert(store, tmp_path, series)
    AlertStore(store).act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    stale = FeedbackTables(store).new_answers()
    other = open_store(tmp_path / "powergw.db")  # another process's connection
    assert store_job.take_in_answers(job_context(other, tmp_path, ctx.now_ms())) == "1 answers taken in"
    other.close()
    n = len(saved_examples(store))
    monkeypatch.setattr(FeedbackTables, "new_answers", lambda self: stale)  # read before the other took them in
    assert store_job.take_in_answers(ctx) == "0 answers taken in"
    assert len(saved_examples(store)) == n and len(saved_rules(store)) == 1


def test_a_cursor_past_the_last_action_is_set_back_and_later_answers_are_taken_in(tmp_path, tapped, caplog):
    series, store = tapped
    ctx, aid = _first_alert(store, tmp_path, series)
    tables = FeedbackTables(store)
    tables.advance(999)
    assert tables.new_answers() == [] and "past the last alert action" in caplog.text
    assert tables.cursor() == (store.conn.execute("SELECT max(id) FROM alert_actions").fetchone()[0] or 0)
    AlertStore(store).act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    assert [r["alert_id"] for r in saved_rules(store)] == [aid]


def test_an_answer_on_an_alert_whose_hours_left_the_series_teaches_nothing_and_is_taken_in(tmp_path, tapped, caplog):
    series, store = tapped
    ctx, aid = _first_alert(store, tmp_path, series)
    alerts = AlertStore(store)
    old, _ = alerts.raise_alert(
        "theft",
        None,
        "+500 W from 01:00 to 04:00",
        now_ms=ctx.now_ms(),
        dedup_key="theft:old",
        data={"window_starts_s": [1_000_000.0], "latest": {"window_starts_s": ["not a time"]}},
    )
    alerts.act(old, "ignore", "owner", now_ms=ctx.now_ms())
    with caplog.at_level(logging.INFO):
        store_job.score_job(ctx)
    assert saved_rules(store) == [] and saved_examples(store) is None and FeedbackTables(store).new_answers() == []
    assert f"ignore on alert #{old}: its hours are no longer in the series" in caplog.text


def test_an_ignore_of_an_alert_whose_first_hours_left_the_series_uses_its_latest_repeat(tmp_path, tapped):
    series, store = tapped
    ctx, aid = _first_alert(store, tmp_path, series)
    alerts = AlertStore(store)
    data = alerts.get(aid)["data"]
    again, _ = alerts.raise_alert(
        "theft",
        None,
        "+900 W all day",
        now_ms=ctx.now_ms(),
        dedup_key="theft:repeat",
        data={**data, "window_starts_s": [1_000_000.0], "latest": data},
    )
    alerts.act(again, "ignore", "owner", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    assert [r["alert_id"] for r in saved_rules(store)] == [again] and len(saved_examples(store)) == len(
        data["window_starts_s"]
    )


def test_examples_of_another_features_version_stay_unused_and_do_not_trigger_a_retrain(tmp_path, store, caplog):
    tables = FeedbackTables(store)
    tables.add_examples(3, 0, 3.0, FEATURES_VERSION - 1, [np.zeros(V4_WIDTH, "<f4").tobytes()] * 2)
    tables.add_examples(
        4, 1, 10.0, FEATURES_VERSION, [np.zeros(N_FEATURES - 1, "<f4").tobytes()]
    )  # a row of the wrong width
    assert household_examples(tables) is None and "3 feedback examples are of another features version" in caplog.text
    assert store_job.retrain_job(job_context(store, tmp_path, T0)) is False
    assert tables.retrains() == []  # nothing to learn: not even a skipped retrain recorded
