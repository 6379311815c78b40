"""schemathesis against the reference cloud API's own /v1/openapi.json on a real waitress server
(the API's listener with its body cap), anonymous, as a gateway of a household, and as the operator.

Every operation gets CLOUD_FUZZ_EXAMPLES schema-valid and as many schema-breaking requests, with
schemathesis's checks: no 5xx, every status, header and body as the document says, every request
the document forbids refused; and nothing stored by a refused write. `positive_data_acceptance` is
left out (a schema-valid request may still be refused by a rule no schema states: a registration
code nobody issued, a household that does not exist, a webhook signature), and for the token
holders `ignored_auth` (it re-sends our valid token); the anonymous run covers authentication.
"""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
import requests
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, ThreadServer
from tests.support.fuzzing import fuzz, report

EXAMPLES = int(os.environ.get("POWERGW_FUZZ_EXAMPLES", "8"))
ADMIN = "operator-secret"
TABLES = (
    "households",
    "registration_codes",
    "gateways",
    "events",
    "changes",
    "payment_orders",
    "payments",
    "webhook_events",
    "models",
)


@pytest.fixture
def cloud(tmp_path):
    db = tmp_path / "cloud.db"
    store = CloudStore(db)
    server = ThreadServer(
        create_app(store, ServerSettings(admin_token=ADMIN, webhook_secret="whsec_fuzz"), clock_ms=FakeClock())
    )
    server.db, server.store = db, store
    yield server
    server.close()
    store.close()


def fingerprint(db) -> tuple:
    """What a refused request must leave as it was: the rows of every table, and which codes are spent."""
    conn = sqlite3.connect(db)
    try:
        return (
            *(conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in TABLES),
            conn.execute("SELECT count(*) FROM registration_codes WHERE used_ms IS NOT NULL").fetchone(),
        )
    finally:
        conn.close()


@pytest.mark.parametrize("role", ["anonymous", "household", "operator"])
def test_schemathesis_finds_nothing_in_the_cloud_api(cloud, role, capsys):
    household, code = cloud.store.add_household("Iyer")
    cloud.store.add_household("Rao")  # another household: its paths must answer 403 to Iyer's gateway
    token = requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10).json()["token"]
    headers = {"household": {"Authorization": f"Bearer {token}"}, "operator": {"Authorization": f"Bearer {ADMIN}"}}.get(
        role, {}
    )
    doc = requests.get(cloud.url + "/v1/openapi.json", timeout=10).json()
    t0 = time.monotonic()
    out = fuzz(
        doc,
        cloud.url,
        headers,
        examples=EXAMPLES,
        modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
        excluded_checks=[positive_data_acceptance] + ([ignored_auth] if headers else []),
        fingerprint=lambda: fingerprint(cloud.db),
        path_parameters={"household_id": household},
    )
    with capsys.disabled():
        print(
            f"\nschemathesis /v1/openapi.json as {role}: {out['requests']} requests over "
            f"{out['operations']} operations "
            f"in {time.monotonic() - t0:.1f} s; statuses {dict(sorted(out['statuses'].items()))}"
        )
    assert out["failures"] == {}, report(out)
    assert out["operations"] == sum(len(ops) for ops in doc["paths"].values())
    assert out["requests"] >= 2 * out["operations"] and not any(s >= 500 for s in out["statuses"])
    assert requests.get(cloud.url + "/v1/health", timeout=10).json() == {"status": "ok"}
