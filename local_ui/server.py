"""The Flask app factory, request authentication, and the waitress server.

`create_app` builds one `UiContext` (paths, clock, calendar, login limiter, setup code) and
hangs it on the app; nothing is module-level state. Each waitress thread opens its own SQLite
connection, so readers never queue behind one another and WAL lets ingest keep writing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from gateway.app import open_store

from .api import register_api
from .auth import Accounts
from .context import SESSION_COOKIE, HostCheck, UiContext
from .pages import register_pages

log = logging.getLogger(__name__)

DEFAULT_THREADS = 12  # each open live view holds one; at least 4 stay free for everything else
# The largest request body, refused by waitress as it arrives (before any route runs and before
# anything is spooled to a temp file): the API's JSON bodies are a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024


def _system_now_ms() -> int:
    return time.time_ns() // 1_000_000


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
    if config is None:
        from gateway.config import Config

        config = Config({}).replace("gateway", timezone=timezone)
    ctx = UiContext(
        Path(db_path),
        config.gateway.timezone,
        Path(live_path) if live_path else None,
        config,
        clock or _system_now_ms,
        registry_root=registry_root,
        offline_ms=config.gateway.node_offline_minutes * 60_000,
        hosts=HostCheck(tuple(config.ui.allowed_hosts)),
    )
    _prepare_database(ctx, admin_password)

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["powergw"] = ctx
    _install_request_hooks(app, ctx)

    @app.get("/healthz")
    def healthz():
        store = ctx.store()
        store.conn.execute("SELECT 1").fetchone()
        return jsonify(status="ok", time_ms=ctx.now_ms())

    register_api(app, ctx)
    register_pages(app, ctx)
    return app


def _prepare_database(ctx: UiContext, admin_password: str | None) -> None:
    """Apply every part's migrations (the dashboard's accounts among them); make the first admin or a setup code."""
    setup = open_store(ctx.db_path, ctx.timezone)
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


def _install_request_hooks(app: Flask, ctx: UiContext) -> None:
    """Check the Host, find who is asking (session cookie or API token), harden every answer."""

    @app.before_request
    def identify():
        if not ctx.hosts.allows(request.host):
            message = (
                f"Host {request.host[:100]!r} is not a name of this gateway; "
                "if it is yours, add it to [ui] allowed_hosts"
            )
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
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="powergw",
        channel_timeout=60,
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_BODY_BYTES + 1,
        channel_request_lookahead=1,
    )


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
