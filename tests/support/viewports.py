"""Pages at the sizes the dashboard is checked at (a phone's 360x740, a laptop's 1366x900) in a browser of any
language, and small reads of what the page itself would fetch and format."""

from __future__ import annotations

from tests.support.browser import watched

SIZES = {"phone": (360, 740), "desktop": (1366, 900)}


def open_sized(browser, site, size: str, locale: str = "en-US"):
    """A page at one of SIZES, its clock the site's, in a browser whose language is `locale`."""
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale=locale,
    )
    context.clock.install(time=site["clock"]() / 1000)
    return watched(context.new_page())


def api(page, path: str):
    return page.evaluate("async (p) => (await fetch('/api/v1' + p)).json()", path)


def fmt(page, fn: str, *args):
    """format.js's `fn(*args)`, as the page formats it."""
    return page.evaluate("async ([fn, args]) => (await import('/static/format.js'))[fn](...args)", [fn, list(args)])
