"""Energy accounting rules of PROTOCOL.md, one test per rule, plus exact time splitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import energy as e
from gateway.protocol import FLAG_RESTORED, Reading

NODE = "a4:cf:12:34:56:78"
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def reading(seq, energy, *, boot=1, uptime=None, power_dw=10_000, flags=0):
    return Reading(
        NODE, boot, seq, uptime if uptime is not None else 1000 * (seq + 1), 1000, 4350, 2300, power_dw, energy, flags
    )


def test_first_reading_is_only_a_baseline():
    acct = e.NodeAccount(NODE)
    iv = e.account_reading(acct, reading(0, 123_456_789), T0)
    assert iv.kind == e.KIND_BASELINE and iv.energy_mwh == 0
    assert acct.energy_mwh == 123_456_789


def test_consecutive_readings_give_counter_deltas():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 1000), T0)
    iv = e.account_reading(acct, reading(1, 1278), T0 + 1000)
    assert (iv.kind, iv.energy_mwh, iv.start_ms, iv.end_ms) == (e.KIND_DELTA, 278, T0, T0 + 1000)


def test_seq_gap_counts_lost_frames_but_loses_no_energy():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 1000), T0)
    iv = e.account_reading(acct, reading(5, 2390), T0 + 5000)
    assert iv.lost_frames == 4
    assert iv.energy_mwh == 1390


def test_other_frame_types_advance_seq():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 1000), T0)
    assert e.note_frame(acct, 1, 1) == 0  # a HELLO
    iv = e.account_reading(acct, reading(2, 1100), T0 + 2000)
    assert iv.lost_frames == 0


def test_duplicate_seq_is_rejected_and_state_untouched():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 1000), T0)
    e.account_reading(acct, reading(1, 1100), T0 + 1000)
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, reading(1, 1100), T0 + 1500)
    assert info.value.reason == e.REJECT_DUPLICATE and info.value.node_id == NODE
    assert acct.seq == 1 and acct.energy_mwh == 1100


def test_counter_backwards_within_boot_is_rejected_then_rebased_if_it_persists():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 5000), T0)
    for i in range(1, e.REBASE_AFTER):
        with pytest.raises(e.AccountingError) as info:
            e.account_reading(acct, reading(i, 100 + i), T0 + 1000 * i)
        assert info.value.reason == e.REJECT_BACKWARDS
    iv = e.account_reading(acct, reading(e.REBASE_AFTER, 200), T0 + 5000)
    assert iv.kind == e.KIND_BASELINE and iv.energy_mwh == 0 and acct.energy_mwh == 200


def test_new_boot_with_restored_counter_accounts_the_gap():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 10_000), T0)
    iv = e.account_reading(acct, reading(0, 10_500, boot=2, uptime=2000, flags=FLAG_RESTORED), T0 + 60_000)
    assert (iv.kind, iv.energy_mwh, iv.start_ms, iv.reboot) == (e.KIND_RESTORED, 500, T0, True)


def test_restored_counter_behind_ours_is_a_new_baseline():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 10_000), T0)
    iv = e.account_reading(acct, reading(0, 9_000, boot=2, uptime=2000, flags=FLAG_RESTORED), T0 + 60_000)
    assert iv.kind == e.KIND_BASELINE and iv.energy_mwh == 0 and iv.reboot
    assert acct.energy_mwh == 9_000 and acct.boot_id == 2


def test_new_boot_without_restore_counts_energy_since_boot_and_records_gap():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 10_000), T0)
    iv = e.account_reading(acct, reading(3, 300, boot=2, uptime=4000), T0 + 600_000)
    assert iv.kind == e.KIND_FRESH_BOOT and iv.energy_mwh == 300
    assert iv.start_ms == T0 + 596_000 and iv.gap_ms == 596_000


def test_power_beyond_100_kw_is_impossible():
    acct = e.NodeAccount(NODE)
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, reading(0, 0, power_dw=1_000_001), T0)
    assert info.value.reason == e.REJECT_POWER


def test_energy_step_beyond_100_kw_is_impossible():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 0), T0)
    # 100 kW for 1 s (+1 s slack) is 55,555 mWh; 60,000 mWh in one second is not possible.
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, reading(1, 60_000), T0 + 1000)
    assert info.value.reason == e.REJECT_STEP
    assert e.account_reading(acct, reading(2, 50_000), T0 + 2000).energy_mwh == 50_000


def test_counter_above_2_63_is_refused_not_crashing(vectors):
    from gateway.protocol import decode_frame

    v = next(v for v in vectors["valid"] if v["name"] == "reading_saturated")
    r = decode_frame(bytes.fromhex(v["frame_hex"]))
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(e.NodeAccount(r.node_id), r, T0)
    assert info.value.reason == e.REJECT_COUNTER


def test_uptime_wrap_is_handled():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 0, uptime=2**32 - 500), T0)
    iv = e.account_reading(acct, reading(1, 270, uptime=500), T0 + 1000)
    assert iv.energy_mwh == 270


def test_split_across_midnight_is_proportional():
    # 2 minutes, 1 before and 1 after a minute boundary: half and half.
    parts = e.split_by_time(T0 - 60_000, T0 + 60_000, 1001)
    assert sum(m for _, m in parts) == 1001
    assert parts == [(T0 - 60_000, 500), (T0, 501)]


@given(
    st.integers(0, 10**12),
    st.integers(0, 10 * 86_400_000),
    st.integers(0, 10**9),
)
def test_split_is_exact_and_within_bounds(start, length, energy):
    parts = e.split_by_time(start, start + length, energy)
    assert sum(m for _, m in parts) == energy
    assert all(m >= 0 for _, m in parts)
    first_bucket = start - start % 60_000
    assert all(first_bucket <= b <= max(first_bucket, start + length - 1) for b, _ in parts)
    assert [b for b, _ in parts] == sorted({b for b, _ in parts})


# ---- READING_BIDIR: the export counter follows the same rules --------------------------------


def bidir(seq, energy, export, *, boot=1, uptime=None, power_dw=-10_000, flags=0, pf=990):
    up = uptime if uptime is not None else 1000 * (seq + 1)
    return Reading(NODE, boot, seq, up, 1000, 4350, 2312, power_dw, energy, flags, export, pf)


def test_bidir_first_reading_is_a_baseline_for_both_counters():
    acct = e.NodeAccount(NODE)
    iv = e.account_reading(acct, bidir(0, 5_000, 70_000), T0)
    assert (iv.kind, iv.energy_mwh, iv.export_mwh) == (e.KIND_BASELINE, 0, 0)
    assert (acct.energy_mwh, acct.export_mwh) == (5_000, 70_000)


def test_bidir_deltas_and_lost_frames_count_both_counters():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, bidir(0, 5_000, 70_000), T0)
    iv = e.account_reading(acct, bidir(1, 5_000, 70_278), T0 + 1000)
    assert (iv.kind, iv.energy_mwh, iv.export_mwh) == (e.KIND_DELTA, 0, 278)
    iv = e.account_reading(acct, bidir(6, 5_100, 71_000), T0 + 6000)  # 4 frames lost, both counters moved
    assert (iv.lost_frames, iv.energy_mwh, iv.export_mwh, iv.start_ms) == (4, 100, 722, T0 + 1000)


def test_bidir_export_backwards_is_refused_whole_and_state_untouched():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, bidir(0, 5_000, 70_000), T0)
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, bidir(1, 5_050, 69_000), T0 + 1000)
    assert info.value.reason == e.REJECT_BACKWARDS and "export counter 69000 mWh below 70000" in str(info.value)
    assert (acct.seq, acct.energy_mwh, acct.export_mwh) == (0, 5_000, 70_000)


def test_bidir_restored_counters_cover_the_gap_or_rebase():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, bidir(0, 5_000, 70_000), T0)
    iv = e.account_reading(acct, bidir(0, 5_200, 70_900, boot=2, uptime=2000, flags=FLAG_RESTORED), T0 + 60_000)
    assert (iv.kind, iv.energy_mwh, iv.export_mwh, iv.reboot) == (e.KIND_RESTORED, 200, 900, True)
    # flash saved the export counter before the last value the gateway saw: a new baseline, no energy
    iv = e.account_reading(acct, bidir(0, 5_300, 70_800, boot=3, uptime=2000, flags=FLAG_RESTORED), T0 + 120_000)
    assert (iv.kind, iv.energy_mwh, iv.export_mwh) == (e.KIND_BASELINE, 0, 0)
    assert (acct.energy_mwh, acct.export_mwh) == (5_300, 70_800)


def test_bidir_fresh_boot_counts_both_counters_since_boot():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, bidir(0, 5_000, 70_000), T0)
    iv = e.account_reading(acct, bidir(0, 12, 80, boot=2, uptime=3000), T0 + 600_000)
    assert (iv.kind, iv.energy_mwh, iv.export_mwh) == (e.KIND_FRESH_BOOT, 12, 80)
    assert iv.gap_ms == 600_000 - 3000


def test_a_node_that_gains_a_voltage_channel_starts_its_export_counter_as_a_baseline():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, reading(0, 1000), T0)
    iv = e.account_reading(acct, bidir(1, 1100, 900_000), T0 + 1000)  # same boot: export was never seen
    assert (iv.energy_mwh, iv.export_mwh) == (100, 0)
    iv = e.account_reading(acct, bidir(2, 1100, 900_250), T0 + 2000)
    assert (iv.energy_mwh, iv.export_mwh) == (0, 250)
    iv = e.account_reading(acct, reading(3, 1200), T0 + 3000)  # and back: no export from a READING
    assert (iv.energy_mwh, iv.export_mwh, acct.export_mwh) == (100, 0, None)


def test_bidir_step_check_counts_import_and_export_together():
    acct = e.NodeAccount(NODE)
    e.account_reading(acct, bidir(0, 0, 0), T0)
    limit = int(2000 * e.MAX_MWH_PER_MS)  # 1 s window + 1 s slack
    e.account_reading(acct, bidir(1, limit // 2, limit // 2), T0 + 1000)
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, bidir(2, limit // 2 + limit, limit // 2 + 2), T0 + 2000)
    assert info.value.reason == e.REJECT_STEP


def test_bidir_export_counter_beyond_2_63_is_refused():
    acct = e.NodeAccount(NODE)
    with pytest.raises(e.AccountingError) as info:
        e.account_reading(acct, bidir(0, 0, 2**63 + 5), T0)
    assert info.value.reason == e.REJECT_COUNTER
