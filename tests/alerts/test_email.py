"""Alert email through a real SMTP server (aiosmtpd on 127.0.0.1): queued with the alert,
delivered, delayed (never lost) while the server is down, retried with backoff, STARTTLS + login."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from gateway.alerts import AlertStore, alert_store
from gateway.alerts.email import EmailOutbox, backoff_s, send_due
from gateway.alerts.jobs import send_email
from gateway.app import JobContext, open_store
from gateway.config import parse_config

T0 = 1_720_000_000_000


class Inbox:
    """aiosmtpd handler keeping what arrived; refuses recipients at refused.example."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_for(port, **extra):
    email = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "to": ["asha@example.in"],
        "from_addr": "gw@example.in",
        "retry_base_s": 60.0,
        "retry_max_s": 900.0,
    } | extra
    return parse_config({"email": email})


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


def test_backoff_doubles_and_caps():
    assert [backoff_s(n, 60, 900) for n in range(7)] == [0, 60, 120, 240, 480, 900, 900]
    assert backoff_s(10_000, 1, 3600) == 3600


def test_alert_email_arrives(store, smtp):
    inbox, port = smtp
    config = config_for(port)
    alerts = alert_store(store, config)
    alerts.raise_alert(
        "meter_mismatch",
        None,
        "meter 412 kWh, sensors 371 kWh: 10.0% gap",
        now_ms=T0,
        dedup_key="mm",
        data={"gap_pct": "10.0"},
    )
    alerts.raise_alert("meter_mismatch", None, "again", now_ms=T0 + 1, dedup_key="mm")  # a repeat: no second mail
    alerts.raise_alert("clock_jump", None, "clock moved 2 h", now_ms=T0 + 2)  # a kind that does not email
    outbox = EmailOutbox(store)
    assert outbox.stats()["queued"] == 1
    report = send_due(outbox, config.email, T0 + 10)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [(mail_from, rcpt, content)] = inbox.messages
    assert mail_from == "gw@example.in" and rcpt == ["asha@example.in"]
    assert "Subject: [powergw] CRITICAL: Utility meter and sensors disagree" in content
    assert "meter 412 kWh, sensors 371 kWh: 10.0% gap" in content and "gap_pct: 10.0" in content
    assert "Message-ID: <powergw-email-1-" in content
    assert outbox.stats()["sent"] == 1 and send_due(outbox, config.email, T0 + 20).sent == 0


def test_a_theft_email_says_what_it_means_and_what_to_do_without_raw_lists(store, smtp):
    inbox, port = smtp
    config = config_for(port)
    alerts = alert_store(store, config)
    aid, _ = alerts.raise_alert(
        "theft",
        None,
        "+730 W from 23:00 to 06:00 on 4 of the last 4 nights; usual 240 W",
        now_ms=T0,
        dedup_key="theft:23-06",
        data={"excess_w": 730.2, "usual_w": 240.1, "days_seen": 4, "window_starts_s": [1721759400.0, 1721763000.0]},
    )
    assert send_due(EmailOutbox(store), config.email, T0 + 10).sent == 1
    [(_, _, content)] = inbox.messages
    assert "+730 W from 23:00 to 06:00" in content and "excess_w: 730.2" in content
    assert "Ignore if it is yours" in content and "Raise if it is not" in content and "Stop ignoring" in content
    assert "window_starts_s" not in content and "1721759400" not in content  # the windows are on the dashboard
    assert f"powergw alerts act {aid} ignore|raise|resolve --by NAME" in content


def test_server_down_then_up_delays_but_never_loses(store, tmp_path):
    port = free_port()  # nothing listens here yet
    config = config_for(port)
    alerts = alert_store(store, config)
    for i in range(3):
        alerts.raise_alert("theft", None, f"night load {i}", now_ms=T0 + i)
    outbox = EmailOutbox(store)
    report = send_due(outbox, config.email, T0 + 10)
    assert report.sent == 0 and report.retried == 3 and "cannot reach SMTP server" in report.error
    rows = outbox.rows()
    assert all(r["state"] == "queued" and r["attempts"] == 1 and r["next_attempt_ms"] == T0 + 10 + 60_000 for r in rows)
    # Before the backoff has passed nothing is tried; a second failure doubles the wait.
    assert send_due(outbox, config.email, T0 + 30_000).retried == 0
    send_due(outbox, config.email, T0 + 70_010)
    assert {r["next_attempt_ms"] for r in outbox.rows()} == {T0 + 70_010 + 120_000}
    # The server comes up: everything arrives, once.
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        assert send_due(outbox, config.email, T0 + 70_010 + 119_000).sent == 0  # still backing off
        report = send_due(outbox, config.email, T0 + 70_010 + 120_000)
        assert report.sent == 3
        assert sorted(m[2].split("night load ")[1][0] for m in inbox.messages) == ["0", "1", "2"]
        assert send_due(outbox, config.email, T0 + 10**9).sent == 0
    finally:
        ctl.stop()
    # The database is what survives: reopen and check.
    store.close()
    again = open_store(tmp_path / "gw.db")
    assert EmailOutbox(again).stats()["sent"] == 3
    again.close()


def test_refused_recipient_fails_for_good_others_go(store, smtp):
    inbox, port = smtp
    config = config_for(port, to=["nobody@refused.example"])
    alert_store(store, config).raise_alert("theft", None, "x", now_ms=T0)
    good = config_for(port)
    alert_store(store, good).raise_alert("theft", None, "y", now_ms=T0 + 1)
    outbox = EmailOutbox(store)
    report = send_due(outbox, good.email, T0 + 10)
    assert (report.sent, report.failed) == (1, 1)
    failed = outbox.rows(state="failed")
    assert len(failed) == 1 and "550" in failed[0]["last_error"]
    assert outbox.requeue_failed(T0 + 20) == 1 and outbox.stats()["queued"] == 1


def test_job_raises_email_failing_when_mail_is_stuck(store):
    config = config_for(free_port())
    alert_store(store, config).raise_alert("theft", None, "x", now_ms=T0)
    clock = [T0]
    ctx = JobContext(store=store, config=config, now_ms=lambda: clock[0], extras={})
    send_email(ctx)
    assert AlertStore(store).list(kind="email_failing") == []
    clock[0] = T0 + 7 * 3_600_000
    send_email(ctx)
    send_email(ctx)
    [failing] = AlertStore(store).list(kind="email_failing")
    assert "1 alert emails waiting for 7.0 h" in failing["message"] and "cannot reach" in failing["message"]
    assert EmailOutbox(store).stats()["queued"] == 1  # the email_failing alert itself does not email


def test_disabled_email_queues_nothing(store):
    config = parse_config({})
    alert_store(store, config).raise_alert("theft", None, "x", now_ms=T0)
    assert EmailOutbox(store).stats()["queued"] == 0


def test_starttls_and_login(store, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.password == b"s3cret"
        return AuthResult(success=ok, message=None if ok else "535 5.7.8 Authentication credentials invalid")

    inbox, port = Inbox(), free_port()
    ctl = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_exclude_mechanism=["LOGIN"],
    )
    ctl.start()
    try:
        pw = tmp_path / "pw"
        pw.write_text("s3cret\n")
        config = config_for(port, security="starttls", ca_file=str(cert), username="gw", password_file=str(pw))
        alert_store(store, config).raise_alert("sensor_fault", None, "ACS712 saturated on node pump", now_ms=T0)
        outbox = EmailOutbox(store)
        assert send_due(outbox, config.email, T0 + 1).sent == 1
        assert logins == [(b"gw", b"s3cret")] and "saturated" in inbox.messages[0][2]
        # A wrong password is a delay (config can be fixed), not a lost email.
        bad = config_for(port, security="starttls", ca_file=str(cert), username="gw", password="nope", timeout_s=1.0)
        # (aiosmtpd 1.4 leaves a refused login unanswered; the client times out: also a delay, not a loss.)
        alert_store(store, bad).raise_alert("sensor_fault", None, "again", now_ms=T0 + 2)
        report = send_due(outbox, bad.email, T0 + 3)
        assert report.retried == 1 and outbox.stats()["queued"] == 1
    finally:
        ctl.stop()
