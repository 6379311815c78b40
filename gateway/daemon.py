"""The daemon: sources -> one ingest thread -> store, plus scheduled jobs and the dashboard.

Built only by `build_gateway()` (the composition root's daemon half). Sources run on their own
threads and only enqueue bytes; the ingest thread is the single database writer.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .app import JOBS, JobContext, open_store
from .backoff import Backoff
from .clock import AnchoredClock, Clock, SystemClock
from .config import Config
from .ingest import Ingest, LiveBoard
from .parts import JobSpec, load_object
from .settings_store import effective_config
from .sources.serial_source import SerialSource

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # chunks; a stalled writer drops bytes rather than grow without bound


@dataclass
class Gateway:
    config: Config
    db_path: Path
    ingest: Ingest
    clock: AnchoredClock
    sources: list[Any] = field(default_factory=list)
    runtime_dir: Path | None = None
    jobs: tuple[JobSpec, ...] = JOBS
    scheduler: Any = None
    ui: Any = None
    notifier: Any = None

    def __post_init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped_chunks = 0
        self.started = threading.Event()

    # Sources call this from their threads.
    def sink(self, source: str, data: bytes, transport: str = "serial") -> None:
        try:
            self.queue.put_nowait((source, data, transport))
        except queue.Full:
            self.dropped_chunks += 1

    def submit(self, fn: Callable[[Ingest], None]) -> None:
        """Run `fn(ingest)` on the ingest thread (for sources that deliver decoded readings)."""
        self.queue.put((None, fn, None))

    def _ingest_loop(self) -> None:
        ingest = self.ingest
        while not self._stop.is_set() or not self.queue.empty():
            try:
                source, data, transport = self.queue.get(timeout=0.25)
            except queue.Empty:
                ingest._check_clock()
                ingest.tick()
                continue
            if source is None:
                data(ingest)
                ingest.tick()
            else:
                ingest.feed(source, data, transport)
        ingest.flush()
        ingest.live.maybe_write(self.clock.now_ms(), force=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._ingest_loop, name="ingest", daemon=True)
        self._thread.start()
        for src in self.sources:
            src.start()
        self._start_scheduler()
        self.started.set()

    def _start_scheduler(self) -> None:
        if not self.jobs:
            return
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(
            job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
            timezone=self.config.gateway.timezone,
        )
        for spec in self.jobs:
            sched.add_job(
                self._run_job,
                "interval",
                seconds=spec.seconds,
                args=(spec,),
                id=spec.name,
                next_run_time=_in(spec.first_delay_s),
            )
        sched.start()
        self.scheduler = sched

    def _run_job(self, spec: JobSpec) -> None:
        """Each run gets its own connection; a failing job is logged, never kills the daemon."""
        if spec.isolated:
            self._run_isolated(spec)
            return
        store = open_store(self.db_path, self.config.gateway.timezone)
        try:
            fn = load_object(spec.target)
            # The household's dashboard settings (tariff, cycle date, budget, email) apply from the next run.
            config = effective_config(store, self.config)
            fn(JobContext(store=store, config=config, now_ms=self.clock.now_ms, extras={"gateway": self}))
        except Exception:  # noqa: BLE001 - a job's bug must not take ingest down
            log.exception("job %s failed", spec.name)
        finally:
            store.close()

    def _run_isolated(self, spec: JobSpec) -> None:
        """Run the job in a fresh interpreter (spawn: nothing of the daemon's threads or sockets is
        inherited) and wait for it; its exit code says whether it worked."""
        import multiprocessing
        import resource
        import time

        from .jobs import run_isolated_job

        proc = multiprocessing.get_context("spawn").Process(
            target=run_isolated_job,
            name=f"powergw-job-{spec.name}",
            daemon=True,
            args=(
                spec.target,
                str(self.db_path),
                self.config,
                self.clock.now_ms(),
                logging.getLogger().getEffectiveLevel(),
            ),
        )
        started = time.monotonic()
        proc.start()
        proc.join(spec.timeout_s)
        if proc.is_alive():
            proc.terminate()
            proc.join(10)
            log.error("job %s: still running after %d s, stopped", spec.name, spec.timeout_s)
        elif proc.exitcode != 0:
            log.error(
                "job %s failed in its own process (exit code %s; its traceback is above)", spec.name, proc.exitcode
            )
        else:
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            log.info(
                "job %s: done in its own process in %.1f s (largest job process so far: %.0f MB resident)",
                spec.name,
                time.monotonic() - started,
                peak_mb,
            )

    def stop(self) -> None:
        for src in self.sources:
            src.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.ui is not None:
            self.ui.stop()
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def run_forever(self) -> None:
        self.start()
        if self.notifier:
            self.notifier.ready(f"reading {len(self.sources)} source(s)")
        try:
            while not self._stop.is_set():
                self._stop.wait(1)
                # The watchdog is fed only while the single writer is alive: a wedged ingest
                # thread makes systemd restart the service.
                if self.notifier and self._thread is not None and self._thread.is_alive():
                    self.notifier.watchdog()
        finally:
            if self.notifier:
                self.notifier.stopping()
            self.stop()


def _clock_jump_alert(store, config: Config, jump, moved: int) -> None:
    """Tell the household the clock jumped, and what was done about it (info, no email)."""
    from .alerts import alert_store

    when = store.calendar.isoformat(jump.at_ms)
    action = (
        f"{moved} readings stamped before it were moved by the same amount"
        if not jump.was_trusted
        else "earlier readings were kept as they were (the clock had been synchronised)"
    )
    alert_store(store, config).raise_alert(
        "clock_jump",
        None,
        f"The gateway clock jumped by {jump.delta_ms / 1000:+.0f} s at {when}; {action}",
        now_ms=jump.at_ms,
        data={"delta_ms": jump.delta_ms, "moved": moved, "was_synchronised": jump.was_trusted},
    )


def _in(seconds: float):
    import datetime as dt

    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def default_runtime_dir() -> Path:
    run = Path("/run/powergw")
    if run.is_dir():
        return run
    import tempfile

    return Path(tempfile.gettempdir()) / "powergw-run"


def build_gateway(
    config: Config,
    *,
    db_path: Path | None = None,
    serial_ports: list[str] | None = None,
    clock: Clock | None = None,
    runtime_dir: Path | None = None,
    jobs: tuple[JobSpec, ...] = JOBS,
) -> Gateway:
    """Wire a gateway from config (command-line overrides already applied)."""
    g = config.gateway
    db_path = Path(db_path or g.db)
    store = open_store(db_path, g.timezone)
    anchored = AnchoredClock(clock or SystemClock(), int(g.clock_jump_s * 1000))
    runtime_dir = runtime_dir or default_runtime_dir()
    ingest = Ingest(
        store,
        anchored,
        commit_interval_ms=int(g.commit_interval_s * 1000),
        rollup_interval_ms=int(g.rollup_interval_s * 1000),
        live=LiveBoard(runtime_dir / "live.json"),
    )
    gw = Gateway(config=config, db_path=db_path, ingest=ingest, clock=anchored, runtime_dir=runtime_dir, jobs=jobs)
    ingest.on_jump = lambda jump, moved: _clock_jump_alert(store, config, jump, moved)
    ports = serial_ports if serial_ports is not None else list(config.serial.ports)
    backoff = Backoff(max_s=config.serial.retry_max_s)
    for port in ports:
        gw.sources.append(SerialSource(port, gw.sink, baudrate=config.serial.baudrate, backoff=backoff))
    # BLE (BTHome v2) nodes: decoded readings reach the ingest thread through gw.submit; the
    # tracker resumes from ingest's accounts so a gateway restart is not a node restart.
    if config.ble.enabled:
        from .sources.ble_source import BleSource

        # Bind keys set on the dashboard's Settings page are read here, once: they apply after a restart.
        ble = effective_config(store, config).ble
        gw.sources.append(BleSource.from_config(ble, gw.submit, anchored.now_ms, ingest.states))
    return gw
