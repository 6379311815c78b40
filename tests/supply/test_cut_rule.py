"""The cut rule as a pure function (gateway/supply/cuts.py), over generated fleets: nodes that reboot on
their own never make a cut, a real cut is always found with its exact start, however the readings
are split between runs of the job."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.supply.cuts import Rule, Seen, Tracker, feed, settle

RULE = Rule(silent_ms=30_000, together_ms=120_000)
T = 1_767_225_600_000


def stream(n_nodes: int, seconds: int, reboots: dict[int, int], cut: tuple[int, int] | None):
    """A reading a second from each node; node k reboots at second reboots[k] (down 20 s alone); during
    `cut` (from, to) every node is dark and each boots again at `to`."""
    out = []
    boot = dict.fromkeys(range(n_nodes), 1)
    booted = dict.fromkeys(range(n_nodes), T)
    for s in range(seconds):
        now = T + 1000 * s
        if cut and cut[0] <= s < cut[1]:
            continue
        for k in range(n_nodes):
            if cut and s == cut[1]:
                boot[k], booted[k] = boot[k] + 1, now - 800
            r = reboots.get(k)
            if r is not None and r <= s < r + 20:
                continue
            if r is not None and s == r + 20:
                boot[k], booted[k] = boot[k] + 1, now - 800
            out.append(Seen(k, now, boot[k], now - booted[k]))
    return out


def run_in_pieces(readings, cuts_at):
    """Feed the readings split at `cuts_at` (the job's runs), settling at each run's end, as the daemon does."""
    tracker, found, start = Tracker(), [], 0
    for end in [*sorted(set(cuts_at)), len(readings)]:
        piece = readings[start:end]
        found += feed(tracker, piece, RULE)
        if piece:
            found += settle(tracker, piece[-1].ts_ms, RULE)
        start = end
    return found + settle(tracker, readings[-1].ts_ms + 10 * RULE.together_ms, RULE)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 5),
    reboot_at=st.lists(st.integers(10, 500), min_size=1, max_size=5),
    splits=st.lists(st.integers(0, 2000), max_size=6),
)
def test_nodes_rebooting_one_at_a_time_never_make_a_cut(n, reboot_at, splits):
    # node k reboots at its own second; one node (the last) never does, so someone always reports
    reboots = {k: reboot_at[k] for k in range(min(n - 1, len(reboot_at)))}
    readings = stream(n, 600, reboots, None)
    assert run_in_pieces(readings, [x % len(readings) for x in splits]) == []


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    cut_from=st.integers(30, 300),
    cut_s=st.integers(31, 3_000),
    splits=st.lists(st.integers(0, 4000), max_size=6),
)
def test_a_cut_of_every_node_is_found_once_with_its_start_and_the_first_boot(n, cut_from, cut_s, splits):
    readings = stream(n, cut_from + cut_s + 200, {}, (cut_from, cut_from + cut_s))
    (cut,) = run_in_pieces(readings, [x % len(readings) for x in splits])
    assert cut.start_ms == T + 1000 * (cut_from - 1)
    assert cut.end_ms == T + 1000 * (cut_from + cut_s) - 800
    assert (cut.nodes, cut.missing) == (n, 0)
