"""The daemon's scheduled scoring job: the thin glue between the store, the pure core and the alerts.

Reads the household's hourly usage from `gateway.store.Store`, scores it with onnxruntime and
returns what to raise; the caller (the gateway's job runner) writes alerts to the shared table.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from edge_model import rule_text
from edge_model.alerting import Alert, AlertPolicy, SuppressionRule, Windows, decide
from gateway.public_holidays import HolidayCalendar
from edge_model.features import COLUMN, HOW_WEEKS, MIN_HISTORY_DAYS, build_features
from edge_model.scoring import Scorer
from edge_model.series import SLOT_S, floor_of_slots
from gateway.ops.health import available_memory_mb as _available_mb

log = logging.getLogger(__name__)

HISTORY_DAYS = 7 * HOW_WEEKS + 8  # enough for every baseline feature, plus a week to score


@dataclass(frozen=True)
class ScoringResult:
    """What the dashboard shows: the alerts to raise and whether the household is still being learned."""

    alerts: list[Alert]
    history_days: int
    learning: bool
    status: str


def hourly_from_store(store, now_ms: int, tz: str, node_id: str | None = None, days: int = HISTORY_DAYS, *,
                      billing=None) -> tuple[dt.date, np.ndarray, np.ndarray]:
    """Whole local days up to today of hourly mean W (Wh per hour) and hourly floor W (the lowest
    5-minute mean, from the minute rollups), summed over nodes; NaN where nothing was recorded.

    Which nodes: the one `node_id`; else, with `billing` (the [billing] section), the house as the
    bill counts it (`gateway.billing.estimate.household`: `metered_nodes` as listed, so a
    sub-circuit node is not counted twice), raising billing's MeteredNodeError when that list
    names an id that never reported; else every node, an ESP32 reporting over both serial and BLE
    counted once (gateway.household)."""
    from gateway.household import Household

    zone = ZoneInfo(tz)
    today = dt.datetime.fromtimestamp(now_ms / 1000, zone).date()
    first = today - dt.timedelta(days=days - 1)
    start_ms = int(dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp() * 1000)
    from gateway.billing.estimate import household

    house = household(store, billing) if node_id is None else Household(store, [node_id])
    power = np.full(days * 24, np.nan)
    for bucket, mwh in house.usage(start_ms, now_ms, "hour").items():
        i = (bucket - start_ms) // 3_600_000
        if 0 <= i < len(power):
            power[i] = np.nan_to_num(power[i]) + mwh / 1000.0
    minute_w = np.full(days * 24 * 60, np.nan)
    for bucket, mwh in house.usage(start_ms, now_ms, "minute").items():
        i = (bucket - start_ms) // 60_000
        if 0 <= i < len(minute_w):
            minute_w[i] = np.nan_to_num(minute_w[i]) + mwh * 60 / 1000.0  # mWh in a minute -> W
    per_slot = SLOT_S // 60
    slots = minute_w.reshape(-1, per_slot)
    have = ~np.all(np.isnan(slots), axis=1)
    slot_w = np.full(len(slots), np.nan)
    slot_w[have] = np.nanmean(slots[have], axis=1)
    return first, power, floor_of_slots(slot_w)


def score_recent(
    first_date: dt.date,
    power_w: np.ndarray,
    floor_w: np.ndarray,
    scorer: Scorer,
    policy: AlertPolicy,
    rules: tuple[SuppressionRule, ...],
    calendar: HolidayCalendar,
    since_s: float,
    tz: str = "Asia/Kolkata",
) -> ScoringResult:
    """Alerts that fire at windows starting at or after since_s (the previous run)."""
    observed = ~np.isnan(power_w)
    known_days = np.flatnonzero(observed.reshape(-1, 24).any(axis=1))
    history = int(len(known_days))
    if history < MIN_HISTORY_DAYS:
        return ScoringResult([], history, True, f"still learning this household: {history} of {MIN_HISTORY_DAYS} days of history")
    # Leading days with no data are trimmed so "history days" counts real history.
    start_day = int(known_days[0])
    power = power_w[start_day * 24 :]
    first = first_date + dt.timedelta(days=start_day)
    rows, w = _windows_and_rows(first, power, floor_w[start_day * 24 :], rules, calendar, tz)
    scores = scorer.score(rows)
    scores[np.isnan(power)] = 0.0
    w = replace(w, score=scores)
    alerts = [a for a in decide(w, policy, rules) if a.start_s >= since_s]
    return ScoringResult(alerts, history, False, f"watching: {history} days of history, model {scorer.version}")


# -- the daemon's jobs (JOBS in gateway.app): the shared alerts table, feedback, retraining ----------

STATUS_KEY = "theft.status"  # JSON for the dashboard: learning, history_days, status, model, last_run_ms
SCORED_KEY = "theft.scored_until_s"  # alerts at windows before this were already raised
FEEDBACK_KEY = "theft.feedback_done"  # JSON list of "id:state" whose Ignore/Raise became feedback (Stop ignoring removes "id:ignored")
RULES_KEY = rule_text.RULES_KEY  # JSON list of SuppressionRule rows with their alert_id (rule_text words them for the dashboard)
RETRAIN_KEY = "theft.retrained_feedback_rows"
FEEDBACK_FILE = "feedback.npz"


def registry_root(ctx) -> Path:
    """Model versions and feedback live next to the gateway's database."""
    return Path(ctx.config.gateway.db).parent / "models"


def _load_rules(store, since_s: float) -> list[tuple[int, SuppressionRule]]:
    """(alert id, rule) pairs from the meta table, without those that expired before since_s.

    The theft job passes the start of the series it scores, not now: a rule that expired inside
    it still explains its pattern's windows before the expiry (as in `evaluate`), and those windows
    renew it when the pattern showed, say, while the job did not run (gateway off, or not scoring).
    A rule that expired before the series can neither apply to nor be renewed by any of its windows."""
    import json

    text = store.get_meta(RULES_KEY, "[]")
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"a JSON list was expected, got {type(rows).__name__}")
    except ValueError as err:
        _keep_unreadable(store, [text])
        log.warning("theft: the saved Ignore rules are unreadable (%s); kept aside under %s, scoring without them", err, UNREADABLE_RULES_KEY)
        return []
    out, unreadable = [], []
    for row in rows:
        try:
            row = dict(row)
            alert_id = row.pop("alert_id", -1)
            rule = SuppressionRule.from_dict(row)
        except (TypeError, ValueError) as err:
            unreadable.append(json.dumps(row, sort_keys=True, default=str))
            log.warning("theft: an Ignore rule cannot be read (%s); kept aside under %s, the others apply", err, UNREADABLE_RULES_KEY)
            continue
        if rule.expires_s > since_s:
            out.append((alert_id, rule))
    if unreadable:
        _keep_unreadable(store, unreadable)
    return out


UNREADABLE_RULES_KEY = "theft.rules_unreadable"  # JSON list of the raw texts of rules that could not be read: nothing is lost


def _keep_unreadable(store, texts: list[str]) -> None:
    import json

    text = store.get_meta(UNREADABLE_RULES_KEY, "[]")
    try:
        kept = json.loads(text)
        kept = kept if isinstance(kept, list) else [text]
    except ValueError:  # the keeping place itself damaged: keep its text too
        kept = [text]
    store.set_meta(UNREADABLE_RULES_KEY, json.dumps(kept + [t for t in texts if t not in kept]))


def _feedback_done(store, rules: list[tuple[int, SuppressionRule]]) -> set[str]:
    """FEEDBACK_KEY's "id:state" marks. Unreadable (cut off), it is rebuilt from the rules in force
    (each is a processed Ignore) so that no Ignore makes a second rule, and its text is kept aside
    with the unreadable rules; a Raise processed again only replaces its own examples."""
    import json

    text = store.get_meta(FEEDBACK_KEY, "[]")
    try:
        done = json.loads(text)
        if not isinstance(done, list):
            raise ValueError(f"a JSON list was expected, got {type(done).__name__}")
        return {str(d) for d in done}
    except ValueError as err:
        _keep_unreadable(store, [text])
        log.warning("theft: the Ignore/Raise marks are unreadable (%s); rebuilt from the %d rules in force", err, len(rules))
        done = {f"{i}:ignored" for i, _ in rules}
        store.set_meta(FEEDBACK_KEY, json.dumps(sorted(done)))
        return done


def _save_rules(store, rules: list[tuple[int, SuppressionRule]]) -> None:
    import json

    rows = [{**r.to_dict(), "alert_id": i} for i, r in rules]
    store.set_meta(RULES_KEY, json.dumps(rows))


def renew_rules(store, rules: list[tuple[int, SuppressionRule]], first: dt.date, power: np.ndarray, floor: np.ndarray,
                tz: str) -> list[tuple[int, SuppressionRule]]:
    """Keep each Ignore rule in force while its pattern keeps showing in the metered series
    (`SuppressionRule.renewed`); saved when an expiry moved."""
    zone = ZoneInfo(tz)
    n = len(power)
    start_s = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp() + 3_600.0 * np.arange(n)
    hour = np.arange(n) % 24
    weekday = np.array([(first + dt.timedelta(days=int(d))).weekday() for d in np.arange(n) // 24])
    renewed = [(i, r.renewed(hour, weekday, power, start_s, floor)) for i, r in rules]
    if any(new.expires_s != old.expires_s for (_, new), (_, old) in zip(renewed, rules)):
        _save_rules(store, renewed)
    return renewed


def _windows_and_rows(first: dt.date, power: np.ndarray, floor: np.ndarray, rules, calendar, tz: str):
    """Feature rows of the series with the Ignored patterns taken out, and its Windows (scores still zero).

    Missing hours are filled with the median hour (mean and floor alike) for the features only."""
    zone = ZoneInfo(tz)
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    n = len(power)
    start_s = origin + 3_600.0 * np.arange(n)
    hour = np.arange(n) % 24
    weekday = np.array([(first + dt.timedelta(days=int(d))).weekday() for d in np.arange(n) // 24])
    from edge_model.alerting import reset_ignored

    missing = np.isnan(power)
    filled = np.where(missing, np.nanmedian(power), power)
    floor = np.where(missing | np.isnan(floor), np.where(missing, np.nanmedian(floor), filled), floor)
    reset, reset_floor = reset_ignored(filled, floor, hour, weekday, start_s, rules)
    rows = build_features(reset, first, calendar, floor_w=reset_floor)
    w = Windows(
        start_s=start_s, hour=hour, weekday=weekday, day=np.arange(n) // 24, power_w=np.nan_to_num(power),
        usual_w=rows[:, COLUMN["hod_base_w"]], score=np.zeros(n), history_days=rows[:, COLUMN["history_days"]],
        usual_floor_w=rows[:, COLUMN["floor_base_w"]], floor_w=floor,
    )
    return rows, w


def apply_feedback(store, alerts, root, first: dt.date, power: np.ndarray, floor: np.ndarray, rules: list, calendar, tz: str) -> list:
    """Ignore/Raise on theft alerts -> suppression rules (meta) and labelled examples (root/feedback.npz), once per action.

    What counts is the household's last answer on each alert (`_answer`): Ignore, Raise, or none
    (never answered, or Stop ignoring). A Raise after an Ignore takes the Ignore's rule back: the
    owner has changed their mind. So does Stop ignoring (`unignore`): the rule and the Ignore's
    normal examples go, nothing is taught either way (an Ignore pressed by mistake says nothing about
    the pattern), and the Ignore's mark in FEEDBACK_KEY goes too, so that a later Ignore of the same
    alert makes a new rule. An alert resolved before the job saw its answer (Ignore, Raise or Stop
    ignoring, then Resolve within the hour) is judged by the answer in its history, once.
    """
    import json

    from edge_model import feedback

    done = _feedback_done(store, rules)
    acted, unignored, settled = [], [], []
    for a in alerts.list(kind="theft", limit=1000):
        key = a["id"]
        if a["state"] == "resolved":
            # Judged once per resolution (a resolved, ignored alert can be un-ignored, then resolved again).
            settled_key = f"{key}:resolved:{a['acted_ms']}"
            if settled_key in done:
                continue
            settled.append(settled_key)
        answer = _answer(alerts, a)
        if answer in ("ignored", "raised") and f"{key}:{answer}" not in done:
            acted.append((a, answer))
        elif answer is None and f"{key}:ignored" in done and f"{key}:raised" not in done:
            unignored.append(a)
    if not acted and not unignored and not settled:
        return rules
    for a in unignored:
        rules = [(i, r) for i, r in rules if i != a["id"]]
        forgotten = feedback.forget_alert(root / FEEDBACK_FILE, a["id"])
        done.discard(f"{a['id']}:ignored")
        log.info("theft: alert #%d is no longer ignored; its Ignore rule and %d normal examples are taken back", a["id"], forgotten)
    if acted:
        rows, w = _windows_and_rows(first, power, floor, [r for _, r in rules], calendar, tz)
        position = {round(s): i for i, s in enumerate(w.start_s)}
    for a, answer in acted:
        hits = [position[round(s)] for s in a["data"].get("window_starts_s", []) if round(s) in position]
        if hits:
            alert = Alert(hits[-1], w.start_s[hits[-1]], 0.0, 0.0, tuple(hits), a["message"], a["data"])
            if answer == "ignored":
                examples, rule = feedback.ignore(rows, w, alert)
                rules = [*rules, (a["id"], rule)]
            else:
                examples = feedback.raise_theft(rows, alert)
                rules = [(i, r) for i, r in rules if i != a["id"]]
                # ... and its normal examples: the same windows must not be taught both ways.
                feedback.forget_alert(root / FEEDBACK_FILE, a["id"])
            feedback.save_examples(root / FEEDBACK_FILE, examples, alert_id=a["id"])
        done.add(f"{a['id']}:{answer}")
    done.update(settled)  # a resolved alert's answer cannot change until it is reopened
    _save_rules(store, rules)
    store.set_meta(FEEDBACK_KEY, json.dumps(sorted(done)))
    return rules


def _answer(alerts, alert: dict) -> str | None:
    """The household's last answer on an alert: "ignored", "raised", or None (none yet, or Stop
    ignoring). An ignored or raised alert's state is its answer; an open one has none (only Stop
    ignoring reopens an answered alert); a resolved one keeps the last answer in its history, as
    the state that answer led to (gateway.alerts.kinds.ACTIONS)."""
    from gateway.alerts.kinds import ACTIONS

    if alert["state"] in ("ignored", "raised"):
        return alert["state"]
    if alert["state"] == "open":
        return None
    action = alerts.last_answer(alert["id"])
    to_state = ACTIONS[action][1] if action else None
    return to_state if to_state in ("ignored", "raised") else None


def score_job(ctx) -> ScoringResult:
    """Scheduled scoring: feedback first, then score recent hours and raise new "theft" alerts (deduplicated).

    Public holidays are those of the household's state, `[billing] holiday_state` (the one setting
    billing's projection uses too; "" for none).

    The series scored is the house as the bill counts it ([billing] metered_nodes, see
    hourly_from_store). While that list names an id that never reported, the run scores nothing
    (`not_scored`) rather than crash every hour or score another sum than the house.
    """
    import json

    from gateway.alerts import alert_store
    from gateway.billing import MeteredNodeError

    from edge_model.registry import ModelRegistry

    store, now_ms, tz = ctx.store, ctx.now_ms(), ctx.config.gateway.timezone
    try:
        first, power, floor = hourly_from_store(store, now_ms, tz, billing=ctx.config["billing"])
    except MeteredNodeError as err:
        return not_scored(store, now_ms, err)
    root = registry_root(ctx)
    # With the configured listeners: a theft alert is emailed and reported to the cloud like any other.
    alerts = alert_store(store, ctx.config)
    calendar = HolidayCalendar(ctx.config["billing"].holiday_state)
    series_start_s = dt.datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(tz)).timestamp()
    rules = apply_feedback(store, alerts, root, first, power, floor, _load_rules(store, series_start_s), calendar, tz)
    rules = renew_rules(store, rules, first, power, floor, tz)
    scorer, problem = ModelRegistry(root).load_current()
    since_s = float(store.get_meta(SCORED_KEY, "0"))
    result = score_recent(first, power, floor, scorer, AlertPolicy(threshold=scorer.threshold), tuple(r for _, r in rules), calendar, since_s, tz)
    if problem:
        result = replace(result, status=f"{result.status} ({problem})")
    for a in result.alerts:
        n = a.numbers
        data = {**n, "score": round(a.score, 4), "threshold": round(a.threshold, 4), "model": scorer.version,
                "window_starts_s": [float(s) for s in a.numbers.get("window_starts_s", [])]}
        # One open alert per hour band: a pattern that keeps firing counts repeats instead of storming.
        # A much larger load in the band (escalated) is news: its own alert, e-mailed like a new one.
        key = f"theft:{n['first_hour']:02d}-{n['last_hour']:02d}" + (":escalated" if "escalated_from_w" in n else "")
        alerts.raise_alert("theft", None, a.message, now_ms=now_ms, dedup_key=key, data=data)
    store.set_meta(SCORED_KEY, str(now_ms / 1000))
    store.set_meta(STATUS_KEY, json.dumps({"learning": result.learning, "history_days": result.history_days,
                                           "status": result.status, "model": scorer.version, "last_run_ms": now_ms}))
    return result


def not_scored(store, now_ms: int, err) -> ScoringResult:
    """A run that cannot tell what the house is ([billing] metered_nodes names an id that never
    reported: a typo, or a mains node not installed yet): no alerts, and a status that says why.

    Not the whole household instead: with a list, the other nodes include sub-circuits already
    inside the mains, so that sum double-counts them (or, with the mains missing, is not the house
    at all), and its alerts and renewed Ignore rules would be about a series the owner never
    chose; billing refuses the same list for the same reason. Nothing is lost: the scored-until
    mark stays, so the first run after the fix scores the hours since the last real run (within
    HISTORY_DAYS), and Ignore/Raise feedback waits for it. Billing's metered_node_unknown alert
    (e-mailed) already tells the owner; the log warns once per problem, not every hour.
    """
    import json

    status = f"not scoring: {err}; theft scoring resumes once the id is corrected or that node reports"
    try:
        last = json.loads(store.get_meta(STATUS_KEY, "null") or "null") or {}
    except ValueError:
        last = {}
    if last.get("status") != status:
        log.warning("theft: %s", status)
    store.set_meta(STATUS_KEY, json.dumps({"learning": False, "history_days": 0, "status": status,
                                           "model": last.get("model"), "last_run_ms": now_ms}))
    return ScoringResult([], 0, False, status)


# Training the default recipe (TRAINING_SPEC: 128 simulated households x 112 days, 100 trees) peaked
# at 456 MB resident here (`/usr/bin/time -v powergw model train`; rows streamed as float32 and freed
# before the ONNX export); ask for a margin above it.
RETRAIN_MIN_AVAILABLE_MB = 650


def retrain_job(ctx) -> bool:
    """Weekly: retrain on simulated data plus this household's feedback, promote only without regression."""
    import json

    from edge_model.dataset import TRAINING_SPEC
    from edge_model.feedback import load_examples
    from edge_model.pipeline import CheckSet, promote_if_no_regression, train_model
    from edge_model.registry import ModelRegistry
    from edge_model.training import ForestParams

    root = registry_root(ctx)
    feedback = load_examples(root / FEEDBACK_FILE)
    rows = 0 if feedback is None else len(feedback)
    if rows == 0 or rows == int(ctx.store.get_meta(RETRAIN_KEY, "0")):
        return False  # nothing new to learn: don't spend a Pi's CPU on it
    available = _available_mb()
    if available is not None and available < RETRAIN_MIN_AVAILABLE_MB:
        # A Pi Zero 2 W (512 MB) cannot hold the training set and the forest; the shipped model and
        # the Ignore rules keep working, and the feedback waits for a bigger gateway or a manual retrain.
        log.warning("theft retrain skipped: %.0f MB of memory available, it needs about %d MB", available, RETRAIN_MIN_AVAILABLE_MB)
        ctx.store.set_meta("theft.last_retrain", json.dumps({"skipped": f"{available:.0f} MB available, needs {RETRAIN_MIN_AVAILABLE_MB} MB",
                                                             "at_ms": ctx.now_ms()}))
        return False
    registry = ModelRegistry(root)
    onnx_bytes, metadata = train_model(TRAINING_SPEC, ForestParams(n_jobs=1), CheckSet(), extra=feedback, progress=False)
    version = registry.add(onnx_bytes, metadata)
    promoted, comparison = promote_if_no_regression(registry, version, CheckSet(), feedback)
    ctx.store.set_meta(RETRAIN_KEY, str(rows))
    ctx.store.set_meta("theft.last_retrain", json.dumps({"version": version, "promoted": promoted, "at_ms": ctx.now_ms()}))
    return promoted
