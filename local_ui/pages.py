"""The single-page app's shell and its files: index.html for every page path, static/, the web-app manifest."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from pathlib import Path

from flask import Flask, Response, request

from .context import UiContext

STATIC = Path(__file__).parent / "static"
COMPRESSIBLE = {".js", ".css", ".html", ".json", ".svg", ".webmanifest"}
# Hash routes (#/usage) pick the page in the browser; these paths exist so a bookmark of the
# bare page or a refresh lands on the app too.
PAGE_PATHS = ("/", "/index.html")


def register_pages(app: Flask, ctx: UiContext) -> None:
    @app.get("/static/<path:name>")
    def static_file(name: str):
        return serve_static(ctx, name)

    def index():
        resp = serve_static(ctx, "index.html")
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    for i, path in enumerate(PAGE_PATHS):
        app.add_url_rule(path, f"page_{i}", index)

    @app.get("/manifest.webmanifest")
    def manifest():
        return serve_static(ctx, "manifest.webmanifest")

    @app.get("/favicon.ico")
    def favicon():
        return serve_static(ctx, "icon.svg")


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
