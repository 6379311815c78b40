"""Ingest: bytes from sources -> frames -> exact energy accounts -> batched store writes.

The single writer of the gateway. It owns every node's accounting state; each commit writes
the batch's readings, rollup increments and the nodes' last accounted counters together, so a
crash at any moment leaves a database whose energy equals each node's counter rise up to its
last committed reading, and the next frame's delta covers the rest.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .batch import Batch, NodeState
from .clock import AnchoredClock, Jump
from .energy import AccountingError, Interval, NodeAccount, account_reading, note_frame
from .protocol import REASON_VERSION, FrameDecoder, FrameError, Hello, Log, Reading
from .store import Store, StoreError

log = logging.getLogger(__name__)

# Raw readings held in memory while the disk refuses writes; beyond this the oldest raw rows
# are dropped (their energy is kept in the rollup increments and node counters, which are small).
MAX_PENDING_READINGS = 200_000
LOG_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}


class LiveBoard:
    """Latest values per node, written about once a second to a JSON file in RAM (/run).

    The dashboard reads it for live watts within a second, without waiting for a DB commit and
    without a single extra write to the SD card.
    """

    def __init__(self, path: Path | None, interval_ms: int = 1000):
        self.path = path
        self.interval_ms = interval_ms
        self.nodes: dict[str, dict] = {}
        self._health: dict[str, NodeState] = {}
        self._written_ms = 0
        self._dirty = False

    def update(self, node_id: str, r: Reading, ts_ms: int, name: str | None, state: NodeState | None = None) -> None:
        self.nodes[node_id] = {
            "name": name,
            "power_w": r.power_dw / 10,
            "irms_a": r.irms_ma / 1000,
            "vrms_v": r.vrms_dv / 10,
            "pf": None if r.pf_milli is None else r.pf_milli / 1000,
            "flags": r.flags,
            "ts_ms": ts_ms,
        }
        if state is not None:
            self._health[node_id] = state
        self._dirty = True

    def _payload(self, now_ms: int) -> str:
        # The node's counters as ingest has them now: the store gets them only with each rollup
        # (every 5 minutes), so `powergw nodes` reads them here in between.
        nodes = {}
        for node_id, values in self.nodes.items():
            state = self._health.get(node_id)
            nodes[node_id] = (
                values
                if state is None
                else {
                    **values,
                    "last_seen_ms": state.last_seen_ms,
                    "frames_ok": state.frames_ok,
                    "frames_lost": state.frames_lost,
                    "reboots": state.reboots,
                    "rejected": dict(state.rejected),
                }
            )
        return json.dumps({"ts_ms": now_ms, "nodes": nodes}, separators=(",", ":"))

    def maybe_write(self, now_ms: int, force: bool = False) -> None:
        if self.path is None or not self._dirty:
            return
        if not force and now_ms - self._written_ms < self.interval_ms:
            return
        payload = self._payload(now_ms)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".live-")
            with os.fdopen(fd, "w") as fh:
                fh.write(payload)
            os.replace(tmp, self.path)
        except OSError as err:  # a full /run must not stop ingest
            log.warning("cannot write live values to %s: %s", self.path, err)
        self._written_ms = now_ms
        self._dirty = False


def with_live_health(rows: list[dict], live: dict | None) -> list[dict]:
    """Node rows of the store with what live.json holds newer: counters, last seen and power. Pure.

    Each row gets `source`: "live" where the daemon's values are newer than the store's, else
    "database". A node's live entry carries its counters since the daemon started, from the
    store's at that start, so they replace the row's rather than add to it.
    """
    nodes = live.get("nodes") if isinstance(live, dict) else None
    out = []
    for row in rows:
        entry = nodes.get(row["node_id"]) if isinstance(nodes, dict) else None
        try:
            seen = entry["last_seen_ms"]
            if not isinstance(seen, int) or (row["last_seen_ms"] is not None and seen <= row["last_seen_ms"]):
                raise ValueError("not newer than the store")
            merged = {
                **row,
                "source": "live",
                "last_seen_ms": seen,
                "last_power_dw": round(entry["power_w"] * 10),
                "last_irms_ma": round(entry["irms_a"] * 1000),
                "last_vrms_dv": round(entry["vrms_v"] * 10),
                "last_flags": int(entry["flags"]),
                "frames_ok": int(entry["frames_ok"]),
                "frames_lost": int(entry["frames_lost"]),
                "reboots": int(entry["reboots"]),
                "rejected": dict(entry["rejected"]),
            }
        except (KeyError, TypeError, ValueError):  # no entry, an older daemon's or a damaged one: the store's
            merged = {**row, "source": "database"}
        out.append(merged)
    return out


class Ingest:
    """Decode, account and batch; `flush()` commits. Not thread-safe: one ingest thread."""

    def __init__(
        self,
        store: Store,
        clock: AnchoredClock,
        *,
        commit_interval_ms: int = 10_000,
        rollup_interval_ms: int = 300_000,
        live: LiveBoard | None = None,
        on_commit: Callable[[], None] | None = None,
        on_jump: Callable[[Jump, int], None] | None = None,
    ):
        self.store = store
        self.clock = clock
        self.commit_interval_ms = commit_interval_ms
        self.rollup_interval_ms = max(rollup_interval_ms, commit_interval_ms)
        self.live = live or LiveBoard(None)
        self.on_commit = on_commit
        self.on_jump = on_jump  # (jump, readings moved): the daemon turns it into an alert
        self.states: dict[str, NodeState] = store.load_node_states()
        self.names: dict[str, str | None] = {n["node_id"]: n["name"] for n in store.nodes()}
        self.decoders: dict[str, FrameDecoder] = {}
        self.batch = Batch()
        self.source_rejects: Counter[tuple[str, str]] = Counter()
        self._logged: set[tuple] = set()
        self.frames = 0
        self.commits = 0
        self.write_failures = 0
        self._last_flush_ms = self._last_rollup_ms = clock.now_ms()
        self._store_failing = False
        self.replayed = self._replay_pending()
        self._start_epoch(clock.now_ms())

    # ---- entry points -------------------------------------------------------------------

    def feed(self, source: str, data: bytes, transport: str = "serial", ts_ms: int | None = None) -> None:
        """Bytes read from one source (a port); any number of frames or fragments.

        `ts_ms` stamps them with a given time instead of the clock's (replaying history); a replay
        neither commits nor publishes live values by itself: the caller flushes.
        """
        if ts_ms is None:
            self._check_clock()
            ts = self.clock.now_ms()
        else:
            ts = ts_ms
        decoder = self.decoders.get(source)
        if decoder is None:
            decoder = self.decoders[source] = FrameDecoder()
        for item in decoder.feed(data):
            try:
                if isinstance(item, Reading):
                    self.on_reading(item, ts, transport)
                elif isinstance(item, FrameError):
                    self.on_error(item, source, ts, transport)
                else:
                    self.on_frame(item, ts, transport)
            except StoreError as err:
                # Only a node never seen before needs the disk here; its first reading is a
                # baseline anyway, so skipping it until the disk recovers loses no energy.
                self._log_once(("register",), logging.ERROR, "%s", err)
        if ts_ms is None:
            self.tick(ts)  # a replay of history (ts_ms given) commits when its caller flushes

    def tick(self, now_ms: int | None = None) -> None:
        """Commit if the interval has passed; publish live values. Call this at least every second."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        self.live.maybe_write(now)
        if now - self._last_flush_ms >= self.commit_interval_ms:
            self.commit(now, rollup=now - self._last_rollup_ms >= self.rollup_interval_ms)

    def flush(self, now_ms: int | None = None) -> bool:
        """Commit everything pending, rollups and node state included (shutdown, tests, jumps)."""
        return self.commit(now_ms, rollup=True)

    def commit(self, now_ms: int | None = None, *, rollup: bool) -> bool:
        """Commit raw readings (and with `rollup`, rollups and node state); on a disk error keep
        everything in memory and try again at the next commit."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        self._last_flush_ms = now
        if rollup:
            self._last_rollup_ms = now
        if not self.batch and not (rollup and any(s.dirty for s in self.states.values())):
            return True
        try:
            self.store.write_batch(self.batch, self.states.values(), rollup=rollup)
        except StoreError as err:
            self.write_failures += 1
            if not self._store_failing:
                log.error("cannot commit readings (will keep them in memory and retry): %s", err)
            self._store_failing = True
            self._bound_pending()
            return False
        if self._store_failing:
            log.warning("database writable again; pending readings committed")
            self._store_failing = False
        if rollup:
            self.batch = Batch()
        else:
            self.batch.readings = []
            self.batch.events = []
        self.commits += 1
        if self.on_commit:
            self.on_commit()
        return True

    def _replay_pending(self) -> int:
        """After a crash: readings committed after the last rollup go into rollups and accounts."""
        rows = self.store.pending_readings()
        if not rows:
            return 0
        by_key = {s.node_key: s for s in self.states.values()}
        for row in rows:
            node_key, ts, _, boot_id, seq, uptime, power_dw, irms, vrms, energy, delta, flags, export, x_delta, pf = row
            state = by_key.get(node_key)
            if state is None:
                continue
            a = state.account
            if a.boot_id is not None and a.boot_id != boot_id:
                state.reboots += 1
            a.boot_id, a.seq, a.energy_mwh, a.uptime_ms, a.ts_ms, a.backwards_run = boot_id, seq, energy, uptime, ts, 0
            a.export_mwh = export
            state.frames_ok += 1
            state.energy_total_mwh += delta
            state.export_total_mwh += x_delta
            state.last_seen_ms, state.last_power_dw, state.last_irms_ma = ts, power_dw, irms
            state.last_vrms_dv, state.last_flags, state.last_pf_milli = vrms, flags, pf
            state.dirty = True
            self.batch.add_row(row)
        self.store.write_batch(self.batch, self.states.values(), rollup=True)
        self.batch = Batch()
        log.info("replayed %d readings committed after the last rollup", len(rows))
        return len(rows)

    # ---- frames ---------------------------------------------------------------------------

    def _state(self, node_id: str, ts: int, transport: str) -> NodeState:
        state = self.states.get(node_id)
        if state is None:
            try:
                key = self.store.ensure_node(node_id, transport, ts)
            except sqlite3.Error as err:
                raise StoreError(f"cannot register node {node_id}: {err}") from err
            state = self.states[node_id] = NodeState(node_key=key, account=NodeAccount(node_id))
            log.info("new node %s on %s", node_id, transport)
        return state

    def on_reading(self, r: Reading, ts: int, transport: str = "serial") -> Interval | None:
        self.frames += 1
        state = self._state(r.node_id, ts, transport)
        try:
            iv = account_reading(state.account, r, ts)
        except AccountingError as err:
            state.rejected[err.reason] = state.rejected.get(err.reason, 0) + 1
            state.dirty = True
            self.batch.events.append((state.node_key, ts, "rejected", f"{err.reason}: {err.detail}", 0))
            self._log_once(("acct", r.node_id, err.reason), logging.WARNING, "refused reading: %s", err)
            return None
        state.frames_ok += 1
        state.frames_lost += iv.lost_frames
        state.last_seen_ms = ts
        state.last_power_dw = r.power_dw
        state.last_irms_ma = r.irms_ma
        state.last_vrms_dv = r.vrms_dv
        state.last_flags = r.flags
        state.last_pf_milli = r.pf_milli
        state.dirty = True
        batch = self.batch
        if iv.energy_mwh or iv.export_mwh:
            state.energy_total_mwh += iv.energy_mwh
            state.export_total_mwh += iv.export_mwh
            batch.add_energy(state.node_key, iv.start_ms, iv.end_ms, iv.energy_mwh, export_mwh=iv.export_mwh)
        if r.voltage_measured:
            batch.add_quality(state.node_key, ts, r.vrms_dv, r.pf_milli)
        if iv.reboot:
            state.reboots += 1
            batch.events.append((state.node_key, ts, iv.kind, f"boot_id {r.boot_id}", iv.gap_ms))
            log.info("node %s rebooted (boot_id %d, %s)", r.node_id, r.boot_id, iv.kind)
        elif iv.kind == "baseline":
            batch.events.append((state.node_key, ts, "baseline", f"counter {r.energy_mwh} mWh", 0))
        batch.readings.append(
            (
                state.node_key,
                ts,
                iv.start_ms,
                r.boot_id,
                r.seq,
                r.uptime_ms,
                r.power_dw,
                r.irms_ma,
                r.vrms_dv,
                r.energy_mwh,
                iv.energy_mwh,
                r.flags,
                r.export_mwh,
                iv.export_mwh,
                r.pf_milli,
            )
        )
        self.live.update(r.node_id, r, ts, self.names.get(r.node_id), state)
        if iv.kind == "baseline":
            # A node's first counter (or a new base after a reset) is what every later crash is
            # replayed from: commit that row now, not up to commit_interval_s later, or a gateway
            # killed before its first commit forgets the counter and the energy counted since.
            self.commit(ts, rollup=False)
        return iv

    def on_frame(self, frame: Hello | Log, ts: int, transport: str = "serial") -> None:
        self.frames += 1
        state = self._state(frame.node_id, ts, transport)
        state.frames_lost += note_frame(state.account, frame.boot_id, frame.seq)
        state.last_seen_ms = ts
        state.dirty = True
        if isinstance(frame, Hello):
            state.hello = {
                "name": frame.name or None,
                "fw": f"{frame.fw_major}.{frame.fw_minor}",
                "sensor_amps": frame.sensor_amps,
                "sample_rate_hz": frame.sample_rate_hz,
                "mains_hz": frame.mains_hz,
                "mv_per_a_x10": frame.mv_per_a_x10,
            }
            if frame.name:
                self.names[frame.node_id] = frame.name
        elif isinstance(frame, Log):
            name = self.names.get(frame.node_id) or frame.node_id
            log.log(LOG_LEVELS.get(frame.level, logging.INFO), "node %s says: %s", name, frame.text)

    def on_error(self, err: FrameError, source: str, ts: int, transport: str = "serial") -> None:
        self.source_rejects[(source, err.reason)] += 1
        if err.node_id and err.reason == REASON_VERSION:
            # The CRC held, so the node id is real: tell the node list, once.
            state = self._state(err.node_id, ts, transport)
            state.unsupported_version = err.raw[0]
            state.rejected[err.reason] = state.rejected.get(err.reason, 0) + 1
            state.last_seen_ms = ts
            state.dirty = True
            self._log_once(
                ("version", err.node_id),
                logging.WARNING,
                "node %s speaks protocol version %d; this gateway speaks 1: its frames are ignored until it is updated",
                err.node_id,
                err.raw[0],
            )
            return
        self._log_once(("frame", source, err.reason), logging.WARNING, "rejected bytes on %s: %s", source, err)

    # ---- clock jumps --------------------------------------------------------------------------

    def _start_epoch(self, now_ms: int) -> None:
        self.epoch_start_ms = now_ms
        self.epoch_first_reading = self.store.last_reading_id() + 1 + len(self.batch.readings)
        self.epoch_first_event = self.store.last_event_id() + 1 + len(self.batch.events)

    def _check_clock(self) -> None:
        jump = self.clock.check()
        if jump is not None:
            self.on_clock_jump(jump)

    def on_clock_jump(self, jump: Jump) -> None:
        log.warning(
            "wall clock jumped by %+.1f s (%s before)",
            jump.delta_ms / 1000,
            "synchronised" if jump.was_trusted else "not synchronised",
        )
        if jump.was_trusted:
            # A trusted clock was stepped (manual change, large NTP correction): keep what was
            # stamped before; only new readings use the new time.
            self.flush()
            self._start_epoch(self.clock.now_ms())
            self._report_jump(jump, 0)
            return
        # Everything stamped since the epoch began used a wrong wall clock: commit it, then move
        # it (and the in-memory accounts that point into it) by the jump.
        old_start = self.epoch_start_ms
        self.flush()
        try:
            moved = self.store.shift_epoch(self.epoch_first_reading, self.epoch_first_event, old_start, jump.delta_ms)
        except StoreError as err:
            log.error("cannot move readings after the clock jump: %s", err)
            moved = 0
        for state in self.states.values():
            a = state.account
            if a.ts_ms is not None and a.ts_ms >= old_start:
                a.ts_ms += jump.delta_ms
                state.dirty = True
            if state.last_seen_ms is not None and state.last_seen_ms >= old_start:
                state.last_seen_ms += jump.delta_ms
        log.warning("moved %d readings stamped before the clock was set", moved)
        self.flush()
        self._start_epoch(self.clock.now_ms())
        self._report_jump(jump, moved)

    def _report_jump(self, jump: Jump, moved: int) -> None:
        if self.on_jump is None:
            return
        try:
            self.on_jump(jump, moved)
        except Exception:  # noqa: BLE001 - a failing report must not stop ingest
            log.exception("cannot report the clock jump")

    # ---- helpers ----------------------------------------------------------------------------

    def _bound_pending(self) -> None:
        extra = len(self.batch.readings) - MAX_PENDING_READINGS
        if extra > 0:
            del self.batch.readings[:extra]
            self.batch.raw_dropped += extra
            self._log_once(
                ("dropped",), logging.ERROR, "disk still refusing writes: dropping oldest raw readings (energy is kept)"
            )

    def _log_once(self, key: tuple, level: int, msg: str, *args) -> None:
        if key in self._logged:
            log.debug(msg, *args)
            return
        self._logged.add(key)
        log.log(level, msg, *args)

    def counters(self) -> dict:
        """Per-source rejections (frames too broken to name a node) and totals."""
        by_source: dict[str, dict[str, int]] = {}
        for (source, reason), n in self.source_rejects.items():
            by_source.setdefault(source, {})[reason] = n
        return {
            "frames": self.frames,
            "commits": self.commits,
            "write_failures": self.write_failures,
            "rejected": by_source,
        }
