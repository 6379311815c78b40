"""Which node ids are one ESP32: its serial id (the base MAC) and the BLE address it advertises from.

A node that is wired over USB and also advertises BTHome is two rows in `nodes`, one per
transport, each with its own exact account of the same energy counter. Everything that adds up
"every node" must count such a pair once (gateway/house.py puts both on one meter); this module only says
which ids pair up. Pure code.

The rule, from ESP-IDF's `esp_read_mac(mac, ESP_MAC_BT)` (components/esp_hw_support/mac_addr.c)
with four universally administered addresses per chip, the ESP32 default the firmware is built
with: the Bluetooth MAC is the base MAC with `mac[5] += 2` on a `uint8_t`. So only the last byte
changes, modulo 256: base `…:fe` advertises from `…:00` and base `…:ff` from `…:01`, and nothing
carries into the fifth byte (Espressif keeps it that way: esp-idf issue #11701). Factory base MACs
are handed out four per chip, so theirs never wrap; a custom base MAC can.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .protocol import format_node_id

BLE_OFFSET = 2  # ESP_MAC_BT = base MAC + 2 in the last byte (four universal MACs per chip)

_MAC = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}")


def _mac_bytes(node_id: str) -> bytes:
    """'a4:cf:12:34:56:78' (either case, ':' or '-') -> 6 bytes; ValueError for anything else."""
    text = node_id.strip().lower() if isinstance(node_id, str) else ""
    if not _MAC.fullmatch(text):
        raise ValueError(f"node id {node_id!r} is not a MAC address like 'a4:cf:12:34:56:78'")
    return bytes.fromhex(text.replace(text[2], ""))


def ble_address_of(base_mac: str) -> str:
    """The BLE address (lower case, as the gateway stores it) of the ESP32 whose base MAC, its serial
    node id, is `base_mac`: the last byte + 2, wrapping within the byte. ValueError if not a MAC."""
    mac = _mac_bytes(base_mac)
    return format_node_id(mac[:5] + bytes([(mac[5] + BLE_OFFSET) % 256]))


def is_ble(transport: str | None) -> bool:
    """Whether a node row's transport is BLE (`ble`, as the BLE source registers its nodes)."""
    return (transport or "").startswith("ble")


def ble_twins(nodes: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """{BLE node id: serial node id} for each BLE node that is the same ESP32 as a wired node.

    `nodes` are (node_id, transport) pairs as the `nodes` table has them. Only a BLE node can be a
    twin, and only of a node that is not BLE. Ids that are not MACs (some platforms show a BLE
    device as a UUID; tests and replays use names) have no twin and are counted on their own.
    """
    nodes = list(nodes)
    wired_by_ble: dict[str, str] = {}
    for node_id, transport in nodes:
        if not is_ble(transport):
            try:
                wired_by_ble[ble_address_of(node_id)] = node_id
            except ValueError:
                continue
    out: dict[str, str] = {}
    for node_id, transport in nodes:
        if is_ble(transport):
            try:
                address = format_node_id(_mac_bytes(node_id))
            except ValueError:
                continue
            if address in wired_by_ble:
                out[node_id] = wired_by_ble[address]
    return out


def same_node_map(nodes: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Both ways: {BLE id: serial id} of `ble_twins` plus {serial id: BLE id}, for listings that
    mark each of the two rows with the other (`powergw nodes`, the dashboard)."""
    twins = ble_twins(nodes)
    return twins | {serial: ble for ble, serial in twins.items()}
