"""Checksums of an exported model's weights, read from the file's own bytes.

Export stores the sha256 of the serialized graph (the layers and every weight; not the
metadata) under :data:`WEIGHTS_KEY` in the ONNX file's ``metadata_props``; serving checks
it when it opens the file. Serving has neither torch nor the ``onnx`` package, so this
module walks the protobuf wire format of the top-level ``ModelProto`` fields itself.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VisionplayError

WEIGHTS_KEY = "visionplay.weights_sha256"

# ModelProto's field numbers (onnx.proto): the graph, and the key/value metadata entries.
GRAPH_FIELD = 7
METADATA_FIELD = 14
# StringStringEntryProto's fields.
ENTRY_KEY_FIELD, ENTRY_VALUE_FIELD = 1, 2

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class WireFormatError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated, or not a protobuf)."""


class DamagedModelError(VisionplayError):
    """An exported file whose weights no longer match the checksum export wrote."""


@dataclass
class ModelParts:
    """What the checksum needs from a serialized ModelProto."""

    graph: list[memoryview] = field(default_factory=list)  # protobuf merges repeats: keep all
    metadata: dict[str, str] = field(default_factory=dict)


def read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WireFormatError("a number runs past the end")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 64:
            raise WireFormatError("a number is longer than 64 bits")


def fields(data: memoryview):
    """Each top-level field of a message: ``(number, wire_type, value)``; the value of a
    length-delimited field is its bytes (a view, not a copy), of the others an int."""
    pos = 0
    while pos < len(data):
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise WireFormatError("field number 0")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        elif wire_type == LENGTH_DELIMITED:
            size, pos = read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:  # groups (3, 4) are long deprecated and ONNX never writes them
            raise WireFormatError(f"wire type {wire_type}")
        if pos > len(data):
            raise WireFormatError("a field runs past the end")
        yield number, wire_type, value


def model_parts(data: bytes | memoryview) -> ModelParts:
    """The graph bytes and the metadata of a serialized ModelProto."""
    parts = ModelParts()
    for number, wire_type, value in fields(memoryview(data)):
        if wire_type != LENGTH_DELIMITED:
            continue
        if number == GRAPH_FIELD:
            parts.graph.append(value)
        elif number == METADATA_FIELD:
            entry = {n: bytes(v) for n, t, v in fields(value) if t == LENGTH_DELIMITED}
            key = entry.get(ENTRY_KEY_FIELD, b"").decode("utf-8", "replace")
            parts.metadata[key] = entry.get(ENTRY_VALUE_FIELD, b"").decode("utf-8", "replace")
    return parts


def graph_sha256(parts: ModelParts) -> str:
    digest = hashlib.sha256()
    for chunk in parts.graph:
        digest.update(chunk)
    return digest.hexdigest()


def onnx_weights_sha256(data: bytes) -> str:
    """The checksum export writes for a serialized ModelProto: sha256 of its graph bytes."""
    return graph_sha256(model_parts(data))


def check_model_bytes(data: bytes, name: str) -> None:
    """Raise :class:`DamagedModelError` if ``data`` carries a weights checksum that its graph
    does not match. A file without one (exported before checksums) passes, and so does one
    that is not a well-formed protobuf: onnxruntime then says what is wrong with it."""
    try:
        parts = model_parts(data)
    except WireFormatError:
        return
    expected = parts.metadata.get(WEIGHTS_KEY)
    if expected is not None and graph_sha256(parts) != expected:
        raise DamagedModelError(
            f"{name} is damaged: its weights do not match their checksum; re-export it"
        )


def check_model_file(path: str | os.PathLike) -> None:
    """:func:`check_model_bytes` on a file, named in the message by its name alone (the
    app shows these messages to clients, who need not see the server's folders)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError:  # onnxruntime, opening it next, says what is wrong
        return
    check_model_bytes(data, path.name)
