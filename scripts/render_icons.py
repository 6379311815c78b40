"""Render the dashboard's PNG icons (192 and 512 px, plain and maskable) from its SVGs in headless Chromium.

The PNGs are committed; run this again only when an SVG changes:
    .venv/bin/python scripts/render_icons.py
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parents[1] / "local_ui" / "static"
JOBS = [(svg, size) for svg in ("icon", "icon-maskable") for size in (192, 512)]


def main() -> None:
    chromium = os.environ.get("POWERGW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        for name, size in JOBS:
            data = base64.b64encode((STATIC / f"{name}.svg").read_bytes()).decode()
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                '<body style="margin:0;background:transparent">'
                f'<img src="data:image/svg+xml;base64,{data}" width="{size}" height="{size}" style="display:block">'
            )
            page.wait_for_function("() => document.images[0].complete && document.images[0].naturalWidth > 0")
            out = STATIC / f"{name}-{size}.png"
            page.screenshot(path=str(out), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
            page.close()
            print(out.relative_to(STATIC.parents[1]))
        browser.close()


if __name__ == "__main__":
    main()
