"""A house tapped in its last nights, as the dashboard's alert tests need it: 40 days of usage in
the store (300 W all day; 1,400 W from 01:00 to 05:00 on the last 4 nights), the theft alert the
daemon's job raises for it (data as edge_model.store_job writes it), and a budget alert at 52 %."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.alerts import AlertStore
from gateway.app import open_store
from gateway.batch import Batch

IST = ZoneInfo("Asia/Kolkata")
USUAL_W = 300
TAP_W = 1100
TAP_HOURS = (1, 2, 3, 4)
NIGHTS = 4


def tapped_nights(now_ms: int) -> list[dt.date]:
    """The local dates of the last NIGHTS nights whose tapped hours are over by now_ms."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, IST)
    last = now.date() if now.hour >= TAP_HOURS[-1] + 1 else now.date() - dt.timedelta(days=1)
    return [last - dt.timedelta(days=k) for k in range(NIGHTS - 1, -1, -1)]


def hour_ms(day: dt.date, hour: int) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), IST).timestamp() * 1000)


def seed_tapped_house(db: Path, now_ms: int, days: int = 40) -> dict:
    """Usage, a theft alert and a budget alert in a new database at `db`; returns their ids and the tap's span."""
    nights = tapped_nights(now_ms)
    tapped = {hour_ms(d, h) for d in nights for h in TAP_HOURS}
    store = open_store(db)
    try:
        key = store.ensure_node("a4:cf:12:34:56:79", "serial", now_ms - days * 86_400_000)
        store.conn.execute("UPDATE nodes SET name = 'mains', last_seen_ms = ? WHERE node_key = ?", (now_ms, key))
        batch = Batch()
        first = dt.datetime.fromtimestamp(now_ms / 1000, IST).date() - dt.timedelta(days=days)
        t = hour_ms(first, 0)
        while t + 3_600_000 <= now_ms:
            watts = USUAL_W + (TAP_W if t in tapped else 0)
            batch.add_energy(key, t, t + 3_600_000, watts * 1000)
            t += 3_600_000
        with store.lock:
            store.conn.execute("BEGIN IMMEDIATE")
            store._apply_rollups(batch)
            store.conn.execute("COMMIT")
        alerts = AlertStore(store)
        starts = sorted(tapped)
        theft, _ = alerts.raise_alert(
            "theft",
            None,
            f"+{TAP_W} W from 01:00 to 05:00 on 4 of the last 4 nights; usual {USUAL_W} W",
            now_ms=now_ms - 3_600_000,
            dedup_key="theft:01-05",
            data={
                "excess_w": float(TAP_W),
                "usual_w": float(USUAL_W),
                "first_hour": 1,
                "last_hour": 5,
                "hours": list(TAP_HOURS),
                "days_seen": NIGHTS,
                "days_considered": NIGHTS,
                "windows_over_threshold": len(starts),
                "window_starts_s": [s / 1000 for s in starts],
                "path": "steady",
                "score": 0.9201,
                "threshold": 0.5568,
                "model": "shipped",
            },
        )
        budget, _ = alerts.raise_alert(
            "budget_threshold",
            None,
            "50% of the budget used: ₹416.00 of ₹800.00 (180 units) on day 30 of 61",
            now_ms=now_ms - 600_000,
            dedup_key="budget:2027-01-01:50",
            data={"threshold_pct": 50, "spent": "416.00", "budget_paise": 80_000},
        )
    finally:
        store.close()
    return {"theft": theft, "budget": budget, "from_ms": starts[0], "to_ms": starts[-1] + 3_600_000, "nights": nights}


def tapped_app(tmp: Path, clock) -> tuple:
    """The dashboard's Flask app over a new tapped house in `tmp` on `clock`: (app, what seed_tapped_house returned)."""
    from local_ui import create_app
    from tests.support.dashboard import ADMIN_PASSWORD

    db = tmp / "powergw.db"
    seeded = seed_tapped_house(db, clock())
    app = create_app(
        db,
        live_path=tmp / "run" / "live.json",
        clock=clock,
        admin_password=ADMIN_PASSWORD,
        registry_root=tmp / "models",
    )
    return app, {"db": db, **seeded}
