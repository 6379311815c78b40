"""`powergw demo`: two simulated nodes stream into a local database, with the dashboard on localhost."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .config import Config
from .daemon import build_gateway
from .protocol import encode_wire
from .sources.simulator import VirtualNode, household_power, node_id_for


def run_demo(args: argparse.Namespace, start_ui: Callable[[object, str, int], object]) -> int:
    """Run the demo until Ctrl-C, SIGTERM or `args.duration`; `start_ui(gw, host, port)` serves the dashboard."""
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "powergw.db"
    # Everything the demo writes stays under its data directory (nothing in /var/lib/powergw).
    config = Config({}).replace("gateway", db=str(db), commit_interval_s=2.0)
    config = config.replace("ui", port=args.port)
    config = config.replace("backup", dir=str(data_dir / "backups"))
    config = config.replace("cloud", models_dir=str(data_dir / "models"))
    gw = build_gateway(config, db_path=db, serial_ports=[], runtime_dir=data_dir / "run")
    print(f"powergw demo: data directory {data_dir}")
    print(f"powergw demo: database {db}")

    nodes = _house_nodes(args.seed)
    _history_or_resume(gw.ingest, nodes, args.history_days)

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


def _house_nodes(seed: int) -> list[VirtualNode]:
    """A two-storey house with a distribution board per floor, a node on each: the two nodes
    measure disjoint circuits, so the household is their sum."""
    presets = [("ground-floor", "medium"), ("first-floor", "small")]
    nodes = []
    for i, (name, preset) in enumerate(presets):
        node = VirtualNode(node_id_for(i, seed), household_power(preset, seed + i), name=name, seed=seed + i)
        nodes.append(node)
    return nodes


def _history_or_resume(ingest, nodes: list[VirtualNode], history_days: int) -> None:
    """Fill in `history_days` of minute frames on a new database, or continue the nodes a database knows."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    resume_ms = {st.account.node_id: st.account.ts_ms for st in ingest.states.values() if st.account.ts_ms}
    if history_days > 0 and not resume_ms:
        print(f"powergw demo: filling in {history_days} days of simulated history…", flush=True)
        start = now - dt.timedelta(days=history_days)
        windows = history_days * 24 * 60
        for node in nodes:
            node.window_ms = 60_000
            for end, frames in node.frames(start, windows):
                ingest.feed(
                    f"sim:{node.name}",
                    b"".join(encode_wire(f) for f in frames),
                    "sim",
                    ts_ms=int(end.timestamp() * 1000),
                )
            node.window_ms = 1000
        ingest.flush()
    elif resume_ms:
        # A second demo run continues the same nodes: their counters must not look like reboots
        # to a gateway that already knows them, so start from the stored counters.
        for node in nodes:
            st = ingest.states.get(node.node_id)
            if st and st.account.energy_mwh is not None:
                node.boot_id, node.seq = st.account.boot_id, (st.account.seq or 0) + 1
                node.energy_mwh, node.uptime_ms = st.account.energy_mwh, st.account.uptime_ms or 0
                node._pending_hello = False


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
