"""The API served by waitress: the API's listener and the operator's model-upload listener on one loop."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

from .context import ServerSettings

UPLOAD_PATH = re.compile(r"/v1/admin/models/[^/]+")


def uploads_only(app: Any) -> Callable:
    """`app` limited to model uploads (and /v1/health): what the operator's upload listener serves."""

    def wsgi(environ: dict, start_response: Callable) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if (method == "PUT" and UPLOAD_PATH.fullmatch(path)) or path == "/v1/health":
            return app(environ, start_response)
        body = json.dumps({"error": "this listener takes model uploads only: PUT /v1/admin/models/<version>"}).encode()
        start_response("404 NOT FOUND", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


class CloudServer:
    """The API's waitress listener and, if asked, the operator's model-upload listener, on one loop.

    waitress caps a body per server, before any route is chosen, and refuses it (413) as it
    arrives: from its Content-Length, or once a chunked body passes the cap. The API listener
    takes `max_body_bytes` (1 MiB); only the upload listener, loopback by default, takes
    `max_model_bytes`, so a stranger cannot make the server spool 32 MiB (or waitress's default
    1 GiB) per request to disk.
    """

    def __init__(
        self,
        app: Any,
        settings: ServerSettings,
        host: str,
        port: int,
        *,
        threads: int = 8,
        upload: tuple[str, int] | None = None,
    ):
        from waitress.server import create_server

        common = {"threads": threads, "ident": "powergw-cloud", "clear_untrusted_proxy_headers": True}
        self.map: dict = {}
        self.api = create_server(
            app, map=self.map, host=host, port=port, max_request_body_size=settings.max_body_bytes + 1, **common
        )
        self.upload = None
        if upload is not None:
            try:
                self.upload = create_server(
                    uploads_only(app),
                    map=self.map,
                    _dispatcher=self.api.task_dispatcher,
                    host=upload[0],
                    port=upload[1],
                    max_request_body_size=settings.max_model_bytes + 1,
                    **common,
                )
            except OSError:
                self.api.close()
                raise

    @property
    def url(self) -> str:
        return f"http://{self.api.effective_host}:{self.api.effective_port}"

    @property
    def upload_url(self) -> str | None:
        return None if self.upload is None else f"http://{self.upload.effective_host}:{self.upload.effective_port}"

    def run(self) -> None:
        """Serve both listeners until interrupted (they share one map, so one loop serves both)."""
        self.api.run()

    def close(self) -> None:
        for server in (self.upload, self.api):
            if server is not None:
                server.close()
        self.api.task_dispatcher.shutdown()


def parse_listen(value: str) -> tuple[str, int] | None:
    """`HOST:PORT` (or `off`) of the upload listener -> (host, port) or None; ValueError saying what is expected."""
    if value == "off":
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: expected HOST:PORT (e.g. 127.0.0.1:8701) or off")
    return host.strip("[]"), int(port)


def serve(
    app: Flask,
    host: str,
    port: int,
    threads: int = 8,
    *,
    settings: ServerSettings = ServerSettings(),
    upload: tuple[str, int] | None = None,
) -> None:
    """Serve with waitress (a production WSGI server, pure Python) until interrupted."""
    server = CloudServer(app, settings, host, port, threads=threads, upload=upload)
    try:
        server.run()
    finally:
        server.close()
