"""The firmware's own node, built for this machine (firmware/host/powernode-host): the tests that stream its
frames into the gateway share one build. scripts/test.sh installs the compiler, so a machine without one is
a broken setup, and the tests fail saying so rather than skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
HOST = FIRMWARE / "host" / "powernode-host"


def build_host_node() -> Path:
    """`make host`, once per call (make skips it when nothing changed); the binary's path."""
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.fail("the host node needs make and gcc (scripts/test.sh installs build-essential)")
    build = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "host"], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    return HOST
