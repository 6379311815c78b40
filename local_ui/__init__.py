"""The LAN dashboard: a Flask app (JSON API under /api/v1 plus a Vue 3 single-page app) served by waitress.

`create_app(db_path, ...)` builds the app; `serve(app, host, port)` serves it in the foreground;
`serve_in_thread(app, host, port)` returns a handle with `stop()` for `powergw run` and `demo`.
"""

from gateway import PowerGwError


class UiError(PowerGwError):
    """Root of every error the dashboard raises on purpose."""


from .server import ServerHandle, create_app, serve, serve_in_thread

__all__ = ["ServerHandle", "UiError", "create_app", "serve", "serve_in_thread"]
