"""The power-cut log: real frames through the real Ingest into a SQLite file, the daemon's job on it."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.alerts import AlertStore
from gateway.app import open_store
from gateway.supply import jobs as supply_jobs
from gateway.supply.cuts import Run
from gateway.supply.jobs import gateway_run, track_cuts
from gateway.supply.tables import SupplyTables

MIN = 60_000


def logged(fleet):
    return SupplyTables(fleet.ingest.store).cuts(0, 2**62)


def test_every_node_silent_and_back_restarted_is_one_cut_from_the_last_reading_to_the_first_boot(fleet):
    fleet.run(120)
    last_reading = fleet.now()
    fleet.silence(40 * MIN)
    fleet.restart("mains", "kitchen", booted_ms_ago=1_500)
    first_boot = fleet.now() - 500  # the first reading comes a second later, 1.5 s after the boot
    fleet.run(200)
    assert fleet.cuts_job() != []
    (cut,) = logged(fleet)
    assert (cut.start_ms, cut.end_ms, cut.nodes, cut.missing) == (last_reading, first_boot, 2, 0)
    assert cut.duration_ms == 40 * MIN - 500
    assert fleet.cuts_job() == [] and len(logged(fleet)) == 1  # judged once


def test_a_node_restarting_alone_is_no_cut(fleet):
    fleet.run(60)
    fleet.silence(2 * MIN, powered=("kitchen",))
    fleet.run(30, only=("kitchen",))  # the kitchen keeps reporting while the mains node is down
    fleet.restart("mains")
    fleet.run(120)
    fleet.cuts_job()
    assert logged(fleet) == []


def test_nodes_back_without_restarting_were_never_cut_and_its_alert_says_so(fleet):
    """The gateway (or the radio link) was down: the nodes ran through it, uptime and boot_id unbroken."""
    fleet.run(60)
    fleet.silence(45 * MIN, powered=("mains", "kitchen"))
    assert fleet.cuts_job(alerts=True) == []
    (ongoing,) = AlertStore(fleet.ingest.store).list(kind="power_cut")
    assert ongoing["state"] == "open" and "No node has reported since" in ongoing["message"]
    assert "(45 min)" in ongoing["message"]
    fleet.run(200)
    fleet.cuts_job(alerts=True)
    assert logged(fleet) == []
    (closed,) = AlertStore(fleet.ingest.store).list(kind="power_cut")
    assert closed["state"] == "resolved"
    history = AlertStore(fleet.ingest.store).get(closed["id"])["actions"]
    assert "not a power cut" in history[-1]["comment"]


def test_a_long_cut_alerts_while_it_lasts_and_closes_with_its_length_only_when_alerts_are_on(fleet):
    fleet.run(60)
    fleet.silence(20 * MIN)
    fleet.cuts_job(alerts=True, cut_alert_minutes=30)
    assert AlertStore(fleet.ingest.store).list(kind="power_cut") == []  # not long enough yet
    fleet.silence(25 * MIN)
    fleet.cuts_job()  # alerts off (the default): nothing
    assert AlertStore(fleet.ingest.store).list(kind="power_cut") == []
    fleet.cuts_job(alerts=True, cut_alert_minutes=30)
    fleet.restart("mains", "kitchen")
    fleet.run(200)
    fleet.cuts_job(alerts=True, cut_alert_minutes=30)
    (alert,) = AlertStore(fleet.ingest.store).list(kind="power_cut")
    assert alert["state"] == "resolved" and alert["message"].startswith("Power cut from ")
    assert alert["message"].endswith("(45 min)") and alert["data"]["ongoing"] is False


def test_a_short_cut_is_logged_without_an_alert(fleet):
    fleet.run(60)
    fleet.silence(5 * MIN)
    fleet.restart("mains", "kitchen")
    fleet.run(200)
    fleet.cuts_job(alerts=True, cut_alert_minutes=30)
    assert len(logged(fleet)) == 1
    assert AlertStore(fleet.ingest.store).list(kind="power_cut") == []


def test_a_cut_while_the_gateway_was_down_is_inferred_when_it_starts_again(make_fleet, tmp_path):
    """No UPS: the gateway dies with the supply; a new process on the same file finds the cut from
    the gap and the nodes' new boots."""
    fleet = make_fleet()
    fleet.run(90)
    fleet.cuts_job()
    last_reading = fleet.now()
    fleet.ingest.flush()
    fleet.ingest.store.close()
    fleet.clock.advance(3 * 3_600_000)  # three hours without power; the Pi boots a minute after the nodes
    for n in fleet.nodes.values():
        n.boot, n.seq, n.uptime_ms = n.boot + 1, 0, 60_000
    from gateway.clock import AnchoredClock
    from gateway.ingest import Ingest, LiveBoard

    fleet.ingest = Ingest(open_store(fleet.db), AnchoredClock(fleet.clock, 2000), live=LiveBoard(None))
    fleet.run(200)
    fleet.cuts_job()
    (cut,) = logged(fleet)
    assert cut.start_ms == last_reading
    assert cut.end_ms == last_reading + 3 * 3_600_000 - 60_000  # the nodes' boot, before the gateway's
    assert cut.nodes == 2


def test_a_silence_being_judged_survives_a_restart_of_the_gateway(make_fleet):
    fleet = make_fleet("mains", "kitchen", "pump")
    fleet.run(60)
    fleet.silence(30 * MIN)
    fleet.restart("mains", "kitchen")
    fleet.run(20, only=("mains", "kitchen"))  # the pump is slower to come back
    assert fleet.cuts_job() == []  # still waiting for the pump, with the first returns saved
    tracker, _ = SupplyTables(fleet.ingest.store).tracker()
    assert tracker.silence is not None and set(tracker.silence.back) == {1, 2}
    store = open_store(fleet.db)  # another process: the daemon after a restart
    try:
        fleet.restart("pump")
        fleet.run(5)
        fleet.ingest.flush()
        ctx = fleet.context()
        ctx.store = store
        (cut,) = track_cuts(ctx)
    finally:
        store.close()
    assert cut.nodes == 3 and cut.missing == 0


def test_a_node_that_does_not_come_back_is_counted_missing_and_one_quiet_long_before_is_not_waited_for(make_fleet):
    fleet = make_fleet("mains", "kitchen", "garage")
    fleet.run(60)
    fleet.silence(10 * MIN, powered=("mains", "kitchen"))
    fleet.run(60, only=("mains", "kitchen"))  # the garage node has been dead for ten minutes
    fleet.silence(30 * MIN)
    fleet.restart("mains", "kitchen")
    fleet.run(30, only=("mains",))  # the kitchen node never comes back
    fleet.silence(3 * MIN, powered=("mains",))
    fleet.cuts_job()
    (cut,) = logged(fleet)
    assert (cut.nodes, cut.missing) == (1, 1)


def test_nodes_reset_by_the_gateway_opening_its_ports_are_no_cut_but_a_host_boot_in_the_silence_is(make_fleet):
    """ESP32 boards reset when the serial port is opened: after a restart of the gateway's process the
    nodes come back restarted, though the supply never failed. The gateway's runs tell that apart."""
    fleet = make_fleet()
    fleet.run(60)
    silent_from = fleet.now()
    fleet.silence(2 * MIN)
    restarted_at = fleet.now() - 3_000
    fleet.restart("mains", "kitchen", booted_ms_ago=1_500)  # booted after the process started
    fleet.run(200)
    tables = SupplyTables(fleet.ingest.store)
    tables.record_run(Run(restarted_at, silent_from - 86_400_000))  # the host has been up for a day
    fleet.cuts_job()
    assert logged(fleet) == []

    other = make_fleet(name="other.db")
    other.run(60)
    silent_from = other.now()
    other.silence(2 * MIN)
    restarted_at = other.now() - 3_000
    other.restart("mains", "kitchen", booted_ms_ago=1_500)
    other.run(200)
    SupplyTables(other.ingest.store).record_run(Run(restarted_at, restarted_at - 40_000))  # the host booted too
    other.cuts_job()
    assert len(logged(other)) == 1


def test_a_run_read_twice_is_recorded_once(fleet):
    tables = SupplyTables(fleet.ingest.store)
    tables.record_run(Run(1_000_000, 500_000))
    tables.record_run(Run(1_000_010, 500_010))
    assert tables.runs_since(0) == [Run(1_000_000, 500_000)]


def test_the_gateway_reads_its_own_start_and_its_hosts_boot_from_proc(fleet):
    now = fleet.now()
    run = gateway_run(now)
    assert run is not None and run.host_boot_ms <= run.started_ms <= now
    assert gateway_run(now, proc="/nonexistent") is None


def test_the_log_waits_for_an_unset_clock_but_not_for_ever(fleet):
    """After a start on an unset clock the readings' times may still move; the log waits up to 30 min."""
    fleet.run(60)
    fleet.silence(10 * MIN)
    fleet.restart("mains", "kitchen")
    fleet.run(200)
    fleet.ingest.flush()
    # A day on: this test process's own start (recorded as the gateway's run) is long after the silence.
    fleet.clock.advance(86_400_000)
    unset = SimpleNamespace(clock=SimpleNamespace(trusted=False), ingest=fleet.ingest)
    fleet.ingest.epoch_start_ms = fleet.now() - 5 * MIN
    assert track_cuts(fleet.context(extras={"gateway": unset})) == []
    assert logged(fleet) == [] and SupplyTables(fleet.ingest.store).runs_since(0) == []  # no run dated by it
    fleet.ingest.epoch_start_ms = fleet.now() - 31 * MIN
    assert len(track_cuts(fleet.context(extras={"gateway": unset}))) == 1
    assert len(SupplyTables(fleet.ingest.store).runs_since(0)) == 1  # the daemon's own start, from /proc


def test_a_ble_node_can_show_a_cut_but_never_veto_one(make_fleet):
    """A BLE node's boot_id and uptime are the gateway's guess: a counter restored from flash at the
    same value looks like a node that ran through the cut. The serial node's restart decides."""
    fleet = make_fleet("mains", "porch", ble=("porch",))
    fleet.run(60)
    fleet.silence(20 * MIN, powered=("porch",))  # as the gateway sees the BLE node: no restart
    fleet.restart("mains", booted_ms_ago=1_500)
    first_boot = fleet.now() - 500
    fleet.run(200)
    fleet.cuts_job()
    (cut,) = logged(fleet)
    assert (cut.end_ms, cut.nodes) == (first_boot, 1)


def test_ble_nodes_alone_log_a_cut_only_when_one_shows_a_restart(make_fleet):
    quiet = make_fleet("porch", "shed", ble=("porch", "shed"))
    quiet.run(60)
    quiet.silence(20 * MIN, powered=("porch", "shed"))  # the BLE radio was down: nothing restarted
    quiet.run(200)
    quiet.cuts_job()
    assert logged(quiet) == []

    cut_off = make_fleet("porch", "shed", ble=("porch", "shed"), name="other.db")
    cut_off.run(60)
    start = cut_off.now()
    cut_off.silence(20 * MIN, powered=("shed",))
    cut_off.restart("porch", booted_ms_ago=0)  # its counter went back: the gateway starts a new boot
    cut_off.run(200)
    cut_off.cuts_job()
    (cut,) = logged(cut_off)
    # Only guessed boots: the cut ends at the first reading back, not at a boot time the gateway made up.
    assert (cut.start_ms, cut.end_ms, cut.nodes) == (start, start + 20 * MIN + 1000, 1)


def test_a_long_catch_up_goes_on_over_several_runs_and_judges_nothing_early(fleet, monkeypatch):
    """A gateway upgraded with weeks of readings takes them in a share per run, saving as it goes;
    nothing is judged by the clock (nor called a cut going on) until it has caught up."""
    monkeypatch.setattr(supply_jobs, "CHUNK", 100)
    monkeypatch.setattr(supply_jobs, "MAX_CHUNKS", 2)
    fleet.run(60)
    fleet.silence(40 * MIN)
    fleet.restart("mains", "kitchen")
    fleet.run(300)
    fleet.clock.advance(50 * MIN)  # and all quiet again, long enough for an alert
    runs = 0
    while True:
        runs += 1
        fleet.cuts_job(alerts=True)
        _, taken = SupplyTables(fleet.ingest.store).tracker()
        if taken == fleet.ingest.store.last_reading_id():
            break
        ongoing = [a for a in AlertStore(fleet.ingest.store).list(kind="power_cut") if a["data"]["ongoing"]]
        assert ongoing == []  # the quiet at the end is not called a cut while catching up
    fleet.cuts_job(alerts=True)
    assert runs == 4  # 720 readings, 200 a run
    (cut,) = logged(fleet)
    assert cut.duration_ms == 40 * MIN - 500
    alerts = sorted(AlertStore(fleet.ingest.store).list(kind="power_cut"), key=lambda a: a["id"])
    # the cut found on the way (closed), then the quiet going on now
    assert [(a["data"]["ongoing"], a["state"]) for a in alerts] == [(False, "resolved"), (True, "open")]
