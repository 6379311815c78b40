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

from gateway.house import membership

FALLBACK_WINDOW_MS = 120_000


class LiveSource:
    """`snapshot()` returns {"ts_ms", "source", "nodes": {node_id: {...}}, "house_power_w"}; `changed()` is cheap.

    `house_power_w` is the gateway's figure (gateway/house.py: the mains, an ESP32 on two transports once).
    """

    def __init__(self, path: Path | None, store_fn: Callable, now_ms: Callable[[], int]):
        self.path = Path(path) if path else None
        self.store_fn = store_fn
        self.now_ms = now_ms

    def stamp(self) -> object:
        """Something that changes whenever the live values may have: the file's identity."""
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
                    house = data.get("house_power_w")
                    house = house if isinstance(house, (int, float)) and not isinstance(house, bool) else None
                    return {
                        "ts_ms": data.get("ts_ms"),
                        "source": "live",
                        "nodes": data["nodes"],
                        "house_power_w": house,
                    }
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
        house = membership(store.conn).live_power_w({node_id: v["power_w"] for node_id, v in nodes.items()})
        return {"ts_ms": now, "source": "database", "nodes": nodes, "house_power_w": house}
