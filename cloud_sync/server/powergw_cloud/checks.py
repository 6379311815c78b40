"""Checks of request values: each takes a value and returns it checked, or raises BadField naming the field."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from .errors import BadField

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(value: Any, field: str, *, max_len: int = 200, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise BadField(field, "expected a non-empty string")
    if len(value) > max_len:
        raise BadField(field, f"longer than {max_len} characters")
    if _CONTROL.search(value):
        raise BadField(field, "contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadField(field, "not valid Unicode") from None
    return value


def integer(value: Any, field: str, *, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadField(field, "expected a whole number")
    if not lo <= value <= hi:
        raise BadField(field, f"expected a whole number from {lo} to {hi}")
    return value


def json_object(raw: bytes, field: str = "body") -> dict:
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadField(field, "expected a JSON object (UTF-8)") from None
    if not isinstance(data, dict):
        raise BadField(field, "expected a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def object_at(data: dict, keys: tuple[str, ...]) -> dict:
    """The object at `keys` inside `data`; BadField naming the first step that is not an object."""
    node: Any = data
    for i, key in enumerate(keys):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise BadField(".".join(keys[: i + 1]), "expected an object")
    return node


def query_int(name: str, lo: int, hi: int, default: int) -> int:
    """The request's whole-number query parameter `name`, `default` when left out."""
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise BadField(name, "expected a whole number")
    return integer(int(value), name, lo=lo, hi=hi)


def checked_body(schema: dict, data: dict) -> dict:
    """A JSON body's fields as `schema` (made by `routes.fields`) says: an unknown field or a bad value
    is a BadField naming it; an optional field left out takes its default (None without one)."""
    props = schema["properties"]
    unknown = sorted(set(data) - set(props))
    if unknown:
        raise BadField(unknown[0], "unknown field")
    out = {}
    for name, spec in props.items():
        if name not in data and name not in schema["required"]:
            out[name] = spec.get("default")
        else:
            out[name] = _checked(spec, data.get(name), name)
    return out


def _checked(spec: dict, value: Any, field: str) -> Any:
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if value is None and "null" in types:
        return None
    if "string" in types:
        return text(value, field, max_len=spec["maxLength"])
    if "integer" in types:
        return integer(value, field, lo=spec["minimum"], hi=spec["maximum"])
    if "object" in types:
        if not isinstance(value, dict) or len(value) < spec.get("minProperties", 0):
            raise BadField(field, "expected a non-empty object" if spec.get("minProperties") else "expected an object")
        return value
    if not isinstance(value, list) or len(value) < spec.get("minItems", 0):
        raise BadField(field, "expected a non-empty list")
    if len(value) > spec["maxItems"]:
        raise BadField(field, f"more than {spec['maxItems']} in one request")
    return value
