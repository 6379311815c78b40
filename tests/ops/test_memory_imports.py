"""The long-running processes load only what they use (issue 5: the whole gateway in under 150 MB).

Memory itself is measured by benchmarks/bench_gateway_rss.py, never asserted here: these tests
pin the import decisions that keep it low, each in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support.fresh_interpreter import loaded_after

HEAVY_FOR_THE_DAEMON = ("numpy", "pandas", "flask", "werkzeug", "jinja2", "argon2", "waitress", "asyncio", "bleak")
SIMULATOR = ("gateway.simulation", "gateway.simulation.household", "gateway.sources.simulator")


def test_the_daemon_with_every_command_and_config_section_loads_no_numpy_dashboard_or_simulator():
    modules = loaded_after("""
        from gateway.cli import build_parser
        from gateway.config import load_config
        from gateway.daemon import build_gateway
        build_parser()
        config = load_config(None)
        for name in ("gateway", "serial", "ui", "ble", "cloud", "backup", "mqtt", "metrics", "billing", "email"):
            config[name]
    """)
    assert sorted(modules & set(HEAVY_FOR_THE_DAEMON + SIMULATOR)) == []


def test_importing_the_dashboard_loads_no_numpy_or_simulator():
    modules = loaded_after("""
        from gateway.cli import build_parser
        import local_ui.api, local_ui.server, local_ui.services
        from local_ui import create_app
        build_parser()
    """)
    assert "flask" in modules  # the import above did reach the dashboard
    assert sorted(modules & {"numpy", "pandas", *SIMULATOR}) == []


def test_sqlite_utils_is_imported_without_numpy_and_numpy_still_imports_afterwards():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import sys
        import gateway
        import sqlite_utils.db
        assert "numpy" not in sys.modules and sqlite_utils.db.np is None
        import numpy
        print(numpy.zeros(2).sum())
    """),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0.0"


def test_a_process_that_loaded_numpy_first_keeps_it_for_sqlite_utils():
    modules = loaded_after("""
        import numpy
        import gateway.store
        import sqlite_utils.db
        assert sqlite_utils.db.np is not None
    """)
    assert "numpy" in modules


def test_the_theft_card_reads_the_model_without_numpy(tmp_path):
    modules = loaded_after(f"""
        from gateway.store import Store
        from local_ui.services import model_status
        store = Store({str(tmp_path / "powergw.db")!r})
        status = model_status(store, 0, registry_root=__import__('pathlib').Path({str(tmp_path / "models")!r}))
        assert status["learning"] is True, status
    """)
    assert sorted(modules & {"numpy", "onnxruntime", "sklearn"}) == []


def test_the_cloud_jobs_load_no_http_client_while_cloud_sync_is_off(tmp_path):
    modules = loaded_after(f"""
        from types import SimpleNamespace
        from gateway.store import Store
        from cloud_sync.jobs import queue_reports, sync_round
        ctx = SimpleNamespace(config={{"cloud": SimpleNamespace(enabled=False)}},
                              store=Store({str(tmp_path / "powergw.db")!r}), now_ms=lambda: 0)
        assert sync_round(ctx) == 0 and queue_reports(ctx) == 0
    """)
    assert sorted(modules & {"requests", "urllib3", "cloud_sync.client", "cloud_sync.runtime"}) == []
