"""Screenshots of the demo's Overview for the README, on a phone and a laptop.

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--chromium /usr/bin/chromium]

Starts `powergw demo` in a fresh data directory on a free port, logs in with the password it prints, waits
for the live figures, and writes overview-phone.png (360x740) and overview-desktop.png (1366x900). Needs the
test extras (Playwright) and Chromium, which `bash scripts/test.sh` installs.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

SIZES = {"phone": (360, 740), "desktop": (1366, 900)}
LOGIN = re.compile(r"dashboard on (http://\S+)\s+\(user '([^']+)', password '([^']+)'\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(data_dir: str, port: int, timeout_s: float = 300) -> tuple[subprocess.Popen, str, str, str]:
    """Run the demo until it prints its login; (process, url, user, password)."""
    cmd = [sys.executable, "-m", "gateway.cli", "demo", "--data-dir", data_dir, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    for line in proc.stdout:
        found = LOGIN.search(line)
        if found:
            return proc, found.group(1), found.group(2), found.group(3)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit(f"powergw demo did not print its login within {timeout_s:.0f} s")


def shoot(url: str, user: str, password: str, out: Path, chromium: str | None) -> list[Path]:
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        for name, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height}, locale="en-IN")
            page.goto(url + "/#/login")
            page.fill("input[autocomplete=username]", user)
            page.fill("input[type=password]", password)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r".*#/(overview)?$"), timeout=30_000)
            page.wait_for_selector("main h1, main h2", timeout=30_000)
            page.wait_for_timeout(4000)  # the live stream and the charts settle
            path = out / f"overview-{name}.png"
            page.screenshot(path=str(path), full_page=False)
            written.append(path)
            page.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img", help="folder for the PNGs (default docs/img)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium to drive (default Debian's)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="powergw-shots-") as data_dir:
        proc, url, user, password = start_demo(data_dir, free_port())
        try:
            for path in shoot(url, user, password, out, args.chromium):
                print(f"wrote {path}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
