"""A property-based API fuzzer made by others (schemathesis) against the dashboard's own
/api/v1/openapi.json on a real waitress server, as an anonymous visitor, a viewer and an admin;
then a bounded load test on loopback while a node streams through a real Ingest.

Every operation gets a bounded number of schema-valid requests and as many the document forbids
(FUZZ_EXAMPLES each) with schemathesis's checks (tests/support/fuzzing.py): no 5xx, every status, header
and body as the document says, every forbidden request refused, and nothing stored by a refused
write. Two checks are left out, each for a reason: `positive_data_acceptance` (a schema-valid
request may still be refused by a rule no JSON schema can state: a payment past [billing]
max_payment_inr, an alert already resolved), and, for the logged-in roles, `ignored_auth` (it
re-sends our valid token, so it cannot tell); the anonymous run covers authentication.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.support.dashboard import raise_alerts
from tests.support.fuzzing import fuzz, report
from tests.support.ingest import ingesting

FUZZ_EXAMPLES = int(os.environ.get("POWERGW_FUZZ_EXAMPLES", "8"))  # per operation and generation mode
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # schema-valid requests, and requests it forbids
SKIP = {("GET", "/api/v1/live")}  # a stream that stays open: tests/ui/test_ui_server.py covers it
# Requests that would end the fuzzing role's own login; their refusals are fuzzed all the same
# by the anonymous and viewer runs, and their success paths have tests of their own.
SKIP_FOR = {
    "admin": {("DELETE", "/api/v1/session"), ("PUT", "/api/v1/me/password")},
    "viewer": {("DELETE", "/api/v1/session")},
}


def fingerprint(db) -> tuple:
    """What a refused write must leave as it was."""
    conn = sqlite3.connect(db)
    try:
        return tuple(
            conn.execute(sql).fetchone()
            for sql in (
                "SELECT count(*), max(id) FROM payments",
                "SELECT count(*), max(id) FROM meter_readings",
                "SELECT count(*), max(id) FROM ui_users",
                "SELECT count(*), max(id) FROM ui_tokens",
                "SELECT group_concat(key || '=' || value) FROM meta WHERE key LIKE 'billing.budget%' "
                "OR key LIKE 'settings.%'",
                "SELECT group_concat(id || state) FROM alerts",
            )
        )
    finally:
        conn.close()


@pytest.fixture
def tokens(served):
    raise_alerts(served.db)
    admin = served.session()
    return {
        role: admin.post(served.url + "/api/v1/tokens", json={"name": role, "role": role}, timeout=10).json()["token"]
        for role in ("viewer", "admin")
    }


# A household that takes UPI payments, so the UPI link is fuzzed past its configuration check
# (without [billing] upi_vpa it answers 503 by design: tests/ui/test_ui_api.py covers that).
HOUSEHOLD = {"billing": {"upi_vpa": "tnpdcl@sbi", "upi_payee_name": "TNPDCL"}}


@pytest.mark.parametrize("served", [HOUSEHOLD], indirect=True, ids=["upi"])
@pytest.mark.parametrize("role", ["anonymous", "viewer", "admin"])
def test_schemathesis_finds_nothing(served, tokens, role, capsys):
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
    t0 = time.monotonic()
    doc = requests.get(served.url + "/api/v1/openapi.json", timeout=10).json()
    out = fuzz(
        doc,
        served.url,
        headers,
        examples=FUZZ_EXAMPLES,
        skip=SKIP | SKIP_FOR.get(role, set()),
        excluded_checks=[positive_data_acceptance] + ([ignored_auth] if headers else []),
        fingerprint=lambda: fingerprint(served.db),
        modes=MODES,
    )
    with capsys.disabled():
        print(
            f"\nschemathesis /api/v1/openapi.json as {role}: {out['requests']} requests over {out['operations']} "
            f"operations in {time.monotonic() - t0:.1f} s; statuses {dict(sorted(out['statuses'].items()))}"
        )
    assert out["failures"] == {}, report(out)
    assert out["requests"] >= out["operations"]
    assert 500 not in out["statuses"] and requests.get(served.url + "/healthz", timeout=10).status_code == 200


def stored_mwh(db, node: str) -> tuple:
    """The energy of `node` in its raw readings and in its daily rollups."""
    conn = sqlite3.connect(db)
    try:
        return tuple(
            conn.execute(
                f"SELECT sum(t.{col}) FROM {table} t JOIN nodes n USING (node_key) WHERE n.node_id = ?", (node,)
            ).fetchone()[0]
            for table, col in (("readings", "delta_mwh"), ("usage_day", "energy_mwh"))
        )
    finally:
        conn.close()


def test_bounded_load_keeps_the_dashboard_answering_and_ingest_storing(served, tokens, capsys):
    """2,000 requests, 20 at a time, on loopback, while a node streams through a real Ingest into
    the same database: every request answered, every frame's energy stored exactly."""
    paths = [
        "/api/v1/overview",
        "/api/v1/nodes",
        "/api/v1/usage?period=week",
        "/api/v1/bill",
        "/api/v1/alerts",
        "/api/v1/live/snapshot",
        "/healthz",
        "/static/app.js",
    ]
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    local = threading.local()

    def one(i: int) -> tuple[int, float]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        t = time.perf_counter()
        status = session.get(served.url + paths[i % len(paths)], headers=headers, timeout=30).status_code
        return status, time.perf_counter() - t

    node = "a4:cf:12:34:56:7a"
    with ingesting(served.db, start_ms=served.clock(), node=node) as sent:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, range(2000)))
        elapsed = time.perf_counter() - t0
        frames_during = sent["frames"]
    statuses = [s for s, _ in results]
    latencies = sorted(d for _, d in results)
    feeds = sorted(sent["feed_s"])
    with capsys.disabled():
        print(
            f"\nload: 2000 requests, 20 concurrent, {elapsed:.1f} s, {2000 / elapsed:.0f} req/s, errors "
            f"{sum(s != 200 for s in statuses)}, p50 {latencies[1000] * 1000:.0f} ms, "
            f"p99 {latencies[1980] * 1000:.0f} ms; "
            f"a real Ingest took {frames_during} frames meanwhile (a commit every 5), "
            f"slowest feed {feeds[-1] * 1000:.0f} ms, {sent['sent_mwh']} mWh stored exactly"
        )
    assert statuses.count(200) == 2000
    assert sent["error"] is None and frames_during > 100 and feeds[-1] < 5.0
    assert stored_mwh(served.db, node) == (sent["sent_mwh"], sent["sent_mwh"])
    assert requests.get(served.url + "/api/v1/overview", headers=headers, timeout=10).status_code == 200


@pytest.mark.parametrize("served", [HOUSEHOLD], indirect=True, ids=["upi"])
def test_an_optional_field_sent_as_null_is_not_given_and_the_document_says_so(served, tokens):
    """The fuzzer found `bill_id: null` accepted (a payment on no particular bill) where the document
    said integer: null is what the API reads as not given, so the document allows it on optional
    fields, and only there."""
    doc = requests.get(served.url + "/api/v1/openapi.json", timeout=10).json()
    body = doc["paths"]["/api/v1/payments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["bill_id"]["type"] == ["integer", "null"]
    assert None in body["properties"]["method"]["enum"]
    assert "null" not in body["properties"]["amount"].get("type", [])  # required: never null
    r = requests.post(
        served.url + "/api/v1/payments",
        json={"amount": "100", "bill_id": None, "method": None},
        headers={"Authorization": f"Bearer {tokens['admin']}", "Idempotency-Key": "null-bill-0001"},
        timeout=10,
    )
    assert r.status_code == 201 and r.json()["payment"]["bill_id"] is None and r.json()["payment"]["method"] == "upi"
    r = requests.post(
        served.url + "/api/v1/payments",
        json={"amount": None},
        headers={"Authorization": f"Bearer {tokens['admin']}", "Idempotency-Key": "null-amount-01"},
        timeout=10,
    )
    assert r.status_code == 400 and "amount" in r.text
