"""Backups of the database while ingest writes, rotation, and restore.

Two kinds, each one consistent snapshot taken in one read transaction (in WAL mode that never
blocks the writer):

- **compact** (the default, nightly): every table, but of the raw 1 s readings only those not
  yet in the rollups (id past `rollup_watermark`) and those of the last `raw_hours`. Old raw
  readings are what makes a database big (4.4 MiB per node-day) and their energy is already in
  the rollups, which are copied whole: a restore loses no energy, only old 1 s detail. Copied by
  `INSERT … SELECT` from the attached database into a new file, so the SD card is written once
  per byte of the result, not once per byte of the database.
- **full** (`powergw backup --full`): SQLite's online backup API, every page.

A backup is written beside its final name, checked, fsynced and renamed, so a power cut or a
full disk mid-backup leaves the older backups intact and at worst a `.partial` file that the
next run removes. Rotation deletes old backups only after the new one is complete (nothing is
deleted before it is safe elsewhere).

A backup that would copy an unchanged database is skipped: a gateway with no nodes powered has
nothing new to save (a full backup is not skipped for a newer compact one).
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import OpsError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^powergw-(\d{8}T\d{6}Z)(-compact)?\.db$")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
KINDS = ("compact", "full")
# Space a backup leaves free when it shares a file system with the database: ingest must still
# be able to commit while (and after) the backup is written.
RESERVE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_utc: dt.datetime
    size_bytes: int
    kind: str = "full"


@dataclass
class BackupResult:
    path: Path | None
    skipped: str = ""
    size_bytes: int = 0
    seconds: float = 0.0
    removed: list[Path] = field(default_factory=list)
    kind: str = "full"
    readings_left_out: int = 0  # raw readings of a compact backup left to the rollups


def backup_name(now_ms: int, kind: str = "full") -> str:
    stamp = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"powergw-{stamp}{'-compact' if kind == 'compact' else ''}.db"


def list_backups(dest_dir: Path) -> list[BackupInfo]:
    """Complete backups in `dest_dir`, newest first."""
    out = []
    try:
        entries = list(Path(dest_dir).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for p in entries:
        m = NAME_RE.match(p.name)
        if m and p.is_file():
            taken = dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            st = p.stat()
            out.append((st.st_mtime_ns, BackupInfo(p, taken, st.st_size, "compact" if m.group(2) else "full")))
    # Names have whole seconds: two backups in one second are ordered by when their file was written.
    return [info for _, info in sorted(out, key=lambda t: (t[1].taken_utc, t[0]), reverse=True)]


def _changed_since(db_path: Path, when_s: float) -> bool:
    """True if the database or its WAL was modified after `when_s` (epoch seconds)."""
    newest = 0.0
    for p in (db_path, Path(f"{db_path}-wal")):
        try:
            newest = max(newest, p.stat().st_mtime)
        except FileNotFoundError:
            pass
    return newest > when_s


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _uri(path: Path, mode: str) -> str:
    return f"file:{quote(str(path.resolve()))}?mode={mode}"


def space_for_backups(db_path: Path, dest_dir: Path) -> tuple[int, str]:
    """Bytes a new backup may take in `dest_dir` (its free space, less RESERVE_BYTES on the
    database's own disk), and why."""
    free = shutil.disk_usage(dest_dir).free
    if os.stat(dest_dir).st_dev == os.stat(db_path.parent).st_dev:
        return max(
            free - RESERVE_BYTES, 0
        ), f"{_mib(free)} free, less {_mib(RESERVE_BYTES)} kept for the database on the same disk"
    return free, f"{_mib(free)} free"


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def take_backup(
    db_path: Path,
    dest_dir: Path,
    *,
    keep: int,
    now_ms: int | None = None,
    force: bool = False,
    kind: str = "compact",
    raw_hours: int = 24,
    max_bytes: int | None = None,
) -> BackupResult:
    """Copy `db_path` into `dest_dir` as powergw-<UTC time>[-compact].db and keep the newest `keep`.

    `max_bytes` caps the new file (default: `space_for_backups`); a backup that would exceed it
    fails with OpsError and leaves nothing behind.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    db_path, dest_dir = Path(db_path), Path(dest_dir)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not db_path.exists():
        raise OpsError(f"no database at {db_path}")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        for stale in dest_dir.glob(".partial-*"):
            stale.unlink(missing_ok=True)
        budget, room = (
            space_for_backups(db_path, dest_dir) if max_bytes is None else (max_bytes, f"limit {_mib(max_bytes)}")
        )
    except OSError as err:
        raise OpsError(f"cannot write backups to {dest_dir}: {err}") from err
    existing = list_backups(dest_dir)
    # An unchanged database is not copied again, unless a full copy is asked for and the newest is compact.
    newest_covers = existing and (kind == "compact" or existing[0].kind == "full")
    if newest_covers and not force and not _changed_since(db_path, existing[0].path.stat().st_mtime):
        return BackupResult(None, skipped=f"unchanged since {existing[0].path.name}", kind=kind)

    final = dest_dir / backup_name(now_ms, kind)
    partial = dest_dir / f".partial-{final.name}"
    started = time.monotonic()
    left_out = 0
    try:
        if kind == "full":
            check = _copy_full(db_path, partial, budget)
        else:
            check, left_out = _copy_compact(
                db_path, partial, keep_from_ms=now_ms - raw_hours * HOUR_MS, max_bytes=budget
            )
        if check != "ok":
            raise OpsError(
                f"backup of {db_path} failed its check ({check}); the database itself may be damaged: "
                "run powergw doctor"
            )
        os.chmod(partial, 0o640)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, final)
        _fsync_dir(dest_dir)
    except (sqlite3.Error, OSError, OpsError, _NoSpace) as err:
        partial.unlink(missing_ok=True)
        if isinstance(err, OpsError):
            raise
        if isinstance(err, _NoSpace) or _is_full(err):
            raise OpsError(
                f"not enough space in {dest_dir} for a {kind} backup of {db_path} ({err}; {room}): free some space, "
                "lower [backup] keep, or point [backup] dir at another disk"
            ) from err
        raise OpsError(f"cannot back up {db_path} to {dest_dir}: {err}") from err
    result = BackupResult(
        final,
        size_bytes=final.stat().st_size,
        seconds=time.monotonic() - started,
        kind=kind,
        readings_left_out=left_out,
    )
    for old in list_backups(dest_dir)[keep:]:
        old.path.unlink(missing_ok=True)
        result.removed.append(old.path)
    return result


class _NoSpace(Exception):
    """A full backup known in advance not to fit."""


def _is_full(err: Exception) -> bool:
    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(err)
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def _copy_full(db_path: Path, partial: Path, max_bytes: int) -> str:
    """Every page, with the online backup API; returns the copy's quick_check."""
    src = sqlite3.connect(_uri(db_path, "ro"), uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        page_size = src.execute("PRAGMA page_size").fetchone()[0]
        needed = page_size * src.execute("PRAGMA page_count").fetchone()[0]
        if needed > max_bytes:  # known before writing a byte; max_page_count below catches growth since
            raise _NoSpace(f"it needs {_mib(needed)}")
        dst.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page_size)}")
        # pages=-1: one step, one read transaction, one consistent snapshot. Stepping in
        # smaller pieces would restart the copy each time ingest commits in between.
        src.backup(dst, pages=-1)
        # A self-contained file: no -wal/-shm needed to open or copy it.
        dst.execute("PRAGMA journal_mode = DELETE")
        return dst.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        src.close()
        dst.close()


# Internal tables that cannot be created by their SQL: sqlite_sequence appears with the first
# AUTOINCREMENT table, the statistics tables with ANALYZE.
_STAT_TABLES = ("sqlite_stat1", "sqlite_stat4")


def _copy_compact(db_path: Path, partial: Path, *, keep_from_ms: int, max_bytes: int) -> tuple[str, int]:
    """Schema and rows of every table, raw readings cut to the unrolled and recent ones.

    One transaction on a connection whose main database is the new file and which attaches the
    source read-only: the schema and every row come from the same snapshot. Returns the copy's
    quick_check and how many raw readings were left out.
    """
    dst = sqlite3.connect(_uri(partial, "rwc"), uri=True, isolation_level=None)
    try:
        dst.execute("PRAGMA busy_timeout = 10000")
        dst.execute("ATTACH DATABASE ? AS src", (_uri(db_path, "ro"),))
        page_size = dst.execute("PRAGMA src.page_size").fetchone()[0]
        # Same page size as the source (1 KiB keeps ingest's commits small after a restore).
        dst.execute(f"PRAGMA main.page_size = {page_size}")
        dst.execute(f"PRAGMA main.auto_vacuum = {dst.execute('PRAGMA src.auto_vacuum').fetchone()[0]}")
        # No journal and no syncs while writing: on any failure the whole file is deleted, and
        # it is fsynced once before the rename. Rows go in key order, so each page is written
        # once (benchmarks/bench_backup.py: bytes written = file size).
        dst.execute("PRAGMA main.journal_mode = OFF")
        dst.execute("PRAGMA main.synchronous = OFF")
        dst.execute(f"PRAGMA main.max_page_count = {max(1, max_bytes // page_size)}")
        dst.execute("BEGIN")
        objects = dst.execute(
            "SELECT type, name, sql FROM src.sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
        tables = [name for kind, name, _ in objects if kind == "table" and not name.startswith("sqlite_")]
        if not {"readings", "meta"} <= set(tables):
            raise OpsError(
                f"{db_path} is not a powergw database (no readings/meta tables); use --full to copy it anyway"
            )
        virtual = [name for kind, name, sql in objects if kind == "table" and sql.upper().startswith("CREATE VIRTUAL")]
        if virtual:
            raise OpsError(f"a compact backup cannot copy virtual table {virtual[0]}; use --full")
        for kind, name, sql in objects:
            if kind in ("table", "index") and not name.startswith("sqlite_"):
                dst.execute(sql)
        first_kept = _first_kept_reading(dst, keep_from_ms)
        for name in tables:
            # `INSERT INTO t SELECT * FROM src.t`, no WHERE: SQLite's transfer optimisation copies
            # records (and their rowids) without decoding them.
            where = f" WHERE id >= {first_kept}" if name == "readings" else ""
            dst.execute(f'INSERT INTO main."{_ident(name)}" SELECT * FROM src."{_ident(name)}"{where}')
        left_out = dst.execute("SELECT count(*) FROM src.readings WHERE id < ?", (first_kept,)).fetchone()[0]
        src_internal = {name for kind, name, _ in objects if kind == "table" and name.startswith("sqlite_")}
        if "sqlite_sequence" in src_internal:
            dst.execute("DELETE FROM main.sqlite_sequence")
            dst.execute("INSERT INTO main.sqlite_sequence SELECT * FROM src.sqlite_sequence")
        stats = [t for t in _STAT_TABLES if t in src_internal]
        if stats:
            dst.execute("ANALYZE main.sqlite_master")  # creates the empty statistics tables
            for t in stats:
                dst.execute(f"DELETE FROM main.{t}")
                dst.execute(f"INSERT INTO main.{t} SELECT * FROM src.{t}")
        # Triggers last, so copying rows fires none of them.
        for kind, _name, sql in objects:
            if kind in ("view", "trigger"):
                dst.execute(sql)
        for pragma in ("user_version", "application_id"):
            dst.execute(f"PRAGMA main.{pragma} = {int(dst.execute(f'PRAGMA src.{pragma}').fetchone()[0])}")
        dst.execute("COMMIT")
        dst.execute("DETACH DATABASE src")
        return dst.execute("PRAGMA quick_check").fetchone()[0], left_out
    finally:
        dst.close()


def _first_kept_reading(conn: sqlite3.Connection, keep_from_ms: int) -> int:
    """Lowest raw reading id a compact backup keeps: past the rollup watermark, or newer than `keep_from_ms`.

    Readings arrive in time order, so the newest reading older than `keep_from_ms` is found by
    walking back from the end of the table (a day of rows), not by scanning all of it.
    """
    row = conn.execute("SELECT value FROM src.meta WHERE key = 'rollup_watermark'").fetchone()
    watermark = int(row[0]) if row else 0
    row = conn.execute(
        "SELECT id FROM src.readings WHERE ts_ms < ? ORDER BY id DESC LIMIT 1", (keep_from_ms,)
    ).fetchone()
    recent_from = row[0] + 1 if row else 0
    return min(watermark + 1, recent_from)


def _ident(name: str) -> str:
    return name.replace('"', '""')


def backup_due(newest: BackupInfo | None, now_ms: int, local_hour: int, at_hour: int) -> bool:
    """Nightly at `at_hour`; a night missed (power off) is caught up once two days have passed."""
    if newest is None:
        return True
    age_ms = now_ms - int(newest.taken_utc.timestamp() * 1000)
    return age_ms >= 2 * DAY_MS or (local_hour == at_hour and age_ms >= DAY_MS // 2)


def backup_job(ctx) -> BackupResult | None:
    """The daemon's backup job (JOBS in gateway.app): runs often, backs up when `backup_due`."""
    section = ctx.config["backup"]
    if not section.enabled:
        return None
    now_ms = ctx.now_ms()
    existing = list_backups(section.dir)
    local_hour = dt.datetime.fromtimestamp(now_ms / 1000, ctx.store.calendar.tz).hour
    if not backup_due(existing[0] if existing else None, now_ms, local_hour, section.at_hour):
        return None
    result = take_backup(
        ctx.store.path, section.dir, keep=section.keep, now_ms=now_ms, kind=section.kind, raw_hours=section.raw_hours
    )
    if result.path:
        log.info(
            "backup: %s (%s, %d bytes in %.1f s), %d old removed",
            result.path,
            result.kind,
            result.size_bytes,
            result.seconds,
            len(result.removed),
        )
    else:
        log.info("backup skipped: %s", result.skipped)
    return result


# ---- restore ----------------------------------------------------------------------------------


def processes_using(path: Path) -> list[tuple[int, str]]:
    """(pid, command) of processes holding `path` (or its -wal) open, from /proc; ours excluded."""
    targets = {os.path.realpath(path), os.path.realpath(f"{path}-wal")}
    found = []
    for pid_dir in Path("/proc").glob("[0-9]*"):
        pid = int(pid_dir.name)
        if pid == os.getpid():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in targets:
                    cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                    found.append((pid, cmd))
                    break
            except OSError:
                continue
    return found


def check_backup(backup: Path) -> None:
    """Raise OpsError unless `backup` is an intact powergw database."""
    if not backup.is_file():
        raise OpsError(f"no backup file {backup}")
    try:
        conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise OpsError(f"{backup} is not a readable SQLite database: {err}") from err
    if result != "ok":
        raise OpsError(f"{backup} fails PRAGMA integrity_check: {result}")
    if not {"nodes", "readings", "usage_day"} <= tables:
        raise OpsError(f"{backup} is not a powergw database (no nodes/readings/usage_day tables)")


def restore_backup(backup: Path, db_path: Path, *, now_ms: int | None = None) -> Path | None:
    """Replace `db_path` by `backup`; the current database is kept beside it. Returns where.

    Refuses while another process has the database open: stop the daemon and the dashboard
    first. The restored file keeps the owner and mode of the database it replaces, so a root
    shell restoring for the powergw service leaves a file the service can still write.
    """
    backup, db_path = Path(backup), Path(db_path)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    check_backup(backup)
    users = processes_using(db_path)
    if users:
        pid, cmd = users[0]
        raise OpsError(
            f"{db_path} is open by process {pid} ({cmd}); stop it first "
            "(systemctl stop powergw powergw-ui powergw-mqtt)"
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    kept: Path | None = None
    owner = None
    if db_path.exists():
        st = db_path.stat()
        owner = (st.st_uid, st.st_gid, st.st_mode & 0o777)
        stamp = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
        _copy_db(db_path, kept)  # through SQLite, so what sits in the -wal comes along
    tmp = db_path.with_name(f".restoring-{db_path.name}")
    _copy_db(backup, tmp)
    if owner:
        for path in (tmp, kept):
            try:
                os.chown(path, owner[0], owner[1])
            except PermissionError:
                pass
            os.chmod(path, owner[2])
    for side in ("-wal", "-shm"):
        Path(f"{db_path}{side}").unlink(missing_ok=True)
    os.replace(tmp, db_path)
    _fsync_dir(db_path.parent)
    return kept


def _copy_db(src_path: Path, dst_path: Path) -> None:
    dst_path.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
        dst = sqlite3.connect(dst_path)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            src.close()
            dst.close()
        with open(dst_path, "rb") as fh:
            os.fsync(fh.fileno())
    except (sqlite3.Error, OSError) as err:
        dst_path.unlink(missing_ok=True)
        raise OpsError(f"cannot copy {src_path} to {dst_path}: {err}") from err
