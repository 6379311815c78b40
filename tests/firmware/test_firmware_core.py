"""The node firmware's C core, run on the host: its unit tests, and the host-built node's frames
decoded by the gateway's own codec from a file and through a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
import tty
from pathlib import Path

import pytest

from gateway import protocol as p

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HOST = FIRMWARE / "host" / "powernode-host"
NODE = "a4:cf:12:34:56:78"
BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"


def run_node(host_node: Path, *args: str, timeout: float = 120) -> tuple[bytes, int, str]:
    """Run the host node to stdout; returns the bytes, its own final energy counter and stderr."""
    out = subprocess.run([str(host_node), *args], capture_output=True, timeout=timeout)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout, final_counter(out.stderr.decode()), out.stderr.decode()


def final_counter(stderr: str, name: str = "energy_mwh") -> int:
    match = re.search(rf"\b{name}=(\d+)", stderr)
    assert match, stderr
    return int(match.group(1))


def decode_all(data: bytes) -> list[p.Frame]:
    items = p.FrameDecoder().feed(data)
    errors = [i for i in items if isinstance(i, p.FrameError)]
    assert not errors, errors
    return items


def run_c_tests(target: str, needs: str) -> list[tuple[str, str]]:
    """`make -C firmware <target>`; fails with its output when it does; returns each "N passed, M failed"."""
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.fail("the firmware tests need make and gcc (scripts/test.sh installs build-essential)")
    out = subprocess.run(["make", "-s", "-C", str(FIRMWARE), target], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        pytest.fail(
            f"make -C firmware {target} exited {out.returncode} (it needs {needs}, which scripts/test.sh installs)"
            f"\n--- stdout\n{out.stdout[-6000:]}\n--- stderr\n{out.stderr[-6000:]}",
            pytrace=False,
        )
    summaries = re.findall(r"^(\d+) passed, (\d+) failed$", out.stdout, re.MULTILINE)
    assert summaries and out.stdout.rstrip().splitlines()[-1] == f"{summaries[-1][0]} passed, 0 failed", out.stdout
    return summaries


def test_c_unit_tests_pass():
    """firmware/test/test_core.c, plain and under ASan + UBSan: the only place the suite runs them."""
    summaries = run_c_tests("test", "gcc, make and libmbedtls-dev")
    assert len(summaries) == 2  # plain and sanitizer builds
    assert all(int(passed) > 30 and failed == "0" for passed, failed in summaries)


def test_c_unit_tests_pass_built_for_32_bits():
    """The same C tests built with gcc -m32: the ESP32's 32-bit int, long and pointer sizes."""
    summaries = run_c_tests("test32", "gcc-multilib and libmbedtls-dev:i386")
    assert len(summaries) == 1 and int(summaries[0][0]) > 30 and summaries[0][1] == "0"


@pytest.mark.parametrize("watts", [100, 1000, 2300, 5000])
def test_host_node_frames_decode_and_count_energy(host_node, watts):
    data, counter, _ = run_node(host_node, "--watts", str(watts), "--windows", "130", "--seed", "7", "--boot-id", "513")
    frames = decode_all(data)
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert {(f.node_id, f.boot_id) for f in frames} == {(NODE, 513)}
    readings = [f for f in frames if isinstance(f, p.Reading)]
    hellos = [f for f in frames if isinstance(f, p.Hello)]
    assert len(readings) == 130
    assert len(hellos) == 3  # at boot, after 60 s and after 120 s
    assert hellos[0].seq == 0 and hellos[0].sensor_amps == 30 and hellos[0].sample_rate_hz == 4000
    energies = [r.energy_mwh for r in readings]
    assert energies == sorted(energies)
    assert energies[-1] == counter
    for r in readings:
        assert r.flags == p.FLAG_NOMINAL_VOLTAGE | p.FLAG_UNCALIBRATED
        assert r.vrms_dv == 2300 and r.window_ms == 1000
        assert abs(r.power_w - watts) <= 0.01 * watts, r
    assert [r.uptime_ms for r in readings] == [350 + 1000 * k for k in range(1, 131)]
    # 130 s at `watts`, within the same 1 %
    assert abs(counter - watts * 130 / 3.6) <= 0.01 * watts * 130 / 3.6


def test_gateway_ingest_stores_what_the_node_counted(host_node, tmp_path):
    from tests.support.ingest import make_ingest

    data, counter, _ = run_node(host_node, "--watts", "1800", "--windows", "300", "--seed", "3")
    ingest, _ = make_ingest(tmp_path / "g.db")
    ingest.feed("file", data)
    ingest.flush()
    first = next(f for f in decode_all(data) if isinstance(f, p.Reading)).energy_mwh
    assert ingest.store.total_energy_mwh(NODE) == counter - first


def test_host_node_noise_frequency_and_window_options(host_node):
    data, counter, _ = run_node(
        host_node,
        "--watts",
        "750",
        "--noise",
        "4",
        "--freq",
        "49.7",
        "--window-ms",
        "200",
        "--windows",
        "50",
        "--seed",
        "11",
    )
    readings = [f for f in decode_all(data) if isinstance(f, p.Reading)]
    assert {r.window_ms for r in readings} == {200}
    # 4 mV of noise adds about 0.1 A in quadrature without zero=now: under 1 % at 3.3 A
    assert all(abs(r.power_w - 750) <= 7.5 for r in readings)
    assert readings[-1].energy_mwh == counter


def test_host_node_saturates_past_its_sensor(host_node):
    data, _, _ = run_node(host_node, "--watts", "9000", "--windows", "3", "--seed", "1")
    frames = decode_all(data)
    readings = [f for f in frames if isinstance(f, p.Reading)]
    assert all(r.flags & p.FLAG_SATURATED for r in readings)
    logs = [f.text for f in frames if isinstance(f, p.Log)]
    assert any(text.startswith("adc saturated") for text in logs)


def test_energy_survives_a_restart_through_nvs(host_node, tmp_path):
    nvs = tmp_path / "nvs.txt"
    _, first_counter, _ = run_node(
        host_node, "--watts", "2300", "--windows", "300", "--nvs", str(nvs), "--boot-id", "1", "--seed", "1"
    )
    saved = int(re.search(r"energy_mwh=(\d+)", nvs.read_text()).group(1))
    assert 0 < saved <= first_counter  # saved on schedule, the tail since then is lost at "power off"
    data, second_counter, _ = run_node(
        host_node, "--watts", "2300", "--windows", "5", "--nvs", str(nvs), "--boot-id", "2", "--seed", "2"
    )
    frames = decode_all(data)
    assert f"restored from flash at {saved} mWh" in frames[1].text
    readings = [f for f in frames if isinstance(f, p.Reading)]
    assert all(r.flags & p.FLAG_RESTORED for r in readings)
    assert saved < readings[0].energy_mwh <= readings[-1].energy_mwh == second_counter


def read_frames(fd: int, want, timeout: float = 20.0) -> list[p.Frame]:
    """Read from a pty master until `want(frames)` is true."""
    decoder = p.FrameDecoder()
    frames: list[p.Frame] = []
    deadline = time.monotonic() + timeout
    while not want(frames):
        left = deadline - time.monotonic()
        assert left > 0, frames
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            for item in decoder.feed(os.read(fd, 4096)):
                assert not isinstance(item, p.FrameError), item
                frames.append(item)
    return frames


def test_host_node_through_a_pseudo_terminal(host_node):
    master, slave = os.openpty()
    tty.setraw(master)
    proc = subprocess.Popen(
        [str(host_node), "--out", os.ttyname(slave), "--windows", "20", "--watts", "1500", "--seed", "5"],
        stderr=subprocess.PIPE,
    )
    try:
        frames = read_frames(master, lambda fs: sum(isinstance(f, p.Reading) for f in fs) == 20)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    readings = [f for f in frames if isinstance(f, p.Reading)]
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert readings[-1].energy_mwh == final_counter(err.decode())


def send_config(fd: int, line: str, seq: int = 0) -> None:
    os.write(fd, p.encode_wire(p.Config(NODE, 0, seq, line)))


def test_host_node_answers_config_frames_on_its_pty(host_node, tmp_path):
    """The same exchange `powergw calibrate` has with a real node: CONFIG in, LOG and HELLO out."""
    master, slave = os.openpty()
    tty.setraw(master)
    nvs = tmp_path / "nvs.txt"
    proc = subprocess.Popen(
        [
            str(host_node),
            "--out",
            os.ttyname(slave),
            "--windows",
            "0",
            "--window-ms",
            "200",
            "--realtime",
            "--watts",
            "0",
            "--true-mv-per-a-x10",
            "693",
            "--nvs",
            str(nvs),
            "--seed",
            "9",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        read_frames(master, lambda fs: any(isinstance(f, p.Reading) for f in fs))
        send_config(master, "name=kitchen-main")
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Hello) for f in fs))
        logs = [f for f in frames if isinstance(f, p.Log)]
        assert logs and logs[-1].text == "applied name=kitchen-main" and logs[-1].level == 1
        assert [f for f in frames if isinstance(f, p.Hello)][-1].name == "kitchen-main"

        send_config(master, "zero=now", 1)
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Hello) for f in fs))
        assert any(isinstance(f, p.Log) and f.text.startswith("applied zero=now") for f in frames), frames

        send_config(master, "vnom_dv=99", 2)
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Hello) for f in fs))
        bad = [f for f in frames if isinstance(f, p.Log)][-1]
        assert bad.level == 2 and "900..2700" in bad.text

        os.write(master, b"garbage\x00")
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Log) for f in fs))
        assert "1 bad frames ignored (last: cobs)" in [f for f in frames if isinstance(f, p.Log)][0].text
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0
    assert "energy_mwh=" in err.decode()
    stored = nvs.read_text()
    assert "name=kitchen-main" in stored and "vnom_dv=2300" in stored and "zero_uv=" in stored


def bthome_values(service_data: bytes, mac: str, bindkey: bytes | None = None) -> dict:
    """Decode service data with the bthome-ble library Home Assistant uses."""
    from bleak.backends.device import BLEDevice
    from bthome_ble import BTHomeBluetoothDeviceData
    from habluetooth import BluetoothServiceInfoBleak

    info = BluetoothServiceInfoBleak(
        "powernode",
        mac,
        -60,
        {},
        {BTHOME_UUID: service_data},
        [BTHOME_UUID],
        "local",
        BLEDevice(mac, "powernode", None),
        None,
        False,
        time.time(),
        None,
    )
    update = BTHomeBluetoothDeviceData(bindkey=bindkey).update(info)
    return {key.key: value.native_value for key, value in update.entity_values.items()}


@pytest.mark.parametrize("bindkey", [None, "231d39c1d7cc1ab1aee224cd096db932"])
def test_host_node_bthome_adverts_decode_with_bthome_ble(host_node, tmp_path, bindkey):
    ble = tmp_path / "ble.jsonl"
    args = ["--watts", "980.5", "--windows", "20", "--ble-out", str(ble), "--ble-every", "5", "--seed", "4"]
    if bindkey:
        args += ["--bind-key", bindkey]
    data, counter, _ = run_node(host_node, *args)
    readings = {r.uptime_ms: r for r in decode_all(data) if isinstance(r, p.Reading)}
    adverts = [json.loads(line) for line in ble.read_text().splitlines()]
    assert len(adverts) == 4
    for k, advert in enumerate(adverts):
        assert advert["mac"] == "A4:CF:12:34:56:7A"  # the ESP32's BLE address is its base MAC + 2
        adv = bytes.fromhex(advert["adv"])
        assert len(adv) <= 31
        sd = bytes.fromhex(advert["service_data"])
        assert sd[0] == (0x41 if bindkey else 0x40)
        values = bthome_values(sd, advert["mac"], bytes.fromhex(bindkey) if bindkey else None)
        r = readings[advert["uptime_ms"]]
        assert values["packet_id"] == k
        assert values["power"] == pytest.approx(r.power_dw / 10)
        assert values["current"] == pytest.approx(r.irms_ma / 1000)
        assert values["voltage"] == pytest.approx(230.0)
        assert values["energy"] == pytest.approx(r.energy_mwh // 1000 / 1000)
    if bindkey:
        wrong = bthome_values(sd, adverts[-1]["mac"], bytes(16))
        assert "power" not in wrong


# ---------------------------------------------------------------- the voltage channel


def bidir_readings(data: bytes) -> list[p.Reading]:
    readings = [f for f in decode_all(data) if isinstance(f, p.Reading)]
    assert all(r.type == p.TYPE_READING_BIDIR for r in readings)
    return readings


@pytest.mark.parametrize(
    ("watts", "pf"),
    [(60, 0.6), (2000, 1.0), (750, 0.5), (-1500, 1.0), (-900, 0.9)],
    ids=["fan", "kettle", "motor", "solar-export", "inverter-export"],
)
def test_voltage_channel_node_measures_real_power_both_ways(host_node, watts, pf):
    """An ideal ZMPT101B (no lead of its own): the factory correction of the sampling skew is enough."""
    args = ["--voltage-channel", "--zmpt-lead-deg", "0", "--watts", str(watts), "--pf", str(pf), "--volts", "236"]
    data, imported, err = run_node(host_node, *args, "--windows", "30", "--seed", "12")
    exported = final_counter(err, "export_mwh")
    readings = bidir_readings(data)
    assert len(readings) == 30
    for r in readings:
        assert r.flags == p.FLAG_UNCALIBRATED and r.voltage_measured
        assert abs(r.power_w - watts) <= 0.01 * abs(watts) + 0.2, r
        assert abs(r.vrms_dv - 2360) <= 3 and abs(r.pf_milli - 1000 * pf) <= 10, r
    assert [r.energy_mwh for r in readings] == sorted(r.energy_mwh for r in readings)
    assert [r.export_mwh for r in readings] == sorted(r.export_mwh for r in readings)
    assert (readings[-1].energy_mwh, readings[-1].export_mwh) == (imported, exported)
    moved, still = (imported, exported) if watts > 0 else (exported, imported)
    assert still == 0 and abs(moved - abs(watts) * 30 / 3.6) <= 0.01 * abs(watts) * 30 / 3.6


def test_node_pf_is_what_a_node_without_voltage_assumes(host_node):
    """A 600 W fan at PF 0.6: a current-only node set to PF 1 reports 1000 W; the voltage channel does not care."""
    load = ["--watts", "600", "--pf", "0.6", "--windows", "5", "--seed", "2"]
    naive = [f for f in decode_all(run_node(host_node, *load)[0]) if isinstance(f, p.Reading)]
    assert all(abs(r.power_w - 1000) <= 10 and r.type == p.TYPE_READING for r in naive)
    told = [f for f in decode_all(run_node(host_node, *load, "--node-pf", "0.6")[0]) if isinstance(f, p.Reading)]
    assert all(abs(r.power_w - 600) <= 6 for r in told)
    measured = bidir_readings(run_node(host_node, *load, "--voltage-channel", "--zmpt-lead-deg", "0")[0])
    assert all(abs(r.power_w - 600) <= 6 for r in measured)


def test_export_without_a_voltage_channel_is_refused(host_node):
    out = subprocess.run([str(host_node), "--watts", "-500", "--windows", "1"], capture_output=True, timeout=30)
    assert out.returncode == 2 and out.stdout == b""
    assert b"export needs --voltage-channel" in out.stderr


def test_export_counter_survives_a_restart_through_the_state_file(host_node, tmp_path):
    nvs = tmp_path / "nvs.txt"
    run = ["--voltage-channel", "--watts", "-2300", "--nvs", str(nvs)]
    _, _, err = run_node(host_node, *run, "--windows", "300", "--boot-id", "1", "--seed", "1")
    state = dict(line.split("=", 1) for line in nvs.read_text().splitlines())
    saved = int(state["export_mwh"])
    assert 0 < saved <= final_counter(err, "export_mwh") and state["energy_mwh"] == "0"
    assert state["phase_cdeg"] == "450"  # the factory correction: half a 2 kHz sample period
    data, _, err = run_node(host_node, *run, "--windows", "5", "--boot-id", "2", "--seed", "2")
    frames = decode_all(data)
    assert f"restored from flash at 0 mWh import, {saved} mWh export" in frames[1].text
    readings = bidir_readings(data)
    assert all(r.flags & p.FLAG_RESTORED and r.energy_mwh == 0 for r in readings)
    assert saved < readings[0].export_mwh <= readings[-1].export_mwh == final_counter(err, "export_mwh")


# A state file exactly as the host node wrote it before the voltage channel: no v_uv_per_mv,
# v_calibrated or phase_cdeg lines.
OLD_STATE = (
    "energy_mwh=5000\nble_counter=65536\nname=kitchen-main\nvnom_dv=2400\nmv_per_a_x10=672\npf_x100=85\n"
    "calibrated=1\nzero_uv=1650011\nnoise_uv=2100\nbindkey=231d39c1d7cc1ab1aee224cd096db932\n"
)


def test_state_file_from_before_the_voltage_channel_keeps_its_settings(host_node, tmp_path):
    """An upgraded node keeps its calibration, name and bind key; the voltage settings start at factory."""
    nvs = tmp_path / "nvs.txt"
    nvs.write_text(OLD_STATE)
    data, _, _ = run_node(host_node, "--voltage-channel", "--watts", "2300", "--windows", "300", "--nvs", str(nvs))
    hello = next(f for f in decode_all(data) if isinstance(f, p.Hello))
    assert hello.name == "kitchen-main" and hello.mv_per_a_x10 == 672
    state = dict(line.split("=", 1) for line in nvs.read_text().splitlines())
    kept = {k: state[k] for k in ("name", "vnom_dv", "mv_per_a_x10", "pf_x100", "calibrated", "zero_uv", "noise_uv")}
    assert kept == dict(line.split("=", 1) for line in OLD_STATE.splitlines()[2:9])
    assert state["bindkey"] == "231d39c1d7cc1ab1aee224cd096db932"
    assert int(state["energy_mwh"]) > 5000  # restored and counting on
    # the factory voltage settings, what a node without stored settings starts from
    assert (state["v_uv_per_mv"], state["v_calibrated"], state["phase_cdeg"]) == ("490000", "0", "450")


def test_voltage_calibration_over_a_pseudo_terminal(host_node, tmp_path):
    """vcal_dv and pcal=now, as the calibration procedure sends them, on a module 4 % off and leading by 3 degrees."""
    master, slave = os.openpty()
    tty.setraw(master)
    nvs = tmp_path / "nvs.txt"
    proc = subprocess.Popen(
        [str(host_node), "--out", os.ttyname(slave), "--windows", "0", "--window-ms", "200", "--realtime",
         "--voltage-channel", "--watts", "2000", "--volts", "241", "--true-v-uv-per-mv", "510000",
         "--nvs", str(nvs), "--seed", "9"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Reading) for f in fs))
        before = [f for f in frames if isinstance(f, p.Reading)][-1]
        assert abs(before.vrms_dv - 2410 * 490 / 510) <= 5  # the factory ratio reads 4 % low
        for seq, (line, applied) in enumerate([("vcal_dv=2410", "applied vcal_dv=2410"), ("pcal=now", "applied pcal")]):
            send_config(master, line, seq)
            frames = read_frames(master, lambda fs: any(isinstance(f, p.Hello) for f in fs))
            log = [f for f in frames if isinstance(f, p.Log)][-1]
            assert log.level == 1 and log.text.startswith(applied), log
        send_config(master, "phase_cdeg=1500", 2)
        frames = read_frames(master, lambda fs: any(isinstance(f, p.Hello) for f in fs))
        assert "-1000..1000" in [f for f in frames if isinstance(f, p.Log)][-1].text
        frames = read_frames(master, lambda fs: sum(isinstance(f, p.Reading) for f in fs) >= 3)
        after = [f for f in frames if isinstance(f, p.Reading)][-1]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
        os.close(master)
        os.close(slave)
    assert abs(after.vrms_dv - 2410) <= 3 and after.pf_milli >= 999, after
    state = dict(line.split("=", 1) for line in nvs.read_text().splitlines())
    assert abs(int(state["v_uv_per_mv"]) - 510000) <= 0.003 * 510000 and state["v_calibrated"] == "1"
    assert 730 <= int(state["phase_cdeg"]) <= 770  # the 4.5 degree skew and the module's 3 degrees


def test_voltage_node_advertises_signed_power_over_ble(host_node, tmp_path):
    ble = tmp_path / "ble.jsonl"
    data, _, _ = run_node(host_node, "--voltage-channel", "--watts", "-1500", "--windows", "10", "--ble-out", str(ble),
                          "--seed", "4")  # fmt: skip
    readings = {r.uptime_ms: r for r in bidir_readings(data)}
    adverts = [json.loads(line) for line in ble.read_text().splitlines()]
    assert len(adverts) == 2
    for advert in adverts:
        values = bthome_values(bytes.fromhex(advert["service_data"]), advert["mac"])
        r = readings[advert["uptime_ms"]]
        assert r.power_dw < 0 and values["power"] == pytest.approx(r.power_dw / 10)
        assert values["voltage"] == pytest.approx(r.vrms_dv / 10)
