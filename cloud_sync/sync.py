"""The sync round: push due outbox events in batches, then pull the cloud's changes.

Everything outside is injected: the outbox and state (one SQLite connection), the HTTP client, a
clock, a random source, an alert function and the change handlers. Nothing here sleeps; the
caller decides when the next round runs (`next_round_in_s`).

Backoff belongs to the cloud, not to each event: every request the cloud fails (network, 5xx,
429/503) adds one to `outage_failures` in sync_state and holds the whole queue for
`retry_delay_s(outage_failures)`, one jittered draw; any answer from the cloud (a batch taken, a
page of changes) ends the outage: the count and the hold go back to zero and every waiting event
is due at once, so the queue drains at full speed. Only an event the cloud answered for but did
not acknowledge backs off on its own attempts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.store import transaction

from . import AuthError, ChecksumError, ModelRejected, PermanentError, SyncError, TransientError
from .backoff import retry_delay_s
from .client import SyncClient
from .model_updates import ModelInstaller
from .outbox import Outbox, OutboxEvent, SyncState

log = logging.getLogger(__name__)

# A change handler applies one pulled change on the gateway's connection, inside the transaction
# that also advances the cursor: it runs exactly once per change, or not at all.
ChangeHandler = Callable[[sqlite3.Connection, dict], None]


class AlertFn(Protocol):
    def __call__(self, kind: str, severity: str, message: str, *, now_ms: int, dedup_key: str) -> Any: ...


@dataclass(frozen=True)
class SyncPolicy:
    batch_size: int = 200
    backoff_base_s: float = 2.0
    backoff_max_s: float = 900.0
    failing_after_ms: int = 6 * 3600 * 1000  # raise "sync_failing" once nothing got through for this long
    pull_page: int = 100


@dataclass
class RoundResult:
    """What one round did, for the CLI and the logs."""

    sent: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    dead: int = 0
    deferred: int = 0
    pulled: int = 0
    errors: list[str] = field(default_factory=list)
    auth_failed: bool = False
    held: bool = False  # the round sent nothing: the queue waits out a failing cloud's backoff
    cloud_failed: bool = False  # the cloud failed a request in this round (it now holds the queue)


class StateAlerts:
    """An alert sink needing only sync_state (tools and tests without the alerts table): logged and kept."""

    def __init__(self, state: SyncState):
        self.state = state

    def __call__(self, kind: str, severity: str, message: str, *, now_ms: int, dedup_key: str) -> None:
        log.warning("alert %s (%s): %s", kind, severity, message)
        self.state.set(f"alert.{kind}", json.dumps({"severity": severity, "message": message, "now_ms": now_ms}))


class Syncer:
    """One gateway's sync with one cloud API."""

    def __init__(
        self,
        outbox: Outbox,
        client: SyncClient,
        *,
        clock_ms: Callable[[], int],
        rand: Callable[[], float],
        alert: AlertFn,
        handlers: dict[str, ChangeHandler] | None = None,
        models: ModelInstaller | None = None,
        policy: SyncPolicy = SyncPolicy(),
    ):
        self.outbox = outbox
        self.state = SyncState(outbox.conn)
        self.client = client
        self.clock_ms = clock_ms
        self.rand = rand
        self.alert = alert
        self.handlers = dict(handlers or {})
        # model_published changes go to the theft-model registry through this; without one
        # (no registry on this gateway) they wait in the inbox as pending.
        self.models = models
        self.policy = policy

    # ---- push -------------------------------------------------------------------------------

    def push(self, progress: Callable[[int], None] | None = None, max_batches: int | None = None) -> RoundResult:
        """Send due events batch by batch until none is due or the cloud says stop."""
        result = RoundResult()
        batches = 0
        if self.held():
            result.held = True  # the cloud asked us to wait (Retry-After) or is down: the whole queue waits
            return result
        while max_batches is None or batches < max_batches:
            events = self.outbox.due(self.clock_ms(), self.policy.batch_size)
            if not events:
                break
            batches += 1
            if not self._send(events, result, progress):
                break
        return result

    def held(self) -> bool:
        """True while the queue waits out the backoff of a failing cloud."""
        return self.clock_ms() < self._hold_until_ms()

    def _send(self, events: list[OutboxEvent], result: RoundResult, progress: Callable[[int], None] | None) -> bool:
        """Send one batch; False when the round must stop (the server is unwell or refuses us)."""
        result.sent += len(events)
        try:
            ack = self.client.post_events([e.wire() for e in events])
        except TransientError as err:
            self._cloud_failed(events, str(err), err.retry_after_s, result)
            return False
        except AuthError as err:
            self._auth_failed(err, result)
            return False
        except PermanentError as err:
            if len(events) > 1:
                # One bad event must not sink its neighbours: resend one by one to find it.
                for one in events:
                    if not self._send([one], result, progress):
                        return False
                return True
            self._dead(events, err, result)
            return True
        sent = {e.key for e in events}
        acked = (set(ack.new) | set(ack.duplicate)) & sent
        if acked:
            self.outbox.acknowledge(sorted(acked))
        result.acknowledged += len(acked)
        result.duplicates += len(set(ack.duplicate) & sent)
        missing = [e for e in events if e.key not in acked]
        now = self.clock_ms()
        self.state.set("last_success_ms", now)
        self._cloud_answered()
        if missing:
            self._defer(missing, "server did not acknowledge these keys", result)
        if progress is not None and acked:
            progress(len(acked))
        return not missing

    def _cloud_failed(
        self, events: list[OutboxEvent], error: str, retry_after_s: float | None, result: RoundResult
    ) -> None:
        """The cloud failed a request: one more failure in a row, and the whole queue waits one
        backoff step of that count (not the shortest of each event's own delays, which with a
        batch of 200 random draws is always about `backoff_base_s / 2`)."""
        now = self.clock_ms()
        p = self.policy
        failures = int(self.state.get("outage_failures", "0") or 0) + 1
        delay_ms = int(
            1000
            * retry_delay_s(
                failures, base_s=p.backoff_base_s, cap_s=p.backoff_max_s, rand=self.rand, retry_after_s=retry_after_s
            )
        )
        with transaction(self.outbox.conn):
            self.state.set("outage_failures", failures)
            self.state.set("hold_until_ms", now + delay_ms)
        if events:
            self.outbox.defer({e.key: delay_ms for e in events}, now, error)
            result.deferred += len(events)
        result.cloud_failed = True
        self._error(error, result)
        self._check_failing(error, now)

    def _cloud_answered(self) -> None:
        """The cloud answered: the outage is over, and what waited out its backoff is due now."""
        if self.state.get("outage_failures", "0") in ("0", None) and not self._hold_until_ms():
            return
        now = self.clock_ms()
        with transaction(self.outbox.conn):
            self.state.set("outage_failures", 0)
            self.state.set("hold_until_ms", 0)
        self.outbox.release_deferred(now)

    def _defer(self, events: list[OutboxEvent], error: str, result: RoundResult) -> None:
        """Events the cloud answered for without acknowledging: each backs off on its own attempts."""
        now = self.clock_ms()
        p = self.policy
        delays = {
            e.key: int(
                1000 * retry_delay_s(e.attempts + 1, base_s=p.backoff_base_s, cap_s=p.backoff_max_s, rand=self.rand)
            )
            for e in events
        }
        self.outbox.defer(delays, now, error)
        result.deferred += len(events)
        self._error(error, result)
        self._check_failing(error, now)

    def _check_failing(self, error: str, now: int) -> None:
        p = self.policy
        last_ok = int(self.state.get("last_success_ms", "0") or 0)
        oldest = self.outbox.oldest_created_ms() or now
        if now - max(last_ok, oldest) >= p.failing_after_ms:
            self.alert(
                "sync_failing",
                "warning",
                f"cloud sync has not delivered anything for {(now - max(last_ok, oldest)) // 3_600_000} h: {error}",
                now_ms=now,
                dedup_key="cloud_sync:failing",
            )

    def _dead(self, events: list[OutboxEvent], err: PermanentError, result: RoundResult) -> None:
        now = self.clock_ms()
        self.outbox.dead_letter(events, err.status, str(err), now)
        result.dead += len(events)
        self._error(str(err), result)
        for e in events:
            self.alert(
                "sync_dead_letter",
                "warning",
                f"the cloud refused {e.kind} event {e.key} for good (HTTP {err.status}); kept in outbox_dead",
                now_ms=now,
                dedup_key=f"cloud_sync:dead:{e.key}",
            )

    def _auth_failed(self, err: AuthError, result: RoundResult) -> None:
        now = self.clock_ms()
        result.auth_failed = True
        self._error(str(err), result)
        self.alert(
            "cloud_reregister",
            "critical",
            f"the cloud refused this gateway's token (HTTP {err.status}): run `powergw cloud register` again; "
            "queued events are kept",
            now_ms=now,
            dedup_key="cloud_sync:reregister",
        )

    def _error(self, error: str, result: RoundResult) -> None:
        result.errors.append(error)
        self.state.set("last_error", error[:500])
        self.state.set("last_error_ms", self.clock_ms())
        log.warning("cloud sync: %s", error)

    # ---- pull -------------------------------------------------------------------------------

    def pull(self, result: RoundResult | None = None) -> RoundResult:
        """Apply the cloud's changes after our cursor, each in one transaction with the cursor."""
        result = result or RoundResult()
        while True:
            try:
                page = self.client.changes(self.state.cursor(), self.policy.pull_page)
            except AuthError as err:
                self._auth_failed(err, result)
                return result
            except TransientError as err:
                self._cloud_failed([], str(err), err.retry_after_s, result)
                return result
            except SyncError as err:
                self._error(str(err), result)
                return result
            self._cloud_answered()
            for change in page.changes:
                try:
                    self._apply(change)
                except SyncError as err:
                    self._error(str(err), result)
                    return result
                result.pulled += 1
            if not page.more or not page.changes:
                self.state.set("last_pull_ms", self.clock_ms())
                return result

    def _apply(self, change: dict) -> None:
        seq, type_, data = change.get("seq"), change.get("type"), change.get("data")
        if not isinstance(seq, int) or not isinstance(type_, str) or not isinstance(data, dict):
            raise TransientError(f"change {change!r:.200}: expected seq, type, data")
        conn = self.outbox.conn
        if conn.execute("SELECT 1 FROM sync_inbox WHERE seq = ?", (seq,)).fetchone():
            # Pulled before (a lost cursor, a page read twice): nothing is fetched, installed or applied again.
            self.state.set("cursor", max(seq, self.state.cursor()))
            return
        handler = self.handlers.get(type_)
        status, detail = "applied", ""
        if type_ == "model_published":
            # Outside the transaction below: a download and a child process must not hold the
            # database's write lock that ingest needs.
            status, detail, data = self._model(seq, data)
            handler = None
        elif handler is None:
            status, detail = "pending", "no handler on this gateway yet"
        try:
            with transaction(conn):
                cur = conn.execute(
                    "INSERT INTO sync_inbox (seq, type, data, received_ms, status, detail) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (seq) DO NOTHING",
                    (seq, type_, json.dumps(data, sort_keys=True), self.clock_ms(), status, detail),
                )
                if cur.rowcount == 1 and handler is not None and status == "applied":
                    handler(conn, data)
                self.state.set("cursor", max(seq, self.state.cursor()))
        except SyncError:
            raise
        except Exception as err:  # a handler's failure: nothing of this change is kept; retried next round
            raise SyncError(f"change {seq} ({type_}): handler failed: {err}") from err

    def _model(self, seq: int, data: dict) -> tuple[str, str, dict]:
        """A model_published change -> (inbox status, detail, data to keep). A model the gateway
        will not use is `rejected` with an alert; a network failure raises and is retried."""
        if self.models is None:
            return "pending", "no theft-model registry on this gateway", data
        try:
            done = self.models.install(seq, data, self._fetch_model)
        except ModelRejected as err:
            log.warning("cloud sync: %s", err)
            self.alert(
                "model_rejected", "warning", str(err), now_ms=self.clock_ms(), dedup_key=f"cloud_sync:model:{seq}"
            )
            return "rejected", str(err), data
        except OSError as err:  # staging or the registry's disk (full, read-only): retried next round
            raise SyncError(f"change {seq} (model_published): {err}") from err
        log.info("cloud sync: %s", done.detail)
        return "applied", done.detail, dict(data, **done.record)

    def _fetch_model(self, path: str, digest: str) -> bytes:
        """Download a model's bytes and return them only if their SHA-256 is the announced one."""
        try:
            data = self.client.download(path)
        except PermanentError as err:  # e.g. 404: the cloud does not serve what it announced
            raise ModelRejected(f"model at {path}: {err}") from err
        actual = _sha256(data)
        if actual != digest:
            raise ChecksumError(f"model at {path}: SHA-256 {actual} is not the announced {digest}; not used")
        return data

    # ---- a whole round ----------------------------------------------------------------------

    def replay_pending(self) -> int:
        """Apply inbox changes kept as pending because no handler (or no model registry) existed
        when they arrived; returns how many were applied."""
        conn = self.outbox.conn
        rows = conn.execute("SELECT seq, type, data FROM sync_inbox WHERE status = 'pending' ORDER BY seq").fetchall()
        applied = 0
        for seq, type_, data in rows:
            if type_ == "model_published":
                applied += self._replay_model(seq, json.loads(data))
                continue
            handler = self.handlers.get(type_)
            if handler is None:
                continue
            with transaction(conn):
                cur = conn.execute(
                    "UPDATE sync_inbox SET status = 'applied', detail = '' WHERE seq = ? AND status = 'pending'", (seq,)
                )
                if cur.rowcount == 1:
                    handler(conn, json.loads(data))
                    applied += 1
        return applied

    def _replay_model(self, seq: int, data: dict) -> int:
        if self.models is None:
            return 0
        try:
            status, detail, data = self._model(seq, data)
        except SyncError as err:  # the download failed: the change stays pending for the next round
            log.warning("cloud sync: model change %d: %s", seq, err)
            return 0
        conn = self.outbox.conn
        with transaction(conn):
            cur = conn.execute(
                "UPDATE sync_inbox SET status = ?, detail = ?, data = ? WHERE seq = ? AND status = 'pending'",
                (status, detail, json.dumps(data, sort_keys=True), seq),
            )
        return int(cur.rowcount == 1 and status == "applied")

    def run_once(self, progress: Callable[[int], None] | None = None) -> RoundResult:
        """Push what is due, then pull; pending changes that now have a handler are applied first.

        While the queue is held nothing is sent at all (a pull against a down cloud is one more
        request a fleet would hammer it with); after a failed push the pull waits too.
        """
        self.replay_pending()
        result = self.push(progress)
        if not (result.auth_failed or result.held or result.cloud_failed):
            self.pull(result)
        return result

    def _hold_until_ms(self) -> int:
        return int(self.state.get("hold_until_ms", "0") or 0)

    def next_attempt_ms(self) -> int | None:
        """When the next push can send something: the next due event, not before a hold."""
        due = self.outbox.next_due_ms()
        return None if due is None else max(due, self._hold_until_ms())

    def next_round_in_s(self, interval_s: float) -> float:
        """Seconds until the next useful round: the next due event, at most `interval_s`."""
        due = self.next_attempt_ms()
        if due is None:
            return interval_s
        return max(0.0, min(interval_s, (due - self.clock_ms()) / 1000))

    def status(self) -> dict:
        """Queue depth, oldest event, last success and last error, for `powergw sync status`."""
        s = self.state
        return {
            "url": s.get("url"),
            "gateway_id": s.get("gateway_id"),
            "household_id": s.get("household_id"),
            "queue_depth": self.outbox.depth(),
            "oldest_event_ms": self.outbox.oldest_created_ms(),
            "next_attempt_ms": self.next_attempt_ms(),
            "dead_letters": self.outbox.dead_count(),
            "cursor": s.cursor(),
            "last_success_ms": _int_or_none(s.get("last_success_ms")),
            "last_pull_ms": _int_or_none(s.get("last_pull_ms")),
            "last_error": s.get("last_error"),
            "last_error_ms": _int_or_none(s.get("last_error_ms")),
            "model_registry": str(self.models.root) if self.models is not None else None,
            "last_model": self.last_model(),
        }

    def last_model(self) -> dict | None:
        """The latest model_published change: the cloud's name for it, what became of it, and why."""
        row = self.outbox.conn.execute(
            "SELECT seq, data, status, detail FROM sync_inbox WHERE type = 'model_published' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        data = json.loads(row[1])
        return {
            "seq": row[0],
            "version": data.get("version"),
            "registry_version": data.get("registry_version"),
            "status": row[2],
            "detail": row[3],
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None
