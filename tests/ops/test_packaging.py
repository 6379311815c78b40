"""What the built wheels carry: the gateway's every data file the code reads and no cloud server; the
reference cloud API's own distribution, which builds, runs and needs nothing of the gateway.

`deploy/install.sh` installs powergw as a wheel, not from a checkout, so a data file that the
wheel leaves out breaks billing, theft detection or the dashboard only on a real Pi. The one
exception is the evaluation households (edge_model/eval_data/): megabytes no gateway reads, kept
in the checkout for `python -m edge_model.recordings` and the evaluation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "edge_model", "cloud_sync", "local_ui")
CHECKOUT_ONLY = "edge_model/eval_data/"
SERVER = "cloud_sync/server/"  # the reference cloud API: a distribution of its own


def build_wheel(source: Path, out: Path, pattern: str) -> zipfile.ZipFile:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = out.glob(pattern)
    return zipfile.ZipFile(wheel)


def requirements(wheel: zipfile.ZipFile) -> list[str]:
    """The wheel's Requires-Dist names outside extras, lower case."""
    [meta] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(meta).decode().splitlines()
    return [
        re.split(r"[ ;<>=!\[]", line.split(":", 1)[1].strip())[0].lower()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]


@pytest.fixture(scope="module")
def gateway_wheel(tmp_path_factory):
    return build_wheel(ROOT, tmp_path_factory.mktemp("gateway"), "powergw-*.whl")


@pytest.mark.slow
def test_wheel_contains_every_tracked_file_of_the_packages(gateway_wheel):
    names = set(gateway_wheel.namelist())
    tracked = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = sorted(f for f in tracked if f not in names and not f.startswith((CHECKOUT_ONLY, SERVER)))
    assert missing == []
    assert [n for n in names if n.startswith(CHECKOUT_ONLY)] == []
    assert "gateway/billing/tariffs/tn-domestic-2024-07-01.toml" in names
    assert "edge_model/models/shipped/model.onnx" in names


@pytest.mark.slow
def test_the_gateway_wheel_carries_no_cloud_server_and_no_postgresql_driver(gateway_wheel):
    names = gateway_wheel.namelist()
    assert [n for n in names if n.startswith((SERVER, "powergw_cloud/"))] == []
    assert "cloud_sync/sync.py" in names and "cloud_sync/payments.py" in names  # the gateway's side stays
    needs = requirements(gateway_wheel)
    assert "flask" in needs and "psycopg" not in needs and "powergw-cloud" not in needs
    assert needs.count("tqdm") == 1


@pytest.mark.slow
def test_the_cloud_server_builds_on_its_own_and_its_console_script_runs(tmp_path):
    wheel = build_wheel(ROOT / SERVER, tmp_path, "powergw_cloud-*.whl")
    assert {n.split("/")[0] for n in wheel.namelist() if not n.startswith("powergw_cloud-")} == {"powergw_cloud"}
    needs = requirements(wheel)
    assert "psycopg" in needs and "powergw" not in needs
    site = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            wheel.filename,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(site))  # the installed copy only, not the checkout
    out = subprocess.run(
        [str(site / "bin" / "powergw-cloud"), "serve", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--upload-listen" in out.stdout and "POWERGW_CLOUD_ADMIN_TOKEN" in out.stdout
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import powergw_cloud.app, sys; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'gateway', 'cloud_sync', 'edge_model'}))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]", out.stderr[-2000:]
