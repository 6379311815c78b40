"""`powergw flash` as a real process: a missing port, a pty where nothing answers the ROM
bootloader, a node running its firmware instead of the bootloader, and bad images. Each gives a
clear error naming the port or file, exit 2, no traceback. (Writing a real chip: --hardware.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tty
from pathlib import Path

import pytest

from gateway.node_commands import DEFAULT_FIRMWARE, check_image

ROOT = Path(__file__).resolve().parents[2]


def esp32_image(path: Path, chip_id: int = 0) -> Path:
    """The 24-byte header of an ESP32 app image (magic 0xE9, extended header chip id) and a body."""
    header = bytes([0xE9, 1, 2, 0x20]) + (0x400800).to_bytes(4, "little") + bytes(4) + chip_id.to_bytes(2, "little")
    path.write_bytes(header + bytes(10) + bytes(256))
    return path


def powergw(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def assert_clean_error(run: subprocess.CompletedProcess, *needles: str) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    line = [ln for ln in run.stderr.splitlines() if ln.startswith("powergw flash: error:")]
    assert line, run.stderr
    for needle in needles:
        assert needle in line[0], line[0]


def test_help_names_the_default_image():
    run = powergw("flash", "--help")
    assert run.returncode == 0 and str(DEFAULT_FIRMWARE) in " ".join(run.stdout.split())


def test_missing_port(tmp_path):
    run = powergw("flash", "--port", "/dev/ttyUSB97", "--firmware", str(esp32_image(tmp_path / "firmware.bin")))
    assert_clean_error(run, "/dev/ttyUSB97", "no such serial port")


def test_nothing_answers_the_rom_bootloader_on_a_pty(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        port = os.ttyname(slave)
        run = powergw(
            "flash", "--port", port, "--firmware", str(esp32_image(tmp_path / "fw.bin")), "--connect-attempts", "2"
        )
    finally:
        os.close(master)
        os.close(slave)
    assert_clean_error(run, port, "No serial data received", "not an ESP32")
    assert "connecting to the ESP32 ROM bootloader" in run.stdout


def test_a_node_running_its_firmware_is_not_a_bootloader(tmp_path, host_node):
    """The host-built node streams protocol frames on the pty: esptool's sync sees only those."""
    from tests.support.cable import Cable

    cable = Cable()
    cable.start()
    node = subprocess.Popen(
        [
            str(ROOT / "firmware/host/powernode-host"),
            "--out",
            cable.node_path,
            "--windows",
            "0",
            "--window-ms",
            "200",
            "--realtime",
            "--seed",
            "1",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        run = powergw(
            "flash",
            "--port",
            cable.gateway_path,
            "--firmware",
            str(esp32_image(tmp_path / "fw.bin")),
            "--connect-attempts",
            "2",
        )
    finally:
        node.terminate()
        node.wait(10)
        cable.close()
    assert_clean_error(run, cable.gateway_path)
    assert "Failed to connect" in run.stderr or "Invalid head of packet" in run.stderr


def test_bad_images_are_refused_before_touching_the_port(tmp_path):
    run = powergw("flash", "--port", "/dev/null", "--firmware", str(tmp_path / "missing.bin"))
    assert_clean_error(run, "missing.bin", "pio run -d firmware")
    (tmp_path / "text.bin").write_text("hello")
    assert_clean_error(
        powergw("flash", "--port", "/dev/null", "--firmware", str(tmp_path / "text.bin")), "not an ESP32 firmware image"
    )
    s3 = esp32_image(tmp_path / "s3.bin", chip_id=9)
    assert_clean_error(powergw("flash", "--port", "/dev/null", "--firmware", str(s3)), "another Espressif chip")
    assert check_image(esp32_image(tmp_path / "ok.bin"))[0] == 0xE9


@pytest.mark.hardware
def test_flash_a_real_esp32():
    """pytest --hardware with an ESP32 on $POWERGW_ESP32_PORT and a PlatformIO build."""
    port = os.environ.get("POWERGW_ESP32_PORT", "/dev/ttyUSB0")
    run = powergw("flash", "--port", port, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "verified" in run.stdout
