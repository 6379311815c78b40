"""Core subcommands: run, demo, simulate, monitor."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import stat
import sys
import time
from pathlib import Path

from . import PowerGwError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core subcommands, one function each, in `powergw --help` order."""
    _add_run(sub)
    _add_demo(sub)
    _add_simulate(sub)
    _add_monitor(sub)


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run the gateway daemon", description="Run the gateway: read nodes, account energy, store, alert."
    )
    p.add_argument("--config", "-c", type=Path, help="TOML config file (default: none; built-in defaults)")
    p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")
    p.add_argument(
        "--serial", action="append", metavar="PORT", help="serial port to read; repeatable (overrides [serial] ports)"
    )
    p.add_argument("--no-ui", action="store_true", help="do not serve the dashboard from this process")
    p.add_argument(
        "--runtime-dir",
        type=Path,
        help="where live.json goes, in RAM (default /run/powergw, else powergw-run in the temp directory)",
    )
    p.set_defaults(func=cmd_run)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run a demo: simulated nodes, a local database, the dashboard",
        description="Two simulated nodes stream into a local SQLite file; the dashboard is on http://127.0.0.1:8080.",
    )
    p.add_argument(
        "--data-dir", type=Path, default=Path.home() / ".local/share/powergw-demo", help="where the demo database lives"
    )
    p.add_argument("--port", type=int, default=8080, help="dashboard port (default 8080)")
    p.add_argument(
        "--history-days",
        type=int,
        default=60,
        help="days of simulated history made at the first start (default 60: enough for the theft check)",
    )
    p.add_argument("--seed", type=int, default=7, help="simulation seed")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(func=cmd_demo)


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="play virtual nodes into a serial port, pseudo-terminal or file",
        description="Virtual ESP32 nodes of a simulated Indian household, speaking wire protocol v1.",
    )
    p.add_argument("--out", default="-", help="serial port, pty, or file to write frames to; '-' for stdout (default)")
    p.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
    p.add_argument("--preset", default="medium", help="household preset: small, medium or large (default medium)")
    p.add_argument("--csv", type=Path, help="replay a CSV of ts,power_w instead of the household model")
    p.add_argument("--seed", type=int, default=1, help="seed for repeatable runs")
    p.add_argument("--start", help="simulated start time, ISO 8601 with offset (default: now)")
    p.add_argument(
        "--duration", type=float, default=0, help="simulated seconds (default: forever, or the CSV's length)"
    )
    p.add_argument("--window-ms", type=int, default=1000, help="measurement window (default 1000)")
    p.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second; 0 = as fast as possible"
    )
    p.add_argument("--loss", type=float, default=0.0, help="probability of losing a frame")
    p.add_argument("--bit-errors", type=float, default=0.0, help="probability of a flipped bit in a frame")
    p.add_argument("--reboot-every", type=int, default=0, help="reboot each node every N windows")
    p.add_argument("--no-restore", action="store_true", help="reboots restart the counter at zero")
    p.add_argument(
        "--voltage-channel",
        action="store_true",
        help="nodes measure voltage: negative power (a CSV's export) is counted as export, sent as READING_BIDIR",
    )
    p.set_defaults(func=cmd_simulate)


def _add_monitor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="decode frames from a port live, for humans")
    p.add_argument("port", help="serial port or file; '-' reads stdin")
    p.add_argument("--baudrate", type=int, default=115200)
    p.add_argument("--count", type=int, default=0, help="stop after this many frames or errors")
    p.set_defaults(func=cmd_monitor)


# ---- run ------------------------------------------------------------------------------------


def _start_ui(gw, host: str, port: int) -> object:
    """Serve the dashboard from the daemon, through the ui part's record; the handle stops it."""
    from .app import declared

    try:
        return declared("dashboard")(gw, host, port)
    except OSError as err:
        raise PowerGwError(
            f"cannot serve the dashboard on {host}:{port}: {err.strerror or err}; "
            "choose another port (--port, or [ui] port)"
        ) from None


def _notifier():
    from .sdnotify import Notifier

    return Notifier()


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .daemon import build_gateway

    config = load_config(args.config)
    gw = build_gateway(config, db_path=args.db, serial_ports=args.serial, runtime_dir=args.runtime_dir)
    gw.notifier = _notifier()
    if not gw.sources:
        log.warning("no serial ports configured: give --serial PORT or [serial] ports in the config")
    if config.ui.enabled and not args.no_ui:
        gw.ui = _start_ui(gw, config.ui.host, config.ui.port)
    signal.signal(signal.SIGTERM, lambda *_: gw._stop.set())
    log.info("powergw running: database %s, ports %s", gw.db_path, ", ".join(s.name for s in gw.sources) or "none")
    gw.run_forever()
    return 0


# ---- demo -----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args, _start_ui)


# ---- simulate -------------------------------------------------------------------------------


class _Output:
    """Where simulated frames go: a serial device (pyserial), a regular file, or stdout."""

    def __init__(self, target: str):
        self.target = target
        self._serial = None
        self._fh = None
        if target == "-":
            self._fh = sys.stdout.buffer
            return
        path = Path(target)
        if not path.exists() and _under_dev(path):
            # A port that is not there (unplugged, mistyped): a regular file in /dev would swallow
            # every frame and look like success.
            raise PowerGwError(
                f"--out {target}: no such serial port; plug the adapter in or pick one from "
                "`ls /dev/serial/by-id/` (a pty from socat works too)"
            )
        if path.exists() and stat.S_ISCHR(path.stat().st_mode):
            import serial

            try:
                self._serial = serial.serial_for_url(target, baudrate=115200, timeout=1, write_timeout=5)
            except serial.SerialException as err:
                raise PowerGwError(f"cannot open {target}: {err}") from err
        else:
            try:
                self._fh = open(path, "ab")
            except OSError as err:
                raise PowerGwError(f"cannot open {target}: {err}") from err

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._serial is not None:
            self._serial.write(data)
        else:
            self._fh.write(data)
            self._fh.flush()

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
        elif self._fh is not None and self._fh is not sys.stdout.buffer:
            self._fh.close()


def _under_dev(path: Path) -> bool:
    return Path(os.path.abspath(path)).parts[:2] == ("/", "dev")


def cmd_simulate(args: argparse.Namespace) -> int:
    from .sources.simulator import Faults, VirtualNode, csv_power, household_power, node_id_for

    for name in ("loss", "bit_errors"):
        value = getattr(args, name)
        if not 0 <= value <= 1:
            raise PowerGwError(f"--{name.replace('_', '-')} {value}: expected a probability from 0 to 1")
    if args.nodes < 1:
        raise PowerGwError(f"--nodes {args.nodes}: expected at least 1")
    if args.start:
        start = dt.datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            raise PowerGwError(f"--start {args.start}: give a UTC offset, e.g. 2026-01-01T00:00:00+05:30")
    else:
        start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    duration = args.duration
    faults = Faults(args.loss, args.bit_errors, args.reboot_every, not args.no_restore)
    nodes = []
    for i in range(args.nodes):
        if args.csv:
            power, first, last = csv_power(args.csv)
            if not args.start:
                start = first
            if not duration:
                duration = (last - first).total_seconds() + args.window_ms / 1000
        else:
            power = household_power(args.preset, args.seed + i)
        nodes.append(
            VirtualNode(
                node_id_for(i, args.seed),
                power,
                name=f"sim-{i + 1}",
                window_ms=args.window_ms,
                seed=args.seed + i,
                faults=faults,
                voltage_channel=args.voltage_channel,
            )
        )
    out = _Output(args.out)
    step = args.window_ms / 1000
    chunk = 1 if args.speed else 600
    t = start
    real0 = time.monotonic()
    simulated = 0.0
    try:
        while not duration or simulated < duration:
            n = chunk if not duration else max(1, min(chunk, int(round((duration - simulated) / step))))
            blocks = [list(node.frames(t, n)) for node in nodes]
            for j in range(n):
                out.write(b"".join(node.wire(block[j][1]) for node, block in zip(nodes, blocks, strict=False)))
            t += dt.timedelta(seconds=step * n)
            simulated += step * n
            if args.speed:
                time.sleep(max(0.0, simulated / args.speed - (time.monotonic() - real0)))
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        out.close()
    for node in nodes:
        print(
            f"{node.node_id} {node.name}: {node.windows} windows, {node.sent} frames sent, {node.dropped} lost, "
            f"counter {node.energy_mwh} mWh" + (f", export {node.export_mwh} mWh" if node.voltage_channel else ""),
            file=sys.stderr,
        )
    return 0


# ---- monitor --------------------------------------------------------------------------------


def describe(item) -> str:
    from .protocol import FrameError, Hello, Log, Reading

    if isinstance(item, FrameError):
        return f"REJECT {item}"
    if isinstance(item, Reading):
        return (
            f"READING {item.node_id} boot={item.boot_id} seq={item.seq} {item.power_dw / 10:.1f} W "
            f"{item.irms_ma / 1000:.3f} A {item.vrms_dv / 10:.1f} V energy={item.energy_mwh} mWh "
            + ("" if item.export_mwh is None else f"export={item.export_mwh} mWh pf={item.pf_milli / 1000:.3f} ")
            + f"flags=0x{item.flags:02x}"
        )
    if isinstance(item, Hello):
        return (
            f"HELLO {item.node_id} boot={item.boot_id} seq={item.seq} fw={item.fw_major}.{item.fw_minor} "
            f"ACS712-{item.sensor_amps}A {item.sample_rate_hz} Hz mains={item.mains_hz} Hz name={item.name!r}"
        )
    if isinstance(item, Log):
        return f"LOG {item.node_id} seq={item.seq} level={item.level} {item.text}"
    return f"{type(item).__name__} {item}"


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode
    except OSError:
        return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from .protocol import FrameDecoder

    decoder = FrameDecoder()
    seen = 0
    path = Path(args.port)
    until_eof = args.port == "-" or path.is_file() or stat.S_ISFIFO(_mode(path))
    if args.port == "-":
        reader = lambda: sys.stdin.buffer.read1(4096)  # noqa: E731
        closer = lambda: None  # noqa: E731
    elif until_eof:
        # A capture (`simulate --out FILE`, a FIFO): read it like stdin, to its end; pyserial's
        # terminal settings do not apply to a file.
        fh = open(path, "rb")
        reader, closer = (lambda: fh.read1(4096)), fh.close
    else:
        import serial

        try:
            port = serial.serial_for_url(args.port, baudrate=args.baudrate, timeout=0.5)
        except (serial.SerialException, ValueError) as err:
            raise PowerGwError(f"cannot open {args.port}: {err}") from err
        reader = lambda: port.read(max(1, port.in_waiting))  # noqa: E731
        closer = port.close
    try:
        while True:
            data = reader()
            if not data and until_eof:
                break
            for item in decoder.feed(data):
                print(describe(item), flush=True)
                seen += 1
                if args.count and seen >= args.count:
                    return 0
    except KeyboardInterrupt:
        pass
    finally:
        closer()
    return 0
