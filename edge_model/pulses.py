"""Switched loads at minute resolution: on/off pulses of one size, against how often the house makes them.

A load switched on and off (a tap on a timer, a pump, a heater on a thermostat) leaves an upward
step and, 3-60 minutes later, a downward step of the same size. Steps are found on the 2-minute
difference (a switch inside a minute spreads over two minute means); an on step is paired with
the first off step of matching size (within 20 %) after it. Pulses are counted per hour by size
(bins 30 % wide), over the last 3 hours, and compared with the same hours' usual count: a new
switched load adds pulses of one size that the house did not make before.
"""

from __future__ import annotations

import warnings

import numpy as np

from edge_model.lifts import REF_DAYS, last_days, past

STEP_MIN_W = 150.0  # the smallest step counted
SIZE_RATIO = 1.3  # one size bin spans this ratio
N_SIZES = 16  # 150 W .. about 10 kW
MATCH = 0.2  # an off step within this share of the on step's size
MIN_ON_MIN, MAX_ON_MIN = 3, 60


def steps(minute_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(minute index, signed size W) of each step of at least STEP_MIN_W."""
    x = np.nan_to_num(np.asarray(minute_w, dtype=np.float64))
    d2 = np.zeros(len(x))
    d2[1:-1] = x[2:] - x[:-2]
    a = np.abs(d2)
    peak = (a >= STEP_MIN_W) & (a >= np.roll(a, 1)) & (a > np.roll(a, -1))
    idx = np.flatnonzero(peak)
    return idx, d2[idx]


def pulses(minute_w: np.ndarray) -> np.ndarray:
    """(n, 3) rows of (start minute, size W, minutes on) of matched on/off pulses."""
    idx, size = steps(minute_w)
    on, on_w = idx[size > 0], size[size > 0]
    off, off_w = idx[size < 0], -size[size < 0]
    out = []
    for t, w in zip(on, on_w, strict=False):
        lo, hi = np.searchsorted(off, t + MIN_ON_MIN), np.searchsorted(off, t + MAX_ON_MIN + 1)
        if hi > lo:
            ok = np.abs(off_w[lo:hi] - w) <= MATCH * np.maximum(off_w[lo:hi], w)
            if ok.any():
                k = lo + int(np.argmax(ok))
                out.append((t, (w + off_w[k]) / 2, off[k] - t))
    return np.asarray(out, dtype=np.float64).reshape(-1, 3)


def pulse_excess(
    minute_w: np.ndarray, days: int, kd: tuple[int, ...] = (1,)
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each k in kd, (days, 24) each: the largest excess of pulses of one size over the last 3
    hours above their usual count at that hour (a Poisson z), held by that size on each of the last
    k days (the lowest of them), and that size in W."""
    counts = np.zeros((days * 24, N_SIZES))
    p = pulses(minute_w)
    if len(p):
        size = np.clip((np.log(p[:, 1] / STEP_MIN_W) / np.log(SIZE_RATIO)).astype(np.int64), 0, N_SIZES - 1)
        np.add.at(counts, ((p[:, 0] // 60).astype(np.int64), size), 1)
    near = counts + np.roll(counts, 1, axis=1) + np.roll(counts, -1, axis=1)  # a size and its neighbours
    three = near.copy()
    three[1:] += near[:-1]
    three[2:] += near[:-2]
    three[:2] = np.nan
    c = three.reshape(days, 24, N_SIZES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        usual = np.nanmean(past(c, REF_DAYS), axis=1)
    z = (c - usual) / np.sqrt(usual + 1.0)
    out = {}
    for k in kd:
        held = last_days(z, k, np.nanmin)
        best = np.nanargmax(np.nan_to_num(held, nan=-np.inf), axis=-1)
        top = np.take_along_axis(held, best[..., None], axis=-1)[..., 0]
        out[k] = (top, STEP_MIN_W * SIZE_RATIO ** (best + 0.5))
    return out
