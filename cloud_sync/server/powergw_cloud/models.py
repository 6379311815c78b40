"""Theft models: the operator publishes a version (immutable), gateways download its file."""

from __future__ import annotations

import re

from flask import Response, jsonify, request

from .checks import json_object
from .context import CloudApi
from .contract import parse_metadata
from .errors import BadField, fail

VERSION = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # a model version: one path segment, never "." or ".."


def get_model(api: CloudApi, version: str) -> Response:
    found = api.store.model(version)
    if found is None:
        return fail(404, f"no model version {version!r}")
    digest, data = found
    return Response(data, mimetype="application/octet-stream", headers={"X-Content-SHA256": digest})


def publish_model(api: CloudApi, version: str) -> Response:
    """multipart/form-data: `model` (model.onnx) and `metadata` (its metadata.json, a file or a field)."""
    request.max_content_length = api.settings.max_model_bytes  # before the body is read
    if not re.fullmatch(VERSION, version):
        raise BadField("version", "1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
    if request.mimetype != "multipart/form-data":
        raise BadField(
            "body", "expected multipart/form-data with the model file as 'model' and its metadata.json as 'metadata'"
        )
    part = request.files.get("model")
    data = part.read() if part is not None else b""
    if not data:
        raise BadField("model", "expected the model's bytes (model.onnx)")
    meta_part = request.files.get("metadata")
    raw = meta_part.read() if meta_part is not None else request.form.get("metadata", "").encode("utf-8")
    metadata = parse_metadata(json_object(raw, "metadata"))
    if api.store.model(version) is not None:
        return fail(409, f"model version {version!r} exists; versions are immutable", "version")
    return jsonify(api.store.publish_model(version, data, metadata, api.clock())), 201
