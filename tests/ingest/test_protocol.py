"""Wire protocol v1 against the shared vectors, plus round trips and hostile input."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import protocol as p

EXPECTED_REASON = {
    "crc_mismatch": p.REASON_CRC,
    "truncated": p.REASON_CRC,
    "unknown_version": p.REASON_VERSION,
    "reading_wrong_length": p.REASON_LENGTH,
    "reading_bidir_wrong_length": p.REASON_LENGTH,
    "cobs_garbage": p.REASON_COBS,
    "boot_rom_text": p.REASON_COBS,
}


def test_crc_check_value():
    assert p.crc16(b"123456789") == 0x29B1


def test_every_valid_vector_decodes_to_its_fields(vectors):
    for v in vectors["valid"]:
        wire = bytes.fromhex(v["wire_hex"])
        frame = p.decode_wire(wire[:-1])
        expected = dict(v["decoded"])
        assert frame.type == expected.pop("type"), v["name"]
        for key, value in expected.items():
            assert getattr(frame, key) == value, (v["name"], key)
        assert p.decode_frame(bytes.fromhex(v["frame_hex"])) == frame


def test_every_valid_vector_encodes_byte_for_byte(vectors):
    for v in vectors["valid"]:
        frame = p.decode_frame(bytes.fromhex(v["frame_hex"]))
        assert p.encode_frame(frame).hex() == v["frame_hex"], v["name"]
        assert p.encode_wire(frame).hex() == v["wire_hex"], v["name"]


def test_every_invalid_vector_is_rejected_for_its_reason(vectors):
    assert {v["name"] for v in vectors["invalid"]} == set(EXPECTED_REASON)
    for v in vectors["invalid"]:
        wire = bytes.fromhex(v["wire_hex"])
        with pytest.raises(p.FrameError) as info:
            p.decode_wire(wire[:-1])
        assert info.value.reason == EXPECTED_REASON[v["name"]], v["name"]
        assert info.value.raw  # the bytes travel with the error for the log


def test_unknown_version_names_the_node(vectors):
    v = next(v for v in vectors["invalid"] if v["name"] == "unknown_version")
    with pytest.raises(p.FrameError) as info:
        p.decode_wire(bytes.fromhex(v["wire_hex"])[:-1])
    assert info.value.node_id == "a4:cf:12:34:56:78"


def test_mixed_stream_yields_three_frames_and_two_rejections(vectors):
    s = vectors["stream"]
    out = p.FrameDecoder().feed(bytes.fromhex(s["wire_hex"]))
    frames = [o for o in out if not isinstance(o, p.FrameError)]
    errors = [o for o in out if isinstance(o, p.FrameError)]
    assert len(frames) == s["expect_frames"] == 3
    assert len(errors) == s["expect_rejected"] == 2
    assert [f.type for f in frames] == [p.TYPE_HELLO, p.TYPE_READING, p.TYPE_READING]
    assert [f.seq for f in frames[1:]] == [7, 8]


def test_stream_fed_one_byte_at_a_time_gives_the_same_result(vectors):
    data = bytes.fromhex(vectors["stream"]["wire_hex"])
    dec = p.FrameDecoder()
    out = []
    for i in range(len(data)):
        out += dec.feed(data[i : i + 1])
    assert sum(not isinstance(o, p.FrameError) for o in out) == 3


def test_unknown_type_is_counted_not_decoded():
    raw = p.HEADER.pack(1, 0x7F, bytes(6), 1, 1) + b"xyz"
    raw += p.CRC.pack(p.crc16(raw))
    with pytest.raises(p.FrameError) as info:
        p.decode_frame(raw)
    assert info.value.reason == p.REASON_UNKNOWN_TYPE


def test_overlong_run_is_discarded_and_decoder_recovers(vectors):
    dec = p.FrameDecoder()
    out = dec.feed(b"\x55" * 5000)
    assert out == []
    assert len(dec._buffer) <= p.MAX_RAW + 2  # memory stays bounded
    good = bytes.fromhex(vectors["valid"][0]["wire_hex"])
    out = dec.feed(b"\x55" * 10 + b"\x00" + good)
    assert [o.reason for o in out if isinstance(o, p.FrameError)] == [p.REASON_TOO_LONG]
    assert [o.seq for o in out if isinstance(o, p.Reading)] == [7]


def test_raw_frame_over_256_bytes_is_rejected():
    raw = bytes(300)
    with pytest.raises(p.FrameError) as info:
        p.decode_frame(raw)
    assert info.value.reason == p.REASON_TOO_LONG


def test_hello_with_invalid_utf8_name_is_rejected_not_crashing():
    raw = p.HEADER.pack(1, p.TYPE_HELLO, bytes(6), 1, 1) + p.HELLO_FIXED.pack(1, 0, 30, 4000, 50, 660) + b"\xff\xfe"
    raw += p.CRC.pack(p.crc16(raw))
    with pytest.raises(p.FrameError) as info:
        p.decode_frame(raw)
    assert info.value.reason == p.REASON_BODY


def test_random_bytes_never_raise_anything_but_frame_errors():
    dec = p.FrameDecoder()
    for _ in range(200):
        for item in dec.feed(os.urandom(512)):
            assert isinstance(item, (p.FrameError, p.Reading, p.Hello, p.Log, p.Config))


u32 = st.integers(0, 2**32 - 1)
node_ids = st.binary(min_size=6, max_size=6).map(p.format_node_id)


@settings(max_examples=300)
@given(
    node_ids,
    st.integers(0, 0xFFFF),
    u32,
    u32,
    st.integers(0, 0xFFFF),
    u32,
    st.integers(0, 0xFFFF),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(0, 255),
)
def test_reading_round_trip(node_id, boot_id, seq, uptime, window, irms, vrms, power, energy, flags):
    r = p.Reading(node_id, boot_id, seq, uptime, window, irms, vrms, power, energy, flags)
    wire = p.encode_wire(r)
    assert wire.count(0) == 1 and wire[-1] == 0
    assert p.FrameDecoder().feed(wire) == [r]


@settings(max_examples=100)
@given(node_ids, st.integers(0, 0xFFFF), u32, st.text(max_size=8), st.integers(0, 3), st.text(max_size=40))
def test_hello_and_log_round_trip(node_id, boot_id, seq, name, level, text):
    hello = p.Hello(node_id, boot_id, seq, 1, 2, 30, 4000, 50, 660, name)
    log = p.Log(node_id, boot_id, seq, level, text)
    assert p.FrameDecoder().feed(p.encode_wire(hello) + p.encode_wire(log)) == [hello, log]


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_single_bit_flip_is_always_caught(data):
    r = p.Reading("a4:cf:12:34:56:78", 1, 2, 3, 1000, 5, 2300, 10, 99, 0)
    raw = bytearray(p.encode_frame(r))
    if data:
        bit = int.from_bytes(data[:2].ljust(2, b"\0"), "little") % (len(raw) * 8)
        raw[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(p.FrameError):
            p.decode_frame(bytes(raw))


@settings(max_examples=200)
@given(node_ids, u32, st.integers(-(2**31), 2**31 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_reading_bidir_round_trip(node_id, seq, power, energy, export):
    r = p.Reading(node_id, 9, seq, 1000, 1000, 4350, 2312, power, energy, 0, export, seq % 1001)
    wire = p.encode_wire(r)
    assert len(p.encode_frame(r)) == p.HEADER.size + 35 + 2 and r.type == p.TYPE_READING_BIDIR
    assert p.FrameDecoder().feed(wire) == [r]


def test_reading_and_reading_bidir_share_a_stream(vectors):
    fan = next(v for v in vectors["valid"] if v["name"] == "reading_bidir_fan")
    plain = next(v for v in vectors["valid"] if v["name"] == "reading_zero_load")  # nominal voltage, flag bit 2
    out = p.FrameDecoder().feed(bytes.fromhex(plain["wire_hex"] + fan["wire_hex"] + plain["wire_hex"]))
    assert [f.type for f in out] == [p.TYPE_READING, p.TYPE_READING_BIDIR, p.TYPE_READING]
    assert [f.voltage_measured for f in out] == [False, True, False]
    assert [f.export_mwh is None for f in out] == [True, False, True]


def test_power_factor_above_one_is_rejected_as_a_bad_body():
    r = p.Reading("a4:cf:12:34:56:78", 1, 1, 1000, 1000, 4350, 2300, 9805, 1, 0, 0, 1001)
    with pytest.raises(p.FrameError) as info:
        p.decode_frame(p.encode_frame(r))
    assert info.value.reason == p.REASON_BODY and "power factor 1001" in str(info.value)
