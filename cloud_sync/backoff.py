"""Retry policy: pure functions of values (attempt, status, header, a random draw), no clock.

The delays are gateway.backoff's policy with "equal jitter", a server's Retry-After as a floor."""

from __future__ import annotations

import email.utils
import enum
from collections.abc import Callable

from gateway.backoff import Backoff


class Outcome(enum.Enum):
    """What the sync client does with an HTTP status."""

    OK = "ok"
    RETRY = "retry"  # transient: try again after a backoff delay
    THROTTLED = "throttled"  # 429 / 503: wait at least Retry-After
    PERMANENT = "permanent"  # never retry; dead-letter the event
    UNAUTHORIZED = "unauthorized"  # token refused; keep the events, ask for re-registration


# Statuses that are not "4xx = permanent, 5xx = retry" by their class.
_SPECIAL: dict[int, Outcome] = {
    401: Outcome.UNAUTHORIZED,
    403: Outcome.UNAUTHORIZED,  # our token speaking for another household: a registration fault, not the event's
    408: Outcome.RETRY,  # request timeout
    425: Outcome.RETRY,  # too early
    429: Outcome.THROTTLED,
    503: Outcome.THROTTLED,
}


def classify(status: int) -> Outcome:
    """The outcome table for an HTTP status."""
    if status in _SPECIAL:
        return _SPECIAL[status]
    if 200 <= status < 300:
        return Outcome.OK
    if 400 <= status < 500:
        return Outcome.PERMANENT
    return Outcome.RETRY


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)


def retry_delay_s(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    rand: Callable[[], float],
    retry_after_s: float | None = None,
) -> float:
    """Delay before retry number `attempt` (1 = first retry): exponential backoff, "equal jitter".

    With ceiling = min(cap, base * 2**(attempt-1)), a uniform draw in [ceiling/2, ceiling]: the
    jitter spreads many gateways that lost the same outage apart, so they do not all come back in
    the same second, and the floor makes every step really wait (a draw from [base/2, ceiling]
    can be a second at any attempt). A server's Retry-After is a floor (it knows its load better
    than we do), still capped by a day so a bad header cannot park the queue for good.
    """
    delay = Backoff(initial_s=base_s, factor=2.0, max_s=cap_s).jittered(max(1, attempt), rand)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, 86_400.0))
    return delay
