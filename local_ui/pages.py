"""The single-page app's shell: index.html for every page path, and the web-app manifest."""

from __future__ import annotations

from flask import Flask

from .server import UiContext, serve_static

# Hash routes (#/usage) pick the page in the browser; these paths exist so a bookmark of the
# bare page or a refresh lands on the app too.
PAGE_PATHS = ("/", "/index.html")


def register_pages(app: Flask, ctx: UiContext) -> None:
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
