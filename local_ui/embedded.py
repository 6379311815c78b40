"""The dashboard served from inside the gateway daemon (`powergw run`, `powergw demo`)."""

from __future__ import annotations

from typing import Any


def serve(gw: Any, host: str, port: int) -> Any:
    """Serve the dashboard for the daemon `gw` on a thread; returns the handle whose `stop()` ends it.
    OSError when it cannot listen."""
    from .server import create_app, serve_in_thread

    app = create_app(
        gw.db_path, timezone=gw.config.gateway.timezone, live_path=gw.runtime_dir / "live.json", config=gw.config
    )
    return serve_in_thread(app, host, port)
