"""The Flask app factory, request authentication, static files, and the waitress server.

`create_app` builds one `UiContext` (paths, clock, calendar, login limiter, setup code) and
hangs it on the app; nothing is module-level state. Each waitress thread opens its own SQLite
connection, so readers never queue behind one another and WAL lets ingest keep writing.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import logging
import mimetypes
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from gateway.app import open_store
from gateway.localtime import LocalCalendar
from gateway.store import Store

from .auth import Accounts, LoginLimiter
from .live import LiveSource

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "pgw_session"
LOGIN_COOKIE = "pgw_login"
DEFAULT_THREADS = 12  # each open live view holds one; at least 4 stay free for everything else
# The largest request body, refused by waitress as it arrives (before any route runs and before
# anything is spooled to a temp file): the API's JSON bodies are a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024
COMPRESSIBLE = {".js", ".css", ".html", ".json", ".svg", ".webmanifest"}


def _system_now_ms() -> int:
    return time.time_ns() // 1_000_000


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
            name = name[1:name.find("]")] if "]" in name else name
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
                return f"this session already has {held} live streams open (at most {self.streams_per_owner}); close a tab"
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


def create_app(
    db_path: Path | str,
    *,
    timezone: str = "Asia/Kolkata",
    live_path: Path | str | None = None,
    config: Any = None,
    clock: Callable[[], int] | None = None,
    registry_root: Path | None = None,
    admin_password: str | None = None,
) -> Flask:
    """The dashboard for the gateway database at `db_path`.

    The first admin password comes from `admin_password` or POWERGW_ADMIN_PASSWORD; without
    either, and with no admin yet, a one-time setup code is logged.
    """
    from .api import register_api
    from .pages import register_pages

    if config is None:
        from gateway.config import Config

        config = Config({}).replace("gateway", timezone=timezone)
    timezone = config.gateway.timezone
    offline_ms = config.gateway.node_offline_minutes * 60_000
    ctx = UiContext(
        Path(db_path),
        timezone,
        Path(live_path) if live_path else None,
        config,
        clock or _system_now_ms,
        registry_root=registry_root,
        offline_ms=offline_ms,
        hosts=HostCheck(tuple(config.ui.allowed_hosts)),
    )
    # Every part's tables, the dashboard's accounts among them.
    setup = open_store(ctx.db_path, timezone)
    try:
        accounts = Accounts(setup.conn, ctx.now_ms)
        ctx.setup_code = accounts.bootstrap_admin(admin_password or os.environ.get("POWERGW_ADMIN_PASSWORD"))
    finally:
        setup.close()
    if ctx.setup_code:
        log.warning(
            "dashboard: no admin yet. One-time setup code: %s  (open the dashboard, choose 'First-time setup', "
            "enter the code and choose the admin password; or start with POWERGW_ADMIN_PASSWORD set)",
            ctx.setup_code,
        )

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["powergw"] = ctx

    @app.before_request
    def identify():
        if not ctx.hosts.allows(request.host):
            message = (f"Host {request.host[:100]!r} is not a name of this gateway; "
                       "if it is yours, add it to [ui] allowed_hosts")
            if request.path.startswith("/api/") or request.path == "/healthz":
                return jsonify(error={"status": 400, "message": message}), 400
            return Response(message, 400, mimetype="text/plain")
        g.ctx = ctx
        g.principal = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            g.principal = ctx.accounts().token(auth[7:].strip())
            g.via = "token"
        elif SESSION_COOKIE in request.cookies:
            g.principal = ctx.accounts().session(request.cookies[SESSION_COOKIE])
            g.via = "session"

    @app.after_request
    def harden(resp: Response) -> Response:
        h = resp.headers
        # Vue compiles its templates in the browser (no build step on the Pi), which needs
        # 'unsafe-eval'; everything still comes from this gateway only.
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            h.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify(error={"status": err.code, "message": err.description}), err.code
        return err

    @app.get("/healthz")
    def healthz():
        store = ctx.store()
        store.conn.execute("SELECT 1").fetchone()
        return jsonify(status="ok", time_ms=ctx.now_ms())

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return serve_static(ctx, name)

    register_api(app, ctx)
    register_pages(app, ctx)
    return app


def serve_static(ctx: UiContext, name: str, *, max_age: int = 86_400) -> Response:
    """A file under static/, gzipped once in memory when the client accepts it, with an ETag."""
    # A NUL or a name past the file system's limits is no file of ours (and would raise in stat).
    if "\x00" in name or len(name) > 255:
        return Response("not found", 404)
    try:
        path = (STATIC / name).resolve()
        if STATIC.resolve() not in path.parents or not path.is_file():
            return Response("not found", 404)
        st = path.stat()
    except (OSError, ValueError):
        return Response("not found", 404)
    key = (str(path), st.st_mtime_ns, st.st_size)
    entry = ctx.static_cache.get(key)
    if entry is None:
        raw = path.read_bytes()
        packed = gzip.compress(raw, 9, mtime=0) if path.suffix in COMPRESSIBLE else None
        entry = (raw, packed, '"' + hashlib.sha256(raw).hexdigest()[:20] + '"')
        ctx.static_cache[key] = entry
    raw, packed, etag = entry
    if request.headers.get("If-None-Match") == etag:
        resp = Response(status=304)
    else:
        gz = packed is not None and "gzip" in request.headers.get("Accept-Encoding", "")
        body = packed if gz else raw
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".js":
            mime = "text/javascript"
        elif path.suffix == ".webmanifest":
            mime = "application/manifest+json"
        resp = Response(body, mimetype=mime)
        if gz:
            resp.headers["Content-Encoding"] = "gzip"
    resp.headers["ETag"] = etag
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = f"public, max-age={max_age}" if "/vendor/" in str(path) else "no-cache"
    return resp


# ---- waitress ------------------------------------------------------------------------------


class ServerHandle:
    """A waitress server running on its own thread; `stop()` closes it and waits."""

    def __init__(self, server, thread: threading.Thread, ctx: UiContext):
        self.server = server
        self.thread = thread
        self.ctx = ctx

    @property
    def url(self) -> str:
        host, port = self.server.effective_host, self.server.effective_port
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self.server.effective_port

    def stop(self, timeout: float = 5.0) -> None:
        self.ctx.closing.set()
        server = self.server
        trigger = getattr(server, "trigger", None)
        if trigger is not None and self.thread.is_alive():
            # Close every socket from inside the serving thread's own loop: closing them from
            # here while that loop sits in select() makes it fail with EBADF. With its map
            # empty, the loop returns and the thread ends. The trigger's pipe stays open (it
            # only leaves the map), and the listening socket is closed as a plain dispatcher:
            # the server's own close() would close the trigger too, and the loop may run this
            # thunk (woken by a worker's pull) before the write below has happened.
            from waitress import wasyncore

            def close_all() -> None:
                for channel in list(server._map.values()):
                    if channel is trigger:
                        trigger.del_channel()
                    elif channel is server:
                        wasyncore.dispatcher.close(server)
                    else:
                        channel.close()

            trigger.pull_trigger(close_all)
            self.thread.join(timeout)
        # Workers still finishing a response pull the trigger when they are done, so its pipe
        # is closed only after they have stopped: a write to a closed (and maybe reused) fd
        # number could land in any file this process opens next.
        task_dispatcher = getattr(server, "task_dispatcher", None)
        if task_dispatcher is not None:
            task_dispatcher.shutdown(timeout=timeout)
        server.close()
        self.thread.join(timeout)


def _server(app: Flask, host: str, port: int, threads: int | None):
    from waitress.server import create_server

    ctx: UiContext = app.extensions["powergw"]
    threads = threads or DEFAULT_THREADS
    # Live streams each hold a thread; keep at least four for everything else.
    ctx.max_streams = max(1, threads - 4)
    # waitress refuses a body of max_request_body_size bytes or more (413): from Content-Length
    # before reading it, or while a chunked body arrives. Below inbuf_overflow (512 KiB) a body
    # stays in memory, so a stranger's upload never reaches the SD card.
    # channel_request_lookahead: waitress keeps reading a connection while its request runs, so a
    # live stream learns at once that its tab has gone (waitress.client_disconnected) instead of
    # holding a thread and a stream slot until its next write fails.
    return create_server(app, host=host, port=port, threads=threads, ident="powergw", channel_timeout=60,
                         clear_untrusted_proxy_headers=True, max_request_body_size=MAX_BODY_BYTES + 1,
                         channel_request_lookahead=1)


def serve(app: Flask, host: str = "127.0.0.1", port: int = 8080, threads: int | None = None) -> None:
    """Serve in the foreground until interrupted."""
    server = _server(app, host, port, threads)
    log.info("dashboard on http://%s:%s", server.effective_host, server.effective_port)
    try:
        server.run()
    finally:
        server.close()


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 8080, threads: int | None = None) -> ServerHandle:
    """Serve on a background thread (port 0 picks a free one); returns a handle with stop()."""
    server = _server(app, host, port, threads)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    log.info("dashboard on http://%s:%s", server.effective_host, server.effective_port)
    return ServerHandle(server, thread, app.extensions["powergw"])
