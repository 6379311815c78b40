"""Prometheus metrics (text format, via prometheus_client), computed from the store at each scrape.

A custom collector reads the database read-only when scraped, so the numbers are the ones
`powergw nodes` and doctor show, whichever process serves them, and ingest never pays for a
metric update. `powergw metrics --serve` (powergw-metrics.service) serves them on [metrics]
host and port; `make_wsgi_app(db_path)` mounts them elsewhere, `render(db_path)` gives the text.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import make_wsgi_app as _prometheus_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from gateway import __version__
from gateway.config import setting

from . import OpsError
from .health import Health, SyncHealth, connect_readonly, model_registry_root, read_health, read_live, read_model

log = logging.getLogger(__name__)


def check_listen_address(host: str, key: str) -> str:
    """`host` if it is an IP address to listen on; else ValueError naming `key`."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"{key} = {host!r}: expected an IP address to listen on, such as 0.0.0.0 (every interface, the LAN) "
            "or 127.0.0.1 (this machine only)"
        ) from None
    return host


@dataclass(frozen=True)
class MetricsSection:
    """[metrics]: the Prometheus endpoint served by powergw-metrics.service (`powergw metrics --serve`)."""

    enabled: bool = setting(
        True, doc="serve /metrics from powergw-metrics.service; false makes the service exit at start"
    )
    host: str = setting(
        "0.0.0.0",
        doc="IP address to listen on: 0.0.0.0 lets a Prometheus server on the LAN scrape it "
        "(the unit refuses clients outside private and link-local ranges); 127.0.0.1 for this machine only",
    )
    port: int = setting(9101, min=1, max=65535, doc="TCP port of http://<host>:<port>/metrics")

    def validate(self) -> None:
        check_listen_address(self.host, "host")


class GatewayCollector:
    """Yields powergw_* metric families from one read of the database (and live.json, if given)."""

    def __init__(self, db_path: Path, runtime_dir: Path | None = None, now_ms: Callable[[], int] | None = None):
        self.db_path = Path(db_path)
        self.runtime_dir = runtime_dir
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._down_reason: str | None = None  # logged once when the database becomes unreadable, not per scrape

    def describe(self) -> list:
        return []  # nothing to pre-register; keeps registration from reading the database

    def _read(self) -> tuple:
        conn = connect_readonly(self.db_path)
        try:
            health = read_health(self.db_path, conn)
            rejected = rejected_changes(conn)
            return health, rejected
        except OpsError as err:
            raise OpsError(f"{err}{self._hint()}") from err
        except sqlite3.Error as err:
            raise OpsError(f"cannot read {self.db_path}: {err}{self._hint()}") from err
        finally:
            conn.close()

    def _hint(self) -> str:
        # powergw-metrics.service sees /var/lib/powergw read-only: SQLite can then read the WAL
        # database only while a writer keeps its -wal and -shm files, which a clean close removes.
        wal = Path(f"{self.db_path}-wal")
        if not wal.exists() and not os.access(self.db_path.parent, os.W_OK):
            return (
                f" ({self.db_path.parent} is read-only here and {wal.name} is gone: a read-only reader needs "
                "another powergw process, normally the daemon, to have the database open; is powergw.service running?)"
            )
        return ""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("powergw_database_up", "1 if the database could be read for this scrape")
        try:
            health, rejected_changes_count = self._read()
        except OpsError as err:
            if self._down_reason != str(err):
                log.warning("metrics: %s; reporting powergw_database_up 0", err)
            self._down_reason = str(err)
            up.add_metric([], 0)
            yield up
            return
        if self._down_reason is not None:
            log.warning("metrics: %s can be read again; powergw_database_up 1", self.db_path)
            self._down_reason = None
        up.add_metric([], 1)
        yield up
        now = self.now_ms()
        info = InfoMetricFamily("powergw_build", "powergw version")
        info.add_metric([], {"version": __version__})
        yield info

        yield from _node_metrics(health, now)

        if self.runtime_dir is not None:
            live = read_live(self.runtime_dir)
            if live is not None:
                power = GaugeMetricFamily(
                    "powergw_node_power_watts", "latest power per node (live.json)", labels=["node"]
                )
                for node_id, values in sorted(live.get("nodes", {}).items()):
                    power.add_metric([node_id], float(values.get("power_w", 0.0)))
                yield power

        size = GaugeMetricFamily("powergw_database_bytes", "size of the SQLite database files", labels=["file"])
        size.add_metric(["db"], health.db_bytes)
        size.add_metric(["wal"], health.wal_bytes)
        yield size

        if health.sync is not None:
            yield from _sync_metrics(health.sync, rejected_changes_count)
        if health.open_alerts is not None:
            alerts = GaugeMetricFamily("powergw_open_alerts", "open alerts by severity", labels=["severity"])
            for severity, count in sorted(health.open_alerts.items()):
                alerts.add_metric([severity], count)
            yield alerts
        yield from self._model_metrics()

    def _model_metrics(self) -> Iterator[Metric]:
        """The theft model in use, when one is installed."""
        try:
            model = read_model(model_registry_root(self.db_path))
        except OpsError:
            return  # an unreadable model has no info metric: doctor says why
        m = InfoMetricFamily("powergw_model", "theft model in use")
        m.add_metric([], {"version": model.version, "source": model.source})
        yield m


def _node_metrics(health: Health, now: int) -> Iterator[Metric]:
    """Frames, reboots, energy and silence per node."""
    accepted = CounterMetricFamily("powergw_frames_accepted", "frames accepted per node", labels=["node"])
    lost = CounterMetricFamily("powergw_frames_lost", "frames lost per node (gaps in seq)", labels=["node"])
    rejected = CounterMetricFamily(
        "powergw_frames_rejected", "frames rejected per node by reason", labels=["node", "reason"]
    )
    reboots = CounterMetricFamily("powergw_node_reboots", "node reboots seen (boot_id changes)", labels=["node"])
    energy = CounterMetricFamily(
        "powergw_node_energy_wh", "energy accounted per node, Wh (committed rollups)", labels=["node"]
    )
    silence = GaugeMetricFamily(
        "powergw_node_last_frame_age_seconds", "seconds since the last frame per node", labels=["node"]
    )
    for n in health.nodes:
        accepted.add_metric([n.node_id], n.frames_ok)
        lost.add_metric([n.node_id], n.frames_lost)
        for reason, count in sorted(n.rejected.items()):
            rejected.add_metric([n.node_id, reason], count)
        reboots.add_metric([n.node_id], n.reboots)
        energy.add_metric([n.node_id], n.energy_total_mwh / 1000)
        if n.last_seen_ms is not None:
            silence.add_metric([n.node_id], max(0.0, (now - n.last_seen_ms) / 1000))
    yield from (accepted, lost, rejected, reboots, energy, silence)


def _sync_metrics(s: SyncHealth, rejected_changes_count: int | None) -> Iterator[Metric]:
    """The cloud sync's outbox, refusals, failures and last times."""
    yield GaugeMetricFamily("powergw_outbox_depth", "events waiting for the cloud", value=s.outbox_depth)
    # Sync errors that are kept for good: outbox_dead and sync_inbox rows are never deleted,
    # so their counts only grow. Transient failures are not stored as a count (see docs).
    yield CounterMetricFamily(
        "powergw_sync_events_refused", "events the cloud refused for good (moved to outbox_dead)", value=s.dead_letters
    )
    if rejected_changes_count is not None:
        yield CounterMetricFamily(
            "powergw_sync_changes_rejected",
            "changes pulled from the cloud that the gateway rejected (sync_inbox status rejected)",
            value=rejected_changes_count,
        )
    yield GaugeMetricFamily(
        "powergw_sync_failed_attempts", "failed send attempts of events still in the outbox", value=s.failed_attempts
    )
    failing = bool(s.last_error_ms and (s.last_success_ms or 0) < s.last_error_ms)
    yield GaugeMetricFamily("powergw_sync_failing", "1 if the latest sync round ended in an error", value=int(failing))
    yield GaugeMetricFamily(
        "powergw_sync_registered", "1 if the gateway is registered with a cloud", value=int(s.registered)
    )
    if s.last_success_ms:
        yield GaugeMetricFamily(
            "powergw_sync_last_success_timestamp_seconds",
            "time of the last successful sync",
            value=s.last_success_ms / 1000,
        )
    if s.last_error_ms:
        yield GaugeMetricFamily(
            "powergw_sync_last_error_timestamp_seconds",
            "time of the latest sync error of any kind",
            value=s.last_error_ms / 1000,
        )


def rejected_changes(conn: sqlite3.Connection) -> int | None:
    """Changes from the cloud the gateway rejected (a model whose checksum did not match); None without cloud_sync."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_inbox'").fetchone() is None:
        return None
    return conn.execute("SELECT count(*) FROM sync_inbox WHERE status = 'rejected'").fetchone()[0]


def registry_for(
    db_path: Path, runtime_dir: Path | None = None, now_ms: Callable[[], int] | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(db_path, runtime_dir, now_ms))
    return registry


def render(db_path: Path, runtime_dir: Path | None = None) -> bytes:
    """The metrics page as Prometheus text format."""
    return generate_latest(registry_for(db_path, runtime_dir))


def make_wsgi_app(db_path: Path, runtime_dir: Path | None = None):
    """A WSGI app serving the metrics page; mount it at /metrics (e.g. werkzeug DispatcherMiddleware)."""
    return _prometheus_wsgi_app(registry_for(db_path, runtime_dir))


def serve(db_path: Path, host: str, port: int, runtime_dir: Path | None = None) -> None:
    """`powergw metrics --serve`: serve the page with waitress until stopped; OpsError if it cannot listen."""
    from waitress.server import create_server

    try:
        # A scrape is a GET: any body is refused as it arrives (waitress's default would spool 1 GiB).
        server = create_server(
            make_wsgi_app(db_path, runtime_dir),
            host=host,
            port=port,
            threads=2,
            ident="powergw-metrics",
            max_request_body_size=1024,
        )
    except OSError as err:
        raise OpsError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    server.run()
