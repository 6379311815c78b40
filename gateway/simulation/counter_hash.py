"""Counter-based hashing: well-mixed bits and uniform floats that depend only on their key (splitmix64)."""

from __future__ import annotations

import numpy as np

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A counter-based hash: uint64 -> well-mixed uint64, elementwise (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def uniform(key: np.ndarray) -> np.ndarray:
    """uint64 keys -> floats in (0, 1)."""
    return ((splitmix64(key) >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
