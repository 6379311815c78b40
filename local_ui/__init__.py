"""The LAN dashboard: a Flask app (JSON API under /api/v1 plus a Vue 3 single-page app) served by waitress.

`create_app(db_path, ...)` builds the app; `serve(app, host, port)` serves it in the foreground;
`serve_in_thread(app, host, port)` returns a handle with `stop()` for `powergw run` and `demo`.

They are imported from `.server` on first use (PEP 562 `__getattr__`), not with this package:
`powergw` registers every part's commands at start-up, and `powergw run --no-ui` must not carry
Flask, Werkzeug, Jinja and argon2 (about 20 MB resident) for a dashboard it does not serve.
"""

from .errors import UiError

__all__ = ["ServerHandle", "UiError", "create_app", "serve", "serve_in_thread"]


def __getattr__(name: str):
    if name in ("ServerHandle", "create_app", "serve", "serve_in_thread"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
