"""Live values for the dashboard: the ingest daemon's live.json in RAM, or the store's tail.

Ingest replaces `live.json` atomically about once a second, so reading it never sees half a
file and never waits for a database commit. Without the file (ingest not running here, or an
older daemon) the newest committed readings stand in, at most one commit interval old.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from gateway.house import LIVE_FRESH_MS, membership, metering_stamp

FALLBACK_WINDOW_MS = 120_000


class LiveSource:
    """`snapshot()` returns {"ts_ms", "source", "nodes": {node_id: {...}}, "house_power_w"}; `changed()` is cheap.

    `house_power_w` is the house's, by the registry as it is now (gateway/house.py: the mains, an ESP32
    on two transports once), so a metering change shows at the next snapshot.
    """

    def __init__(self, path: Path | None, store_fn: Callable, now_ms: Callable[[], int]):
        self.path = Path(path) if path else None
        self.store_fn = store_fn
        self.now_ms = now_ms

    def stamp(self) -> object:
        """Something that changes whenever the live values may have: the file's identity (or, without it,
        the store's newest reading), and the house's metering, which decides the house's power."""
        return self._values_stamp(), metering_stamp(self.store_fn().conn)

    def _values_stamp(self) -> object:
        if self.path is not None:
            try:
                st = os.stat(self.path)
                return ("file", st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                pass
        # No file: poll the store's newest reading id (one indexed lookup).
        return ("db", self.store_fn().last_reading_id())

    def snapshot(self) -> dict:
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("nodes"), dict):
                    return self._with_house({"ts_ms": data.get("ts_ms"), "source": "live", "nodes": data["nodes"]})
            except (OSError, ValueError):
                pass
        return self._from_store()

    def _from_store(self) -> dict:
        store = self.store_fn()
        now = self.now_ms()
        names = {n["node_id"]: n["name"] for n in store.nodes()}
        nodes: dict[str, dict] = {}
        for r in store.latest_readings(FALLBACK_WINDOW_MS, now):
            nodes[r["node_id"]] = {
                "name": names.get(r["node_id"]),
                "power_w": r["power_w"],
                "irms_a": r["irms_a"],
                "vrms_v": r["vrms_v"],
                "flags": r["flags"],
                "ts_ms": r["ts_ms"],
            }
        return self._with_house({"ts_ms": now, "source": "database", "nodes": nodes})

    def _with_house(self, snap: dict) -> dict:
        """`snap` with the house's power by the registry's rule: its nodes heard in the last LIVE_FRESH_MS, and
        for a node it does not hold (not heard since the daemon started), the store's last value, as the
        node cards show it."""
        at = snap["ts_ms"] if _number(snap["ts_ms"]) else self.now_ms()
        store = self.store_fn()
        heard = {
            n["node_id"]: (n["last_power_dw"] / 10, n["last_seen_ms"])
            for n in store.nodes()
            if n["last_power_dw"] is not None and n["last_seen_ms"] is not None
        }
        for node_id, values in snap["nodes"].items():
            if isinstance(values, dict):
                heard[node_id] = (values.get("power_w"), values.get("ts_ms"))
        powers = {n: w for n, (w, ts) in heard.items() if _number(w) and _number(ts) and at - ts < LIVE_FRESH_MS}
        return snap | {"house_power_w": membership(store.conn).live_power_w(powers)}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
