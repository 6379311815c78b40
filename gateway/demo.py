"""`powergw demo`: a simulated house streams into a local database, with the dashboard on localhost.

The first start makes the house's history (gateway/simulation/demo_scenario.py: long enough for
the theft detector to be calibrated, with someone tapping the line in its last nights), the units
of the last paper bill, a meter reading and a budget already past half; later starts reuse that
database and fill in only the hours since the last run. The theft check and the billing jobs run
a few seconds after start, so their alerts are on the dashboard within a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from .config import Config
from .daemon import build_gateway
from .protocol import encode_wire
from .simulation.demo_scenario import DEMO_PAYEE, DEMO_UPI_VPA, TAP_HOURS, TAP_W, Scenario, budget_inr, register_kwh
from .simulation.tapping import SteadyTap, tapped
from .sources.simulator import VirtualNode, household_power, node_id_for

# The jobs the demo runs soon after start (seconds), so that what they raise shows at once.
SOON_S = {"theft_score": 3, "billing_check": 2, "billing_close": 1, "billing_due": 4}


def run_demo(args: argparse.Namespace, start_ui: Callable[[object, str, int], object]) -> int:
    """Run the demo until Ctrl-C, SIGTERM or `args.duration`; `start_ui(gw, host, port)` serves the dashboard."""
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "powergw.db"
    if not getattr(args, "verbose", 0):
        # The login must be the last line on the screen: the jobs' progress goes to -v.
        logging.getLogger().setLevel(logging.WARNING)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    scenario = Scenario.load(data_dir) if db.exists() else None
    fresh = scenario is None
    if fresh:
        _set_aside(db, now)
        scenario = Scenario.new(now, max(1, args.history_days))
    config = demo_config(data_dir, args.port, scenario, args.seed)
    gw = build_gateway(config, db_path=db, serial_ports=[], runtime_dir=data_dir / "run")
    gw.jobs = tuple(
        replace(s, first_delay_s=min(s.first_delay_s, SOON_S.get(s.name, s.first_delay_s))) for s in gw.jobs
    )
    print(f"powergw demo: data directory {data_dir}")

    nodes = _house_nodes(args.seed, scenario)
    started = time.monotonic()
    if fresh:
        print(f"powergw demo: making {args.history_days} days of history (once; later starts reuse it)…", flush=True)
    _fill_history(gw.ingest, nodes, now, max(1, args.history_days), fresh)
    if fresh:
        _first_time(gw.ingest.store, config, scenario, now, nodes)
        scenario.save(data_dir)
        print(f"powergw demo: history made in {time.monotonic() - started:.0f} s", flush=True)

    password = os.environ.get("POWERGW_ADMIN_PASSWORD")
    if not password:
        password = secrets.token_urlsafe(9)
        os.environ["POWERGW_ADMIN_PASSWORD"] = password
    gw.ui = start_ui(gw, "127.0.0.1", args.port)
    gw.start()
    print(f"powergw demo: dashboard on http://127.0.0.1:{args.port}  (user 'admin', password '{password}')", flush=True)

    _stream(gw, nodes, args.duration)
    print(f"powergw demo: stopped; data kept in {data_dir}")
    return 0


def _set_aside(db: Path, now: dt.datetime) -> None:
    """A database made by a demo without a saved story (an older version) is kept under another name,
    never deleted: the new history needs a database of its own."""
    if not db.exists():
        return
    aside = db.with_name(f"powergw-before-{now:%Y%m%dT%H%M%S}.db")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{db}{suffix}")
        if old.exists():
            old.rename(Path(f"{aside}{suffix}"))
    print(f"powergw demo: the earlier demo database is kept as {aside}")


def demo_config(data_dir: Path, port: int, scenario: Scenario, seed: int) -> Config:
    """The demo's config: everything under its data directory (nothing in /var/lib/powergw), a
    Chennai house on the TNPDCL tariff read on the scenario's day, both floors' sensors as the mains
    (each measures its own board), and the example UPI ID."""
    db = data_dir / "powergw.db"
    config = Config({}).replace("gateway", db=str(db), commit_interval_s=2.0, timezone=scenario.tz)
    config = config.replace("ui", port=port)
    config = config.replace("backup", dir=str(data_dir / "backups"))
    config = config.replace("cloud", models_dir=str(data_dir / "models"))
    return config.replace(
        "billing",
        tariff="tn-domestic",
        holiday_state="TN",
        meter_reading_date=scenario.meter_reading_date,
        metered_nodes=[node_id_for(i, seed) for i in range(len(FLOORS))],
        upi_vpa=DEMO_UPI_VPA,
        upi_payee_name=DEMO_PAYEE,
    )


FLOORS = (("ground-floor", "medium"), ("first-floor", "small"))  # (sensor name, household_power preset)


def _house_nodes(seed: int, scenario: Scenario) -> list[VirtualNode]:
    """A two-storey house with a distribution board per floor, a sensor on each: the two measure
    disjoint circuits, so the household is their sum. The ground floor's line is tapped."""
    tap = SteadyTap(TAP_W, *TAP_HOURS, dt.datetime.fromtimestamp(scenario.tap_since_ms / 1000, dt.UTC), tz=scenario.tz)
    nodes = []
    for i, (name, preset) in enumerate(FLOORS):
        power = household_power(preset, seed + i, scenario.tz)
        if i == 0:
            power = tapped(power, tap)
        nodes.append(VirtualNode(node_id_for(i, seed), power, name=name, seed=seed + i))
    return nodes


def _fill_history(ingest, nodes: list[VirtualNode], now: dt.datetime, history_days: int, fresh: bool) -> None:
    """Minute frames from `history_days` ago (a new database) or from where each node left off (a
    database the demo made before; a gap longer than `history_days` stays a gap, so a start months
    later is still quick) up to now; a node's counters continue from the stored ones, so a later
    start never looks like a reboot."""
    earliest = now - dt.timedelta(days=history_days)
    for node in nodes:
        st = ingest.states.get(node.node_id)
        if fresh:
            start = earliest
        elif st and st.account.ts_ms and st.account.energy_mwh is not None:
            node.boot_id, node.seq = st.account.boot_id, (st.account.seq or 0) + 1
            node.energy_mwh, node.uptime_ms = st.account.energy_mwh, st.account.uptime_ms or 0
            node._pending_hello = False
            start = max(earliest, dt.datetime.fromtimestamp(st.account.ts_ms // 1000, dt.UTC))
        else:
            continue
        node.window_ms = 60_000  # the longest window the protocol carries (window_ms is 16 bits)
        for end, frames in node.frames(start, int((now - start).total_seconds() // 60)):
            # Every frame, the HELLO riding along each minute-long window included: each took a seq, and a
            # skipped one would count as a reading missed on the Sensors page.
            wire = b"".join(encode_wire(f) for f in frames)
            ingest.feed(f"sim:{node.name}", wire, "sim", ts_ms=int(end.timestamp() * 1000))
        node.window_ms = 1000
    ingest.flush()


def _first_time(store, config: Config, scenario: Scenario, now: dt.datetime, nodes: list[VirtualNode]) -> None:
    """What a household would have done by now: named its sensors, entered the units of its last paper
    bill (the cycle before this one, mostly before the sensors were installed), read the meter at this
    cycle's start and set a budget, here one the cycle so far has already used a little over half of."""
    from .alerts import alert_store
    from .billing.cycle import cycle_containing, previous_cycle
    from .billing.estimate import BUDGET_META_KEY, covered_days, cycle_estimate, kwh
    from .billing.reconcile import record_billed_units, record_meter_reading
    from .billing.tariff_book import TariffBook
    from .settings_store import set_node_names

    section, cal = config["billing"], store.calendar
    book, alerts = TariffBook.load(section.tariff_dir), alert_store(store, config)
    now_ms = int(now.timestamp() * 1000)
    set_node_names(store, {n.node_id: n.name.replace("-", " ").capitalize() for n in nodes}, by="demo", now_ms=now_ms)
    months = book.in_force(section.tariff, dt.date.fromisoformat(cal.day(now_ms))).cycle_months
    this = cycle_containing(section.anchor, months, dt.date.fromisoformat(scenario.meter_reading_date))
    last = previous_cycle(section.anchor, months, this)
    start_ms, end_ms = cal.day_start_ms(last.start), cal.day_start_ms(last.end)
    covered = covered_days(store, start_ms, end_ms)
    if covered >= 1:
        measured = kwh(sum(store.house_usage(start_ms, end_ms, "hour").values()))
        units = int(measured * Decimal((end_ms - start_ms) / 86_400_000 / covered))
        note = "demo: the units on the last paper bill"
        record_billed_units(store, section, alerts, units, start_ms=start_ms, end_ms=end_ms, now_ms=now_ms, note=note)
    used = sum(store.house_usage(scenario.history_start_ms, scenario.meter_read_ms, "hour").values())
    record_meter_reading(
        store,
        section,
        alerts,
        register_kwh(kwh(used)),
        at_ms=scenario.meter_read_ms,
        now_ms=now_ms,
        note="demo: the reading the cycle starts from",
    )
    est = cycle_estimate(store, section, book, now_ms)
    store.set_meta(BUDGET_META_KEY, str(budget_inr(Decimal(str(est.bill.total))) * 100))


def _stream(gw, nodes: list[VirtualNode], duration: float) -> None:
    """One frame a second from each node, in real time, until stopped (or `duration` seconds)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    t = dt.datetime.now(dt.UTC)
    try:
        while not stop.is_set():
            for node in nodes:
                for _end, frames in node.frames(t, 1):
                    gw.sink(f"sim:{node.name}", node.wire(frames), "sim")
            t += dt.timedelta(seconds=1)
            if duration and time.monotonic() - started >= duration:
                break
            stop.wait(max(0.0, (t - dt.datetime.now(dt.UTC)).total_seconds()))
    except KeyboardInterrupt:
        pass
    finally:
        gw.stop()
