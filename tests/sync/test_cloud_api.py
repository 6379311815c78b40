"""The reference cloud API, the same suite on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.payments import razorpay_signature
from powergw_cloud.store import CloudStore, token_hash
from tests.support.cloud_servers import FakeClock, ThreadServer, fresh_postgres_db

ADMIN = "admin-secret"
HOOK = "whsec_test"
SHIPPED = Path(__file__).resolve().parents[2] / "edge_model" / "models" / "shipped"
METADATA = json.loads((SHIPPED / "metadata.json").read_text())  # what `powergw model train` writes


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = str(tmp_path / "cloud.db")
        else:
            url = stack.enter_context(fresh_postgres_db(request.getfixturevalue("postgres_server")))
        s = CloudStore(url)
        yield s
        s.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def api(store, clock):
    app = create_app(
        store, ServerSettings(admin_token=ADMIN, webhook_secret=HOOK, max_body_bytes=64 << 10), clock_ms=clock
    )
    return Api(app.test_client(), store)


class Api:
    """The test client with the bits every test needs: households, tokens, events."""

    def __init__(self, client, store):
        self.c = client
        self.store = store

    def admin(self, method, path, **kw):
        return getattr(self.c, method)(path, headers={"Authorization": f"Bearer {ADMIN}"}, **kw)

    def household(self, name="Sharma"):
        r = self.admin("post", "/v1/admin/households", json={"name": name})
        assert r.status_code == 201, r.json
        return r.json["household_id"], r.json["registration_code"]

    def gateway(self, name="Sharma"):
        hid, code = self.household(name)
        r = self.c.post("/v1/register", json={"code": code, "name": "pi"})
        assert r.status_code == 201, r.json
        return hid, r.json["token"]

    def as_gw(self, token, method, path, headers=None, **kw):
        return getattr(self.c, method)(path, headers={"Authorization": f"Bearer {token}", **(headers or {})}, **kw)


def event(kind="bill_closed", **payload):
    return {
        "key": str(uuid.uuid4()),
        "kind": kind,
        "created_ms": 1_750_000_000_000,
        "payload": payload or {"bill_id": "b1", "amount_paise": 123456},
    }


# ---- registration and tokens ------------------------------------------------------------------


def test_registration_code_is_single_use_and_token_is_stored_hashed(api):
    hid, code = api.household()
    r = api.c.post("/v1/register", json={"code": code.lower(), "name": "pi"})
    assert r.status_code == 201 and r.json["household_id"] == hid
    token = r.json["token"]
    again = api.c.post("/v1/register", json={"code": code})
    assert again.status_code == 403 and again.json["field"] == "code"
    with api.store.tx() as tx:
        hashes = [row[0] for row in tx.all("SELECT token_hash FROM gateways")]
        codes = [row[0] for row in tx.all("SELECT code_hash FROM registration_codes")]
    assert hashes == [token_hash(token)] and token not in json.dumps(hashes)
    assert code not in codes


def test_registration_code_expires_after_a_day(api, clock):
    _, code = api.household()
    clock.advance(24 * 3600 * 1000 + 1)
    assert api.c.post("/v1/register", json={"code": code}).status_code == 403


def test_tokens_are_per_household(api):
    hid_a, token_a = api.gateway("A")
    hid_b, token_b = api.gateway("B")
    assert api.as_gw(token_a, "get", f"/v1/households/{hid_a}/bills").status_code == 200
    r = api.as_gw(token_a, "get", f"/v1/households/{hid_b}/bills")
    assert r.status_code == 403
    assert api.c.get(f"/v1/households/{hid_a}/bills").status_code == 401
    assert api.as_gw("pgw_not-a-token", "get", f"/v1/households/{hid_a}/bills").status_code == 401
    assert api.as_gw(token_a, "post", "/v1/admin/households", json={"name": "x"}).status_code == 401


def test_revoked_gateway_gets_401(api):
    _, token = api.gateway()
    caller = api.store.caller(token)
    api.store.revoke_gateway(caller.gateway_id)
    r = api.as_gw(token, "post", "/v1/events", json={"events": [event()]})
    assert r.status_code == 401 and "register" in r.json["error"]


# ---- events -----------------------------------------------------------------------------------


def test_events_are_stored_once_per_key(api):
    hid, token = api.gateway()
    batch = [
        event(),
        event("payment_created", payment_id="p1", amount_paise=5000),
        event("feedback", alert_id=3, verdict="not_theft"),
    ]
    first = api.as_gw(token, "post", "/v1/events", json={"events": batch})
    assert first.status_code == 200
    assert first.json == {"new": [e["key"] for e in batch], "duplicate": []}
    second = api.as_gw(token, "post", "/v1/events", json={"events": batch + [batch[0]]})
    assert second.json == {"new": [], "duplicate": [e["key"] for e in batch] + [batch[0]["key"]]}
    assert api.store.event_counts() == (3, 3)
    bills = api.as_gw(token, "get", f"/v1/households/{hid}/bills").json["bills"]
    assert [b["payload"] for b in bills] == [batch[0]["payload"]]
    feedback = api.as_gw(token, "get", f"/v1/households/{hid}/feedback").json["feedback"]
    assert feedback[0]["payload"]["verdict"] == "not_theft"
    payments = api.as_gw(token, "get", f"/v1/households/{hid}/payments").json
    assert payments["gateway"][0]["payload"]["amount_paise"] == 5000 and payments["cloud"] == []


def test_same_key_from_two_households_is_two_events(api):
    _, token_a = api.gateway("A")
    _, token_b = api.gateway("B")
    e = event()
    assert api.as_gw(token_a, "post", "/v1/events", json={"events": [e]}).json["new"] == [e["key"]]
    assert api.as_gw(token_b, "post", "/v1/events", json={"events": [e]}).json["new"] == [e["key"]]


def test_concurrent_duplicate_batches_store_each_event_once(store):
    app = create_app(store, ServerSettings(admin_token=ADMIN))
    server = ThreadServer(app, threads=8)
    try:
        import requests

        hid, code = store.add_household("A")
        token = requests.post(server.url + "/v1/register", json={"code": code}, timeout=5).json()["token"]
        batch = [event() for _ in range(200)]
        results = []

        def post():
            with requests.Session() as s:
                r = s.post(
                    server.url + "/v1/events",
                    json={"events": batch},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                results.append(r.json())

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(len(r["new"]) for r in results) == 200
        assert all(len(r["new"]) + len(r["duplicate"]) == 200 for r in results)
        assert store.event_counts() == (200, 200)
    finally:
        server.close()


BAD_EVENTS = [
    (lambda e: e.pop("key"), "events[0].key"),
    (lambda e: e.update(key="not-a-uuid"), "events[0].key"),
    (lambda e: e.update(key=str(uuid.uuid4()).upper()), "events[0].key"),
    (lambda e: e.update(kind="bill_opened"), "events[0].kind"),
    (lambda e: e.update(created_ms="yesterday"), "events[0].created_ms"),
    (lambda e: e.update(created_ms=True), "events[0].created_ms"),
    (lambda e: e.update(created_ms=-1), "events[0].created_ms"),
    (lambda e: e.update(created_ms=10**30), "events[0].created_ms"),
    (lambda e: e.update(payload=[1, 2]), "events[0].payload"),
    (lambda e: e.update(payload={"x": "y" * 20000}), "events[0].payload"),
    (lambda e: e.update(extra=1), "events[0].extra"),
]


@pytest.mark.parametrize("mutate,field", BAD_EVENTS)
def test_bad_event_fields_are_400_naming_the_field(api, mutate, field):
    _, token = api.gateway()
    e = event()
    mutate(e)
    r = api.as_gw(token, "post", "/v1/events", json={"events": [e]})
    assert r.status_code == 400 and r.json["field"] == field, r.json
    assert api.store.event_counts() == (0, 0)


@pytest.mark.parametrize(
    "body,field",
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b'{"events": []}', "events"),
        (b'{"events": {}}', "events"),
        (b"\xff\xfe", "body"),
        (b'{"events": [NaN]}', "body"),
        (b"[" * 50000, "body"),
    ],
)
def test_malformed_bodies_are_400(api, body, field):
    _, token = api.gateway()
    r = api.as_gw(token, "post", "/v1/events", data=body, content_type="application/json")
    assert r.status_code == 400 and r.json["field"] == field


def test_oversize_body_is_413(api):
    _, token = api.gateway()
    r = api.as_gw(token, "post", "/v1/events", json={"events": [event(blob="x" * 70000)]})
    assert r.status_code == 413


def test_too_many_events_in_one_batch_is_400(api):
    _, token = api.gateway()
    app = create_app(api.store, ServerSettings(max_batch=5))
    r = app.test_client().post(
        "/v1/events", json={"events": [event() for _ in range(6)]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 400 and r.json["field"] == "events"


# ---- changes, payments, webhook ---------------------------------------------------------------


def test_changes_are_paged_by_cursor_and_scoped_to_the_household(api):
    hid, token = api.gateway("A")
    other, _ = api.gateway("B")
    api.admin(
        "post",
        f"/v1/admin/households/{hid}/counter-payments",
        json={"bill_id": "b1", "amount_paise": 50000, "reference": "r1"},
    )
    api.admin("post", f"/v1/admin/households/{other}/counter-payments", json={"amount_paise": 1, "reference": "r2"})
    api.admin("post", "/v1/admin/tariffs", json={"tariff": {"slabs": [[100, 350], [None, 700]]}})
    r = api.admin(
        "put",
        "/v1/admin/models/v2",
        data={
            "model": (io.BytesIO(b"onnx-bytes"), "model.onnx"),
            "metadata": (io.BytesIO(json.dumps(METADATA).encode()), "metadata.json"),
        },
    )
    assert r.status_code == 201 and len(r.json["sha256"]) == 64
    page = api.as_gw(token, "get", "/v1/changes?cursor=0&limit=2").json
    assert [c["type"] for c in page["changes"]] == ["payment_confirmed", "tariff_updated"] and page["more"]
    rest = api.as_gw(token, "get", f"/v1/changes?cursor={page['cursor']}&limit=2").json
    assert [c["type"] for c in rest["changes"]] == ["model_published"] and not rest["more"]
    done = api.as_gw(token, "get", f"/v1/changes?cursor={rest['cursor']}").json
    assert done == {"changes": [], "cursor": rest["cursor"], "more": False}
    model = api.as_gw(token, "get", rest["changes"][0]["data"]["path"])
    assert model.data == b"onnx-bytes"
    assert api.as_gw(token, "get", "/v1/changes?cursor=-1").status_code == 400
    dup = api.admin(
        "post",
        f"/v1/admin/households/{hid}/counter-payments",
        json={"bill_id": "b1", "amount_paise": 50000, "reference": "r1"},
    )
    assert dup.json["status"] == "duplicate"


def test_payments_past_a_thousand_are_paged_by_after_on_a_real_server(store):
    """1,201 payments each way reach the household page by page, once each, in order; another's never."""
    import requests

    n = 1201
    server = ThreadServer(create_app(store, ServerSettings(admin_token=ADMIN)))
    try:
        with requests.Session() as s:
            hid, code = store.add_household("A")
            other, other_code = store.add_household("B")
            token = s.post(server.url + "/v1/register", json={"code": code}, timeout=10).json()["token"]
            other_token = s.post(server.url + "/v1/register", json={"code": other_code}, timeout=10).json()["token"]
            gw, admin = {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {ADMIN}"}
            sent = [event("payment_created", payment_id=f"p{i}", amount_paise=100 + i) for i in range(n)]
            for i in range(0, n, 1000):
                assert (
                    s.post(
                        server.url + "/v1/events", json={"events": sent[i : i + 1000]}, headers=gw, timeout=30
                    ).status_code
                    == 200
                )
            s.post(
                server.url + "/v1/events",
                json={"events": [event("payment_created", payment_id="theirs", amount_paise=1)]},
                headers={"Authorization": f"Bearer {other_token}"},
                timeout=10,
            )
            for i in range(n):
                r = s.post(
                    f"{server.url}/v1/admin/households/{hid}/counter-payments",
                    json={"amount_paise": 200 + i, "reference": f"r{i}"},
                    headers=admin,
                    timeout=10,
                )
                assert r.status_code == 201
            s.post(
                f"{server.url}/v1/admin/households/{other}/counter-payments",
                json={"amount_paise": 1, "reference": "theirs"},
                headers=admin,
                timeout=10,
            )

            url = f"{server.url}/v1/households/{hid}/payments"
            first = s.get(url, params={"limit": 1000}, headers=gw, timeout=30).json()
            assert len(first["gateway"]) == 1000 and len(first["cloud"]) == 1000
            gateway, cloud, after, cloud_after, pages = [], [], 0, 0, 0
            while True:
                page = s.get(
                    url, params={"after": after, "cloud_after": cloud_after, "limit": 500}, headers=gw, timeout=30
                ).json()
                if not page["gateway"] and not page["cloud"]:
                    break
                pages += 1
                gateway += page["gateway"]
                cloud += page["cloud"]
                after = page["gateway"][-1]["id"] if page["gateway"] else after
                cloud_after = page["cloud"][-1]["id"] if page["cloud"] else cloud_after
            bad = s.get(url, params={"after": -1}, headers=gw, timeout=10)
            unknown = s.get(url, params={"cursor": 5}, headers=gw, timeout=10)
    finally:
        server.close()
    assert pages == 3
    assert [g["payload"]["payment_id"] for g in gateway] == [f"p{i}" for i in range(n)]
    assert [c["amount_paise"] for c in cloud] == [200 + i for i in range(n)]
    assert sum(c["amount_paise"] for c in cloud) == 200 * n + n * (n - 1) // 2
    assert bad.status_code == 400 and bad.json()["field"] == "after"
    assert unknown.status_code == 400 and "cloud_after" in unknown.json()["error"]


def model_upload(model: bytes, metadata) -> dict:
    meta = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    return {"model": (io.BytesIO(model), "model.onnx"), "metadata": (io.BytesIO(meta), "metadata.json")}


def test_a_model_is_announced_with_its_metadata_and_may_be_larger_than_other_bodies(api):
    _, token = api.gateway()
    onnx = (SHIPPED / "model.onnx").read_bytes()  # 3 MB, over the 64 KiB body limit of events
    r = api.admin("put", "/v1/admin/models/2025-06", data=model_upload(onnx, METADATA))
    assert r.status_code == 201, r.json
    [change] = api.as_gw(token, "get", "/v1/changes?cursor=0").json["changes"]
    assert change["type"] == "model_published"
    assert change["data"]["metadata"] == METADATA and change["data"]["size_bytes"] == len(onnx)
    got = api.as_gw(token, "get", change["data"]["path"])
    assert got.data == onnx and got.headers["X-Content-SHA256"] == change["data"]["sha256"]
    again = api.admin("put", "/v1/admin/models/2025-06", data=model_upload(onnx, METADATA))
    assert again.status_code == 409 and again.json["field"] == "version"


def without(path: str) -> dict:
    """METADATA without one (dotted) key."""
    meta = json.loads(json.dumps(METADATA))
    *parents, last = path.split(".")
    node = meta
    for key in parents:
        node = node[key]
    del node[last]
    return meta


@pytest.mark.parametrize(
    "model, metadata, field",
    [
        (b"m", None, "metadata"),
        (None, METADATA, "model"),
        (b"", METADATA, "model"),
        (b"m", b"not json", "metadata"),
        (b"m", b'{"features_version": 4, "threshold": NaN}', "metadata"),
        (b"m", [METADATA], "metadata"),
        (b"m", without("features_version"), "metadata.features_version"),
        (b"m", {**METADATA, "features_version": "4"}, "metadata.features_version"),
        (b"m", without("threshold"), "metadata.threshold"),
        (b"m", {**METADATA, "threshold": 1.5}, "metadata.threshold"),
        (b"m", without("check_set"), "metadata.check_set"),
        (b"m", without("check_set.days"), "metadata.check_set.days"),
        (b"m", without("metrics"), "metadata.metrics.check_set"),
        (b"m", without("metrics.check_set.roc_auc"), "metadata.metrics.check_set.roc_auc"),
        (b"m", {**METADATA, "feature_names": "power_w"}, "metadata.feature_names"),
    ],
)
def test_a_model_without_what_gateways_need_is_refused_naming_the_field(api, model, metadata, field):
    upload = model_upload(model if model is not None else b"", metadata if metadata is not None else b"")
    if model is None:
        del upload["model"]
    if metadata is None:
        del upload["metadata"]
    r = api.admin("put", "/v1/admin/models/m1", data=upload)
    assert r.status_code == 400 and r.json["field"] == field, r.json
    assert api.store.model("m1") is None


def test_a_model_upload_is_multipart_and_bounded(store):
    raw = create_app(store, ServerSettings(admin_token=ADMIN)).test_client()
    auth = {"Authorization": f"Bearer {ADMIN}"}
    r = raw.put("/v1/admin/models/m1", data=b"onnx bytes alone", headers=auth, content_type="application/octet-stream")
    assert r.status_code == 400 and r.json["field"] == "body"  # the metadata is not optional any more
    small = create_app(store, ServerSettings(admin_token=ADMIN, max_model_bytes=10_000)).test_client()
    r = small.put("/v1/admin/models/m1", data=model_upload(b"x" * 20_000, METADATA), headers=auth)
    assert r.status_code == 413 and store.model("m1") is None
    r = raw.put("/v1/admin/models/m1", data=model_upload(b"x", METADATA))
    assert r.status_code == 401


def test_payment_order_carries_a_upi_intent(api):
    hid, token = api.gateway()
    r = api.as_gw(
        token, "post", f"/v1/households/{hid}/payment-orders", json={"bill_id": "2025-06", "amount_paise": 123405}
    )
    assert r.status_code == 201
    intent = r.json["upi_intent"]
    assert intent.startswith("upi://pay?pa=powergw%40upi&") and "am=1234.05" in intent and "cu=INR" in intent
    assert f"tr={r.json['order_id']}" in intent
    bad = api.as_gw(token, "post", f"/v1/households/{hid}/payment-orders", json={"bill_id": "b", "amount_paise": 12.5})
    assert bad.status_code == 400 and bad.json["field"] == "amount_paise"


def webhook_body(order_id, payment_id="pay_1", amount=123405, created_s=1_750_000_000):
    return json.dumps(
        {
            "entity": "event",
            "event": "payment.captured",
            "created_at": created_s,
            "payload": {
                "payment": {
                    "entity": {
                        "id": payment_id,
                        "amount": amount,
                        "currency": "INR",
                        "order_id": order_id,
                        "method": "upi",
                    }
                }
            },
        }
    ).encode()


def test_webhook_checks_signature_and_ignores_replays(api, clock):
    hid, token = api.gateway()
    order = api.as_gw(
        token, "post", f"/v1/households/{hid}/payment-orders", json={"bill_id": "b1", "amount_paise": 123405}
    ).json
    body = webhook_body(order["order_id"])

    def hook(raw, event_id="evt_1", sig=None):
        return api.c.post(
            "/v1/webhooks/razorpay",
            data=raw,
            content_type="application/json",
            headers={
                "X-Razorpay-Signature": sig if sig is not None else razorpay_signature(HOOK, raw),
                "X-Razorpay-Event-Id": event_id,
            },
        )

    assert hook(body, sig="0" * 64).status_code == 400
    assert hook(body, sig="é").status_code == 400
    assert hook(body[:-1] + b" }").status_code == 200  # a signature over exactly these bytes is fine
    assert hook(body).json["status"] == "duplicate"  # same event id: no effect
    assert hook(body, event_id="evt_2").json["status"] == "ok"  # new event, same payment: stored once
    stale = webhook_body(order["order_id"], "pay_2", created_s=1_750_000_000 - 3 * 86400)
    r = hook(stale, event_id="evt_3")
    assert r.status_code == 400 and r.json["field"] == "created_at"
    changes = api.as_gw(token, "get", "/v1/changes").json["changes"]
    assert [c["data"]["amount_paise"] for c in changes] == [123405]
    assert changes[0]["data"]["bill_id"] == "b1" and changes[0]["data"]["payment_id"] == "pay_1"
    assert api.as_gw(token, "get", f"/v1/households/{hid}/payments").json["cloud"][0]["source"] == "razorpay"


# ---- never a 500 for bad input ----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "key": st.one_of(st.uuids().map(str), st.text(max_size=40)),
        "kind": st.sampled_from(["bill_closed", "feedback", "x", ""]),
        "created_ms": st.one_of(st.integers(), st.text(max_size=5)),
        "payload": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(event_like, min_size=1, max_size=3).map(lambda es: json.dumps({"events": es}).encode()),
    )
)
def test_no_input_makes_a_500(api, body):
    if not hasattr(api, "token"):
        api.hid, api.token = api.gateway()
    for path in ("/v1/events", "/v1/register", f"/v1/households/{api.hid}/payment-orders", "/v1/webhooks/razorpay"):
        r = api.as_gw(
            api.token,
            "post",
            path,
            data=body,
            content_type="application/json",
            headers={"X-Razorpay-Signature": razorpay_signature(HOOK, body), "X-Razorpay-Event-Id": "e"},
        )
        assert r.status_code < 500, (path, r.status_code, r.data[:200])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.binary(max_size=50),
    metadata=st.one_of(
        st.binary(max_size=100),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({}, optional={k: json_values for k in METADATA}).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_no_model_upload_makes_a_500(api, model, metadata):
    r = api.admin("put", "/v1/admin/models/fuzz", data=model_upload(model, metadata))
    assert r.status_code in (201, 400, 409), (r.status_code, r.data[:200])
