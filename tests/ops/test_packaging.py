"""The built wheel carries every data file the code reads (tariffs, holidays, the model, the UI).

`deploy/install.sh` installs powergw as a wheel, not from a checkout, so a data file that the
wheel leaves out breaks billing, theft detection or the dashboard only on a real Pi. The one
exception is the evaluation households (edge_model/eval_data/): megabytes no gateway reads, kept
in the checkout for `python -m edge_model.recordings` and the evaluation.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "edge_model", "cloud_sync", "local_ui")
CHECKOUT_ONLY = "edge_model/eval_data/"


@pytest.mark.slow
def test_wheel_contains_every_tracked_file_of_the_packages(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    [wheel] = tmp_path.glob("powergw-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    missing = sorted(f for f in tracked if f not in names and not f.startswith(CHECKOUT_ONLY))
    assert missing == []
    assert [n for n in names if n.startswith(CHECKOUT_ONLY)] == []
    assert "gateway/billing/tariffs/tn-domestic-2024-07-01.toml" in names
    assert "edge_model/models/shipped/model.onnx" in names
