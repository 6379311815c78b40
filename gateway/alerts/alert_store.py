"""The shared alerts table and its API: raise (deduplicated), list, get, act.

Every part of powergw that wants a person to look at something raises an alert here: billing
(budgets, slabs, meter mismatch), ingest (node offline, sensor fault), the theft model, cloud
sync. Listeners (email outbox, cloud outbox) are called with `(conn, alert, event)` inside the
same transaction as the write, so a notification is queued if and only if the alert is stored.
A listener that raises rolls the whole write back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import PowerGwError
from ..db import ConnectionStore, as_store, transaction
from ..store import Store
from .kinds import ACTIONS, KINDS, SEVERITIES, STATES
from .schema import alerts_migrations  # noqa: F401 - re-exported for gateway.app


class AlertError(PowerGwError):
    """An alert request that cannot be carried out (unknown kind, bad action, no such alert)."""


# A listener: called as listener(conn, alert, event) inside the write transaction.
# event is "created", "repeated" or the action taken: "ignore", "raise", "resolve".
AlertListener = Callable[[sqlite3.Connection, dict, str], None]

_COLUMNS = (
    "id, kind, severity, message, node_id, dedup_key, data, state, created_ms, last_seen_ms, repeat_count, "
    "acted_by, acted_ms, action_comment"
)


def _row(cur: sqlite3.Cursor, row: tuple) -> dict:
    item = dict(zip((c[0] for c in cur.description), row, strict=False))
    item["data"] = json.loads(item["data"] or "{}")
    return item


ANSWERS = ("ignore", "raise", "unignore")  # the household's answers on an alert; resolve is housekeeping


def last_answer(conn, alert_id: int) -> str | None:
    """The household's last answer on an alert from its history: "ignore", "raise", "unignore" or None."""
    row = conn.execute(
        f"SELECT action FROM alert_actions WHERE alert_id = ? AND action IN ({', '.join('?' * len(ANSWERS))}) "
        "ORDER BY id DESC LIMIT 1",
        (alert_id, *ANSWERS),
    ).fetchone()
    return row[0] if row else None


def _json(data: Any) -> str:
    # Decimals and dates become strings: money stays exact in the stored numbers.
    return json.dumps(data or {}, sort_keys=True, default=str)


class AlertStore:
    """Alerts in the gateway's store (a Store or a bare connection); `listeners` react in the same transaction."""

    def __init__(self, store: Store | ConnectionStore | sqlite3.Connection, listeners: Sequence[AlertListener] = ()):
        self.store = as_store(store)
        self.listeners = tuple(listeners)

    def raise_alert(
        self,
        kind: str,
        severity: str | None,
        message: str,
        *,
        now_ms: int,
        node_id: str | None = None,
        dedup_key: str | None = None,
        data: dict | None = None,
    ) -> tuple[int, bool]:
        """Store an alert, or count a repeat of the one with the same dedup key: (alert_id, created).

        `severity` None means the kind's default. A repeat increments repeat_count and moves
        last_seen_ms; it never adds a row. On an open alert it also brings the latest numbers: as
        its message and data, or, for a kind whose `repeat` is "first", under data["latest"]
        ({"message", "seen_ms", and the repeat's data}) with the first message and data kept.
        """
        spec = KINDS.get(kind)
        if spec is None:
            raise AlertError(f"unknown alert kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
        severity = severity or spec.severity
        if severity not in SEVERITIES:
            raise AlertError(f"severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
        if not message:
            raise AlertError("an alert needs a message")
        payload = _json(data)
        with transaction(self.store) as conn:
            existing = None
            if dedup_key is not None:
                where = "dedup_key = ? AND state = 'open'" if spec.dedup == "open" else "dedup_key = ?"
                existing = conn.execute(
                    f"SELECT id FROM alerts WHERE {where} ORDER BY id DESC LIMIT 1", (dedup_key,)
                ).fetchone()
            if existing:
                alert_id = existing[0]
                if spec.repeat == "first":
                    first = json.loads(
                        conn.execute("SELECT data FROM alerts WHERE id = ?", (alert_id,)).fetchone()[0] or "{}"
                    )
                    latest = {**(data or {}), "message": message, "seen_ms": now_ms}
                    message, payload = None, _json({**first, "latest": latest})
                conn.execute(
                    "UPDATE alerts SET repeat_count = repeat_count + 1, last_seen_ms = max(last_seen_ms, ?), "
                    "message = CASE WHEN state = 'open' THEN coalesce(?, message) ELSE message END, "
                    "data = CASE WHEN state = 'open' THEN ? ELSE data END WHERE id = ?",
                    (now_ms, message, payload, alert_id),
                )
                event, created = "repeated", False
            else:
                cur = conn.execute(
                    "INSERT INTO alerts (kind, severity, message, node_id, dedup_key, data, state, created_ms, "
                    "last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (kind, severity, message, node_id, dedup_key, payload, now_ms, now_ms),
                )
                alert_id = cur.lastrowid
                event, created = "created", True
            self._notify(conn, alert_id, event)
        return alert_id, created

    def get(self, alert_id: int) -> dict:
        cur = self.store.conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        row = cur.fetchone()
        if row is None:
            raise AlertError(f"no alert #{alert_id}")
        item = _row(cur, row)
        acur = self.store.conn.execute(
            "SELECT action, from_state, to_state, by, comment, ts_ms FROM alert_actions WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
        item["actions"] = [dict(zip((c[0] for c in acur.description), r, strict=False)) for r in acur.fetchall()]
        return item

    def list(
        self,
        state: str | Iterable[str] | None = None,
        kind: str | None = None,
        since_ms: int | None = None,
        limit: int = 100,
        node_id: str | None = None,
    ) -> list[dict]:
        """Alerts newest first; `state` may be one state or several."""
        where, params = [], []
        if state is not None:
            states = (state,) if isinstance(state, str) else tuple(state)
            bad = [s for s in states if s not in STATES]
            if bad:
                raise AlertError(f"state {bad[0]!r}: expected one of {', '.join(STATES)}")
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(states)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if since_ms is not None:
            where.append("last_seen_ms >= ?")
            params.append(since_ms)
        if node_id is not None:
            where.append("node_id = ?")
            params.append(node_id)
        if not isinstance(limit, int) or limit < 1:
            raise AlertError(f"limit {limit!r}: expected a whole number of at least 1")
        sql = f"SELECT {_COLUMNS} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_ms DESC, id DESC LIMIT ?"
        cur = self.store.conn.execute(sql, (*params, limit))
        return [_row(cur, r) for r in cur.fetchall()]

    def last_answer(self, alert_id: int) -> str | None:
        """The household's last answer on an alert ("ignore", "raise", "unignore"), or None."""
        return last_answer(self.store.conn, alert_id)

    def counts(self) -> dict[str, int]:
        """Alerts per state (every state present, zero if none): the dashboard's badge."""
        out = dict.fromkeys(STATES, 0)
        out.update(self.store.conn.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall())
        return out

    def act(self, alert_id: int, action: str, by: str, comment: str = "", *, now_ms: int) -> dict:
        """Ignore, raise (escalate) or resolve an alert; records who acted when. Returns the alert.
        An action that does not fit the alert's kind (`AlertKind.actions`: Ignore on a budget) is refused."""
        if action not in ACTIONS:
            raise AlertError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
        if not by or not by.strip():
            raise AlertError("say who is acting (by)")
        allowed_from, to_state = ACTIONS[action]
        with transaction(self.store) as conn:
            row = conn.execute("SELECT state, kind FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                raise AlertError(f"no alert #{alert_id}")
            from_state, kind = row
            fits = KINDS[kind].actions if kind in KINDS else ()
            if action not in fits:
                takes = ", ".join(fits) or "none"
                raise AlertError(f"alert #{alert_id} is a {kind} alert; {action} does not fit it (it takes {takes})")
            if from_state not in allowed_from:
                raise AlertError(
                    f"alert #{alert_id} is {from_state}; {action} needs it to be {' or '.join(allowed_from)}"
                )
            if action == "unignore" and from_state == "resolved" and last_answer(conn, alert_id) != "ignore":
                raise AlertError(f"alert #{alert_id} is resolved and was not ignored: there is no Ignore to stop")
            conn.execute(
                "UPDATE alerts SET state = ?, acted_by = ?, acted_ms = ?, action_comment = ? WHERE id = ?",
                (to_state, by, now_ms, comment, alert_id),
            )
            conn.execute(
                "INSERT INTO alert_actions (alert_id, action, from_state, to_state, by, comment, ts_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (alert_id, action, from_state, to_state, by, comment, now_ms),
            )
            self._notify(conn, alert_id, action)
        return self.get(alert_id)

    def _notify(self, conn: sqlite3.Connection, alert_id: int, event: str) -> None:
        if not self.listeners:
            return
        cur = conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        alert = _row(cur, cur.fetchone())
        for listener in self.listeners:
            listener(conn, alert, event)
