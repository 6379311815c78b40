"""Stop ignoring a theft alert, through the daemon's theft job on a real SQLite store: the Ignore's
rule and normal examples are taken back, the pattern is watched again, and a new Ignore counts anew."""

from __future__ import annotations

import pytest

from edge_model import store_job
from edge_model.dataset import CHECK_SEEDS
from edge_model.feedback_store import FeedbackTables
from gateway.alerts import AlertStore
from tests.support.theft_store import (
    TAP_DAY,
    end_of_day_ms,
    first_alert,
    house,
    job_context,
    saved_examples,
    saved_rules,
    store_with_series,
    with_load,
)

RETURN_DAY = 47
DAY = TAP_DAY + 2  # the day whose end the first alert is raised at (theft_store.first_alert)


@pytest.fixture
def returning(tmp_path):
    """+800 W every night 01:00-04:00 on days 36-39, a week without it, then again from day 47: a
    pattern that comes back after the first alert's cooldown (a baseline that has not taken it in).
    A house whose Ignore rule keeps this pattern quiet (in most simulated houses it does not yet:
    test_edge_model_daemon's xfail)."""
    series = with_load(house(CHECK_SEEDS + 10, 52), 800.0, [*range(36, 40), *range(RETURN_DAY, 52)], 1, 4)
    store = store_with_series(tmp_path / "powergw.db", series)
    yield series, store
    store.close()


def _run(store, tmp_path, series, day: int):
    """The hourly job as it runs at the end of local day `day`: (its context, its result)."""
    ctx = job_context(store, tmp_path, end_of_day_ms(series.first_date, day + 1))
    return ctx, store_job.score_job(ctx)


def _rules(store) -> list[dict]:
    return saved_rules(store)


def _all_taken_in(store) -> bool:
    """The cursor is at the household's last answer."""
    last = store.conn.execute("SELECT max(id) FROM alert_actions").fetchone()[0]
    return FeedbackTables(store).cursor() == last


def _first_alert(store, tmp_path, series):
    """Run the job as the pattern's third night ends: (alerts, ctx, the theft alert it raised, its id)."""
    alert, now_ms = first_alert(store, tmp_path, series)
    return AlertStore(store), job_context(store, tmp_path, now_ms), alert, alert["id"]


def _examples(store) -> int:
    examples = saved_examples(store)
    return 0 if examples is None else len(examples)


@pytest.mark.parametrize("taken_back", [True, False], ids=["stop-ignoring", "ignore-kept"])
def test_stop_ignoring_takes_the_rule_and_examples_back_and_the_pattern_alerts_again(tmp_path, returning, taken_back):
    series, store = returning
    alerts, ctx, alert, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, "ignore", "owner", "our new AC", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, 40)
    assert [r["alert_id"] for r in _rules(store)] == [aid] and _all_taken_in(store)
    assert _examples(store) == len(alert["data"]["window_starts_s"])  # normal examples, tagged with the alert
    if taken_back:
        alerts.act(aid, "unignore", "owner", "pressed Ignore by mistake", now_ms=end_of_day_ms(series.first_date, 41))
    _run(store, tmp_path, series, 42)
    _run(store, tmp_path, series, 42)  # a second run changes nothing
    if taken_back:
        assert _rules(store) == [] and _examples(store) == 0  # nothing taught either way
        assert _all_taken_in(store)
    else:
        assert [r["alert_id"] for r in _rules(store)] == [aid]
    _, result = _run(store, tmp_path, series, RETURN_DAY + 2)  # the pattern is back, after the alert's week of cooldown
    again = alerts.get(aid)
    if not taken_back:
        assert result.alerts == [] and again["repeat_count"] == 1 and again["state"] == "ignored"
        return
    assert [(a.numbers["first_hour"], a.numbers["last_hour"]) for a in result.alerts] == [(1, 4)]
    assert again["state"] == "open" and again["repeat_count"] == 2  # counted on the reopened alert, not a new row
    assert [a["id"] for a in alerts.list(kind="theft")] == [aid]
    # Ignore again: the job makes a new rule and stores the normal examples again.
    alerts.act(
        aid, "ignore", "owner", "it is the AC after all", now_ms=end_of_day_ms(series.first_date, RETURN_DAY + 3)
    )
    _, result = _run(store, tmp_path, series, RETURN_DAY + 3)
    assert [r["alert_id"] for r in _rules(store)] == [aid] and _all_taken_in(store)
    assert _examples(store) == len(
        alert["data"]["window_starts_s"]
    )  # of the alert's first windows, still in the series
    assert result.alerts == []
    assert [a["action"] for a in alerts.get(aid)["actions"]] == ["ignore", "unignore", "ignore"]


def test_stop_ignoring_then_resolve_before_the_job_runs_still_takes_the_ignore_back(tmp_path, tapped):
    """The owner un-ignores and resolves within the hour: the job never sees the alert open, its
    history says the Ignore was taken back. Resolving an alert that stays ignored keeps its rule."""
    series, store = tapped
    alerts, ctx, alert, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, "ignore", "owner", "that is our new pump", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert [r["alert_id"] for r in _rules(store)] == [aid] and _examples(store) > 0
    alerts.act(aid, "resolve", "owner", "the pump is ours, nothing to do", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert [r["alert_id"] for r in _rules(store)] == [aid] and _examples(store) > 0  # resolved, still ignored

    aid2, _ = alerts.raise_alert(
        "theft", None, alert["message"], now_ms=ctx.now_ms(), dedup_key="theft:again", data=alert["data"]
    )
    alerts.act(aid2, "ignore", "owner", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert sorted(r["alert_id"] for r in _rules(store)) == [aid, aid2]
    alerts.act(aid2, "unignore", "owner", "pressed Ignore by mistake", now_ms=ctx.now_ms())
    alerts.act(aid2, "resolve", "owner", "the lineman looked, all fine", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert [r["alert_id"] for r in _rules(store)] == [aid]
    assert _all_taken_in(store)
    examples = saved_examples(store)
    assert len(examples) > 0 and not examples.y.any()  # the first alert's examples stay


def test_an_ignore_taken_back_before_the_job_saw_it_leaves_nothing(tmp_path, tapped):
    series, store = tapped
    alerts, ctx, _, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    alerts.act(aid, "unignore", "owner", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert _rules(store) == [] and _examples(store) == 0 and _all_taken_in(store)


@pytest.mark.parametrize("answer", ["ignore", "raise"])
def test_an_answer_then_resolve_before_the_job_runs_is_still_taken(tmp_path, tapped, answer):
    """Ignore (or Raise) and then Resolve within the hour: the job never sees the alert ignored or
    raised, its history says what the owner answered, and that answer is acted on once."""
    series, store = tapped
    alerts, ctx, alert, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, answer, "owner", now_ms=ctx.now_ms())
    alerts.act(aid, "resolve", "owner", "dealt with", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    examples = saved_examples(store)
    assert examples is not None and len(examples) >= alert["data"]["windows_over_threshold"]
    if answer == "ignore":
        assert [r["alert_id"] for r in _rules(store)] == [aid] and not examples.y.any()
    else:
        assert _rules(store) == [] and examples.y.all()  # taught as theft
    assert _all_taken_in(store)
    _run(store, tmp_path, series, DAY)  # once: a second run adds nothing
    assert len(saved_examples(store)) == len(examples)


def test_a_raise_after_a_processed_ignore_then_resolve_takes_the_rule_back(tmp_path, tapped):
    series, store = tapped
    alerts, ctx, alert, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    assert [r["alert_id"] for r in _rules(store)] == [aid]
    alerts.act(aid, "raise", "owner", "no, that is not ours", now_ms=ctx.now_ms())
    alerts.act(aid, "resolve", "owner", "lineman called", now_ms=ctx.now_ms())
    _run(store, tmp_path, series, DAY)
    examples = saved_examples(store)
    assert _rules(store) == [] and len(examples) > 0 and examples.y.all()  # the normal examples went, theft ones came


def test_a_resolved_ignored_pattern_can_still_be_un_ignored_and_the_job_takes_it_back(tmp_path, tapped):
    """Ignored, then resolved (the household dealt with it), its rule still listed: Stop ignoring
    reopens it and the next run takes the rule back; resolving it again later is judged again."""
    from gateway.alerts import AlertError

    series, store = tapped
    alerts, ctx, alert, aid = _first_alert(store, tmp_path, series)
    alerts.act(aid, "ignore", "owner", now_ms=ctx.now_ms())
    alerts.act(aid, "resolve", "owner", "it is the pump", now_ms=ctx.now_ms() + 1)
    _run(store, tmp_path, series, DAY)
    assert [r["alert_id"] for r in _rules(store)] == [aid]
    alerts.act(aid, "unignore", "owner", "the pump was sold, watch again", now_ms=ctx.now_ms() + 2)
    alerts.act(aid, "resolve", "owner", "tidying up", now_ms=ctx.now_ms() + 3)  # before the job ran
    _run(store, tmp_path, series, DAY)
    assert _rules(store) == [] and _examples(store) == 0 and _all_taken_in(store)
    # A resolved alert that was never ignored, or was raised, has no Ignore to stop.
    other, _ = alerts.raise_alert(
        "theft", None, alert["message"], now_ms=ctx.now_ms(), dedup_key="theft:other", data=alert["data"]
    )
    alerts.act(other, "raise", "owner", now_ms=ctx.now_ms())
    alerts.act(other, "resolve", "owner", now_ms=ctx.now_ms() + 1)
    with pytest.raises(AlertError, match="was not ignored"):
        alerts.act(other, "unignore", "owner", now_ms=ctx.now_ms() + 2)
    assert alerts.get(aid)["state"] == "resolved" and alerts.get(other)["state"] == "resolved"
