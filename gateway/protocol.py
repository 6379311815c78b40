"""Wire protocol v1 between ESP32 nodes and the gateway: bytes in, frames out (docs/PROTOCOL.md).

Pure code: no ports, clocks or files. `decode_frame` turns one raw frame into a value or raises
`FrameError`; `FrameDecoder` turns a byte stream into raw frames, resynchronising at every 0x00.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Callable
from dataclasses import dataclass

from cobs import cobs

from . import PowerGwError

VERSION = 1
MAX_RAW = 256

TYPE_READING = 0x01
TYPE_HELLO = 0x02
TYPE_LOG = 0x03
TYPE_READING_BIDIR = 0x04
TYPE_CONFIG = 0x10

HEADER = struct.Struct("<BB6sHI")  # version, type, node_id, boot_id, seq
READING_BODY = struct.Struct("<IHIHiQB")
BIDIR_TAIL = struct.Struct("<QH")  # export_mwh, pf_milli after READING's 25 bytes
BIDIR_BODY_SIZE = READING_BODY.size + BIDIR_TAIL.size
MAX_PF_MILLI = 1000
HELLO_FIXED = struct.Struct("<BBBHBH")
CRC = struct.Struct("<H")

FLAG_SATURATED = 0x01
FLAG_UNCALIBRATED = 0x02
FLAG_NOMINAL_VOLTAGE = 0x04
FLAG_RESTORED = 0x08

# Reasons a frame is rejected; counters and logs use exactly these names.
REASON_COBS = "cobs"
REASON_TOO_LONG = "too_long"
REASON_SHORT = "short"
REASON_CRC = "crc"
REASON_VERSION = "version"
REASON_LENGTH = "length"
REASON_UNKNOWN_TYPE = "unknown_type"
REASON_BODY = "body"


class FrameError(PowerGwError):
    """A run of bytes that is not a valid frame; carries the reason and the bytes."""

    def __init__(self, reason: str, raw: bytes, detail: str = "", node_id: str | None = None):
        self.reason = reason
        self.raw = bytes(raw)
        self.detail = detail
        self.node_id = node_id
        text = f"{reason}: {detail}" if detail else reason
        super().__init__(f"{text} ({self.raw[:48].hex()}{'…' if len(self.raw) > 48 else ''})")


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); check('123456789') == 0x29B1."""
    return binascii.crc_hqx(data, 0xFFFF)


def format_node_id(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def parse_node_id(text: str) -> bytes:
    """'a4:cf:12:34:56:78' -> 6 bytes; raises ValueError naming what is accepted."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"node id {text!r} is not six hex bytes like 'a4:cf:12:34:56:78'")
    return bytes(int(p, 16) for p in parts)


@dataclass(frozen=True, slots=True)
class Reading:
    """A READING, or with `export_mwh` and `pf_milli` set, a READING_BIDIR (a node measuring voltage)."""

    node_id: str
    boot_id: int
    seq: int
    uptime_ms: int
    window_ms: int
    irms_ma: int
    vrms_dv: int
    power_dw: int
    energy_mwh: int
    flags: int
    export_mwh: int | None = None
    pf_milli: int | None = None

    @property
    def type(self) -> int:
        return TYPE_READING if self.export_mwh is None else TYPE_READING_BIDIR

    @property
    def power_w(self) -> float:
        return self.power_dw / 10

    @property
    def voltage_measured(self) -> bool:
        """The node measured `vrms_dv` (flag bit 2 clear) rather than assuming its nominal voltage."""
        return not self.flags & FLAG_NOMINAL_VOLTAGE

    @property
    def restored(self) -> bool:
        return bool(self.flags & FLAG_RESTORED)


@dataclass(frozen=True, slots=True)
class Hello:
    node_id: str
    boot_id: int
    seq: int
    fw_major: int
    fw_minor: int
    sensor_amps: int
    sample_rate_hz: int
    mains_hz: int
    mv_per_a_x10: int
    name: str
    type = TYPE_HELLO


@dataclass(frozen=True, slots=True)
class Log:
    node_id: str
    boot_id: int
    seq: int
    level: int
    text: str
    type = TYPE_LOG


@dataclass(frozen=True, slots=True)
class Config:
    node_id: str
    boot_id: int
    seq: int
    line: str
    type = TYPE_CONFIG


Frame = Reading | Hello | Log | Config


def _decode_reading(head: tuple, body: bytes) -> Reading:
    return Reading(head[0], head[1], head[2], *READING_BODY.unpack(body))


def _decode_reading_bidir(head: tuple, body: bytes) -> Reading:
    export_mwh, pf_milli = BIDIR_TAIL.unpack_from(body, READING_BODY.size)
    if pf_milli > MAX_PF_MILLI:
        raise ValueError(f"power factor {pf_milli} thousandths, at most {MAX_PF_MILLI}")
    return Reading(head[0], head[1], head[2], *READING_BODY.unpack_from(body), export_mwh, pf_milli)


def _decode_hello(head: tuple, body: bytes) -> Hello:
    fixed = body[: HELLO_FIXED.size]
    name = body[HELLO_FIXED.size :]
    if len(name) > 32:
        raise ValueError(f"name of {len(name)} bytes, at most 32")
    return Hello(head[0], head[1], head[2], *HELLO_FIXED.unpack(fixed), name.decode("utf-8"))


def _decode_log(head: tuple, body: bytes) -> Log:
    if len(body) - 1 > 200:
        raise ValueError(f"log text of {len(body) - 1} bytes, at most 200")
    return Log(head[0], head[1], head[2], body[0], body[1:].decode("utf-8", errors="replace"))


def _decode_config(head: tuple, body: bytes) -> Config:
    if len(body) > 64:
        raise ValueError(f"config line of {len(body)} bytes, at most 64")
    return Config(head[0], head[1], head[2], body.decode("utf-8"))


@dataclass(frozen=True, slots=True)
class FrameType:
    """One row of the per-type table: how long the body may be and how to decode it."""

    code: int
    name: str
    min_body: int
    max_body: int
    decode: Callable[[tuple, bytes], Frame]


FRAME_TYPES: dict[int, FrameType] = {
    t.code: t
    for t in (
        FrameType(TYPE_READING, "reading", READING_BODY.size, READING_BODY.size, _decode_reading),
        FrameType(TYPE_READING_BIDIR, "reading_bidir", BIDIR_BODY_SIZE, BIDIR_BODY_SIZE, _decode_reading_bidir),
        FrameType(TYPE_HELLO, "hello", HELLO_FIXED.size, HELLO_FIXED.size + 32, _decode_hello),
        FrameType(TYPE_LOG, "log", 1, 201, _decode_log),
        FrameType(TYPE_CONFIG, "config", 1, 64, _decode_config),
    )
}

_MIN_RAW = HEADER.size + CRC.size


def decode_frame(raw: bytes) -> Frame:
    """Decode one raw (already COBS-decoded) frame; raise FrameError with the reason."""
    n = len(raw)
    if n > MAX_RAW:
        raise FrameError(REASON_TOO_LONG, raw, f"{n} bytes, at most {MAX_RAW}")
    if n < _MIN_RAW:
        raise FrameError(REASON_SHORT, raw, f"{n} bytes, at least {_MIN_RAW}")
    if binascii.crc_hqx(raw[:-2], 0xFFFF) != (raw[-2] | raw[-1] << 8):
        raise FrameError(REASON_CRC, raw)
    version, ftype, mac, boot_id, seq = HEADER.unpack_from(raw)
    node_id = format_node_id(mac)
    if version != VERSION:
        raise FrameError(REASON_VERSION, raw, f"version {version}, this gateway speaks {VERSION}", node_id)
    spec = FRAME_TYPES.get(ftype)
    if spec is None:
        raise FrameError(REASON_UNKNOWN_TYPE, raw, f"type 0x{ftype:02x}", node_id)
    body = raw[HEADER.size : -2]
    if not spec.min_body <= len(body) <= spec.max_body:
        raise FrameError(
            REASON_LENGTH,
            raw,
            f"{spec.name} body of {len(body)} bytes, expected {spec.min_body}"
            + (f"..{spec.max_body}" if spec.max_body != spec.min_body else ""),
            node_id,
        )
    try:
        return spec.decode((node_id, boot_id, seq), body)
    except (ValueError, UnicodeDecodeError) as err:
        raise FrameError(REASON_BODY, raw, str(err), node_id) from err


def decode_wire(chunk: bytes) -> Frame:
    """Decode one COBS-encoded frame (without its 0x00 delimiter)."""
    if len(chunk) > MAX_RAW + 2:
        raise FrameError(REASON_TOO_LONG, chunk, f"{len(chunk)} encoded bytes before a 0x00")
    try:
        raw = cobs.decode(chunk)
    except cobs.DecodeError as err:
        raise FrameError(REASON_COBS, chunk, str(err)) from err
    return decode_frame(raw)


def _header(ftype: int, node_id: str, boot_id: int, seq: int) -> bytes:
    return HEADER.pack(VERSION, ftype, parse_node_id(node_id), boot_id, seq)


def encode_frame(frame: Frame) -> bytes:
    """Raw frame bytes (header, body, CRC) for a frame value."""
    if isinstance(frame, Reading):
        body = READING_BODY.pack(
            frame.uptime_ms,
            frame.window_ms,
            frame.irms_ma,
            frame.vrms_dv,
            frame.power_dw,
            frame.energy_mwh,
            frame.flags,
        )
        if frame.export_mwh is not None:
            body += BIDIR_TAIL.pack(frame.export_mwh, frame.pf_milli or 0)
    elif isinstance(frame, Hello):
        name = frame.name.encode("utf-8")
        if len(name) > 32:
            raise ValueError(f"node name {frame.name!r} is {len(name)} bytes in UTF-8, at most 32")
        body = (
            HELLO_FIXED.pack(
                frame.fw_major,
                frame.fw_minor,
                frame.sensor_amps,
                frame.sample_rate_hz,
                frame.mains_hz,
                frame.mv_per_a_x10,
            )
            + name
        )
    elif isinstance(frame, Log):
        text = frame.text.encode("utf-8")[:200]
        body = bytes([frame.level]) + text
    elif isinstance(frame, Config):
        body = frame.line.encode("utf-8")
        if len(body) > 64:
            raise ValueError(f"config line {frame.line!r} is {len(body)} bytes, at most 64")
    else:
        raise TypeError(f"not a frame: {frame!r}")
    raw = _header(frame.type, frame.node_id, frame.boot_id, frame.seq) + body
    return raw + CRC.pack(crc16(raw))


def encode_wire(frame: Frame) -> bytes:
    """COBS(raw) followed by the 0x00 delimiter, ready to write to a port."""
    return cobs.encode(encode_frame(frame)) + b"\x00"


class FrameDecoder:
    """Turns a byte stream into frames, like pyserial's Packetizer: feed bytes, get results.

    `feed` returns a list whose items are frames or FrameError values (a stream keeps going
    after a bad frame, so errors are returned, not raised). Bytes after the last 0x00 are
    kept for the next call; a run longer than any valid frame is discarded as soon as it is
    seen, so a babbling line cannot grow memory.
    """

    __slots__ = ("_buffer", "_overflow")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        self._buffer += data
        if b"\x00" not in data:
            self._check_overflow()
            return []
        *chunks, rest = bytes(self._buffer).split(b"\x00")
        self._buffer = bytearray(rest)
        out: list[Frame | FrameError] = []
        for chunk in chunks:
            if self._overflow:
                self._overflow = False
                out.append(FrameError(REASON_TOO_LONG, chunk[-64:], "run of bytes longer than a frame"))
                continue
            if not chunk:
                continue  # back-to-back delimiters are idle fill, not frames
            try:
                out.append(decode_wire(chunk))
            except FrameError as err:
                out.append(err)
        self._check_overflow()
        return out

    def _check_overflow(self) -> None:
        if len(self._buffer) > MAX_RAW + 2:
            self._overflow = True
            self._buffer.clear()
