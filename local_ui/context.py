"""What every request handler shares: the `UiContext` built once per app, the cookie names, the Host check.

The API and the page routes import it; `server.create_app` builds it. Nothing here imports them back.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.localtime import LocalCalendar
from gateway.store import Store

from .auth import Accounts, LoginLimiter
from .live import LiveSource

SESSION_COOKIE = "pgw_session"
LOGIN_COOKIE = "pgw_login"


class HostCheck:
    """Whether a request's Host header names this gateway: the defence against DNS rebinding.

    A page on attacker.example whose name is made to resolve to the gateway sends its own name as
    Host (and as Origin, which then matches). Only these pass: the configured names, localhost,
    this machine's host name and hostname.local, and IP literals of this machine's own addresses
    (an address is ours when a socket can bind to it, so a new DHCP lease needs no restart).
    """

    def __init__(self, names: tuple[str, ...] = (), hostname: str | None = None):
        hostname = (hostname or socket.gethostname()).lower().rstrip(".")
        self.names = frozenset({"localhost", hostname, hostname + ".local", *(n.lower().rstrip(".") for n in names)})
        self._ours: set[str] = set()

    def allows(self, host: str) -> bool:
        name = host.lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        name = name.rstrip(".")
        if name in self.names or name in self._ours:
            return True
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False
        if ip.is_loopback or self._bindable(ip):
            if len(self._ours) < 64:
                self._ours.add(name)
            return True
        return False

    @staticmethod
    def _bindable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.bind((str(ip), 0))
            return True
        except OSError:
            return False


@dataclass
class UiContext:
    """Everything a request handler needs, built once by `create_app`."""

    db_path: Path
    timezone: str
    live_path: Path | None
    config: Any
    now_ms: Callable[[], int]
    registry_root: Path | None = None
    offline_ms: int = 5 * 60_000
    max_streams: int = 8
    streams_per_owner: int = 2  # one tab, and its reload overlapping the old stream's last seconds
    stream_seconds: float = 300.0
    setup_code: str | None = None
    calendar: LocalCalendar = field(init=False)
    limiter: LoginLimiter = field(init=False)
    live: LiveSource = field(init=False)
    streams: int = 0
    static_cache: dict = field(default_factory=dict)
    closing: threading.Event = field(default_factory=threading.Event)  # set by stop(): live streams end
    memo_ttl_ms: int = 15_000
    write_generation: int = 0  # bumped by every write through the API: cached answers go stale at once
    hosts: HostCheck = field(default_factory=HostCheck)

    def __post_init__(self) -> None:
        self.calendar = LocalCalendar(self.timezone)
        self.limiter = LoginLimiter(self.now_ms)
        self.live = LiveSource(self.live_path, self.store, self.now_ms)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._memo: dict = {}
        self._stream_owners: dict[str, int] = {}

    def data_version(self) -> tuple:
        """Changes whenever ingest commits readings or rollups, or the API writes anything."""
        store = self.store()
        return store.last_reading_id(), store.rollup_watermark(), self.write_generation

    def memo(self, key: tuple, fn: Callable[[], Any], ttl_ms: int | None = None) -> Any:
        """`fn()`, reused while the data version is unchanged and for at most `ttl_ms`.

        Usage and the bill are sums over years of rollups; twenty phones refreshing the same
        overview must not recompute them twenty times. Live watts never go through here.
        """
        version, now = self.data_version(), self.now_ms()
        ttl = self.memo_ttl_ms if ttl_ms is None else ttl_ms
        with self._lock:
            hit = self._memo.get(key)
        if hit is not None and hit[0] == version and 0 <= now - hit[1] < ttl:
            return hit[2]
        value = fn()
        with self._lock:
            if len(self._memo) >= 256:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = (version, now, value)
        return value

    def wrote(self) -> None:
        with self._lock:
            self.write_generation += 1

    def store(self) -> Store:
        """This thread's connection to the gateway's database."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.db_path, timezone=self.timezone)
            store.conn.execute("PRAGMA foreign_keys = ON")
            self._local.store = store
        return store

    def effective_config(self) -> Any:
        """The config file's values with the household's Settings-page overrides (read per request)."""
        from gateway.settings_store import effective_config

        return effective_config(self.store(), self.config)

    def accounts(self) -> Accounts:
        return Accounts(self.store().conn, self.now_ms)

    def open_stream(self, owner: str) -> str | None:
        """Take a live-stream slot for `owner` (a session or a token): None, or why not.

        Each stream holds a server thread. A tab needs one (every live widget on the page shares
        it), so one session may hold at most `streams_per_owner` and cannot shut others out.
        """
        with self._lock:
            held = self._stream_owners.get(owner, 0)
            if held >= self.streams_per_owner:
                return (
                    f"this session already has {held} live streams open (at most {self.streams_per_owner}); close a tab"
                )
            if self.streams >= self.max_streams:
                return "too many live streams open; close a tab or use GET /api/v1/live/snapshot"
            self.streams += 1
            self._stream_owners[owner] = held + 1
            return None

    def close_stream(self, owner: str) -> None:
        with self._lock:
            self.streams -= 1
            left = self._stream_owners.get(owner, 1) - 1
            if left > 0:
                self._stream_owners[owner] = left
            else:
                self._stream_owners.pop(owner, None)
