"""Node subcommands: `flash` (esptool's Python API) and `calibrate` (CONFIG frames over serial,
gateway/calibration.py).

Both talk to one node on one serial port, so stop `powergw run` (or take the port out of
[serial] ports) first: two readers on one port each see half the bytes.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from . import PowerGwError

DEFAULT_FIRMWARE = Path("firmware/.pio/build/esp32dev/firmware.bin")
APP_OFFSET = 0x10000
# PlatformIO's build folder beside firmware.bin; written too, so a blank chip boots.
COMPANIONS = (("bootloader.bin", 0x1000), ("partitions.bin", 0x8000))
ESP_IMAGE_MAGIC = 0xE9
ESP32_CHIP_ID = 0  # chip id in an image's extended header (esptool's ESP32ROM.IMAGE_CHIP_ID)
ROM_BAUD = 115200


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "flash",
        help="flash node firmware to an ESP32 over USB serial",
        description="Write a built firmware image to an ESP32 with esptool, verify it, and reset the chip. "
        f"Default image: {DEFAULT_FIRMWARE} (built by `pio run -d firmware`); with bootloader.bin and "
        "partitions.bin beside it (PlatformIO's build folder) those are written too, at 0x1000 and 0x8000.",
    )
    p.add_argument("--port", required=True, help="serial port of the ESP32, e.g. /dev/ttyUSB0")
    p.add_argument(
        "--firmware", type=Path, default=DEFAULT_FIRMWARE, help=f"application image (default: {DEFAULT_FIRMWARE})"
    )
    p.add_argument(
        "--baud", type=int, default=460800, help="baud rate for writing, after connecting at 115200 (default 460800)"
    )
    p.add_argument(
        "--address",
        type=lambda s: int(s, 0),
        default=APP_OFFSET,
        help=f"flash offset of the image (default {APP_OFFSET:#x}; 0x0 for a merged image)",
    )
    p.add_argument(
        "--connect-attempts", type=int, default=7, help="attempts to sync with the ROM bootloader (default 7)"
    )
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser(
        "calibrate",
        help="calibrate a node's current sensor (and voltage channel) against a known load and voltage",
        description="Send CONFIG frames to a node on a serial port and report what it applied. "
        "`--zero` with every load off, then `--known-watts W` with a known resistive load on (a kettle, a "
        "heater): two runs. A node with a voltage channel also takes `--known-volts V` (the mains voltage "
        "measured at the socket now) and `--resistive-load` (phase correction with that load on). The node "
        "answers each CONFIG with a LOG and a new HELLO; each correction is checked on the readings after it.",
    )
    p.add_argument("--port", required=True, help="serial port of the node, e.g. /dev/ttyUSB0")
    p.add_argument("--node", required=True, help="node id, e.g. a4:cf:12:34:56:78 (`powergw monitor PORT` shows it)")
    p.add_argument("--known-watts", type=float, help="the true power of the load now on, in W")
    p.add_argument("--zero", action="store_true", help="take the current reading as zero current (all loads off)")
    p.add_argument("--vnom", type=float, help="set the nominal mains voltage, V (90..270)")
    p.add_argument(
        "--known-volts", type=float, help="the mains voltage now, V, measured with a meter (voltage channel only)"
    )
    p.add_argument(
        "--resistive-load",
        action="store_true",
        help="a purely resistive load of 20 W or more is on: set the phase correction so it reads PF 1.000",
    )
    p.add_argument("--windows", type=int, default=5, help="readings averaged before and after a correction (default 5)")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer (default 15)")
    p.add_argument("--baud", type=int, default=115200, help="line speed (default 115200)")
    p.set_defaults(func=cmd_calibrate)


# ---- flash ------------------------------------------------------------------------------------


def check_image(path: Path) -> bytes:
    """The image's bytes, if it is an ESP32 app image; PowerGwError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PowerGwError(
            f"no firmware image at {path}; build it with `pio run -d firmware` or give --firmware FILE"
        ) from None
    except OSError as err:
        raise PowerGwError(f"cannot read {path}: {err}") from None
    if len(data) < 24 or data[0] != ESP_IMAGE_MAGIC:
        raise PowerGwError(
            f"{path} is not an ESP32 firmware image (first byte {data[:1].hex() or 'missing'}, expected e9)"
        )
    chip_id = int.from_bytes(data[12:14], "little")
    if chip_id != ESP32_CHIP_ID:
        raise PowerGwError(
            f"{path} was built for another Espressif chip (image chip id {chip_id}); the node is an ESP32 (id 0)"
        )
    return data


class FlashLog:
    """esptool's log, reduced to plain lines and a progress line every 10 % (also in a log file)."""

    def __init__(self, out: TextIO):
        self.out = out
        self._last: tuple[str, int] | None = None

    def print(self, *args, **kwargs) -> None:
        print(*args, end=kwargs.get("end", "\n"), file=self.out, flush=True)

    def note(self, message: str) -> None:
        self.print(f"note: {message}")

    def warning(self, message: str) -> None:
        self.print(f"warning: {message}")

    def error(self, message: str) -> None:
        self.print(f"error: {message}")

    def stage(self, finish: bool = False) -> None:
        pass

    def progress_bar(
        self, cur_iter: int, total_iters: int, prefix: str = "", suffix: str = "", bar_length: int = 30
    ) -> None:
        pct = 100 * cur_iter // max(total_iters, 1)
        step = (prefix.split(" at ")[0].strip(), pct // 10)
        if step != self._last:
            self._last = step
            print(f"  {prefix.strip()} {pct:3d} %", file=self.out, flush=True)

    def set_verbosity(self, verbosity: str) -> None:
        pass


def _install_log(out: TextIO) -> Callable[[], None]:
    from esp_pylib.logger import EspLog
    from esptool.logger import TemplateLogger, log

    class _Log(FlashLog, TemplateLogger):
        pass

    previous = EspLog.instance
    log.set_logger(_Log(out))

    def restore() -> None:
        EspLog.instance = previous

    return restore


def flash(
    port: str,
    image: Path,
    *,
    baud: int = 460800,
    address: int = APP_OFFSET,
    connect_attempts: int = 7,
    out: TextIO = sys.stdout,
) -> str:
    """Write, verify and reset; returns the chip description. Raises PowerGwError naming the port."""
    import serial
    from esptool.cmds import attach_flash, detect_chip, reset_chip, run_stub, verify_flash, write_flash
    from esptool.util import FatalError

    files = [(address, check_image(image))]
    if address == APP_OFFSET and image.name == "firmware.bin":
        files += [
            (offset, (image.parent / name).read_bytes())
            for name, offset in COMPANIONS
            if (image.parent / name).is_file()
        ]
    files.sort()
    if "://" not in port and not Path(port).exists():
        raise PowerGwError(f"{port}: no such serial port (is the ESP32 plugged in? `ls /dev/ttyUSB* /dev/ttyACM*`)")
    restore = _install_log(out)
    try:
        print(f"powergw flash: connecting to the ESP32 ROM bootloader on {port}", file=out, flush=True)
        with detect_chip(port, ROM_BAUD, connect_attempts=connect_attempts) as esp:
            chip = esp.get_chip_description()
            if esp.CHIP_NAME != "ESP32":
                raise PowerGwError(f"{port}: found an {chip}, but the node firmware is built for an ESP32")
            esp = run_stub(esp)
            if baud != ROM_BAUD:
                esp.change_baud(baud)
            attach_flash(esp)
            total = sum(len(d) for _, d in files)
            print(
                f"powergw flash: writing {total} bytes in {len(files)} part(s): "
                + ", ".join(f"{a:#07x}" for a, _ in files),
                file=out,
                flush=True,
            )
            write_flash(esp, files)
            print("powergw flash: verifying", file=out, flush=True)
            verify_flash(esp, files)
            reset_chip(esp, "hard-reset")
        return chip
    except FatalError as err:
        first = str(err).strip().splitlines()[0]
        hint = ""
        if "No serial data received" in first or "Failed to connect" in first:
            hint = (
                " (nothing answered the ROM bootloader: not an ESP32, or not in download mode; hold BOOT while "
                "pressing EN, or check the cable)"
            )
        raise PowerGwError(f"{port}: {first}{hint}") from None
    except (serial.SerialException, OSError) as err:
        raise PowerGwError(f"{port}: {err}") from None
    finally:
        restore()


def cmd_flash(args: argparse.Namespace) -> int:
    chip = flash(args.port, args.firmware, baud=args.baud, address=args.address, connect_attempts=args.connect_attempts)
    print(f"powergw flash: {args.firmware} written to the {chip} on {args.port}, verified, chip reset")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    import serial

    from .calibration import calibrate, known_volts_dv
    from .protocol import format_node_id, parse_node_id

    try:
        node_id = format_node_id(parse_node_id(args.node))
    except ValueError as err:
        raise PowerGwError(f"--node: {err}") from None
    loaded = [
        flag
        for flag, on in (("--known-watts", args.known_watts is not None), ("--resistive-load", args.resistive_load))
        if on
    ]
    if not loaded and not args.zero and args.vnom is None and args.known_volts is None:
        raise PowerGwError("nothing to do: give --known-watts W, --zero, --vnom V, --known-volts V or --resistive-load")
    if args.zero and loaded:
        raise PowerGwError(
            f"--zero needs every load off and {loaded[0]} needs the known load on: run them as two commands"
        )
    if args.known_volts is not None:
        known_volts_dv(args.known_volts)
    if args.windows < 1 or not math.isfinite(args.timeout) or args.timeout <= 0:
        raise PowerGwError("--windows must be at least 1 and --timeout above 0")
    try:
        port = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.1, write_timeout=5)
    except (serial.SerialException, OSError, ValueError) as err:
        raise PowerGwError(f"cannot open {args.port}: {err}") from None
    try:
        calibrate(
            port,
            node_id,
            known_watts=args.known_watts,
            zero=args.zero,
            vnom=args.vnom,
            known_volts=args.known_volts,
            resistive_load=args.resistive_load,
            windows=args.windows,
            timeout_s=args.timeout,
        )
    except serial.SerialException as err:
        raise PowerGwError(f"{args.port}: {err}") from None
    finally:
        port.close()
    return 0
