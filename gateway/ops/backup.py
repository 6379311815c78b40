"""Online backups of the database (SQLite's backup API), rotation, and restore.

A backup is one consistent snapshot taken while ingest keeps writing: in WAL mode the copy is
one read transaction, which never blocks the writer. It is written beside its final name,
checked, fsynced and renamed, so a power cut mid-backup leaves the older backups intact and at
worst a `.partial` file that the next run removes. Rotation deletes old backups only after the
new one is complete (nothing is deleted before it is safe elsewhere).

A backup that would copy an unchanged database is skipped: on an SD card the nightly copy is
the largest write of the day, and a gateway with no nodes powered has nothing new to save.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import OpsError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^powergw-(\d{8}T\d{6}Z)\.db$")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_utc: dt.datetime
    size_bytes: int


@dataclass
class BackupResult:
    path: Path | None
    skipped: str = ""
    size_bytes: int = 0
    seconds: float = 0.0
    removed: list[Path] = field(default_factory=list)


def backup_name(now_ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"powergw-{stamp}.db"


def list_backups(dest_dir: Path) -> list[BackupInfo]:
    """Complete backups in `dest_dir`, newest first."""
    out = []
    try:
        entries = list(Path(dest_dir).iterdir())
    except FileNotFoundError:
        return []
    for p in entries:
        m = NAME_RE.match(p.name)
        if m and p.is_file():
            taken = dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
            out.append(BackupInfo(p, taken, p.stat().st_size))
    return sorted(out, key=lambda b: b.taken_utc, reverse=True)


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


def take_backup(db_path: Path, dest_dir: Path, *, keep: int, now_ms: int | None = None, force: bool = False) -> BackupResult:
    """Copy `db_path` into `dest_dir` as powergw-<UTC time>.db and keep the newest `keep`."""
    db_path, dest_dir = Path(db_path), Path(dest_dir)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not db_path.exists():
        raise OpsError(f"no database at {db_path}")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OpsError(f"cannot create backup directory {dest_dir}: {err}") from err
    for stale in dest_dir.glob(".partial-*"):
        stale.unlink(missing_ok=True)
    existing = list_backups(dest_dir)
    if existing and not force and not _changed_since(db_path, existing[0].path.stat().st_mtime):
        return BackupResult(None, skipped=f"unchanged since {existing[0].path.name}")

    final = dest_dir / backup_name(now_ms)
    partial = dest_dir / f".partial-{final.name}"
    started = time.monotonic()
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        dst = sqlite3.connect(partial)
        try:
            src.execute("PRAGMA busy_timeout = 10000")
            # pages=-1: one step, one read transaction, one consistent snapshot. Stepping in
            # smaller pieces would restart the copy each time ingest commits in between.
            src.backup(dst, pages=-1)
            # A self-contained file: no -wal/-shm needed to open or copy it.
            dst.execute("PRAGMA journal_mode = DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            src.close()
            dst.close()
        if check != "ok":
            raise OpsError(f"backup of {db_path} failed its check ({check}); the database itself may be damaged: run powergw doctor")
        os.chmod(partial, 0o640)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, final)
        _fsync_dir(dest_dir)
    except (sqlite3.Error, OSError) as err:
        partial.unlink(missing_ok=True)
        raise OpsError(f"cannot back up {db_path} to {dest_dir}: {err}") from err
    result = BackupResult(final, size_bytes=final.stat().st_size, seconds=time.monotonic() - started)
    for old in list_backups(dest_dir)[keep:]:
        old.path.unlink(missing_ok=True)
        result.removed.append(old.path)
    return result


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
    result = take_backup(ctx.store.path, section.dir, keep=section.keep, now_ms=now_ms)
    if result.path:
        log.info("backup: %s (%d bytes in %.1f s), %d old removed", result.path, result.size_bytes, result.seconds, len(result.removed))
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
        raise OpsError(f"{db_path} is open by process {pid} ({cmd}); stop it first (systemctl stop powergw powergw-ui powergw-mqtt)")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    kept: Path | None = None
    owner = None
    if db_path.exists():
        st = db_path.stat()
        owner = (st.st_uid, st.st_gid, st.st_mode & 0o777)
        stamp = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
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
