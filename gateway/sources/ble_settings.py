"""[ble] config section, apart from the BLE source so reading the config loads neither asyncio nor bleak."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import setting
from ..protocol import parse_node_id


@dataclass(frozen=True)
class BleSection:
    """[ble]: nodes that advertise BTHome v2 over Bluetooth LE."""

    enabled: bool = setting(False, doc="scan for BTHome v2 nodes from `powergw run`")
    adapter: str = setting("", doc="BlueZ adapter such as hci0; empty: the system's default adapter")
    bindkeys: dict[str, str] = setting(
        default_factory=dict,
        doc='per-node AES-CCM bind keys, BLE address -> 32 hex digits, e.g. {"A4:CF:12:34:56:7A" = "231d…"}; '
        "a node with a key is accepted only encrypted",
    )
    passive: bool = setting(
        True, doc="scan passively (no scan requests); falls back to active scanning where unsupported"
    )
    gone_minutes: int = setting(5, min=1, max=1440, doc="no advertisement for this long: the node is logged as gone")
    retry_max_s: float = setting(300.0, min=1, max=3600, doc="longest wait between attempts to start a failed scanner")

    def validate(self) -> None:
        for address, key in self.bindkeys.items():
            try:
                parse_node_id(address)
            except ValueError:
                raise ValueError(f"bindkeys: {address!r} is not a BLE address like 'A4:CF:12:34:56:7A'") from None
            try:
                ok = len(bytes.fromhex(key)) == 16
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"bindkeys: the key for {address} is not 32 hex digits (a 16-byte AES key)")

    def keys(self) -> dict[str, bytes]:
        """Bind keys by lower-case address."""
        return {a.lower(): bytes.fromhex(k) for a, k in self.bindkeys.items()}
