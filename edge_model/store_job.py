"""The daemon's scheduled scoring job: the thin glue between the store, the pure core and the alerts.

Reads the household's hourly usage from `gateway.store.Store`, scores it with onnxruntime and
returns what to raise; the caller (the gateway's job runner) writes alerts to the shared table.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from edge_model import FEATURES_VERSION, MIN_HISTORY_DAYS, EdgeModelError
from edge_model.alerting import Alert, AlertPolicy, decide
from edge_model.features import N_FEATURES
from edge_model.feedback_store import Answer, FeedbackTables
from edge_model.ignore_rules import SuppressionRule
from edge_model.lifts import CAL_DAYS, REF_DAYS
from edge_model.meter_job import meter_check
from edge_model.recharge import recharge_mask, recharge_spans
from edge_model.scored import score_house
from edge_model.scoring import Scorer
from edge_model.series import MINUTES_PER_DAY, HouseSeries
from edge_model.steady import SteadyPolicy
from gateway.host import available_memory_mb as _available_mb
from gateway.public_holidays import HolidayCalendar
from gateway.store import UnknownNodesError, transaction

log = logging.getLogger(__name__)

# Lifts over up to 7 days against REF_DAYS before them, calibrated on the CAL_DAYS before that, and a week to score.
HISTORY_DAYS = REF_DAYS + CAL_DAYS + 7 + 7


@dataclass(frozen=True)
class ScoringResult:
    """What the dashboard shows: the alerts to raise and whether the house is still being learned."""

    alerts: list[Alert]
    history_days: int
    learning: bool
    status: str


def house_from_store(store, now_ms: int, tz: str, days: int = HISTORY_DAYS) -> HouseSeries:
    """Whole local days up to today of the house's power per minute (W), NaN where nothing was recorded,
    from the house rollup (`Store.house_usage`, gateway/house.py)."""
    zone = ZoneInfo(tz)
    today = dt.datetime.fromtimestamp(now_ms / 1000, zone).date()
    first = today - dt.timedelta(days=days - 1)
    start_ms = int(dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp() * 1000)
    minute_w = np.full(days * MINUTES_PER_DAY, np.nan)
    for bucket, mwh in store.house_usage(start_ms, now_ms, "minute").items():
        i = (bucket - start_ms) // 60_000
        if 0 <= i < len(minute_w):
            minute_w[i] = mwh * 60 / 1000.0  # mWh in a minute -> W
    return HouseSeries(first, minute_w)


def _trimmed(series: HouseSeries) -> tuple[HouseSeries, int]:
    """The series from its first day with a record (leading empty days are no history), and how many days it has."""
    known = np.flatnonzero(~np.all(np.isnan(series.minute_w.reshape(series.days, MINUTES_PER_DAY)), axis=1))
    if not len(known):
        return series, 0
    return series.window(int(known[0]), series.days - int(known[0])), int(len(known))


def score_recent(
    series: HouseSeries,
    scorer: Scorer,
    policy: AlertPolicy,
    rules: tuple[SuppressionRule, ...],
    calendar: HolidayCalendar,
    since_s: float,
    tz: str = "Asia/Kolkata",
    steady: SteadyPolicy = SteadyPolicy(),
    recharges: tuple[tuple[float, float], ...] = (),
) -> ScoringResult:
    """Alerts that fire at windows starting at or after since_s (the previous run); windows a battery
    recharge after a power cut overlaps (`recharges`, epoch-second spans) are no evidence."""
    series, history = _trimmed(series)
    if history < MIN_HISTORY_DAYS:
        return ScoringResult(
            [],
            history,
            True,
            f"learning this house: {history} of {MIN_HISTORY_DAYS} days recorded; "
            "theft alerts start once its own usual is known",
        )
    w, _ = score_house(series, scorer, calendar, steady, tz)
    excused = recharge_mask(w.start_s, recharges)
    alerts = [a for a in decide(w, policy, rules, excused=excused) if a.start_s >= since_s]
    status = f"watching: {history} days of history, model {scorer.version}"
    if excused.any():
        status += f"; {int(excused.sum())} hours after power cuts not counted (battery recharge)"
    return ScoringResult(alerts, history, False, status)


# -- the daemon's jobs (JOBS in gateway.app): the shared alerts table, feedback, retraining ----------

STATUS_KEY = "theft.status"  # JSON for the dashboard: learning, history_days, status, model, last_run_ms
SCORED_KEY = "theft.scored_until_s"  # alerts at windows before this were already raised


def registry_root(ctx) -> Path:
    """Model versions live next to the gateway's database."""
    return Path(ctx.config.gateway.db).parent / "models"


class InForce(NamedTuple):
    """An Ignore rule read from the theft_rules table, with its row id and the alert whose Ignore made it."""

    rule_id: int
    alert_id: int | None
    rule: SuppressionRule


def _series_start_s(first: dt.date, tz: str) -> float:
    return dt.datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(tz)).timestamp()


def _load_rules(store, since_s: float) -> list[InForce]:
    """The Ignore rules (theft_rules) that had not expired at since_s, oldest first.

    The theft job passes the start of the series it scores, not now: a rule that expired inside
    it still explains its pattern's windows before the expiry (as in `evaluate`), and those windows
    renew it when the pattern showed, say, while the job did not run (gateway off, or not scoring).
    A row that cannot be read as a rule (edge_model.rule_row) stays in the table and out of
    scoring, with a warning; the others apply."""
    out = []
    for saved in FeedbackTables(store).rules(expiring_after_s=since_s):
        try:
            out.append(InForce(saved.id, saved.alert_id, SuppressionRule.from_dict(saved.fields)))
        except ValueError as err:
            log.warning(
                "theft: Ignore rule #%d (alert %s) in theft_rules cannot be read (%s); scoring without it",
                saved.id,
                saved.alert_id,
                err,
            )
    return out


def renew_rules(store, rules: list[InForce], series: HouseSeries, tz: str) -> list[InForce]:
    """Keep each Ignore rule in force while its pattern keeps showing in the metered series
    (`SuppressionRule.renewed`); a moved expiry is saved."""
    n = series.days * 24
    start_s = series.hour_start_s(tz)
    hour = np.arange(n) % 24
    weekday = np.array([(series.first_date + dt.timedelta(days=int(d))).weekday() for d in np.arange(n) // 24])
    power, floor = np.nan_to_num(series.hourly_mean_w.ravel()), np.nan_to_num(series.hourly_floor_w.ravel())
    tables = FeedbackTables(store)
    out = []
    for r in rules:
        renewed = r.rule.renewed(hour, weekday, power, start_s, floor)
        if renewed.expires_s != r.rule.expires_s:
            tables.set_expiry(r.rule_id, renewed.expires_s)
        out.append(r._replace(rule=renewed))
    return out


def apply_feedback(
    store, alerts, series: HouseSeries, rules: list[InForce], calendar, tz: str
) -> tuple[list[InForce], int]:
    """Take in the household's answers on theft alerts given since the last time (the cursor over
    alert_actions, edge_model.feedback_store), in order; returns the rules now in force and how
    many answers were taken in.

    Ignore: the alert's windows become normal examples and a rule (replacing any the alert had).
    Raise: they become theft examples; the alert's rule and normal examples go (the owner changed
    their mind: the same windows are never taught both ways). Stop ignoring: the rule and the
    examples go, nothing is taught either way (an Ignore pressed by mistake says nothing about the
    pattern). Resolve: nothing (the answers before it were taken in already). Each answer commits
    with the cursor moved past it, so none is taken in twice, even by a retrain on the command line
    running beside the daemon. The features are computed once; an alert whose windows are no longer
    in the series teaches nothing."""
    tables = FeedbackTables(store)
    answers = tables.new_answers()
    if not answers:
        return rules, 0
    series_start_s = _series_start_s(series.first_date, tz)
    position = {round(series_start_s + 3_600.0 * i): i for i in range(series.days * 24)}
    seen = []  # the feature rows and windows, computed on the first answer that has windows in the series

    def features():
        if not seen:
            w, f = score_house(series, None, calendar, tz=tz)
            seen.extend((f.rows, w))
        return seen

    taken = 0
    for answer in answers:
        alert = alerts.get(answer.alert_id)
        hits = _windows_of(alert, position) if answer.action in ("ignore", "raise") else []
        rows, w = features() if hits else (None, None)
        with transaction(store):
            if tables.cursor() >= answer.action_id:
                continue  # taken in meanwhile by another process
            _take_in(tables, answer, alert, hits, rows, w)
            tables.advance(answer.action_id)
            taken += 1
    return _load_rules(store, series_start_s), taken


def _take_in(tables: FeedbackTables, answer: Answer, alert: dict, hits: list[int], rows, w) -> None:
    from edge_model import feedback

    aid = answer.alert_id
    if answer.action == "unignore":
        dropped, forgotten = tables.drop_rule(aid), tables.forget(aid)
        log.info(
            "theft: alert #%d is no longer ignored; its Ignore rule (%s) and %d normal examples are taken back",
            aid,
            "dropped" if dropped else "none",
            forgotten,
        )
        return
    if answer.action not in ("ignore", "raise"):
        return
    if answer.action == "raise":
        tables.drop_rule(aid)
    if not hits:
        log.info(
            "theft: %s on alert #%d: its hours are no longer in the series read; nothing to learn", answer.action, aid
        )
        return
    tables.forget(aid)
    a = Alert(hits[-1], float(w.start_s[hits[-1]]), 0.0, 0.0, tuple(hits), alert["message"], alert["data"])
    if answer.action == "ignore":
        examples, rule = feedback.ignore(rows, w, a)
        tables.save_rule(aid, rule.to_dict())
    else:
        examples = feedback.raise_theft(rows, a)
    feedback.store_examples(tables, aid, examples, w.start_s[list(hits)])


def _windows_of(alert: dict, position: dict) -> list[int]:
    """The alert's windows in the series: those it was raised with, or, when they are no longer in
    it, those of its latest repeat (gateway.alerts keeps a theft alert's first data)."""
    data = alert["data"]
    for starts in (data.get("window_starts_s"), (data.get("latest") or {}).get("window_starts_s")):
        hits = [position[round(s)] for s in starts or () if isinstance(s, (int, float)) and round(s) in position]
        if hits:
            return hits
    return []


def take_in_answers(ctx) -> str:
    """What the hourly job does first, for a retrain: the answers not yet taken in become rules and
    examples. Returns what happened, in words."""
    from gateway.alerts import alert_store

    store, now_ms, tz = ctx.store, ctx.now_ms(), ctx.config.gateway.timezone
    try:
        store.apply_config_mains(ctx.config["billing"].metered_nodes, now_ms)
        series = house_from_store(store, now_ms, tz)
    except UnknownNodesError as err:
        return f"answers not taken in: {err}"
    calendar = HolidayCalendar(ctx.config["billing"].holiday_state)
    rules = _load_rules(store, _series_start_s(series.first_date, tz))
    _, taken = apply_feedback(store, alert_store(store, ctx.config), series, rules, calendar, tz)
    return f"{taken} answers taken in"


def score_job(ctx) -> ScoringResult:
    """Scheduled scoring: feedback first, then score recent hours and raise new "theft" alerts (deduplicated).

    Public holidays are those of the household's state, `[billing] holiday_state` (the one setting
    billing's projection uses too; "" for none).

    The series scored is the house as the bill counts it ([billing] metered_nodes, see
    house_from_store). While that list names an id that never reported, the run scores nothing
    (`not_scored`) rather than crash every hour or score another sum than the house.
    """
    import json

    from edge_model.registry import ModelRegistry
    from gateway.alerts import alert_store

    store, now_ms, tz = ctx.store, ctx.now_ms(), ctx.config.gateway.timezone
    try:
        store.apply_config_mains(ctx.config["billing"].metered_nodes, now_ms)
        series = house_from_store(store, now_ms, tz)
    except UnknownNodesError as err:
        return not_scored(store, now_ms, err)
    # With the configured listeners: a theft alert is emailed and reported to the cloud like any other.
    alerts = alert_store(store, ctx.config)
    calendar = HolidayCalendar(ctx.config["billing"].holiday_state)
    series_start_s = _series_start_s(series.first_date, tz)
    FeedbackTables(store).drop_lapsed(series_start_s)  # none of the series' hours can apply or renew them
    rules, _ = apply_feedback(store, alerts, series, _load_rules(store, series_start_s), calendar, tz)
    rules = renew_rules(store, rules, series, tz)
    scorer, problem = ModelRegistry(registry_root(ctx)).load_current()
    since_s = float(store.get_meta(SCORED_KEY, "0"))
    recharges = recharge_spans(store, ctx.config.supply, round(series_start_s * 1000), now_ms)
    policy = AlertPolicy(threshold=scorer.threshold)
    rules_in_force = tuple(r.rule for r in rules)
    result = score_recent(series, scorer, policy, rules_in_force, calendar, since_s, tz, recharges=recharges)
    if problem:
        result = replace(result, status=f"{result.status} ({problem})")
    for a in result.alerts:
        n = a.numbers
        data = {
            **n,
            "score": round(a.score, 4),
            "threshold": round(a.threshold, 4),
            "model": scorer.version,
            "window_starts_s": [float(s) for s in a.numbers.get("window_starts_s", [])],
        }
        # One open alert per hour band: a pattern that keeps firing counts repeats instead of storming.
        # A much larger load in the band (escalated) is news: its own alert, e-mailed like a new one.
        key = f"theft:{n['first_hour']:02d}-{n['last_hour']:02d}" + (":escalated" if "escalated_from_w" in n else "")
        alerts.raise_alert("theft", None, a.message, now_ms=now_ms, dedup_key=key, data=data)
    meter_check(store, alerts, tz, now_ms)
    store.set_meta(SCORED_KEY, str(now_ms / 1000))
    store.set_meta(
        STATUS_KEY,
        json.dumps(
            {
                "learning": result.learning,
                "history_days": result.history_days,
                "status": result.status,
                "model": scorer.version,
                "last_run_ms": now_ms,
            }
        ),
    )
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

    status = (
        f"not scoring: [billing] metered_nodes lists {err}; theft scoring resumes once the list is "
        "corrected or that node reports"
    )
    try:
        last = json.loads(store.get_meta(STATUS_KEY, "null") or "null") or {}
    except ValueError:
        last = {}
    if last.get("status") != status:
        log.warning("theft: %s", status)
    store.set_meta(
        STATUS_KEY,
        json.dumps(
            {"learning": False, "history_days": 0, "status": status, "model": last.get("model"), "last_run_ms": now_ms}
        ),
    )
    return ScoringResult([], 0, False, status)


# Training the v4 recipe (128 simulated households x 112 days, 100 trees) peaked at 456 MB resident
# here (`/usr/bin/time -v powergw model train`; rows streamed as float32 and freed before the ONNX
# export); the v5 recipe has fewer rows (236,652 against 322,560) and trees; ask for a margin above it.
RETRAIN_MIN_AVAILABLE_MB = 650


def retrain_job(ctx) -> bool:
    """Weekly: take in the answers not yet taken in, then retrain on simulated data plus this
    household's examples and promote only without regression; nothing to do (no examples, or the
    same ones as the last retrain) or too little memory: no training."""
    from edge_model.dataset import TRAINING_SPEC
    from edge_model.training import ForestParams

    log.info("theft retrain: %s", take_in_answers(ctx))
    tables = FeedbackTables(ctx.store)
    fingerprint = tables.fingerprint(FEATURES_VERSION, N_FEATURES)
    if fingerprint[0] == 0 or fingerprint == tables.last_trained():
        return False  # nothing new to learn: don't spend a Pi's CPU on it
    available = _available_mb()
    if available is not None and available < RETRAIN_MIN_AVAILABLE_MB:
        # A Pi Zero 2 W (512 MB) cannot hold the training set and the forest; the shipped model and
        # the Ignore rules keep working, and the examples wait for a bigger gateway or a manual retrain.
        log.warning(
            "theft retrain skipped: %.0f MB of memory available, it needs about %d MB",
            available,
            RETRAIN_MIN_AVAILABLE_MB,
        )
        tables.record_retrain(
            ctx.now_ms(),
            fingerprint,
            note=f"skipped: {available:.0f} MB available, needs {RETRAIN_MIN_AVAILABLE_MB} MB",
        )
        return False
    report = train_on_feedback(ctx.store, registry_root(ctx), TRAINING_SPEC, ForestParams(n_jobs=1), ctx.now_ms())
    return bool(report["promoted"])


def train_on_feedback(store, root: Path, spec, params, now_ms: int, progress: bool = False) -> dict:
    """Train on simulated data (`spec`) plus the household's labelled examples, add the model to the
    registry at `root`, and promote it only if it does no worse than the model in use on the fixed
    check set and on those examples (edge_model.pipeline.promote_if_no_regression). Records the
    retrain in theft_retrains; returns the comparison with the version and the examples' counts.

    Raises EdgeModelError without examples of this gateway's features: a retrain would learn
    nothing, and an accuracy on no examples is no comparison."""
    from edge_model import feedback
    from edge_model.pipeline import CheckSet, promote_if_no_regression, train_model
    from edge_model.registry import ModelRegistry

    tables = FeedbackTables(store)
    fingerprint = tables.fingerprint(FEATURES_VERSION, N_FEATURES)
    examples = feedback.household_examples(tables, through_id=fingerprint[1])
    if examples is None:
        raise EdgeModelError(
            f"no Ignore/Raise examples of features v{FEATURES_VERSION} in the database: a retrain has "
            "nothing to learn (`powergw model train` makes a fresh model)"
        )
    check = CheckSet()
    onnx_bytes, metadata = train_model(spec, params, check, extra=examples, progress=progress)
    registry = ModelRegistry(root)
    version = registry.add(onnx_bytes, metadata)
    promoted, comparison = promote_if_no_regression(registry, version, check, examples)
    theft = int(examples.y.sum())
    comparison["feedback_examples"] = {"theft": theft, "normal": len(examples) - theft}
    tables.record_retrain(now_ms, fingerprint, version, promoted, _in_words(comparison))
    return {"version": version, **comparison}


def _in_words(comparison: dict) -> str:
    new, old, fb = comparison["candidate"], comparison["current"], comparison["feedback_accuracy"]
    return (
        f"check-set ROC-AUC {new['roc_auc']:.4f} against {old['roc_auc']:.4f} of {comparison['current_version']}; "
        f"accuracy on the household's {sum(comparison['feedback_examples'].values())} examples "
        f"{fb['candidate']:.3f} against {fb['current']:.3f}"
    )
