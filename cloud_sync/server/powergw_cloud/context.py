"""What every view of the API is given: the store, the settings, the clock and the registration limiter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .store import CloudStore


@dataclass(frozen=True)
class ServerSettings:
    """What `create_app` needs besides the store; secrets come from the environment, not argv."""

    admin_token: str = ""
    webhook_secret: str = ""
    webhook_tolerance_s: int = 48 * 3600  # Razorpay retries a webhook for 24 h with the same created_at
    payee_vpa: str = "powergw@upi"
    payee_name: str = "powergw"
    max_body_bytes: int = 1 << 20
    max_model_bytes: int = 32 << 20  # a model upload only; the shipped forest is 3 MB
    max_batch: int = 1000
    max_payload_bytes: int = 16 << 10
    max_register_failures: int = 10  # per client address per 15 minutes: registration codes are 48-bit, typed by people


class AttemptLimiter:
    """At most `limit` failed attempts per key (a client address) within `window_ms`.

    The attempt is counted before it is checked, so concurrent guesses cannot slip past the
    count; `succeeded()` takes it back. In memory: a restart forgets it.
    """

    def __init__(self, clock_ms: Callable[[], int], limit: int = 10, window_ms: int = 15 * 60_000):
        self.clock_ms = clock_ms
        self.limit = limit
        self.window_ms = window_ms
        self._seen: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str) -> int:
        """0 with the attempt counted, or the seconds until one may be tried."""
        now = self.clock_ms()
        with self._lock:
            recent = [t for t in self._seen.get(key, ()) if t > now - self.window_ms]
            if len(recent) >= self.limit:
                self._seen[key] = recent
                return max(1, (recent[0] + self.window_ms - now + 999) // 1000)
            recent.append(now)
            self._seen[key] = recent
            if len(self._seen) > 10_000:
                for k in [k for k, ts in self._seen.items() if not ts or ts[-1] <= now - self.window_ms]:
                    del self._seen[k]
        return 0

    def succeeded(self, key: str) -> None:
        with self._lock:
            recent = self._seen.get(key)
            if recent:
                recent.pop()


@dataclass
class CloudApi:
    """One app's state, handed to each view as its first argument."""

    store: CloudStore
    settings: ServerSettings
    clock: Callable[[], int]
    registrations: AttemptLimiter
    openapi_doc: dict = field(default_factory=dict)
