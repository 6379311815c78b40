"""`powergw demo` shows every feature: a real demo process (a short history, the real jobs in their
own processes, the dashboard on loopback) raises a theft alert for the tap in its last nights
shortly after start, with a budget past half, the last bill's units and a meter reading, an overdue
bill and the example UPI ID; the login is
the last line it prints, and a second start reuses the history."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from gateway.simulation.demo_scenario import DEMO_UPI_VPA

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-test-password"
pytestmark = [pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(data_dir: Path, port: int, *args: str) -> tuple[subprocess.Popen, list[str], float]:
    """The demo process, the lines it printed up to the login, and the seconds that took."""
    env = {**os.environ, "POWERGW_ADMIN_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "gateway.cli", "demo", "--data-dir", str(data_dir), "--port", str(port), *args]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    while not lines or "dashboard on" not in lines[-1]:
        line = proc.stdout.readline()
        if not line:
            proc.wait(5)
            pytest.fail("the demo stopped before its login line:\n" + "".join(lines))
        lines.append(line)
    return proc, lines, time.monotonic() - started


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


def logged_in(url: str) -> requests.Session:
    s = requests.Session()
    csrf = s.get(f"{url}/api/v1/session", timeout=10).json()["csrf"]
    r = s.post(
        f"{url}/api/v1/session", json={"username": "admin", "password": PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200, r.text
    return s


def seen_in_chromium(url: str, chart_days: str) -> None:
    """What a family sees of it in real Chromium, on a phone and a laptop: the theft alert in words with its
    chart and a link to those hours in the power graph, and the UPI QR with the payee and the amount."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, watched

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, height in ((360, 740), (1366, 900)):
                page = watched(browser.new_page(viewport={"width": width, "height": height}, locale="en-US"))
                page.goto(url + "/#/login")
                page.fill("input[autocomplete=username]", "admin")
                page.fill("input[type=password]", PASSWORD)
                page.keyboard.press("Enter")
                page.wait_for_url(re.compile(r".*#/(overview)?$"))  # logged in: the app has left the login page
                page.goto(url + "/#/alerts?state=open")
                summary = page.locator("[data-testid=alert-summary]", has_text="1 am").first
                summary.wait_for()
                assert "more than usual" in summary.inner_text()
                card = page.locator(".card", has=summary).first
                assert card.locator("svg").count() >= 1
                assert chart_days in card.locator("[data-testid=alert-chart-text]").inner_text()  # "1 days" never
                assert "view=power" in card.locator("[data-testid=alert-graph-link]").get_attribute("href")
                page.goto(url + "/#/bill")
                page.get_by_role("button", name="Pay all of").first.click()
                page.locator("[data-testid=show-qr]").click()
                qr = page.locator("[data-testid=upi-qr]")
                qr.wait_for()
                amount = page.locator("[data-testid=qr-amount]").inner_text()
                assert amount.startswith("₹") and amount != "₹0.00", amount
                assert page.locator("[data-testid=qr-payee]").inner_text().strip()
                assert qr.locator("img").count() == 1
                assert page.errors == [], page.errors
                page.close()
        finally:
            browser.close()


def test_the_demo_raises_a_theft_alert_shortly_after_start_and_restarts_quickly(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines, first_s = start_demo(tmp_path, port, "--history-days", "45", "--duration", "120")
    try:
        assert lines[-1].startswith(f"powergw demo: dashboard on {url}") and PASSWORD in lines[-1]
        assert not [line for line in lines if " INFO " in line], lines  # progress goes to -v, not the screen
        s = logged_in(url)
        deadline, theft = time.monotonic() + 45, None
        while theft is None and time.monotonic() < deadline:
            alerts = s.get(f"{url}/api/v1/alerts?state=open", timeout=10).json()["alerts"]
            theft = next((a for a in alerts if a["kind"] == "theft"), None)
            time.sleep(1)
        assert theft is not None, f"no theft alert {time.monotonic() - deadline + 45:.0f} s after start"
        assert theft["summary"]["key"].startswith("alert_sum_theft_nights")
        assert theft["summary"]["params"]["from"] == "1 am" and theft["data"]["excess_w"] > 800  # a 1,150 W tap
        assert theft["view"]["chart"]["flagged_band_w"] > theft["view"]["chart"]["usual_band_w"] + 800
        budget = next(a for a in alerts if a["kind"] == "budget_threshold")
        assert 50 <= int(budget["summary"]["params"]["pct"]) < 80
        readings = s.get(f"{url}/api/v1/meter-readings", timeout=10).json()["readings"]
        assert sorted(r["kind"] for r in readings) == ["billed_units", "register"]
        assert [a for a in alerts if a["kind"] == "bill_overdue"]  # the last paper bill, closed and unpaid
        upi = s.get(f"{url}/api/v1/payments/upi?amount=100", timeout=10).json()
        assert upi["vpa"] == DEMO_UPI_VPA and "examplepsp" in upi["link"] and upi["qr_svg"].startswith("<svg")
        days = len(theft["view"]["chart"]["days"])
        seen_in_chromium(url, "on that day" if days == 1 else f"on those {days} days")
        time.sleep(2)
    finally:
        rest = stop(proc)
    assert rest.strip().splitlines()[-1].startswith("powergw demo: stopped"), rest
    assert len(rest.strip().splitlines()) == 1, rest  # nothing between the login line and the stop

    again, lines, second_s = start_demo(tmp_path, port, "--duration", "3")
    stop(again)
    assert not [line for line in lines if "history" in line], lines  # reused, not made again
    assert second_s < min(15.0, first_s), (first_s, second_s)
    print(f"demo: login line after {first_s:.1f} s (45 days of history), {second_s:.1f} s on the second start")
