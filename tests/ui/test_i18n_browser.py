"""Tamil and Hindi in real headless Chromium, on a 360x740 phone and a 1366x900 laptop: the selector
in the header and on the login page, the nav, the Overview's headings and amounts in the chosen
language, the choice kept over a reload, `<html lang>`, no key shown raw, English paying nothing
for the translations, a translation that cannot load, and the gateway's `[ui] language` default."""

from __future__ import annotations

import re

import pytest

from local_ui import create_app, serve_in_thread
from tests.support.browser import MARKS, log_in, shot, watched
from tests.support.dashboard import ADMIN_PASSWORD

pytestmark = MARKS

NAV = ("nav_overview", "nav_usage", "nav_bill", "nav_alerts", "nav_nodes", "nav_settings")
SCRIPT = {"ta": "[\u0b80-\u0bff]", "hi": "[\u0900-\u097f]"}
# ₹ with ASCII digits and Indian grouping: ₹999.00, ₹1,23,456.78
AMOUNT = re.compile(r"−?₹(?:[0-9]{1,3}|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})\.[0-9]{2}")
VIEWPORTS = {"phone": (360, 740), "laptop": (1366, 900)}
PICKER = "[data-testid=language] select"


def _translation(url: str) -> str | None:
    name = url.rsplit("/", 1)[1]
    return name if "/static/strings/" in url and name != "en.js" else None


def open_at(browser, site, viewport: str):
    """A fresh page (no cookies, no storage) at that size, on the site's clock, collecting script errors."""
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )
    context.clock.install(time=site["clock"]() / 1000)
    page = watched(context.new_page())
    page.strings_fetched = []  # the translations the page asked for (en.js comes with the app)
    page.on("request", lambda r: _translation(r.url) and page.strings_fetched.append(_translation(r.url)))
    return page


def strings_of(page, code: str) -> dict[str, str]:
    return page.evaluate("async (c) => (await import(`/static/strings/${c}.js`)).default", code)


def overview_texts(page) -> dict:
    """What the Overview shows: nav labels, headings (but the household's own node names), body text, amounts."""
    page.wait_for_selector("[data-testid=bill-card] .big")
    names = page.evaluate("async () => (await (await fetch('/api/v1/overview')).json()).nodes.map((n) => n.name)")
    headings = page.locator("main h1, main h2, main h3, main .card-title").evaluate_all(
        "els => els.map((e) => e.textContent.trim())"
    )
    body = page.inner_text("body")
    return {
        "nav": page.locator("nav.tabs a span").all_inner_texts(),
        "headings": [h for h in headings if h not in names],
        "body": body,
        "amounts": sorted(AMOUNT.findall(body)),
    }


def assert_in_language(page, code: str, en: dict[str, str], english_amounts: list[str]) -> None:
    strings = strings_of(page, code)
    page.wait_for_function("c => document.documentElement.lang === c", arg=code)
    assert page.input_value(PICKER) == code
    seen = overview_texts(page)
    assert seen["nav"] == [strings[k] for k in NAV]
    assert seen["headings"] and all(re.search(SCRIPT[code], h) for h in seen["headings"]), seen["headings"]
    # Amounts read the same in every language: ASCII digits, Indian grouping.
    assert seen["amounts"] == english_amounts and "₹" in "".join(seen["amounts"])
    raw = [k for k in en if "_" in k and re.search(rf"(?<![\w.]){k}(?!\w)", seen["body"])]  # a key as a word
    assert raw == [] and not re.search(r"\{\w+\}", seen["body"]), raw
    assert page.title().startswith(strings["nav_overview"])


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_switch_to_tamil_and_hindi_and_keep_it_over_a_reload(browser, site, viewport):
    page = open_at(browser, site, viewport)
    log_in(page, site)
    en = strings_of(page, "en")
    english = overview_texts(page)
    assert page.evaluate("document.documentElement.lang") == "en" and english["nav"] == [en[k] for k in NAV]
    assert english["amounts"] and all(AMOUNT.fullmatch(a) for a in english["amounts"])
    assert page.strings_fetched == []  # English loads no translation

    for code in ("ta", "hi"):
        page.select_option(PICKER, code)
        assert_in_language(page, code, en, english["amounts"])
        shot(page, f"i18n-{code}-{viewport}")
        page.reload()
        page.wait_for_selector("[data-testid=live-total]")
        assert_in_language(page, code, en, english["amounts"])
        assert page.evaluate("localStorage.getItem('pgw-language')") == code
        if viewport == "phone":  # the longer words still fit a 360 px screen, on every page
            for route in NAV:
                page.click(f"[data-nav={route.removeprefix('nav_')}]")
                page.wait_for_timeout(400)
                assert page.evaluate("document.documentElement.scrollWidth") <= 360, (code, route)
            page.click("[data-nav=overview]")
    assert page.strings_fetched.count("ta.js") >= 1 and page.strings_fetched.count("hi.js") >= 1

    page.select_option(PICKER, "en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert overview_texts(page)["nav"] == [en[k] for k in NAV]
    assert not page.errors, page.errors
    page.context.close()


def test_login_page_selector_and_the_gateways_default(browser, site):
    """`[ui] language = "hi"`: a new browser opens in Hindi; its own choice then wins over a reload."""
    from gateway.config import parse_config

    app = create_app(
        site["db"],
        live_path=site["live"],
        config=parse_config({"ui": {"language": "hi"}}),
        clock=site["clock"],
        admin_password=ADMIN_PASSWORD,
        registry_root=site["db"].parent / "models",
    )
    server = serve_in_thread(app, "127.0.0.1", 0)
    try:
        page = open_at(browser, site, "phone")
        page.goto(server.url + "/")
        page.wait_for_selector("input[name=username]")
        hi = strings_of(page, "hi")
        assert page.evaluate("document.documentElement.lang") == "hi" and page.input_value(PICKER) == "hi"
        assert page.inner_text(".auth-card h1") == hi["login_title"]
        assert page.title() == f"{hi['nav_login']} · powergw"  # the tab's title too
        shot(page, "i18n-login-hi")
        page.select_option(PICKER, "ta")  # on the login page, before logging in
        ta = strings_of(page, "ta")
        page.wait_for_function("t => document.querySelector('.auth-card h1').textContent === t", arg=ta["login_title"])
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click(f"button:has-text('{ta['login_button']}')")
        page.wait_for_selector("[data-testid=live-total]")
        assert page.locator("nav.tabs a span").all_inner_texts() == [ta[k] for k in NAV]
        page.reload()
        page.wait_for_selector("[data-testid=live-total]")
        assert page.evaluate("document.documentElement.lang") == "ta"  # the browser's choice, not the gateway's
        assert "hi.js" in page.strings_fetched and not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()


def test_a_translation_that_cannot_load_leaves_the_page_as_it_was(browser, site):
    page = open_at(browser, site, "laptop")
    log_in(page, site)
    en = strings_of(page, "en")
    page.route("**/static/strings/hi.js", lambda route: route.abort())
    page.select_option(PICKER, "hi")
    toast = page.locator(".toast.bad")
    toast.wait_for()
    assert toast.inner_text().startswith(en["language_failed"].split("{")[0])
    assert page.evaluate("document.documentElement.lang") == "en" and page.input_value(PICKER) == "en"
    assert page.locator("nav.tabs a span").all_inner_texts() == [en[k] for k in NAV]
    assert page.evaluate("localStorage.getItem('pgw-language')") is None  # nothing remembered
    shot(page, "i18n-load-failed")
    page.unroute("**/static/strings/hi.js")
    page.select_option(PICKER, "hi")  # the network is back: the same choice now works
    page.wait_for_function("() => document.documentElement.lang === 'hi'")
    assert page.evaluate("localStorage.getItem('pgw-language')") == "hi"
    page.context.close()


def test_an_unknown_remembered_language_falls_back_to_english(browser, site):
    page = open_at(browser, site, "laptop")
    page.goto(site["url"] + "/")
    page.evaluate("localStorage.setItem('pgw-language', 'xx')")
    page.reload()
    page.wait_for_selector("input[name=username]")
    assert page.evaluate("document.documentElement.lang") == "en" and page.input_value(PICKER) == "en"
    assert page.strings_fetched == [] and not page.errors, page.errors
    page.context.close()
