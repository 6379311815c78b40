"""The Bill page in real headless Chromium, on a phone (360x740) and a laptop (1366x900): what is due kept
apart from the cycle so far, credit in words, a pending UPI payment and what Confirm means, amounts typed
the Indian way, the UPI QR with payee and amount, a budget checked when saved, bill reminders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.app import open_store
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.tariff import Bill
from tests.support.browser import MARKS, RunningClock, household_date, now_ms, open_page, serve_dashboard, shot
from tests.support.dashboard import ADMIN_PASSWORD

pytestmark = MARKS

VIEWPORTS = {"phone": (360, 740), "laptop": (1366, 900)}


@pytest.fixture
def house(tmp_path, seeded):
    """The dashboard on waitress over 40 days of usage, its clock running from tests.support.browser.now_ms."""

    clock = RunningClock(now_ms())
    db = seeded(tmp_path / "powergw.db", days=40, now_ms=clock.start_ms)
    server = serve_dashboard(db, tmp_path, clock)
    yield {"url": server.url, "db": db, "clock": clock}
    server.stop()


def page_at(browser, house, size: str):
    """A logged-in page at one of VIEWPORTS."""
    page = open_page(browser, house, phone=size == "phone", size=VIEWPORTS[size])
    page.goto(house["url"] + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("[data-nav=bill]")
    return page


def close_bill(db, days_ago: int, total: str, due_days: int = 20) -> dict:
    """A bill of a two-month cycle that ended `days_ago` days before today, as the cycle job writes it."""
    store = open_store(db)
    try:
        today = household_date(now_ms())
        end = today - dt.timedelta(days=days_ago)
        cycle = Cycle(end - dt.timedelta(days=61), end)
        bill = Bill(tariff="tn-domestic", units=Decimal(300), lines=(), total=Decimal(total))
        return Ledger(store).close_bill(cycle, bill, source="sensor", now_ms=0, due_days=due_days)[0]
    finally:
        store.close()


def day_words(page, iso: str) -> str:
    return page.evaluate("iso => import('/static/format.js').then(m => m.dayOfIso(iso))", iso)


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", VIEWPORTS)
def test_nothing_due_says_the_cycle_so_far_and_when_it_is_billed(browser, house, size):
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    head = page.locator("[data-testid=balance]")
    head.wait_for()
    assert head.inner_text() == "Nothing due now" and head.get_attribute("data-state") == "clear"
    bill = page.evaluate("async () => (await fetch('/api/v1/bill')).json()")
    total = page.evaluate("t => import('/static/format.js').then(m => m.inr(t))", bill["bill_till_date"])
    billed_on = (dt.date.fromisoformat(bill["cycle"]["last_day"]) + dt.timedelta(days=1)).isoformat()
    line = page.inner_text("[data-testid=due-line]")
    assert line == f"This cycle so far {total}, billed on {day_words(page, billed_on)}."
    assert "₹0.00" not in head.inner_text() and "All paid" not in page.inner_text("main")
    assert "Tamil Nadu" in page.inner_text("[data-testid=bill-cycle]")  # the tariff's title, not its slug
    assert "tn-domestic" not in page.inner_text("main")
    no_sideways_scroll(page, VIEWPORTS[size][0])
    shot(page, f"bill-nothing-due-{size}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_bill_due_names_the_bill_and_the_date_and_reminds(browser, house, size):
    row = close_bill(house["db"], days_ago=17, total="1640")
    from gateway.alerts import AlertStore

    store = open_store(house["db"])
    try:
        AlertStore(store).raise_alert("bill_due", None, "due", now_ms=house["clock"](), dedup_key="bill_due:1")
    finally:
        store.close()
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    page.wait_for_selector("[data-testid=balance][data-state=owed]")
    assert page.inner_text("[data-testid=balance]") == "₹1,640.00 due"
    last_day = (dt.date.fromisoformat(row["cycle_end"]) - dt.timedelta(days=1)).isoformat()
    line = page.inner_text("[data-testid=due-line]")
    assert line == (
        f"For the bill of {day_words(page, row['cycle_start'])} to {day_words(page, last_day)}. "
        f"Pay by {day_words(page, row['due_date'])} (in 3 days)."
    )
    reminder = page.inner_text("[data-testid=bill-reminders]")
    assert "Bill reminder:" in reminder and f"₹1,640.00 to pay by {day_words(page, row['due_date'])}" in reminder
    # "Pay all of" fills the amount the Indian way; the cycle so far stays in its own card.
    page.click("button:has-text('Pay all of ₹1,640.00')")
    assert page.input_value("input[name=amount]") == "1,640.00"
    assert page.inner_text("[data-testid=bill-total]") != page.inner_text("[data-testid=balance]")
    no_sideways_scroll(page, VIEWPORTS[size][0])
    shot(page, f"bill-due-{size}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_upi_payment_waits_for_confirm_and_then_shows_credit_in_words(browser, house, size):
    close_bill(house["db"], days_ago=5, total="500")
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    page.wait_for_selector("[data-testid=balance][data-state=owed]")
    # Typed the Indian way, with a rupee sign and a space: taken.
    page.fill("input[name=amount]", "₹ 1,000")
    page.select_option("select[name=method]", "upi")
    page.click("[data-testid=record-payment]")
    pending = page.locator("[data-testid=pending]")
    pending.wait_for()
    assert "₹1,000.00 waiting for you to confirm" in pending.inner_text()
    assert "counts only once you confirm it" in pending.inner_text()
    assert page.inner_text("[data-testid=balance]") == "₹500.00 due"  # pending counts nothing yet
    assert "waiting for you to confirm" in page.text_content("[data-testid=payments]")
    no_sideways_scroll(page, VIEWPORTS[size][0])
    shot(page, f"bill-pending-{size}")
    page.click("[data-action=confirm-payment]")
    page.wait_for_selector("[data-testid=balance][data-state=credit]")
    assert page.inner_text("[data-testid=balance]") == "₹500.00 in credit"
    assert "comes off your next bill" in page.inner_text("[data-testid=due-line]")
    assert page.locator("[data-testid=pending]").count() == 0
    no_sideways_scroll(page, VIEWPORTS[size][0])
    shot(page, f"bill-credit-{size}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_nonsense_amounts_get_a_sentence_and_nothing_is_recorded(browser, house, size):
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    page.wait_for_selector("input[name=amount]")
    assert page.get_attribute("input[name=amount]", "placeholder") is None  # no look-alike value in the box
    assert page.get_attribute("input[name=budget]", "placeholder") is None
    for typed, says in (
        ("1.500,00", "is not an amount in rupees"),
        ("12.345", "at most 2 digits"),
        ("0", "more than ₹0"),
    ):
        page.fill("input[name=amount]", typed)
        page.select_option("select[name=method]", "cash")
        page.click("[data-testid=record-payment]")
        page.wait_for_selector(f"[role=alert]:has-text('{says}')")
    assert page.evaluate("async () => (await (await fetch('/api/v1/payments')).json()).payments.length") == 0
    page.fill("input[name=amount]", "1,00,000")
    page.click("[data-testid=record-payment]")
    page.wait_for_selector("text=Payment of ₹1,00,000.00 recorded.")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_budget_is_checked_when_saved(browser, house, size):
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    page.wait_for_selector("input[name=budget]")
    page.fill("input[name=budget]", "1")
    page.click("[data-testid=save-budget]")
    check = page.locator("[data-testid=budget-check]")
    check.wait_for()
    assert "of ₹1.00 used so far" in check.inner_text() and "over the budget" in check.inner_text()
    kinds = page.evaluate(
        "async () => (await (await fetch('/api/v1/alerts?state=open')).json()).alerts.map(a => a.kind)"
    )
    assert "budget_projection" in kinds  # raised at once, not at the job's next run
    page.fill("input[name=budget]", "2,50,000")
    page.click("[data-testid=save-budget]")
    page.wait_for_selector("[data-testid=budget-check]:has-text('Within the budget')")
    assert page.evaluate("async () => (await (await fetch('/api/v1/budget')).json()).amount") == "250000.00"
    assert page.input_value("input[name=budget]") == "2,50,000"
    shot(page, f"bill-budget-{size}")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_upi_qr_shows_payee_and_amount_once_the_upi_id_is_set(browser, house, size):
    close_bill(house["db"], days_ago=5, total="1234.50")
    page = page_at(browser, house, size)
    page.click("[data-nav=bill]")
    page.wait_for_selector("[data-testid=upi-not-set]")
    assert page.locator("[data-testid=show-qr]").count() == 0
    page.click("[data-testid=upi-not-set] a")
    page.wait_for_selector("input[name='billing.upi_vpa']")
    page.fill("input[name='billing.upi_vpa']", "tneb chennai")
    page.fill("input[name='billing.upi_payee_name']", "TNPDCL Chennai")
    page.click("[data-testid=save-upi]")
    page.wait_for_selector("[role=alert]:has-text('like name@handle')")
    page.fill("input[name='billing.upi_vpa']", "tnpdcl.example@sbi")
    page.click("[data-testid=save-upi]")
    page.wait_for_selector("[data-reset='billing.upi_vpa']")
    page.click("[data-nav=bill]")
    page.click("button:has-text('Pay all of ₹1,234.50')")
    page.click("[data-testid=show-qr]")
    qr = page.locator("[data-testid=upi-qr]")
    qr.wait_for()
    assert page.inner_text("[data-testid=qr-payee]") == "TNPDCL Chennai"
    assert page.inner_text("[data-testid=qr-amount]") == "₹1,234.50"
    img = qr.locator("img")
    assert img.get_attribute("alt") == "UPI QR code: pay ₹1,234.50 to TNPDCL Chennai"
    assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    # Beside the QR on a laptop, under it on a phone: in view either way, nothing off the screen.
    no_sideways_scroll(page, VIEWPORTS[size][0])
    shot(page, f"bill-upi-qr-{size}")
    assert not page.errors, page.errors
    page.context.close()


TYPED = [
    "1500",
    "1,500",
    "1,00,000",
    "12,34,567.89",
    "123,456",
    "₹ 2,500.50",
    "₹2500",
    "  750  ",
    "0.5",
    "10.50",
    "10.500",
    "1.500,00",
    "12,34",
    "1,5000",
    "abc",
    "1e5",
    "-5",
    "",
    "₹",
    "10.555",
    "१५००",
    "1 500",
    "0",
    "0.00",
]


def test_the_page_reads_amounts_by_the_gateways_rule(browser, house):
    """amount.js, which checks the form before it is sent, takes exactly what parse_amount takes, as the same paise."""
    from gateway.billing import PaymentError
    from gateway.billing.money import paise_str, parse_amount

    page = page_at(browser, house, "laptop")
    got = page.evaluate("typed => import('/static/amount.js').then(m => typed.map(x => m.parseInr(x)))", TYPED)
    for typed, js in zip(TYPED, got, strict=True):
        try:
            want = paise_str(parse_amount(typed))
        except PaymentError:
            want = None
        assert js.get("value") == want, (typed, js, want)
        assert ("error" in js) == (want is None), (typed, js)
    page.context.close()


@pytest.mark.parametrize(
    ("code", "nothing_due", "owed"),
    [("ta", "இப்போது செலுத்த வேண்டியது எதுவும் இல்லை", "செலுத்த வேண்டும்"), ("hi", "अभी कुछ चुकाना नहीं है", "चुकाना है")],
)
def test_the_bill_page_in_tamil_and_hindi_on_a_phone(browser, house, code, nothing_due, owed):
    page = page_at(browser, house, "phone")
    page.evaluate("code => localStorage.setItem('pgw-language', code)", code)
    page.goto(house["url"] + "/#/bill")
    page.reload()
    head = page.locator("[data-testid=balance]")
    head.wait_for()
    page.wait_for_function("t => document.querySelector('[data-testid=balance]').textContent === t", arg=nothing_due)
    close_bill(house["db"], days_ago=5, total="1640")
    page.reload()
    page.wait_for_selector("[data-testid=balance][data-state=owed]")
    assert head.inner_text() == f"₹1,640.00 {owed}"  # amounts in ASCII digits, Indian grouping
    no_sideways_scroll(page, VIEWPORTS["phone"][0])
    shot(page, f"bill-due-{code}-phone")
    assert not page.errors, page.errors
    page.context.close()
