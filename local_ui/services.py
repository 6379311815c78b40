"""The other parts of powergw the dashboard shows, bound here through their public APIs only.

Alerts (gateway.alerts), billing (gateway.billing), household settings and the theft model's
registry each get an adapter that turns the part's refusals into `InputError` (a 4xx with the
part's message) or `Unavailable` (HTTP 503: a part that cannot answer until its configuration or
data is fixed), never made-up numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.alerts import ACTIONS, KINDS, STATES, AlertError, alert_store
from gateway.billing import BillingError, MeteredNodeError, PaymentError, TariffError, reconcile

from .errors import UiError


class Unavailable(UiError):
    """A part of powergw the dashboard would show cannot answer: not configured, or its data unreadable."""

    status = 503


class InputError(UiError):
    """A request value the part behind the dashboard refused; the message says why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---- alerts ---------------------------------------------------------------------------------


class Alerts:
    """gateway.alerts.AlertStore on the request's store, with the listeners the config asks for."""

    def __init__(self, store, config, now_ms: Callable[[], int]):
        # With the configured listeners (e-mail, cloud outbox), as the CLI and the jobs use it.
        self.alerts = alert_store(store, config)
        self.now_ms = now_ms

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(STATES)

    @property
    def kinds(self) -> dict[str, str]:
        return {name: k.title for name, k in KINDS.items()}

    @property
    def actions(self) -> dict[str, tuple[tuple[str, ...], str]]:
        return dict(ACTIONS)

    def list(self, **filters) -> list[dict]:
        try:
            return self.alerts.list(**filters)
        except AlertError as err:
            raise InputError(str(err)) from err

    def counts(self) -> dict[str, int]:
        return self.alerts.counts()

    def get(self, alert_id: int) -> dict:
        try:
            return self.alerts.get(alert_id)
        except AlertError as err:
            raise InputError(str(err), 404) from err

    def act(self, alert_id: int, action: str, by: str, comment: str) -> dict:
        self.get(alert_id)
        try:
            return self.alerts.act(alert_id, action, by, comment, now_ms=self.now_ms())
        except AlertError as err:
            raise InputError(str(err), 409) from err


# ---- billing --------------------------------------------------------------------------------


class Billing:
    """The dashboard's billing: BillingJsonView's answers, with its refusals as HTTP errors.

    gateway.billing.service.BillingJsonView does the work; this adapter turns its refusals into 4xx
    answers (a bad amount 400, an unknown bill or payment 404, a reused idempotency key 409) and
    a tariff the config cannot load into 503, since no request can fix that.
    """

    def __init__(self, store, config, now_ms: Callable[[], int]):
        from gateway.billing.service import BillingJsonView

        self.store = store
        self.now_ms = now_ms
        self.section = config["billing"]
        self.service = BillingJsonView(store, config, now_ms=now_ms)

    def call(self, fn: Callable, *args, **kwargs) -> Any:
        """`fn(*args, **kwargs)`, billing's refusals turned into Unavailable (503) or InputError (4xx)."""
        from gateway.store import StoreError

        try:
            return fn(*args, **kwargs)
        except TariffError as err:
            raise Unavailable(f"billing cannot load its tariff: {err}") from err
        except MeteredNodeError as err:
            # A node named in [billing] metered_nodes that has never reported: no request can fix that.
            raise Unavailable(f"billing cannot count the household's units: {err}") from err
        except PaymentError as err:
            raise InputError(str(err), 400) from err
        except BillingError as err:
            text = str(err)
            raise InputError(text, 404 if text.startswith("no ") else 409) from err
        except StoreError as err:
            raise Unavailable(f"billing cannot read the database: {err}") from err

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.service, name)
        if not callable(fn):
            return fn

        def guarded(*args, **kwargs):
            return self.call(fn, *args, **kwargs)

        return guarded

    def today_cost(self) -> Decimal:
        """What today's units add to this cycle's bill, in rupees (slab-aware: see estimate.today_cost)."""
        from gateway.billing.estimate import today_cost
        from gateway.billing.tariff_book import TariffBook

        return self.call(
            lambda: today_cost(self.store, self.section, TariffBook.load(self.section.tariff_dir), self.now_ms())
        )

    def cycle_dates(self) -> Callable:
        """local date -> (first day, day after the last) of its billing cycle, as billing counts them."""
        from gateway.billing.cycle import cycle_containing

        months = self.cycle()[1]
        anchor = self.section.anchor

        def cycles(day):
            c = cycle_containing(anchor, months, day)
            return c.start, c.end

        return cycles

    def upi_ready(self) -> None:
        if not (self.section.upi_vpa and self.section.upi_payee_name):
            raise Unavailable(
                "no UPI ID yet: add the utility's UPI ID and payee name on the Settings page "
                "(billing.upi_vpa, billing.upi_payee_name)"
            )

    def cancel(self, payment_id: int, *, by: str) -> dict:
        """Cancel a pending payment (the UPI transfer never went through); a confirmed one is refused (409)."""
        from gateway.billing.service import _payment

        rows = [r for r in self.service.ledger.payments() if r["id"] == payment_id]
        if not rows:
            raise InputError(f"no payment #{payment_id}", 404)
        row = self.call(self.service.ledger.cancel_payment, rows[0]["payment_key"], now_ms=self.now_ms(), by=by)
        return _payment(row)


# ---- theft model ----------------------------------------------------------------------------


def model_registry_root() -> Path:
    """Where `powergw model` keeps model versions (the same default as its CLI)."""
    data = Path(os.environ.get("POWERGW_DATA_DIR", Path.home() / ".local/share/powergw"))
    return data / "models"


def model_status(store, now_ms: int, registry_root: Path | None = None, tz: str | None = None) -> dict:
    """Which model scores this household, how it did on its check set, and whether it is still learning.

    Reads the registry's files (state.json, metadata.json) rather than importing the scorer, so
    the dashboard never loads onnxruntime.
    """
    root = registry_root or model_registry_root()
    from edge_model.registry import ModelRegistry  # no numpy or onnxruntime: it reads state.json as the daemon does

    try:
        current = ModelRegistry(
            root
        ).current()  # None while state.json is missing or damaged (the shipped model scores)
    except OSError:
        current = None
    import edge_model
    from edge_model import FEATURES_VERSION, MIN_HISTORY_DAYS

    shipped = Path(edge_model.__file__).parent / "models" / "shipped"
    # The model that scores, as the daemon picks it (ModelRegistry.current_dir / load_current): the
    # current version, or the shipped model while it is of other features or its metadata is unreadable.
    meta, problem = None, None
    if current:
        try:
            meta = json.loads((root / current / "metadata.json").read_text())
        except (OSError, ValueError):
            problem = f"model {current} cannot be read; the shipped model is used"
        if meta is not None and meta.get("features_version") != FEATURES_VERSION:
            meta, problem = (
                None,
                f"model {current} is of features v{meta.get('features_version')}; the shipped model is used "
                "until a retrain",
            )
        if meta is None:
            current = None
    model_dir = root / current if current else shipped
    try:
        meta = meta if meta is not None else json.loads((model_dir / "metadata.json").read_text())
    except (OSError, ValueError) as err:
        raise Unavailable(f"no usable theft model in {model_dir}: {err}") from err

    days = store.conn.execute("SELECT count(DISTINCT day) FROM usage_day").fetchone()[0]
    check = (meta.get("metrics") or {}).get("check_set") or {}
    # What the daemon's hourly theft job last said (edge_model.store_job writes it); none before its first run.
    try:
        last = json.loads(store.get_meta("theft.status", "null") or "null") or {}
    except ValueError:
        last = {}
    return {
        "version": meta.get("version") or current or "shipped",
        "source": "registry" if current else "shipped",
        "trained_at": meta.get("trained_at"),
        "features_version": meta.get("features_version"),
        "threshold": meta.get("threshold"),
        "check_set": {k: check.get(k) for k in ("roc_auc", "pr_auc", "recall_at_threshold", "window_fpr_at_threshold")},
        "history_days": days,
        "min_history_days": MIN_HISTORY_DAYS,
        "learning": days < MIN_HISTORY_DAYS,
        "last_run_ms": last.get("last_run_ms"),
        "last_status": last.get("status"),
        "last_model": last.get("model"),
        "ignore_rules": ignore_rules(store, now_ms, tz),
        "problem": problem,
    }


def ignore_rules(store, now_ms: int, tz: str | None = None) -> list[dict]:
    """What the gateway is ignoring: each Ignore rule still in force (expiring after now), in words
    (its "until" date in the household's zone `tz`).

    Read from the theft_rules table the daemon's theft job keeps (edge_model.feedback_store, worded
    by edge_model.rule_text: no numpy in this process). A row that cannot be read as a rule is left
    out, as the daemon scores without it. `alert_state` is the Ignored alert's state now: anything
    but "ignored" (Stop ignoring, a Raise) means the next hourly theft check takes the rule back.
    """
    from edge_model.feedback_store import FeedbackTables
    from edge_model.rule_text import describe

    try:
        saved = FeedbackTables(store).rules(expiring_after_s=now_ms / 1000)
    except sqlite3.OperationalError:  # a database without the theft tables (not migrated by this version)
        return []
    out = []
    for rule in saved:
        try:
            text = describe(rule.fields, tz)
        except ValueError:
            continue
        out.append(
            {
                "alert_id": rule.alert_id,
                "text": text,
                "expires_ms": int(rule.fields["expires_s"] * 1000),
                "renewing": rule.fields["renew_days"] > 0,
            }
        )
    states = _alert_states(store, [r["alert_id"] for r in out if r["alert_id"] is not None])
    for r in out:
        r["alert_state"] = states.get(r["alert_id"])
    return out + _pending(store, {r["alert_id"] for r in out if r["alert_state"] == "ignored"})


def _pending(store, in_force: set) -> list[dict]:
    """Ignores the next hourly theft check will take in, listed at once (`pending`: true) so the
    household sees its answer counted; an alert whose rule is already in force is listed once."""
    from edge_model.pending_ignores import pending_ignores

    return [
        {
            "alert_id": p["alert_id"],
            "text": p["text"],
            "expires_ms": None,
            "renewing": True,
            "alert_state": "ignored",
            "pending": True,
            "summary": {
                "key": "alert_pending_pattern",
                "params": {"power": f"{p['excess_w']:.0f} W", **_band(p)},
                "formats": {"from": ["hour", p["first_hour"]], "to": ["hour", p["last_hour"]]},
            },
        }
        for p in pending_ignores(store)
        if p["alert_id"] not in in_force
    ]


def _band(p: dict) -> dict:
    from gateway.alerts.texts import hour_label

    return {"from": hour_label(p["first_hour"]), "to": hour_label(p["last_hour"])}


def _alert_states(store, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    try:
        return dict(
            store.conn.execute(
                f"SELECT id, state FROM alerts WHERE id IN ({', '.join('?' * len(ids))})", ids
            ).fetchall()
        )
    except sqlite3.OperationalError:  # a database without the alerts table (not migrated by this version)
        return {}


# ---- household settings and meter readings ----------------------------------------------------------


class HouseholdSettings:
    """gateway.settings_store on the request's store: the keys the household may set, and their refusals as 400s."""

    def __init__(self, store, config):
        from gateway import settings_store

        self.mod = settings_store
        self.store = store
        self.config = config

    def describe(self) -> list[dict]:
        return self.mod.describe(self.store, self.config)

    def change(self, set_values: dict, reset: list[str], *, by: str, now_ms: int) -> list[dict]:
        try:
            self.mod.apply_changes(self.store, self.config, set_values, reset, by=by, now_ms=now_ms)
        except self.mod.SettingsError as err:
            raise InputError(str(err)) from err
        return self.describe()


class MeterReadings:
    """The utility meter's readings (or a real bill's units) against the sensors, as `powergw meter` records them."""

    def __init__(self, store, config, now_ms: Callable[[], int]):
        self.store, self.config, self.now_ms = store, config, now_ms
        self.alerts = alert_store(store, config)

    def record(
        self,
        *,
        reading: Any = None,
        billed_units: Any = None,
        date_from: str | None = None,
        date_to: str | None = None,
        note: str = "",
    ) -> dict:
        now = self.now_ms()
        section = self.config["billing"]
        try:
            if reading is not None:
                row, _ = reconcile.record_meter_reading(
                    self.store, section, self.alerts, reading, at_ms=now, now_ms=now, note=note
                )
            else:
                from gateway.billing.cycle import billed_period

                today = dt.date.fromisoformat(self.store.calendar.day(now))
                first, end_day = billed_period(date_from, date_to, today)
                start, end = self.store.calendar.day_start_ms(first), self.store.calendar.day_start_ms(end_day)
                row, _ = reconcile.record_billed_units(
                    self.store, section, self.alerts, billed_units, start_ms=start, end_ms=end, now_ms=now, note=note
                )
        except MeteredNodeError as err:
            raise Unavailable(f"the sensors' units cannot be counted: {err}") from err
        except BillingError as err:
            raise InputError(str(err)) from err
        return next(r for r in self.list(limit=1000) if r["id"] == row["id"])

    def correct(self, reading_id: int, value: Any, *, by: str, note: str = "") -> dict:
        """Correct a reading's kWh (a typo), compared again; an audit line keeps the old value."""
        try:
            reconcile.correct_reading(
                self.store,
                self.config["billing"],
                self.alerts,
                reading_id,
                value,
                by=by,
                now_ms=self.now_ms(),
                note=note,
            )
        except MeteredNodeError as err:
            raise Unavailable(f"the sensors' units cannot be counted: {err}") from err
        except BillingError as err:
            raise InputError(str(err), 404 if str(err).startswith("no meter reading") else 400) from err
        return next(r for r in self.list(limit=1000) if r["id"] == reading_id)

    def delete(self, reading_id: int, *, by: str, note: str = "") -> dict:
        """Delete a reading; the next one is compared again; an audit line keeps what it was."""
        try:
            return reconcile.delete_reading(
                self.store, self.config["billing"], self.alerts, reading_id, by=by, now_ms=self.now_ms(), note=note
            )
        except MeteredNodeError as err:
            raise Unavailable(f"the sensors' units cannot be counted: {err}") from err
        except BillingError as err:
            raise InputError(str(err), 404 if str(err).startswith("no meter reading") else 400) from err

    def audit(self, limit: int = 50) -> list[dict]:
        return reconcile.audit_lines(self.store, limit)

    def list(self, limit: int = 100) -> list[dict]:
        """Newest first, each with its gap, whether it was flagged and the meter_mismatch alert it raised."""
        cal = self.store.calendar
        rows = self.store.conn.execute(
            "SELECT m.id, m.kind, m.ts_ms, m.value_kwh, m.period_start_ms, m.meter_kwh, m.sensor_kwh, "
            "m.gap_pct, m.flagged, m.entered_ms, m.note, a.id, a.state "
            "FROM meter_readings m LEFT JOIN alerts a ON a.id = ("
            "  SELECT max(id) FROM alerts WHERE dedup_key = 'meter_mismatch:' || m.period_start_ms || ':' || m.ts_ms) "
            "ORDER BY m.ts_ms DESC, m.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        threshold = Decimal(str(self.config["billing"].meter_mismatch_pct))
        out = []
        for rid, kind, ts, value, start, meter, sensor, gap, flagged, entered, note, alert_id, alert_state in rows:
            message = None
            if gap is not None:
                comparison = reconcile.Comparison(
                    Decimal(meter), Decimal(sensor), Decimal(gap), bool(flagged), threshold
                )
                end_day = cal.day(ts - 1) if kind == "billed_units" else cal.day(ts)
                message = comparison.message(f"from {cal.day(start)} to {end_day}")
            out.append(
                {
                    "id": rid,
                    "kind": kind,
                    "ts_ms": ts,
                    "date": cal.day(ts),
                    "value_kwh": value,
                    "period_start_ms": start,
                    "period_start": cal.day(start) if start is not None else None,
                    "meter_kwh": meter,
                    "sensor_kwh": sensor,
                    "gap_pct": gap,
                    "flagged": bool(flagged),
                    "alert_id": alert_id,
                    "alert_state": alert_state,
                    "entered_ms": entered,
                    "note": note,
                    "message": message,
                }
            )
        return out
