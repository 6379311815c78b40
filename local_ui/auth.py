"""Dashboard accounts: users with argon2 hashes, server-side sessions, API tokens, login limits.

Everything lives in the gateway's SQLite file (tables `ui_*`, migration set "local_ui"), so a
restarted dashboard keeps its users and sessions and a logout really ends a session. Session ids
and API tokens are random 256-bit values stored only as SHA-256 digests: a copy of the database
does not let anyone log in. Passwords use argon2id at OWASP's minimum (19 MiB, t=2, p=1), which
keeps a login under half a second on a Raspberry Pi Zero 2 W.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import UiError

log = logging.getLogger(__name__)

ROLES = ("viewer", "admin")  # in order of power: a role may do what every role before it may
SESSION_IDLE_MS = 7 * 86_400_000
SESSION_MAX_MS = 30 * 86_400_000
SEEN_WRITE_EVERY_MS = 3_600_000  # refresh a session's last-seen at most hourly: SD-card writes
TOKEN_PREFIX = "pgw_"
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
PASSWORD_MIN, PASSWORD_MAX = 8, 256


class AuthError(UiError):
    """A credential, user or token request that cannot be accepted (message says why)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a logged-in user (with a session) or an API token."""

    user_id: int
    username: str
    role: str
    session_id: str | None = None  # sha256 of the session cookie
    csrf: str | None = None
    token_id: int | None = None

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_username(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 32 or not set(name) <= USERNAME_CHARS:
        raise AuthError("username: expected 1 to 32 characters from a-z, 0-9, '.', '_' and '-'")
    return name


def check_password(password: object) -> str:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AuthError(f"password: expected {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


def check_role(role: object) -> str:
    if role not in ROLES:
        raise AuthError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


class LoginLimiter:
    """Failed attempts per key, with a delay that grows: the guard on logins, setup codes and
    password changes.

    A key is an address, or a user at an address, never a user alone: a stranger's wrong
    passwords for `admin` lock out the stranger's address, not the household's admin everywhere.
    A key's first `free` failures cost nothing; after that each attempt waits
    `base_ms * 2**(failures - free)` (at most `max_ms`) from the last failure, so a guesser gets
    5 tries, then one per 30 s, 1 min, 2 min, ... 15 min. A key forgets its failures `forget_ms`
    after the last one. `attempt()` counts the attempt *before* the password is checked, so
    concurrent guesses cannot slip past the count while argon2 runs; `succeeded()` forgives it.
    In memory on purpose: a restart forgets it, but a restart also costs an attacker seconds.
    """

    def __init__(
        self,
        now_ms: Callable[[], int],
        *,
        free: int = 5,
        base_ms: int = 30_000,
        max_ms: int = 15 * 60_000,
        forget_ms: int = 24 * 3_600_000,
    ):
        self.now_ms = now_ms
        self.free = free
        self.base_ms = base_ms
        self.max_ms = max_ms
        self.forget_ms = forget_ms
        self._seen: dict[str, list[int]] = {}  # key -> [failures, last failure ms]
        self._lock = threading.Lock()

    def delay_ms(self, failures: int, free: int | None = None) -> int:
        """How long a key with this many failures waits after the last one."""
        over = failures - (self.free if free is None else free)
        return 0 if over < 0 else min(self.max_ms, self.base_ms << min(over, 30))

    def _wait_ms(self, key: str, free: int, now: int) -> int:
        state = self._seen.get(key)
        if state is None:
            return 0
        if now - state[1] >= self.forget_ms:
            del self._seen[key]
            return 0
        return max(0, state[1] + self.delay_ms(state[0], free) - now)

    def attempt(self, *keys: str | tuple[str, int]) -> int:
        """0 with the attempt counted as a failure against every key, or the seconds to wait
        (nothing counted). A key may come as (key, free failures) to allow it more than `free`."""
        now = self.now_ms()
        pairs = [(k, self.free) if isinstance(k, str) else k for k in keys]
        with self._lock:
            wait = max((self._wait_ms(k, free, now) for k, free in pairs), default=0)
            if wait:
                return (wait + 999) // 1000
            for k, _ in pairs:
                state = self._seen.setdefault(k, [0, now])
                state[0] += 1
                state[1] = now
            if len(self._seen) > 10_000:  # a scan over many names must not grow memory forever
                for k in [k for k, st in self._seen.items() if now - st[1] >= self.forget_ms]:
                    del self._seen[k]
        return 0

    def failures(self, key: str) -> int:
        with self._lock:
            state = self._seen.get(key)
            return state[0] if state else 0

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._seen.pop(k, None)


class Accounts:
    """Users, sessions and tokens on one SQLite connection (callers hold no other state)."""

    hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

    def __init__(self, conn: sqlite3.Connection, now_ms: Callable[[], int]):
        self.conn = conn
        self.now_ms = now_ms

    # ---- users -----------------------------------------------------------------------------

    def count_admins(self) -> int:
        return self.conn.execute("SELECT count(*) FROM ui_users WHERE role = 'admin'").fetchone()[0]

    def users(self) -> list[dict]:
        rows = self.conn.execute("SELECT id, username, role, created_ms FROM ui_users ORDER BY username").fetchall()
        return [{"id": r[0], "username": r[1], "role": r[2], "created_ms": r[3]} for r in rows]

    def create_user(self, username: object, password: object, role: object, source: str = "ui") -> dict:
        username, password, role = check_username(username), check_password(password), check_role(role)
        try:
            cur = self.conn.execute(
                "INSERT INTO ui_users (username, password_hash, role, password_source, created_ms) VALUES "
                "(?, ?, ?, ?, ?)",
                (username, self.hasher.hash(password), role, source, self.now_ms()),
            )
        except sqlite3.IntegrityError:
            raise AuthError(f"username {username!r} is taken", 409) from None
        return {"id": cur.lastrowid, "username": username, "role": role}

    def set_password(self, user_id: int, password: object, source: str = "ui") -> int:
        """Set a new password; ends the user's sessions and revokes their API tokens (returns how many)."""
        check_password(password)
        with self.conn:
            self.conn.execute(
                "UPDATE ui_users SET password_hash = ?, password_source = ? WHERE id = ?",
                (self.hasher.hash(password), source, user_id),
            )
            # A new password ends every other way in that the old one opened: a token made by
            # someone who knew the old password is one of them.
            self.conn.execute("DELETE FROM ui_sessions WHERE user_id = ?", (user_id,))
            return self.conn.execute("DELETE FROM ui_tokens WHERE user_id = ?", (user_id,)).rowcount

    def delete_user(self, user_id: int) -> None:
        row = self.conn.execute("SELECT role FROM ui_users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise AuthError(f"no user with id {user_id}", 404)
        if row[0] == "admin" and self.count_admins() <= 1:
            raise AuthError("cannot delete the last admin", 409)
        with self.conn:
            self.conn.execute("DELETE FROM ui_sessions WHERE user_id = ?", (user_id,))
            self.conn.execute("DELETE FROM ui_tokens WHERE user_id = ?", (user_id,))
            self.conn.execute("DELETE FROM ui_users WHERE id = ?", (user_id,))

    def verify(self, username: str, password: str) -> dict | None:
        """The user if the password is right, else None (same work either way)."""
        row = self.conn.execute(
            "SELECT id, username, role, password_hash FROM ui_users WHERE username = ?", (username,)
        ).fetchone()
        stored = row[3] if row else _DUMMY_HASH
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            self.conn.execute(
                "UPDATE ui_users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), row[0])
            )
        return {"id": row[0], "username": row[1], "role": row[2]}

    def bootstrap_admin(self, env_password: str | None) -> str | None:
        """Apply POWERGW_ADMIN_PASSWORD; returns a one-time setup code when there is no admin.

        The environment sets user 'admin' when no admin exists, and keeps setting it while that
        password came from the environment (so `powergw demo` can print a fresh one each run).
        Once someone changes it in the dashboard, the environment no longer overrides it.
        """
        if env_password:
            row = self.conn.execute("SELECT id, password_source FROM ui_users WHERE username = 'admin'").fetchone()
            if row is None and self.count_admins() == 0:
                self.create_user("admin", env_password, "admin", source="env")
                log.info("dashboard: created user 'admin' with the password from POWERGW_ADMIN_PASSWORD")
            elif row is not None and row[1] == "env":
                if self.verify("admin", env_password) is None:
                    self.set_password(row[0], env_password, source="env")
                    log.info("dashboard: set user 'admin' password from POWERGW_ADMIN_PASSWORD")
            else:
                log.info("dashboard: POWERGW_ADMIN_PASSWORD ignored: the admin password was set in the dashboard")
        if self.count_admins():
            return None
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        code = "".join(secrets.choice(alphabet) for _ in range(8))
        return f"{code[:4]}-{code[4:]}"

    # ---- sessions --------------------------------------------------------------------------

    def open_session(self, user_id: int) -> tuple[str, str]:
        """A new session: (cookie value, CSRF token)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now_ms()
        self.conn.execute(
            "INSERT INTO ui_sessions (id_sha256, user_id, csrf, created_ms, seen_ms) VALUES (?, ?, ?, ?, ?)",
            (digest(sid), user_id, csrf, now, now),
        )
        # Expired sessions go when someone logs in: no job needed, no unbounded growth.
        self.conn.execute(
            "DELETE FROM ui_sessions WHERE seen_ms < ? OR created_ms < ?", (now - SESSION_IDLE_MS, now - SESSION_MAX_MS)
        )
        return sid, csrf

    def session(self, sid: str) -> Principal | None:
        key = digest(sid)
        row = self.conn.execute(
            "SELECT u.id, u.username, u.role, s.csrf, s.created_ms, s.seen_ms FROM ui_sessions s "
            "JOIN ui_users u ON u.id = s.user_id WHERE s.id_sha256 = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        now = self.now_ms()
        if row[5] < now - SESSION_IDLE_MS or row[4] < now - SESSION_MAX_MS:
            self.conn.execute("DELETE FROM ui_sessions WHERE id_sha256 = ?", (key,))
            return None
        if now - row[5] > SEEN_WRITE_EVERY_MS:
            self.conn.execute("UPDATE ui_sessions SET seen_ms = ? WHERE id_sha256 = ?", (now, key))
        return Principal(row[0], row[1], row[2], session_id=key, csrf=row[3])

    def close_session(self, session_id: str) -> None:
        self.conn.execute("DELETE FROM ui_sessions WHERE id_sha256 = ?", (session_id,))

    # ---- API tokens ------------------------------------------------------------------------

    def create_token(self, owner: Principal, name: object, role: object) -> dict:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
            raise AuthError("name: expected 1 to 64 characters")
        role = check_role(role)
        if not owner.can(role):
            raise AuthError(f"a {owner.role} cannot create an {role} token", 403)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.now_ms()
        cur = self.conn.execute(
            "INSERT INTO ui_tokens (token_sha256, name, user_id, role, created_ms) VALUES (?, ?, ?, ?, ?)",
            (digest(token), name.strip(), owner.user_id, role, now),
        )
        return {"id": cur.lastrowid, "name": name.strip(), "role": role, "created_ms": now, "token": token}

    def tokens(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT t.id, t.name, t.role, u.username, t.created_ms, t.last_used_ms FROM ui_tokens t "
            "JOIN ui_users u ON u.id = t.user_id ORDER BY t.id"
        ).fetchall()
        keys = ("id", "name", "role", "owner", "created_ms", "last_used_ms")
        return [dict(zip(keys, r, strict=False)) for r in rows]

    def revoke_token(self, token_id: int) -> None:
        if self.conn.execute("DELETE FROM ui_tokens WHERE id = ?", (token_id,)).rowcount == 0:
            raise AuthError(f"no token with id {token_id}", 404)

    def token(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = self.conn.execute(
            "SELECT t.id, u.id, u.username, t.role, t.last_used_ms FROM ui_tokens t "
            "JOIN ui_users u ON u.id = t.user_id WHERE t.token_sha256 = ?",
            (digest(token),),
        ).fetchone()
        if row is None:
            return None
        now = self.now_ms()
        if row[4] is None or now - row[4] > SEEN_WRITE_EVERY_MS:
            self.conn.execute("UPDATE ui_tokens SET last_used_ms = ? WHERE id = ?", (now, row[0]))
        return Principal(row[1], row[2], row[3], token_id=row[0])


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a, b)  # type: ignore[arg-type]


# Verifying against this when the username does not exist keeps response time from telling
# an attacker which usernames are real.
_DUMMY_HASH = Accounts.hasher.hash(secrets.token_urlsafe(16))
