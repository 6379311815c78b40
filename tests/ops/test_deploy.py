"""deploy/: the installer against a scratch root (every file it lays down), systemd-analyze verify on
the units, shellcheck on every script, the udev rules, and the example config against the sections."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from gateway.config import documented_keys, parse_config
from gateway.ops.config_example import UNSET, render_example, uncommented

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
INSTALL = DEPLOY / "install.sh"
UNITS = ("powergw.service", "powergw-ui.service", "powergw-metrics.service", "powergw-mqtt.service")

# Every file the installer lays down under --root (directories and the venv aside), with its mode
# and where its content comes from (None: checked separately).
EXPECTED = {
    "etc/systemd/system/powergw.service": (0o644, "systemd/powergw.service"),
    "etc/systemd/system/powergw-ui.service": (0o644, "systemd/powergw-ui.service"),
    "etc/systemd/system/powergw-metrics.service": (0o644, "systemd/powergw-metrics.service"),
    "etc/systemd/system/powergw-mqtt.service": (0o644, "systemd/powergw-mqtt.service"),
    "etc/udev/rules.d/99-powergw.rules": (0o644, "udev/99-powergw.rules"),
    "etc/systemd/journald.conf.d/powergw-volatile.conf": (0o644, "journald/powergw-volatile.conf"),
    "etc/powergw/config.example.toml": (0o644, "config.example.toml"),
    "etc/powergw/config.toml": (0o640, None),  # the example with the dashboard on the LAN: checked below
    "opt/powergw/install-manifest": (0o644, None),
}
EXPECTED_DIRS = {"var/lib/powergw": 0o750, "var/lib/powergw/backups": 0o750, "etc/powergw": 0o750}


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--no-pip", *args], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def files_under(root: Path) -> dict[str, os.stat_result]:
    return {str(p.relative_to(root)): p.lstat() for p in root.rglob("*") if not p.is_dir() or p.is_symlink()}


def test_installer_lays_down_exactly_the_expected_files(tmp_path):
    out = install(tmp_path)
    found = files_under(tmp_path)
    assert set(found) == set(EXPECTED) | {"usr/local/bin/powergw"}
    for rel, (mode, source) in EXPECTED.items():
        assert stat.S_IMODE(found[rel].st_mode) == mode, rel
        if source:
            assert (tmp_path / rel).read_bytes() == (DEPLOY / source).read_bytes(), rel
    assert os.readlink(tmp_path / "usr/local/bin/powergw") == "/opt/powergw/venv/bin/powergw"
    # The fresh config is the example with one line changed: the dashboard listens on the LAN
    # (the household's phones), while the MQTT broker's host in the same file stays as it was.
    example = (DEPLOY / "config.example.toml").read_text().splitlines()
    config = (tmp_path / "etc/powergw/config.toml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(example, config, strict=False) if a != b]
    assert len(example) == len(config) and changed == [('# host = "127.0.0.1"', 'host = "0.0.0.0"')]
    assert config.index('host = "0.0.0.0"') > config.index("[ui]") and config.index('host = "0.0.0.0"') < config.index(
        "[cloud]"
    )
    assert parse_config(tomllib.loads("\n".join(config)), "installed").ui.host == "0.0.0.0"
    for rel, mode in EXPECTED_DIRS.items():
        assert stat.S_IMODE((tmp_path / rel).stat().st_mode) == mode, rel
    manifest = (tmp_path / "opt/powergw/install-manifest").read_text().split()
    # The manifest (what --uninstall removes) is every file but the user's config and itself.
    assert sorted(manifest) == sorted(
        ["/" + r for r in EXPECTED if r not in ("etc/powergw/config.toml", "opt/powergw/install-manifest")]
        + ["/usr/local/bin/powergw"]
    )
    # A scratch root never touches the system: every system step is reported as skipped.
    for step in ("system user powergw", "systemctl daemon-reload", "udevadm control", "powergw migrate"):
        assert re.search(rf"skipped.*{step}", out.stdout), step
    # The daemon, the dashboard and the metrics endpoint are enabled and started; MQTT is opt-in.
    for verb in ("enable", "restart"):
        [line] = [x for x in out.stdout.splitlines() if re.search(rf"skipped.*systemctl {verb} powergw", x)]
        assert line.split(f"systemctl {verb} ")[1].split() == [
            "powergw.service",
            "powergw-ui.service",
            "powergw-metrics.service",
        ]


def test_rerun_upgrades_in_place_keeping_the_config_and_data(tmp_path):
    install(tmp_path)
    config = tmp_path / "etc/powergw/config.toml"
    config.write_text('[serial]\nports = ["/dev/powergw/cp210x-0001"]\n')
    (tmp_path / "var/lib/powergw/powergw.db").write_bytes(b"data")
    (tmp_path / "etc/powergw/config.example.toml").write_text("old example")
    out = install(tmp_path)
    assert "keeping your" in out.stdout and "upgraded" in out.stdout
    assert "backing up the database first" in out.stdout
    assert config.read_text().startswith("[serial]")
    assert (tmp_path / "etc/powergw/config.example.toml").read_bytes() == (DEPLOY / "config.example.toml").read_bytes()
    assert (tmp_path / "var/lib/powergw/powergw.db").read_bytes() == b"data"


def test_persistent_logs_option_removes_the_journald_dropin(tmp_path):
    install(tmp_path)
    install(tmp_path, "--persistent-logs")
    assert not (tmp_path / "etc/systemd/journald.conf.d/powergw-volatile.conf").exists()


def test_uninstall_keeps_data_and_config_unless_purged(tmp_path):
    install(tmp_path)
    (tmp_path / "var/lib/powergw/powergw.db").write_bytes(b"data")
    out = install(tmp_path, "--uninstall")
    for unit in UNITS:
        assert re.search(rf"skipped.*systemctl disable --now {unit}", out.stdout), unit
    left = set(files_under(tmp_path))
    assert left == {"etc/powergw/config.toml", "var/lib/powergw/powergw.db"}
    install(tmp_path, "--uninstall", "--purge")
    assert files_under(tmp_path) == {}
    assert not (tmp_path / "etc/powergw").exists() and not (tmp_path / "var/lib/powergw").exists()


def test_dry_run_changes_nothing(tmp_path):
    out = install(tmp_path, "--dry-run")
    assert files_under(tmp_path) == {}
    assert "+ install -D -m 0644" in out.stdout


def test_bad_options_are_refused(tmp_path):
    for args in (["--purge"], ["--bogus"], ["--root", str(tmp_path / "missing")]):
        out = subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "error" in out.stderr, args


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd not installed (scripts/test.sh installs it)"
)
def test_units_pass_systemd_analyze_verify(tmp_path):
    """`verify` with --root needs no running systemd: the root holds the units, the stock targets
    they name (copied from /usr/lib/systemd/system) and an executable at ExecStart's path."""
    install(tmp_path)
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    exe = tmp_path / "opt/powergw/venv/bin/powergw"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    units = [f"/etc/systemd/system/{u}" for u in UNITS]
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={tmp_path}", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stderr.strip() == "" and out.stdout.strip() == "", out.stderr
    # The check is real: a bad key or a missing binary is reported.
    bad = tmp_path / "etc/systemd/system/powergw.service"
    bad.write_text(bad.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    exe.unlink()
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={tmp_path}", units[0]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "restart specifier" in out.stderr and "not executable" in out.stderr


def unit_settings(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_units_have_the_hardening_and_watchdog_the_issue_asks_for():
    for name in UNITS:
        s = unit_settings(name)
        for key, value in (
            ("ProtectSystem", "strict"),
            ("NoNewPrivileges", "yes"),
            ("PrivateTmp", "yes"),
            ("User", "powergw"),
            ("StandardOutput", "journal"),
            ("Restart", "on-failure"),
            ("CapabilityBoundingSet", ""),
            ("SystemCallFilter", "@system-service"),
        ):
            assert s.get(key, [None])[0] == value, (name, key)
        assert s["StartLimitBurst"] == ["10"] and s["StartLimitIntervalSec"] == ["600"], name
        if name != "powergw-metrics.service":
            assert s["ReadWritePaths"] == ["/var/lib/powergw"], name
    daemon = unit_settings("powergw.service")
    assert (
        daemon["Type"] == ["notify"] and daemon["WatchdogSec"] == ["30"] and daemon["RuntimeDirectory"] == ["powergw"]
    )
    assert "run --config /etc/powergw/config.toml" in daemon["ExecStart"][0]
    assert "ProtectClock" not in daemon  # it would hide the kernel's NTP state (adjtimex) from ingest
    assert "adjtimex" in daemon["SystemCallFilter"]
    assert " ui " in unit_settings("powergw-ui.service")["ExecStart"][0] + " "


def test_metrics_unit_serves_the_config_address_with_a_read_only_file_system():
    s = unit_settings("powergw-metrics.service")
    assert s["ExecStart"] == [
        "/opt/powergw/venv/bin/powergw metrics --serve --config /etc/powergw/config.toml --runtime-dir /run/powergw"
    ]
    # The LAN-facing process writes nothing: no ReadWritePaths under ProtectSystem=strict, no runtime dir of its own.
    assert "ReadWritePaths" not in s and "RuntimeDirectory" not in s and "StateDirectory" not in s
    assert s["PrivateDevices"] == ["yes"] and s["ProtectClock"] == ["yes"]
    # Clients only from this machine and the private ranges, whatever [metrics] host says.
    assert s["IPAddressDeny"] == ["any"]
    allowed = s["IPAddressAllow"][0].split()
    assert {"localhost", "link-local", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} == set(allowed)
    # Not tied to the daemon: with the daemon down it still answers (powergw_database_up says what it can).
    assert "Wants" not in s and "Requires" not in s and "BindsTo" not in s


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (scripts/test.sh installs it)")
def test_shellcheck_every_script():
    ours = sorted(DEPLOY.rglob("*.sh"))
    out = subprocess.run(["shellcheck", *map(str, ours)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout
    # scripts/ belongs to the core; lib.sh is sourced (no shebang), so its shell is given.
    others = sorted((REPO / "scripts").glob("*.sh"))
    out = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=warning", *map(str, others)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout


def test_udev_rules_name_every_bridge_and_parse():
    text = (DEPLOY / "udev/99-powergw.rules").read_text()
    for vid, pid in (("10c4", "ea60"), ("1a86", "7523"), ("1a86", "55d4"), ("303a", "1001")):
        assert f'ATTRS{{idVendor}}=="{vid}", ATTRS{{idProduct}}=="{pid}"' in text
    token = r'(?:[A-Z_]+(?:\{[A-Za-z_]+\})?\s*(?:==|!=|\+=|=|:=)\s*"[^"]*")'
    labels, gotos = set(), set()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        assert re.fullmatch(rf"{token}(?:,\s*{token})*", line), line
        labels.update(re.findall(r'LABEL="([^"]+)"', line))
        gotos.update(re.findall(r'GOTO="([^"]+)"', line))
    assert gotos <= labels
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in text and 'SYMLINK+="powergw/' in text


def test_example_config_is_generated_and_documents_every_key():
    example = (DEPLOY / "config.example.toml").read_text()
    assert example == render_example(), "regenerate it: powergw config example > deploy/config.example.toml"
    assert tomllib.loads(example) is not None
    sections: dict[str, set[str]] = {}
    current = None
    lines = example.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
        m = re.fullmatch(r"# (\w+) = .*", line)
        if m and current:
            sections.setdefault(current, set()).add(m.group(1))
            doc = lines[i - 1]
            assert doc.startswith("# ") and not re.fullmatch(r"# \w+ = .*", doc), (
                f"[{current}] {m.group(1)} has no doc line"
            )
    assert sections == {s: {k for s2, k, _d, _doc in documented_keys() if s2 == s} for s, *_ in documented_keys()}
    assert all(doc for *_x, doc in documented_keys()), "every setting needs a doc= for the example"
    # Every default shown parses as a valid setting.
    parse_config(tomllib.loads(uncommented(example)), "example")
    assert UNSET  # keys without a default are shown, not set
