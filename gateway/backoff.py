"""Backoff policy: values in, values out (a failure count and a random draw in, seconds out); no clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Growth stops after this many steps: any cap is reached long before, and factor ** n stays a finite float.
MAX_STEPS = 60


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `initial_s` after the first failure, times `factor` after each further one, capped at
    `max_s`."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after `failures` failures in a row (1 = the first), without jitter."""
        return min(self.max_s, self.initial_s * self.factor ** min(max(0, failures - 1), MAX_STEPS))

    def jittered(self, failures: int, rand: Callable[[], float]) -> float:
        """The wait drawn with "equal jitter": `delay(failures)` scaled into [1/2, 1] by `rand()`, a draw in [0, 1]."""
        ceiling = self.delay(failures)
        floor = ceiling / 2
        return floor + (ceiling - floor) * rand()
