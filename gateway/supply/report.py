"""What `powergw supply` prints and the dashboard's API returns: the cut log and the voltage figures of
a range of local days, as one plain dict (JSON-ready)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

from .. import PowerGwError
from .cuts import silent_since
from .tables import HOUSE, SupplyTables


def report(store, section, first: dt.date, last: dt.date, now_ms: int, commit_interval_s: float = 0.0) -> dict:
    """Cuts overlapping the local days first..last, each day's minutes without power and voltage figures
    (the house and each node), and the start of a silence of every node going on now (None when nodes
    are reporting). `cut_minutes` count only the part of each cut inside the range."""
    if last < first:
        raise PowerGwError(f"the range {first} to {last} ends before it starts")
    cal = store.calendar
    start, end = cal.day_start_ms(first), cal.day_start_ms(last + dt.timedelta(days=1))
    tables = SupplyTables(store)
    try:
        cuts = tables.cuts(start, end)
        quality = tables.quality(first.isoformat(), last.isoformat())
        tracker, _ = tables.tracker()
    except sqlite3.OperationalError as err:
        raise PowerGwError(
            f"{store.path} has no supply tables yet ({err}): `powergw migrate` or a start of the daemon adds them"
        ) from None
    off = _minutes_off(cuts, cal, first, last)
    days = []
    for day in sorted(quality.keys() | off.keys()):
        scopes = {scope: _figures(q) for scope, q in quality.get(day, {}).items()}
        days.append({"day": day, "cut_minutes": off.get(day, 0.0), "house": scopes.pop(HOUSE, None), "nodes": scopes})
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "band_v": [section.band_low_v, section.band_high_v],
        "cuts": [
            {
                "start_ms": c.start_ms,
                "end_ms": c.end_ms,
                "duration_min": round(c.duration_ms / 60_000, 1),
                "nodes": c.nodes,
                "missing": c.missing,
            }
            for c in cuts
        ],
        "cut_minutes": round(sum(off.values()), 1),
        "silent_since_ms": silent_since(tracker, now_ms, section.rule(commit_interval_s)),
        "days": days,
    }


def _minutes_off(cuts, cal, first: dt.date, last: dt.date) -> dict[str, float]:
    """{local day: minutes of it inside a cut} for the days first..last that had any."""
    out = {}
    day = first
    while day <= last:
        lo, hi = cal.day_start_ms(day), cal.day_start_ms(day + dt.timedelta(days=1))
        ms = sum(max(0, min(c.end_ms, hi) - max(c.start_ms, lo)) for c in cuts)
        if ms:
            out[day.isoformat()] = round(ms / 60_000, 1)
        day += dt.timedelta(days=1)
    return out


def _figures(q) -> dict:
    d = dataclasses.asdict(q)
    for key in ("mean_dv", "sag_dv", "surge_dv"):
        d[key.replace("_dv", "_v")] = d.pop(key) / 10
    return d


def as_text(r: dict, cal) -> str:
    """The report as the CLI prints it: the cuts, then one line per day and scope."""

    def at(ms: int | None) -> str:
        return "-" if ms is None else cal.to_datetime(ms).strftime("%d %b %H:%M")

    lines = [f"power cuts {r['from']} to {r['to']}: {len(r['cuts'])}, {r['cut_minutes']:g} min in all"]
    if r["silent_since_ms"] is not None:
        lines.append(f"  no node has reported since {at(r['silent_since_ms'])}: a cut may be going on")
    for c in r["cuts"]:
        note = f", {c['missing']} node(s) not back" if c["missing"] else ""
        lines.append(f"  {at(c['start_ms'])} to {at(c['end_ms'])}  {c['duration_min']:g} min  {c['nodes']} nodes{note}")
    off = [f"{d['day']} {d['cut_minutes']:g} min" for d in r["days"] if d["cut_minutes"]]
    if off:
        lines.append(f"  without power: {', '.join(off)}")
    low, high = r["band_v"]
    lines.append(f"voltage (band {low:g}-{high:g} V)")
    lines.append(
        "  day         scope              minutes  out  low  high  longest  mean V  lowest V (at)     highest V (at)"
    )
    for d in r["days"]:
        rows = ([("house", d["house"])] if d["house"] else []) + sorted(d["nodes"].items())
        for scope, f in rows:
            lines.append(
                f"  {d['day']}  {scope:<17}  {f['minutes']:>7}  {f['minutes_out']:>3}  {f['minutes_low']:>3}  "
                f"{f['minutes_high']:>4}  {f['longest_out']:>7}  {f['mean_v']:>6.1f}  "
                f"{f['sag_v']:>6.1f} ({at(f['sag_ms'])})  {f['surge_v']:>6.1f} ({at(f['surge_ms'])})"
            )
    if not any(d["house"] or d["nodes"] for d in r["days"]):
        lines.append("  no node measured the voltage on these days (nodes without a voltage module assume it)")
    return "\n".join(lines)
