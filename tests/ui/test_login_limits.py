"""Login limits on a real waitress server: a stranger's wrong passwords lock out the stranger's
address, not the household's admin; concurrent guesses cannot slip past the count; the delay
grows. Other addresses are real: 127.0.0.2 is this machine too, and the server sees it."""

from __future__ import annotations

import http.client
import json
import threading
from http.cookies import SimpleCookie

from tests.support.dashboard import ADMIN_PASSWORD


class Device:
    """A browser on one loopback address: keeps its cookies, sends the login CSRF token."""

    def __init__(self, served, address: str):
        self.port = int(served.url.rsplit(":", 1)[1])
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, **headers) -> tuple[int, dict, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.address, 0))
        try:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            data = None
            if body is not None:
                data = json.dumps(body)
                headers["Content-Type"] = "application/json"
            conn.request(method, path, data, headers)
            resp = conn.getresponse()
            raw = resp.read()
            for header in resp.msg.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return resp.status, json.loads(raw or b"{}"), dict(resp.getheaders())
        finally:
            conn.close()

    def login(self, username: str, password: str) -> tuple[int, dict, dict]:
        csrf = self.request("GET", "/api/v1/session")[1]["csrf"]
        return self.request(
            "POST", "/api/v1/session", {"username": username, "password": password}, **{"X-CSRF-Token": csrf}
        )


def test_a_stranger_cannot_lock_the_admin_out_from_another_address(served):
    stranger, household = Device(served, "127.0.0.2"), Device(served, "127.0.0.1")
    assert [stranger.login("admin", f"guess-{i}")[0] for i in range(5)] == [401] * 5
    status, body, headers = stranger.login("admin", "guess-6")
    assert status == 429 and headers["Retry-After"] == "30" and "try again in 30 s" in body["error"]["message"]
    # Even the right password waits at the stranger's address ...
    assert stranger.login("admin", ADMIN_PASSWORD)[0] == 429
    # ... while the admin logs in from the household's own device at once.
    status, body, _ = household.login("admin", ADMIN_PASSWORD)
    assert status == 200 and body["role"] == "admin"


def test_the_delay_grows_and_is_forgotten(served):
    stranger = Device(served, "127.0.0.3")
    for i in range(5):
        assert stranger.login("admin", f"guess-{i}")[0] == 401
    waits = []
    for i in range(6):
        status, _, headers = stranger.login("admin", "guess")
        assert status == 429
        waits.append(int(headers["Retry-After"]))
        served.clock.advance(waits[-1] * 1000)
        assert stranger.login("admin", f"again-{i}")[0] == 401  # one more try once the wait is over
    assert waits == [30, 60, 120, 240, 480, 900]
    assert stranger.login("admin", "guess")[1]["error"]["status"] == 429
    served.clock.advance(24 * 3_600_000)  # a day without a failure: forgotten
    assert stranger.login("admin", ADMIN_PASSWORD)[0] == 200


def test_one_address_guessing_many_users_waits_too(served):
    stranger = Device(served, "127.0.0.4")
    statuses = [stranger.login(f"user{i}", "guess-guess")[0] for i in range(11)]
    assert statuses == [401] * 10 + [429]


def test_concurrent_wrong_logins_check_only_five_passwords(served):
    """40 at once from one address: the attempt is counted before argon2 runs, so 5 are checked."""
    device = Device(served, "127.0.0.5")
    csrf = device.request("GET", "/api/v1/session")[1]["csrf"]
    statuses, start = [], threading.Barrier(40)

    def guess(i: int) -> None:
        start.wait()
        statuses.append(
            device.request(
                "POST", "/api/v1/session", {"username": "admin", "password": f"guess-{i}"}, **{"X-CSRF-Token": csrf}
            )[0]
        )

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [401] * 5 + [429] * 35


def test_wrong_current_passwords_are_limited_and_a_change_revokes_tokens(served):
    admin = served.session()
    url = served.url + "/api/v1/me/password"
    token = admin.post(served.url + "/api/v1/tokens", json={"name": "script", "role": "admin"}, timeout=10).json()[
        "token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    assert admin.get(served.url + "/api/v1/overview", headers=bearer, timeout=10).status_code == 200
    statuses = [
        admin.put(
            url, json={"current_password": f"guess-{i}", "new_password": "new-password-1"}, timeout=10
        ).status_code
        for i in range(12)
    ]
    assert statuses == [403] * 5 + [429] * 7
    r = admin.put(url, json={"current_password": ADMIN_PASSWORD, "new_password": "new-password-1"}, timeout=10)
    assert r.status_code == 429 and r.headers["Retry-After"] == "30"
    served.clock.advance(30_000)
    r = admin.put(url, json={"current_password": ADMIN_PASSWORD, "new_password": "new-password-1"}, timeout=10)
    assert r.status_code == 200 and r.json()["tokens_revoked"] == 1
    admin.headers["X-CSRF-Token"] = r.json()["csrf"]
    import requests

    assert requests.get(served.url + "/api/v1/overview", headers=bearer, timeout=10).status_code == 401
    assert admin.get(served.url + "/api/v1/tokens", timeout=10).json()["tokens"] == []
