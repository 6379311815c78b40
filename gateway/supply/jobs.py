"""The supply part's daemon jobs: take the new readings into the power-cut log, roll each day's voltage
into its figures, and raise the alerts the household asked for ([supply] alerts)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

from .. import house
from ..alerts import alert_store
from ..app import JobContext
from .cuts import Cut, Run, feed, settle, silent_since
from .quality import DayQuality, day_quality, merged
from .tables import HOUSE, SupplyTables

log = logging.getLogger(__name__)

CHUNK = 50_000  # readings taken in per query
MAX_CHUNKS = 20  # per run: a catch-up over weeks of readings goes on in the next runs
# After a start on an unset clock (a Pi has no real-time clock) the readings' times may still move
# when NTP sets it (gateway/clock.py); the log waits for that, this long at most.
UNTRUSTED_WAIT_MS = 30 * 60_000
FIRST_DAYS = 7  # days of voltage a first run rolls up


def gateway_run(now_ms: int, proc: str = "/proc") -> Run | None:
    """This process's start and its host's last boot in wall-clock ms (Linux /proc), or None."""
    try:
        with open(f"{proc}/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat(5): start time in clock ticks after boot
        boot_ms = now_ms - time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000
        return Run(boot_ms + started_ticks * 1000 // os.sysconf("SC_CLK_TCK"), boot_ms)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _clock_unsettled(ctx: JobContext, now_ms: int) -> bool:
    gw = ctx.extras.get("gateway")
    if gw is None or gw.clock.trusted:
        return False
    return now_ms - gw.ingest.epoch_start_ms < UNTRUSTED_WAIT_MS


def track_cuts(ctx: JobContext) -> list[Cut]:
    """Take the readings committed since the last run into the cut log; returns the cuts it found."""
    now = ctx.now_ms()
    tables = SupplyTables(ctx.store)
    if _clock_unsettled(ctx, now):
        log.debug("supply: the clock is not set yet; the power-cut log waits")
        return []
    if ctx.extras.get("gateway") is not None:  # the daemon's run, dated once its clock can be trusted
        run = gateway_run(now)
        if run is not None:
            tables.record_run(run)
    section = ctx.config.supply
    rule = section.rule(ctx.config.gateway.commit_interval_s)
    tracker, reading_id = tables.tracker()
    tracker.guessed = tables.guessed_nodes()
    runs = tables.runs_since((tracker.latest_ms or 0) - rule.together_ms)
    found: list[Cut] = []
    caught_up = False
    for _ in range(MAX_CHUNKS):
        chunk = tables.readings_after(reading_id, CHUNK)
        if chunk:
            cuts = feed(tracker, (seen for _, seen in chunk), rule, runs)
            reading_id = chunk[-1][0]
            tables.save(tracker, reading_id, cuts, now)  # a catch-up stopped half-way resumes from here
            found += cuts
        if len(chunk) < CHUNK:
            caught_up = True
            break
    silent_from = None
    if caught_up:  # judging a silence by the clock, or calling now quiet, waits until the catch-up is done
        judging = tracker.silence
        settled = settle(tracker, now, rule, runs)
        if tracker.silence is not judging:
            tables.save(tracker, reading_id, settled, now)  # a run with nothing new writes nothing
        found += settled
        silent_from = silent_since(tracker, now, rule)
    for cut in found:
        log.info("supply: power cut from %s, %d min", _when(ctx, cut.start_ms), round(cut.duration_ms / 60_000))
    if section.alerts:
        _cut_alerts(ctx, found, tracker, silent_from, now)
    return found


def _when(ctx: JobContext, ms: int) -> str:
    return ctx.store.calendar.to_datetime(ms).strftime("%d %b %H:%M")


def _cut_alerts(ctx: JobContext, found: list[Cut], tracker, silent_from: int | None, now: int) -> None:
    """A cut going on longer than [supply] cut_alert_minutes, or found afterwards that long: a power_cut
    alert, resolved once the supply is back; a silence that was no cut resolves its alert saying so."""
    alerts = alert_store(ctx.store, ctx.config)
    limit_ms = ctx.config.supply.cut_alert_minutes * 60_000
    if silent_from is not None and now - silent_from >= limit_ms:
        alerts.raise_alert(
            "power_cut",
            None,
            f"No node has reported since {_when(ctx, silent_from)} ({(now - silent_from) // 60_000} min): "
            "the supply is probably cut",
            now_ms=now,
            dedup_key=f"power_cut:{silent_from}",
            data={"start_ms": silent_from, "ongoing": True},
        )
    for cut in found:
        if cut.duration_ms >= limit_ms:
            alerts.raise_alert(
                "power_cut",
                None,
                f"Power cut from {_when(ctx, cut.start_ms)} to {_when(ctx, cut.end_ms)} "
                f"({round(cut.duration_ms / 60_000)} min)",
                now_ms=now,
                dedup_key=f"power_cut:{cut.start_ms}",
                data={"start_ms": cut.start_ms, "end_ms": cut.end_ms, "ongoing": False},
            )
    judging = tracker.silence.start_ms if tracker.silence is not None else None
    for a in alerts.list(state="open", kind="power_cut", limit=1000):
        start = a["data"].get("start_ms")
        if start in (silent_from, judging):
            continue
        if not a["data"].get("ongoing", True) or SupplyTables(ctx.store).cuts(start, start + 1):
            note = "supply back"
        else:
            note = "the nodes came back without restarting: not a power cut (the gateway or the radio link)"
        alerts.act(a["id"], "resolve", "powergw", note, now_ms=now)


# ---- voltage quality ---------------------------------------------------------------------------


def roll_quality(ctx: JobContext) -> dict[str, dict[str, DayQuality]]:
    """Recompute the voltage figures of each local day from the last one rolled up to today."""
    now = ctx.now_ms()
    cal = ctx.store.calendar
    tables = SupplyTables(ctx.store)
    today = dt.date.fromisoformat(cal.day(now))
    last = tables.last_quality_day()
    day = dt.date.fromisoformat(last) if last else today - dt.timedelta(days=FIRST_DAYS)
    band = ctx.config.supply.band
    out = {}
    while day <= today:
        start, end = cal.day_start_ms(day), cal.day_start_ms(day + dt.timedelta(days=1))
        by_scope = day_figures(ctx.store, tables.volt_minutes(start, end), band)
        if by_scope or last == day.isoformat():
            tables.save_quality(day.isoformat(), by_scope)
            out[day.isoformat()] = by_scope
        day += dt.timedelta(days=1)
    if ctx.config.supply.alerts:
        _voltage_alerts(ctx, out, now)
    return out


def day_figures(store, minutes: dict, band) -> dict[str, DayQuality]:
    """{node id or "house": figures} of one day's minutes of voltage, per node and for the house's mains."""
    ids = store.node_keys()
    out = {ids[key]: q for key, ms in minutes.items() if (q := day_quality(ms, band)) is not None}
    meters = house.meters(store.conn)
    metering = house.metering(store.conn)
    mains_nodes: dict[frozenset | None, set[int]] = {}
    house_minutes = []
    for key, ms in minutes.items():
        for m in ms:
            mains = metering.mains_at(m.start_ms)
            nodes = mains_nodes.get(mains)
            if nodes is None:
                chosen = meters.values() if mains is None else [meters[k] for k in mains if k in meters]
                nodes = mains_nodes[mains] = {n for meter in chosen for n in meter.node_keys}
            if key in nodes:
                house_minutes.append(m)
    q = day_quality(merged(house_minutes), band)
    if q is not None:
        out[HOUSE] = q
    return out


def _voltage_alerts(ctx: JobContext, days: dict[str, dict[str, DayQuality]], now: int) -> None:
    """A run of minutes outside the band as long as [supply] voltage_alert_minutes: one alert per day,
    for the house (its mains), or for each node measuring voltage when the mains do not."""
    section = ctx.config.supply
    alerts = alert_store(ctx.store, ctx.config)
    for day, by_scope in days.items():
        scopes = [HOUSE] if HOUSE in by_scope else sorted(by_scope)
        for scope in scopes:
            q = by_scope[scope]
            if q.longest_out < section.voltage_alert_minutes:
                continue
            who = "the house's supply" if scope == HOUSE else f"node {scope}"
            alerts.raise_alert(
                "voltage_out_of_band",
                None,
                f"Voltage of {who} outside {section.band_low_v:g}-{section.band_high_v:g} V for {q.longest_out} "
                f"minutes in a row from {_when(ctx, q.longest_out_ms)}; lowest {q.sag_dv / 10:.1f} V at "
                f"{_when(ctx, q.sag_ms)}, highest {q.surge_dv / 10:.1f} V at {_when(ctx, q.surge_ms)}",
                now_ms=now,
                node_id=None if scope == HOUSE else scope,
                dedup_key=f"voltage:{scope}:{day}",
                data={"day": day, "scope": scope, "longest_out": q.longest_out, "minutes_out": q.minutes_out},
            )
