"""First-time setup in real headless Chromium, on a phone (360x740) and a laptop (1366x900): the admin, then
the household's answers in one form (state and tariff, meter-reading date and today's reading, budget, UPI
ID, e-mail, sensor names, the mains), every answer left at a default said on the page; afterwards the
sensors carry their names everywhere, Settings speaks household words with the technical ones under
"Advanced", and the Sensors page has no developer words."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway import house
from gateway.app import open_store
from tests.support.browser import MARKS, RunningClock, household_date, now_ms, open_page, shot
from tests.support.dashboard import KITCHEN, MAINS

pytestmark = MARKS

VIEWPORTS = {"phone": (360, 740), "laptop": (1366, 900)}
PASSWORD = "a long household password"


@pytest.fixture
def fresh(tmp_path, seeded, monkeypatch):
    """A gateway with 40 days of usage from two sensors and no admin yet: setup needs the code from its log."""
    from local_ui import create_app, serve_in_thread

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    clock = RunningClock(now_ms())
    db = seeded(tmp_path / "powergw.db", days=40, now_ms=clock.start_ms)
    app = create_app(db, live_path=tmp_path / "run" / "live.json", clock=clock, registry_root=tmp_path / "models")
    server = serve_in_thread(app, "127.0.0.1", 0)
    yield {"url": server.url, "db": db, "clock": clock, "code": app.extensions["powergw"].setup_code}
    server.stop()


def new_page(browser, site, size):
    return open_page(browser, site, phone=size == "phone", size=VIEWPORTS[size])


def create_admin(page, site):
    page.goto(site["url"] + "/")
    page.fill("input[name=code]", site["code"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Create admin and log in')")
    page.wait_for_selector("[data-testid=household-setup] [data-testid=save-setup]")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_setup_in_a_minute_after_the_first_login(browser, fresh, size):
    page = new_page(browser, fresh, size)
    create_admin(page, fresh)
    form = page.locator("[data-testid=household-setup]")
    # Everything not yet answered says so before anything is typed.
    left = page.inner_text("[data-testid=setup-still-default]")
    for words in ("state", "tariff", "meter-reading date", "today's meter reading", "budget", "UPI ID", "e-mail"):
        assert words in left, (words, left)
    assert "sensor names" in left and "which sensor is the mains" in left
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    shot(page, f"setup-empty-{size}")

    page.select_option("select[name=holiday_state]", "DL")  # picks Delhi's tariff with the state
    assert page.input_value("select[name=tariff]") == "delhi-domestic"
    page.select_option("select[name=holiday_state]", "TN")
    assert page.input_value("select[name=tariff]") == "tn-domestic"
    reading_day = household_date(fresh["clock"]()) - dt.timedelta(days=12)
    page.fill("input[name=meter_reading_date]", reading_day.isoformat())
    page.fill("input[name=meter_reading]", "12345.6")
    page.fill("input[name=budget]", "1,500")
    page.fill("input[name=upi_vpa]", "not-a-upi-id")
    page.fill("input[name=upi_payee_name]", "TNPDCL Chennai")
    page.fill("input[name=email_to]", "asha@example.in")
    page.fill(f"input[name='name-{KITCHEN}']", "Kitchen")
    page.fill(f"input[name='name-{MAINS}']", "Whole house")
    page.check(f"[data-node='{MAINS}'] input[name=mains]")
    page.click("[data-testid=save-setup]")
    # A bad answer is refused with the rule, and nothing is written: no reading, no names, no settings.
    page.wait_for_selector("[data-testid=household-setup] [role=alert]:has-text('name@handle')")
    store = open_store(fresh["db"])
    try:
        assert store.conn.execute("SELECT count(*) FROM meter_readings").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM node_names").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
    finally:
        store.close()

    page.fill("input[name=upi_vpa]", "tnpdcl.example@sbi")
    page.click("[data-testid=save-setup]")
    page.wait_for_function("() => location.hash === '#/overview'")
    h = page.evaluate("async () => (await fetch('/api/v1/household')).json()")
    assert h["defaults"] == ["mail_server"]  # alert e-mails need a mail server: said, not assumed
    assert h["answers"]["meter_reading_date"]["value"] == reading_day.isoformat()
    assert h["answers"]["email_to"]["value"] == ["asha@example.in"]
    assert page.evaluate("async () => (await (await fetch('/api/v1/budget')).json()).amount") == "1500.00"
    store = open_store(fresh["db"])
    try:
        assert house.current_mains(store.conn) == [MAINS]  # the meters registry, as `powergw meters --mains`
        assert {n["node_id"]: n["name"] for n in store.nodes()} == {KITCHEN: "Kitchen", MAINS: "Whole house"}
        assert store.conn.execute("SELECT value_kwh FROM meter_readings").fetchall() == [("12345.6",)]
    finally:
        store.close()

    # The names are shown wherever the dashboard names a sensor; the slugs stay under Details.
    page.click("[data-nav=nodes]")
    page.wait_for_selector("[data-testid=node-name]")
    assert sorted(page.locator("[data-testid=node-name]").all_inner_texts()) == ["Kitchen", "Whole house"]
    assert "what Whole house measures" in page.inner_text("[data-testid=mains-line]")
    usage = page.evaluate("async () => (await fetch('/api/v1/nodes')).json()")
    assert {n["name"] for n in usage["nodes"]} == {"Kitchen", "Whole house"}
    page.click("[data-nav=settings]")
    page.wait_for_selector("[data-testid=setup-card]")
    assert "the mail server for alert e-mails" in page.inner_text("[data-testid=setup-defaults]")
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    shot(page, f"setup-done-settings-{size}")
    assert form.count() == 0
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_skipped_setup_is_said_on_settings_and_can_be_finished_there(browser, fresh, size):
    page = new_page(browser, fresh, size)
    create_admin(page, fresh)
    page.click("[data-testid=skip-setup]")
    page.wait_for_function("() => location.hash === '#/overview'")
    page.click("[data-nav=settings]")
    left = page.locator("[data-testid=setup-defaults]")
    left.wait_for()
    assert "meter-reading date" in left.inner_text() and "UPI ID" in left.inner_text()
    page.click("[data-testid=open-setup]")
    page.fill("input[name=meter_reading_date]", (household_date(fresh["clock"]()) - dt.timedelta(days=3)).isoformat())
    page.click("[data-testid=save-setup]")
    page.wait_for_selector("[data-testid=setup-defaults]")
    left = page.inner_text("[data-testid=setup-defaults]")
    assert "meter-reading date" not in left and "UPI ID" in left  # what is still unanswered stays said
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_settings_speak_household_words_and_keep_technical_ones_under_advanced(browser, fresh, size):
    page = new_page(browser, fresh, size)
    create_admin(page, fresh)
    page.click("[data-testid=skip-setup]")
    page.click("[data-nav=settings]")
    page.wait_for_selector("[data-testid=household-settings]")
    advanced = page.locator("[data-testid=advanced]")
    assert advanced.get_attribute("open") is None  # folded away
    visible = page.inner_text("main")
    for word in ("[mqtt]", "[backup]", "OpenAPI", "SMTP", "tn-domestic", "billing."):
        assert word not in visible, word
    household = page.inner_text("[data-testid=household-settings]")
    for word in ("Bluetooth node keys", "API tokens", "Mail server"):
        assert word not in household, word
    assert "Tamil Nadu LT I-A domestic · every 2 months" in page.inner_text("select[name='billing.tariff']")
    assert "Signed in as admin" in page.text_content("[data-testid=who]")
    assert "admin · admin" not in page.text_content("header")
    page.click("[data-testid=advanced] summary")
    inside = advanced.inner_text()
    for word in ("[mqtt]", "[backup]", "API description (OpenAPI)", "SMTP server", "Bluetooth node keys"):
        assert word in inside, word
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    shot(page, f"settings-advanced-{size}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_sensors_page_in_household_words_rename_and_mains(browser, fresh, size):
    page = new_page(browser, fresh, size)
    create_admin(page, fresh)
    page.click("[data-testid=skip-setup]")
    page.click("[data-nav=nodes]")
    card = page.locator(f"[data-node='{KITCHEN}']")
    card.wait_for()
    text = page.inner_text("main")
    for word in ("Frames lost", "Link", "mV/A", "powergw demo", KITCHEN):
        assert word not in text, word
    assert "Readings missed" in card.inner_text()
    assert "up to 30 A, about 6,900 W at once" in card.inner_text()
    card.locator("[data-testid=rename]").click()
    card.locator("input[name=node-name]").fill("Kitchen & fridge")
    card.locator("[data-testid=save-name]").click()
    page.wait_for_function(
        f"() => document.querySelector(\"[data-node='{KITCHEN}'] [data-testid=node-name]\").textContent "
        "=== 'Kitchen & fridge'"
    )
    page.locator(f"[data-node='{MAINS}'] [data-testid=make-mains]").click()
    page.wait_for_selector(f"[data-node='{MAINS}'] [data-testid=is-mains]")
    store = open_store(fresh["db"])
    try:
        assert house.current_mains(store.conn) == [MAINS]
    finally:
        store.close()
    # A name another sensor has is refused, naming both.
    page.locator(f"[data-node='{MAINS}'] [data-testid=rename]").click()
    page.locator(f"[data-node='{MAINS}'] input[name=node-name]").fill("kitchen & FRIDGE")
    page.locator(f"[data-node='{MAINS}'] [data-testid=save-name]").click()
    page.wait_for_selector("text=pick a different name")
    card.locator("summary").click()
    assert KITCHEN in card.inner_text()  # the id is under Details
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    shot(page, f"sensors-{size}")
    assert not page.errors, page.errors
    page.context.close()


def test_an_empty_gateway_does_not_tell_a_family_to_run_a_demo(browser, tmp_path, monkeypatch):
    from local_ui import create_app, serve_in_thread

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    clock = RunningClock(now_ms())
    app = create_app(tmp_path / "empty.db", live_path=tmp_path / "live.json", clock=clock)
    server = serve_in_thread(app, "127.0.0.1", 0)
    try:
        site = {"url": server.url, "clock": clock, "code": app.extensions["powergw"].setup_code}
        for size in VIEWPORTS:
            page = new_page(browser, site, size)
            if size == "phone":
                create_admin(page, site)
                page.click("[data-testid=skip-setup]")
            else:
                page.goto(site["url"] + "/")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.click("button:has-text('Log in')")
            page.click("[data-nav=nodes]")
            empty = page.locator("[data-testid=nodes-empty]")
            empty.wait_for()
            assert "powergw demo" not in empty.inner_text() and "plugged in" in empty.inner_text()
            assert not page.errors, page.errors
            page.context.close()
    finally:
        server.stop()
