"""The household's answers on theft alerts, as tables (migration set "powergw.theft").

- `theft_rules`: one row per Ignore rule in force, with the alert whose Ignore made it.
- `theft_examples`: labelled feature rows for retraining: normal (an Ignore) or theft (a Raise).
- `theft_feedback_cursor`: one row, the last `alert_actions.id` the theft job has taken in. The
  household's answers are already rows of `alert_actions`; the job reads those after the cursor,
  in order, and moves it in the same transaction as the rules and examples each one changes, so
  every Ignore, Raise, Stop ignoring and Resolve is taken in once.
- `theft_retrains`: what each retrain trained on (or why it was skipped), so the weekly job
  retrains only when the examples changed.
- `theft_rules_unreadable`: texts of rules an older gateway saved that could not be read when they
  moved here (kept, nothing the household said is lost; nothing reads them).

Numpy-free: the daemon and the dashboard open the store with these migrations, and the dashboard
lists the rules. `FeedbackTables` takes and returns plain values (a rule's fields as
`edge_model.rule_row` reads them, a feature row as float32 bytes); edge_model.feedback and
edge_model.store_job turn them into SuppressionRules and arrays.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from edge_model import rule_row
from edge_model.npz_file import column_values, float32_rows, read_npz
from gateway.db import as_store

log = logging.getLogger(__name__)

theft_migrations = Migrations("powergw.theft")

JSON_COLUMNS = ("weekdays", "hours", "usual_w", "usual_floor_w")
RULE_COLUMNS = rule_row.FIELDS


@theft_migrations()
def m001_theft_tables(db: sqlite_utils.Database) -> None:
    def real(name: str, null: bool = False) -> str:
        check = f"typeof({name}) = 'real'"
        return f"{name} REAL{'' if null else ' NOT NULL'} CHECK ({f'{name} IS NULL OR ' if null else ''}{check})"

    def array(name: str, lengths: str = "") -> str:
        length = f" AND json_array_length({name}) IN ({lengths})" if lengths else ""
        return f"{name} TEXT NOT NULL DEFAULT '[]' CHECK (json_valid({name}) AND json_type({name}) = 'array'{length})"

    for sql in (
        f"""CREATE TABLE theft_rules (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER UNIQUE,  -- the alert whose Ignore made it; NULL: a rule from before rules knew it
            first_hour INTEGER NOT NULL CHECK (first_hour BETWEEN 0 AND 23),
            last_hour INTEGER NOT NULL CHECK (last_hour BETWEEN 0 AND 23),
            {array("hours")},  -- the local hours of day it covers; []: the band first_hour..last_hour
            {array("weekdays")},
            {real("start_s")},
            {real("expires_s")},
            {real("renew_days")},
            {real("max_power_w")},
            {real("excess_cap_w")},
            {array("usual_w", "0, 24")},
            {array("usual_floor_w", "0, 24")},
            {real("floor_cap_w", null=True)},
            {real("steady_cap_w", null=True)}
        )""",
        """CREATE TABLE theft_examples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a retrain knows whether the set changed
            alert_id INTEGER,  -- the alert answered; NULL: a row from before rows knew it
            label INTEGER NOT NULL CHECK (label IN (0, 1)),  -- 1 theft (Raise), 0 normal (Ignore)
            weight REAL NOT NULL CHECK (weight > 0),
            features_version INTEGER NOT NULL,  -- edge_model.FEATURES_VERSION that computed the row
            features BLOB NOT NULL CHECK (length(features) % 4 = 0),  -- float32, little-endian, one per column
            window_start_s REAL  -- the hour the row describes; NULL: not known (moved from feedback.npz)
        )""",
        "CREATE INDEX theft_examples_alert ON theft_examples (alert_id)",
        """CREATE TABLE theft_feedback_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            action_id INTEGER NOT NULL  -- the last alert_actions.id taken in
        )""",
        "INSERT INTO theft_feedback_cursor (id, action_id) VALUES (1, 0)",
        """CREATE TABLE theft_retrains (
            id INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            examples INTEGER NOT NULL,  -- household examples of its features version it had
            through_example_id INTEGER,  -- the newest of them; NULL: not trained (skipped)
            version TEXT,  -- the registry version it added; NULL: not trained
            promoted INTEGER,  -- 1 made current, 0 not; NULL: not trained
            note TEXT NOT NULL DEFAULT ''  -- why it was skipped, or how it compared
        )""",
        """CREATE TABLE theft_rules_unreadable (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            reason TEXT NOT NULL
        )""",
    ):
        db.execute(sql)


@dataclass(frozen=True)
class SavedRule:
    """A theft_rules row: its id, the alert whose Ignore made it (None: not known) and its fields
    (the JSON columns decoded; a column that is not JSON is left as its text, so that
    `rule_row.fields` refuses the row)."""

    id: int
    alert_id: int | None
    fields: dict


@dataclass(frozen=True)
class Answer:
    """One of the household's answers on a theft alert: an alert_actions row."""

    action_id: int
    alert_id: int
    action: str  # "ignore", "raise", "unignore" or "resolve"


@dataclass(frozen=True)
class Example:
    """A theft_examples row as training needs it."""

    label: int
    weight: float
    features: bytes  # float32, little-endian


class FeedbackTables:
    """The theft tables on a Store (or a bare connection). Writers that must commit together wrap
    the calls in `gateway.store.transaction`."""

    def __init__(self, store):
        self.store = as_store(store)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    # -- Ignore rules ----------------------------------------------------------------------------

    def rules(self, expiring_after_s: float | None = None) -> list[SavedRule]:
        """The saved rules, oldest first; with expiring_after_s, only those still in force then."""
        where, params = ("WHERE expires_s > ?", (expiring_after_s,)) if expiring_after_s is not None else ("", ())
        cur = self.conn.execute(
            f"SELECT id, alert_id, {', '.join(RULE_COLUMNS)} FROM theft_rules {where} ORDER BY id", params
        )
        out = []
        for row in cur.fetchall():
            values = dict(zip(RULE_COLUMNS, row[2:], strict=False))
            for name in JSON_COLUMNS:
                values[name] = _json_or_text(values[name])
            out.append(SavedRule(row[0], row[1], values))
        return out

    def save_rule(self, alert_id: int | None, fields: dict) -> int:
        """Store a rule (replacing the one the same alert made, if any); returns its id. Raises
        ValueError for fields that are not a rule."""
        values = _rule_values(fields)
        columns = ", ".join(("alert_id", *RULE_COLUMNS))
        update = ", ".join(f"{c} = excluded.{c}" for c in RULE_COLUMNS)
        cur = self.conn.execute(
            f"INSERT INTO theft_rules ({columns}) VALUES ({', '.join('?' * (1 + len(RULE_COLUMNS)))}) "
            f"ON CONFLICT (alert_id) DO UPDATE SET {update} RETURNING id",
            (alert_id, *values),
        )
        return cur.fetchone()[0]

    def drop_rule(self, alert_id: int) -> bool:
        return self.conn.execute("DELETE FROM theft_rules WHERE alert_id = ?", (alert_id,)).rowcount > 0

    def set_expiry(self, rule_id: int, expires_s: float) -> None:
        self.conn.execute("UPDATE theft_rules SET expires_s = ? WHERE id = ?", (float(expires_s), rule_id))

    def drop_lapsed(self, before_s: float) -> int:
        """Delete the rules that expired before `before_s` (the start of the series the theft job
        reads: none of its hours can apply or renew them); returns how many."""
        return self.conn.execute("DELETE FROM theft_rules WHERE expires_s <= ?", (before_s,)).rowcount

    # -- labelled examples -----------------------------------------------------------------------

    def add_examples(
        self,
        alert_id: int | None,
        label: int,
        weight: float,
        features_version: int,
        rows: Iterable[bytes],
        window_starts_s: Sequence[float | None] | None = None,
    ) -> int:
        rows = list(rows)
        starts = list(window_starts_s) if window_starts_s is not None else [None] * len(rows)
        self.conn.executemany(
            "INSERT INTO theft_examples (alert_id, label, weight, features_version, features, window_start_s) VALUES "
            "(?, ?, ?, ?, ?, ?)",
            [
                (alert_id, int(label), float(weight), int(features_version), sqlite3.Binary(r), s)
                for r, s in zip(rows, starts, strict=False)
            ],
        )
        return len(rows)

    def forget(self, alert_id: int) -> int:
        """Take back the examples an answer on `alert_id` stored; returns how many."""
        return self.conn.execute("DELETE FROM theft_examples WHERE alert_id = ?", (alert_id,)).rowcount

    def examples(self, features_version: int, width: int, through_id: int | None = None) -> tuple[list[Example], int]:
        """The examples of this features version (rows of `width` float32; with through_id, up to
        that id), and how many other rows there are (another features version, or a row of another
        width): those cannot train this gateway's model and are left in the table unused."""
        through = "" if through_id is None else " AND id <= ?"
        usable = "features_version = ? AND length(features) = ?"
        params = (features_version, 4 * width, *(() if through_id is None else (through_id,)))
        rows = self.conn.execute(
            f"SELECT label, weight, features FROM theft_examples WHERE {usable}{through} ORDER BY id", params
        ).fetchall()
        other = self.conn.execute(f"SELECT count(*) FROM theft_examples WHERE NOT ({usable})", params[:2]).fetchone()[0]
        return [Example(int(label), float(weight), bytes(blob)) for label, weight, blob in rows], other

    def fingerprint(self, features_version: int, width: int) -> tuple[int, int]:
        """(how many, newest id) of the usable examples: ids are never reused, so any change to the
        set (an example added or taken back) changes this."""
        count, newest = self.conn.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM theft_examples WHERE features_version = ? "
            "AND length(features) = ?",
            (features_version, 4 * width),
        ).fetchone()
        return int(count), int(newest)

    # -- the cursor over alert_actions -----------------------------------------------------------

    def cursor(self) -> int:
        return int(self.conn.execute("SELECT action_id FROM theft_feedback_cursor WHERE id = 1").fetchone()[0])

    def new_answers(self) -> list[Answer]:
        """The answers on theft alerts after the cursor, in the order they were given. A cursor past
        the last action (the actions table replaced by an older copy) is put back at its end, with
        a warning: the answers after it are new, and none can be told apart from those before."""
        cursor = self.cursor()
        last = self.conn.execute("SELECT coalesce(max(id), 0) FROM alert_actions").fetchone()[0]
        if cursor > last:
            log.warning(
                "theft: the feedback cursor (%d) is past the last alert action (%d); it is set back to the last one, "
                "and answers from now on are taken in",
                cursor,
                last,
            )
            self.advance(last, force=True)
            return []
        rows = self.conn.execute(
            "SELECT a.id, a.alert_id, a.action FROM alert_actions a JOIN alerts t ON t.id = a.alert_id "
            "WHERE a.id > ? AND t.kind = 'theft' ORDER BY a.id",
            (cursor,),
        ).fetchall()
        return [Answer(*row) for row in rows]

    def advance(self, action_id: int, force: bool = False) -> None:
        """Move the cursor to action_id (never back, unless `force`)."""
        sql = "UPDATE theft_feedback_cursor SET action_id = ? WHERE id = 1" + ("" if force else " AND action_id < ?")
        self.conn.execute(sql, (action_id,) if force else (action_id, action_id))

    # -- retrains --------------------------------------------------------------------------------

    def last_trained(self) -> tuple[int, int] | None:
        """(examples, through_example_id) of the last retrain that trained; None before any."""
        row = self.conn.execute(
            "SELECT examples, through_example_id FROM theft_retrains WHERE version IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), int(row[1] or 0)) if row else None

    def record_retrain(
        self,
        at_ms: int,
        fingerprint: tuple[int, int],
        version: str | None = None,
        promoted: bool | None = None,
        note: str = "",
    ) -> None:
        trained = version is not None
        self.conn.execute(
            "INSERT INTO theft_retrains (at_ms, examples, through_example_id, version, promoted, note) VALUES "
            "(?, ?, ?, ?, ?, ?)",
            (
                at_ms,
                fingerprint[0],
                fingerprint[1] if trained else None,
                version,
                None if promoted is None else int(promoted),
                note,
            ),
        )

    def retrains(self) -> list[dict]:
        cur = self.conn.execute("SELECT * FROM theft_retrains ORDER BY id")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]


def _rule_values(fields: dict) -> tuple:
    """A rule's fields (to_dict's row) as theft_rules column values, checked by rule_row."""
    f = rule_row.fields(fields)
    return tuple(json.dumps(list(f[c])) if c in JSON_COLUMNS else f[c] for c in RULE_COLUMNS)


# -- the upgrade from meta keys and feedback.npz (migration m002) --------------------------------

OLD_RULES_KEY = "theft.rules"
OLD_UNREADABLE_KEY = "theft.rules_unreadable"
OLD_MARKS_KEY = "theft.feedback_done"  # superseded by the cursor
OLD_RETRAINED_KEY = "theft.retrained_feedback_rows"
OLD_LAST_RETRAIN_KEY = "theft.last_retrain"
OLD_SCORED_KEY = "theft.scored_until_s"  # stays: the theft job's own mark
OLD_FEEDBACK_FILE = Path("models") / "feedback.npz"  # beside the database
FEATURES_VERSION_BY_WIDTH = {28: 1, 46: 2, 55: 3, 65: 4}  # the versions feedback.npz was written by (4 the last)


@theft_migrations()
def m002_from_meta_and_feedback_file(db: sqlite_utils.Database) -> None:
    """Move what older gateways kept under meta keys and in models/feedback.npz into the tables.

    Rules that cannot be read, and the texts older gateways had already kept aside, go to
    theft_rules_unreadable. The cursor starts at the last answer given before the theft job's last
    successful run (`theft.scored_until_s`): that run had taken them in, and later ones are new.
    feedback.npz is left where it is (no longer read); a file that cannot be read is left too,
    with a warning."""
    conn = db.conn
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'theft.%'").fetchall())
    tables = FeedbackTables(conn)
    _move_rules(conn, tables, meta)
    moved = (0, 0)
    path = _database_file(conn)
    if path is not None and (path.parent / OLD_FEEDBACK_FILE).is_file():
        moved = _move_examples(tables, path.parent / OLD_FEEDBACK_FILE)
    _move_retrain(tables, meta, moved)
    _start_cursor(conn, tables, meta)
    conn.execute(
        "DELETE FROM meta WHERE key IN (?, ?, ?, ?, ?)",
        (OLD_RULES_KEY, OLD_UNREADABLE_KEY, OLD_MARKS_KEY, OLD_RETRAINED_KEY, OLD_LAST_RETRAIN_KEY),
    )


@theft_migrations()
def m003_meter_periods(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE theft_meter_periods (
            reading_id INTEGER PRIMARY KEY,  -- the meter_readings row that closed the period
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            start_kwh TEXT NOT NULL,  -- the two register values it was measured with: a corrected reading re-measures it
            end_kwh TEXT NOT NULL,
            sensor_kwh REAL NOT NULL CHECK (sensor_kwh >= 0),  -- the house's energy from the sensors over it
            coverage REAL NOT NULL CHECK (coverage BETWEEN 0 AND 1),  -- share of its minutes the sensors covered
            alert_id INTEGER  -- the theft alert raised on it, if any
        )"""  # noqa: E501 - SQLite keeps this text as the table's schema: not rewrapped
    )


def _keep_unreadable(conn, text: str, reason: str) -> None:
    conn.execute("INSERT INTO theft_rules_unreadable (text, reason) VALUES (?, ?)", (text, reason))


def _move_rules(conn, tables: FeedbackTables, meta: dict) -> None:
    if OLD_UNREADABLE_KEY in meta:
        text = meta[OLD_UNREADABLE_KEY]
        try:
            kept = json.loads(text)
        except ValueError:
            kept = None
        for item in kept if isinstance(kept, list) else [text]:
            _keep_unreadable(
                conn, item if isinstance(item, str) else json.dumps(item), "kept aside by an older gateway"
            )
    if OLD_RULES_KEY not in meta:
        return
    text = meta[OLD_RULES_KEY]
    try:
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"a JSON list was expected, got {type(rows).__name__}")
    except ValueError as err:
        _keep_unreadable(conn, text, f"{OLD_RULES_KEY} was not a list of rules: {err}")
        log.warning(
            "theft: the saved Ignore rules (%s) could not be read (%s); kept in theft_rules_unreadable",
            OLD_RULES_KEY,
            err,
        )
        return
    for row in rows:
        try:
            alert_id = row.get("alert_id") if isinstance(row, dict) else None
            alert_id = int(alert_id) if isinstance(alert_id, (int, float)) and alert_id > 0 else None
            tables.save_rule(alert_id, row)
        except (ValueError, TypeError, sqlite3.IntegrityError) as err:
            _keep_unreadable(conn, json.dumps(row, sort_keys=True, default=str), str(err))
            log.warning("theft: an Ignore rule could not be read (%s); kept in theft_rules_unreadable", err)


def _move_examples(tables: FeedbackTables, path: Path) -> tuple[int, int]:
    """The rows of feedback.npz (X, y, weight and, since alert tags, alert): (how many, their width)."""
    try:
        arrays = read_npz(path)
        x_dtype, shape, x = arrays["X"]
        if len(shape) != 2:
            raise ValueError(f"X of shape {shape}")
        n, width = shape
        labels = [int(v) for v in column_values(*arrays["y"], n)]
        weights = [float(v) for v in column_values(*arrays["weight"], n)]
        alerts = [int(v) for v in column_values(*arrays["alert"], n)] if "alert" in arrays else [-1] * n
        rows = float32_rows(x_dtype, shape, x)
        if any(label not in (0, 1) for label in labels) or any(not w > 0 for w in weights):
            raise ValueError("labels other than 0/1, or weights not above 0")
    except (OSError, KeyError, ValueError, TypeError, SyntaxError, IndexError) as err:
        log.warning("theft: %s could not be read (%s); it is left where it is and its rows are not used", path, err)
        return 0, 0
    version = FEATURES_VERSION_BY_WIDTH.get(width, 0)  # 0: no version this gateway knows
    for row, label, weight, alert in zip(rows, labels, weights, alerts, strict=False):
        tables.add_examples(alert if alert > 0 else None, label, weight, version, [row])
    return n, width


def _move_retrain(tables: FeedbackTables, meta: dict, moved: tuple[int, int]) -> None:
    """The last retrain (theft.last_retrain), which trained on the rows just moved when its count of
    rows (theft.retrained_feedback_rows) is theirs."""
    try:
        last = json.loads(meta.get(OLD_LAST_RETRAIN_KEY, "null")) or {}
        rows = int(meta.get(OLD_RETRAINED_KEY, "0"))
        at_ms = int(last["at_ms"])
    except (TypeError, ValueError, KeyError, AttributeError):
        return  # never retrained, or a record that cannot be read: the next weekly retrain decides afresh
    version = last.get("version")
    count, width = moved
    if isinstance(version, str) and width in FEATURES_VERSION_BY_WIDTH and rows == count > 0:
        tables.record_retrain(
            at_ms,
            tables.fingerprint(FEATURES_VERSION_BY_WIDTH[width], width),
            version,
            bool(last.get("promoted")),
            "moved from an older gateway",
        )
    else:
        tables.record_retrain(at_ms, (rows, 0), note=str(last.get("skipped") or "moved from an older gateway"))


def _start_cursor(conn, tables: FeedbackTables, meta: dict) -> None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_actions'").fetchone():
        return
    try:
        scored_ms = float(meta.get(OLD_SCORED_KEY, "0")) * 1000
    except ValueError:
        scored_ms = 0.0
    last = conn.execute("SELECT coalesce(max(id), 0) FROM alert_actions WHERE ts_ms <= ?", (scored_ms,)).fetchone()[0]
    tables.advance(int(last), force=True)


def _database_file(conn: sqlite3.Connection) -> Path | None:
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def _json_or_text(value):
    """A JSON column's value, or its text as stored when it is not JSON: rule_row.fields then refuses
    the row, and the theft job scores without it and warns (tests/theft/test_edge_model_daemon.py)."""
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value
