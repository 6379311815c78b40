"""Home Assistant over MQTT against a real Mosquitto broker started on a free loopback port."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from gateway.app import open_store
from gateway.config import Config
from gateway.ops.mqtt import BillFigures, MqttLink, Topics, run_publisher, take_snapshot
from tests.support.ingest import NODE, make_ingest, reading_wire

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
    reason="mosquitto not installed (scripts/test.sh installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


class Recorder:
    """A real subscriber on '#': the latest payload per topic, and every payload in order."""

    def __init__(self, port: int):
        self.latest: dict[str, str] = {}
        self.history: list[tuple[str, str]] = []
        self.cond = threading.Condition()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="recorder")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("#", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.latest[msg.topic] = msg.payload.decode()
            self.history.append((msg.topic, msg.payload.decode()))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out; topics seen: {sorted(self.latest)}"
                self.cond.wait(remaining)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def recorder(broker):
    r = Recorder(broker)
    yield r
    r.close()


@pytest.fixture
def gateway(tmp_path):
    db = tmp_path / "powergw.db"
    ingest, clock = make_ingest(db)
    for seq in range(61):
        ingest.feed("p", reading_wire(seq, seq * 12_345))
        clock.advance(1000)
    ingest.flush()
    ingest.store.close()
    run = tmp_path / "run"
    run.mkdir()
    (run / "live.json").write_text(
        json.dumps(
            {"ts_ms": int(time.time() * 1000), "nodes": {NODE: {"power_w": 432.1, "ts_ms": int(time.time() * 1000)}}}
        )
    )
    return db, run, 60 * 12_345


def write_config(tmp_path, db, port, **mqtt) -> Path:
    cfg = tmp_path / "config.toml"
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in mqtt.items())
    cfg.write_text(f'[gateway]\ndb = "{db}"\n[mqtt]\nport = {port}\ninterval_s = 1.0\n{extra}')
    return cfg


def cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60, **kw
    )


def test_once_publishes_discovery_states_and_availability(tmp_path, broker, recorder, gateway):
    db, run, energy_mwh = gateway
    out = cli("mqtt", "--once", "--config", str(write_config(tmp_path, db, broker)), "--runtime-dir", str(run))
    assert out.returncode == 0, out.stderr
    configs = {}
    recorder.wait_for(
        lambda r: sum(t.endswith("/config") for t in r.latest) >= 4 and any(t.endswith("/bill/state") for t in r.latest)
    )
    for topic, payload in recorder.latest.items():
        if topic.startswith("homeassistant/sensor/") and topic.endswith("/config"):
            configs[json.loads(payload)["unique_id"]] = json.loads(payload)
    power = next(c for k, c in configs.items() if k.endswith("_power"))
    energy = next(c for k, c in configs.items() if k.endswith("_energy"))
    assert (power["device_class"], power["unit_of_measurement"], power["state_class"]) == ("power", "W", "measurement")
    assert (energy["device_class"], energy["unit_of_measurement"], energy["state_class"]) == (
        "energy",
        "kWh",
        "total_increasing",
    )
    assert power["device"]["identifiers"] == energy["device"]["identifiers"]
    assert power["availability_mode"] == "all" and len(power["availability"]) == 2
    state = json.loads(recorder.latest[power["state_topic"]])
    assert state == {"power_w": 432.1, "energy_kwh": energy_mwh / 1_000_000}
    for avail in power["availability"]:
        # --once exits cleanly: the gateway says offline itself; the node was online while published.
        assert recorder.latest[avail["topic"]] in ("online", "offline")
    status_topic = power["availability"][0]["topic"]
    assert [p for t, p in recorder.history if t == status_topic] == ["online", "offline"]
    assert recorder.latest[power["availability"][1]["topic"]] == "online"
    # Billing is installed in this tree: the household's bill entities come from its estimate.
    bill = next(c for k, c in configs.items() if k.endswith("_bill_projected"))
    assert (bill["device_class"], bill["unit_of_measurement"]) == ("monetary", "INR")
    figures = json.loads(recorder.latest[bill["state_topic"]])
    assert figures["projected_inr"] >= figures["till_date_inr"] >= 0 and figures["cycle_start"] <= figures["cycle_end"]


def test_daemon_mode_keeps_publishing_and_its_last_will_marks_it_offline(tmp_path, broker, recorder, gateway):
    db, run, _ = gateway
    cfg = write_config(tmp_path, db, broker, enabled=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "mqtt", "--config", str(cfg), "--runtime-dir", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def states(r):
            return [p for t, p in r.history if t.endswith("/state")]

        recorder.wait_for(lambda r: len(states(r)) >= 2)  # interval 1 s: a second round arrives
        status = next(t for t in recorder.latest if t.endswith("/status") and not t.startswith("homeassistant"))
        assert recorder.latest[status] == "online"
        # Home Assistant restarting asks for everything again.
        before = sum(t.endswith("/config") for t, _ in recorder.history)
        recorder.client.publish("homeassistant/status", "online", qos=1)
        recorder.wait_for(lambda r: sum(t.endswith("/config") for t, _ in r.history) > before)
        proc.send_signal(signal.SIGKILL)  # no chance to say goodbye: the broker's last will does
        proc.wait(10)
        recorder.wait_for(lambda r: r.latest[status] == "offline")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_disabled_section_does_nothing(tmp_path, broker, gateway):
    db, run, _ = gateway
    out = cli("mqtt", "--config", str(write_config(tmp_path, db, broker)), "--runtime-dir", str(run))
    assert out.returncode == 0 and "enabled = false" in out.stderr


def test_unreachable_broker_is_a_clear_error(tmp_path, gateway):
    db, run, _ = gateway
    out = cli("mqtt", "--once", "--config", str(write_config(tmp_path, db, free_port())), "--runtime-dir", str(run))
    assert out.returncode == 2 and "cannot reach the MQTT broker" in out.stderr


def test_household_bill_entities_in_inr(tmp_path, broker, recorder, gateway):
    db, run, _ = gateway
    section = Config({}).replace("mqtt", port=broker)["mqtt"]
    topics = Topics("testgw")
    store = open_store(db)
    bill = BillFigures(
        till_date_paise=123_456, projected_paise=250_001, cycle_start="2026-01-01", cycle_end="2026-02-28"
    )
    link = MqttLink(section, topics)
    link.connect()
    try:
        run_publisher(
            link,
            lambda: take_snapshot(store, "testgw", None, 10**13, 60_000, lambda s, now: bill),
            1,
            threading.Event(),
            once=True,
        )
    finally:
        link.close()
        store.close()
    recorder.wait_for(
        lambda r: (
            "powergw/testgw/bill/state" in r.latest
            and "homeassistant/sensor/powergw_testgw_bill_projected/config" in r.latest
        )
    )
    till = json.loads(recorder.latest["homeassistant/sensor/powergw_testgw_bill_till_date/config"])
    assert (till["device_class"], till["unit_of_measurement"]) == ("monetary", "INR")
    state = json.loads(recorder.latest["powergw/testgw/bill/state"])
    assert state["till_date_inr"] == 1234.56 and state["projected_inr"] == 2500.01
    node = json.loads(recorder.latest[f"powergw/testgw/node/{NODE.replace(':', '_')}/state"])
    assert node["power_w"] == 1000.0  # no live.json: the last committed power
    assert (
        recorder.latest[f"powergw/testgw/node/{NODE.replace(':', '_')}/availability"] == "offline"
    )  # silent for years
