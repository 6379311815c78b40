"""`powergw calibrate` against the firmware's own node (firmware/host/powernode-host) on a real
pseudo-terminal: the node answers CONFIG frames with LOG + HELLO from its C core. Zero, known-load
correction, a node that refuses, a wrong node id and a silent port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tty
from pathlib import Path

import pytest

from gateway import PowerGwError
from gateway.calibration import sensitivity_correction
from tests.support.cable import Cable

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "firmware/host/powernode-host"
NODE = "a4:cf:12:34:56:78"


@pytest.fixture
def node(host_node, tmp_path):
    """Start a real-time host node behind a cable; yields (start(args...), cable, nvs path)."""
    cable = Cable()
    cable.start()
    procs = []
    nvs = tmp_path / "nvs.txt"

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                str(host_node),
                "--out",
                cable.node_path,
                "--windows",
                "0",
                "--window-ms",
                "200",
                "--realtime",
                "--nvs",
                str(nvs),
                "--seed",
                "5",
                *args,
            ],
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        return proc

    yield start, cable, nvs
    for proc in procs:
        proc.terminate()
        proc.wait(10)
    cable.close()


def powergw(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_sensitivity_correction_maths():
    assert sensitivity_correction(660, 1050.0, 1000.0) == 693  # reads 5 % high: sensor is 5 % more sensitive
    assert sensitivity_correction(1850, 950.0, 1000.0) == 1758
    with pytest.raises(PowerGwError, match="is the load switched on"):
        sensitivity_correction(660, 3.0, 1000.0)
    with pytest.raises(PowerGwError, match="outside what a node accepts"):
        sensitivity_correction(4000, 2000.0, 1000.0)


def test_known_load_corrects_the_sensitivity(node):
    start, cable, nvs = node
    # the synthetic sensor is 5 % more sensitive than the 30 A datasheet value (66.0 mV/A)
    start("--watts", "1000", "--true-mv-per-a-x10", "693")
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--known-watts", "1000", "--timeout", "10")
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    assert re.search(r"averaged 10[45]\d\.\d W over 5 readings", out), out
    new = int(re.search(r"mv_per_a_x10 660 -> (\d+)", out).group(1))
    assert abs(new - 693) <= 3, out
    after = float(re.search(r"now reading ([\d.]+) W", out).group(1))
    assert abs(after - 1000) <= 5, out
    assert "node says: applied mv_per_a_x10=" in out
    assert f"mv_per_a_x10={new}" in nvs.read_text()  # the node stored it in its "flash"


def test_zero_with_the_load_off_then_a_node_that_refuses(node):
    start, cable, nvs = node
    start("--watts", "0", "--zero-error-mv", "25")
    run = powergw(
        "calibrate", "--port", cable.gateway_path, "--node", NODE, "--zero", "--vnom", "240", "--timeout", "10"
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert "node says: applied vnom_dv=2400" in run.stdout
    assert "node says: applied zero=now: zero" in run.stdout
    assert "zero_uv=" in nvs.read_text() and "vnom_dv=2400" in nvs.read_text()


def test_node_refuses_zero_under_load(node):
    start, cable, _ = node
    start("--watts", "1500")
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--zero", "--timeout", "10")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"node {NODE} refused 'zero=now': rejected zero=now:" in run.stderr
    assert "switch the load off first" in run.stderr


def test_wrong_node_id_times_out_naming_the_node_it_saw(node):
    start, cable, _ = node
    start("--watts", "500")
    run = powergw(
        "calibrate",
        "--port",
        cable.gateway_path,
        "--node",
        "a4:cf:12:00:00:01",
        "--known-watts",
        "500",
        "--timeout",
        "2",
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no 1 readings (got 0) from node a4:cf:12:00:00:01" in run.stderr
    assert f"frames seen from other nodes: {NODE}" in run.stderr


def test_silent_port_and_bad_arguments(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        run = powergw("calibrate", "--port", path, "--node", NODE, "--zero", "--timeout", "1")
    finally:
        os.close(master)
        os.close(slave)
    assert run.returncode == 2 and f"{path}: no 1 readings (got 0) from node {NODE}" in run.stderr
    run = powergw("calibrate", "--port", "/dev/ttyUSB97", "--node", NODE, "--zero")
    assert run.returncode == 2 and "cannot open /dev/ttyUSB97" in run.stderr and "Traceback" not in run.stderr
    assert "two commands" in powergw("calibrate", "--port", "x", "--node", NODE, "--zero", "--known-watts", "9").stderr
    assert "nothing to do" in powergw("calibrate", "--port", "x", "--node", NODE).stderr
    assert "six hex bytes" in powergw("calibrate", "--port", "x", "--node", "kitchen", "--zero").stderr


# ---- the voltage channel: --known-volts and --resistive-load -------------------------------------

VOLTAGE_NODE = ("--voltage-channel", "--volts", "231.4")


def test_known_volts_resistive_load_and_known_watts_in_one_run(node):
    start, cable, nvs = node
    # the module's real ratio is 4 % above the firmware's factory value; it leads the mains by 4 degrees
    start(*VOLTAGE_NODE, "--watts", "1000", "--true-v-uv-per-mv", "510000", "--zmpt-lead-deg", "4")
    run = powergw(
        "calibrate", "--port", cable.gateway_path, "--node", NODE, "--known-volts", "231.4", "--resistive-load",
        "--known-watts", "1000", "--timeout", "10",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    # one window's power factor, which noise can round to 1.000; the averaged one is checked below
    assert re.search(r"at 222\.\d V \(measured\), power factor (0\.99\d|1\.000)", out), out
    assert re.search(r"averaged 222\.\d V over 5 readings against a known 231\.4 V", out), out
    assert "node says: applied vcal_dv=2314" in out
    after = float(re.search(r"now reading ([\d.]+) V \(known 231\.4 V", out).group(1))
    assert abs(after - 231.4) <= 0.3, out
    pf = re.search(r"power factor of the resistive load (0\.\d+) -> ([01]\.\d+)", out)
    assert float(pf.group(1)) < 0.999 and float(pf.group(2)) >= 0.999, out
    watts = float(re.search(r"now reading ([\d.]+) W \(known 1000 W", out).group(1))
    assert abs(watts - 1000) <= 5, out
    stored = nvs.read_text()
    assert "v_calibrated=1" in stored and "phase_cdeg=" in stored  # the node kept both in its "flash"


def test_voltage_steps_refused_with_reasons(node):
    start, cable, _ = node
    start(*VOLTAGE_NODE, "--watts", "5")  # a phone charger: too little for a phase calibration
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--resistive-load", "--timeout", "10")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert re.search(r"reads \d\.\d W: switch on a resistive load of at least 20 W", run.stderr), run.stderr


def test_voltage_module_off_the_mains_and_a_node_that_refuses_pcal(node):
    start, cable, _ = node
    start(*VOLTAGE_NODE, "--watts", "800", "--true-v-uv-per-mv", "5000000")  # the module reads a tenth
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--known-volts", "231", "--timeout", "10")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert re.search(r"reads 2\d\.\d V on its voltage channel: is the voltage module", run.stderr), run.stderr


def test_node_refuses_a_phase_correction_beyond_its_limit(node):
    start, cable, _ = node
    start(*VOLTAGE_NODE, "--watts", "1000", "--zmpt-lead-deg", "10")  # not the kettle it was said to be
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--resistive-load", "--timeout", "10")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"node {NODE} refused 'pcal=now': rejected pcal=now:" in run.stderr
    assert "is the load resistive" in run.stderr


def test_a_node_without_a_voltage_channel_is_told_to_use_vnom(node):
    start, cable, _ = node
    start("--watts", "500")  # current only: READING with flag bit 2
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--resistive-load", "--timeout", "10")
    assert run.returncode == 2 and "sends no power factor (READING, not READING_BIDIR)" in run.stderr
    run = powergw("calibrate", "--port", cable.gateway_path, "--node", NODE, "--known-volts", "231", "--timeout", "10")
    assert f"node {NODE} does not measure voltage (it assumes 230.0 V, flag bit 2): set the voltage" in run.stderr


def test_voltage_arguments_are_checked_before_the_port_opens():
    assert "two commands" in powergw("calibrate", "--port", "x", "--node", NODE, "--zero", "--resistive-load").stderr
    assert "--known-volts V" in powergw("calibrate", "--port", "x", "--node", NODE).stderr
    run = powergw("calibrate", "--port", "/dev/ttyUSB97", "--node", NODE, "--known-volts", "400")
    assert run.returncode == 2 and "--known-volts 400: expected a mains voltage of 90 to 270 V" in run.stderr
