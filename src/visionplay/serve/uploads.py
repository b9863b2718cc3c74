"""Only files uploaded to this app may be named in a request to the Gradio app.

A Gradio client sends a file input as ``{"path": ..., "meta": {"_type": "gradio.FileData"}}``
after uploading it. Two locks guard that, whichever way the app was started
(docs/security.md):

- Gradio's own check, which refuses a path outside its upload folder. Gradio 6.31 runs it
  only once ``Blocks.launch()`` has run (``processing_utils._check_allowed`` returns early
  while ``blocks.has_launched`` is False), and ``gr.mount_gradio_app`` never sets that flag:
  :func:`gradio_app_kwargs` sets it. The flag is private, so requirements.txt pins Gradio
  and a test checks that the check is armed.
- :class:`UploadedFilesOnly`, in front of the app: every body is read whole (bounded) and
  passes only if it reads exactly as the server will read it, and every file it names is
  a regular file inside the upload folder.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

import orjson  # Gradio's own dependency
from python_multipart.multipart import MultipartParser, parse_options_header  # Starlette's
from starlette.middleware import Middleware

REFUSED = (
    "refused: a file in a request must be one uploaded to this app first "
    "(POST it to /gradio_api/upload and send the path that returns)"
)
INLINE_REFUSED = "refused: send pictures as uploaded files, not inline data: URLs"
NOT_STRICT_JSON = (
    "refused: the body must be JSON in UTF-8, without a byte-order mark, NaN, Infinity, "
    "numbers past a double's range, integers past 64 bits or lone surrogates"
)
# A form carries its files' bytes and a little more: boundaries and each part's headers.
FORM_OVERHEAD = 64 << 10
MOST_FORM_PARTS = 64  # files and fields in one upload; the app sends one file at a time
UPLOAD_FIELD = b"files"  # Gradio's upload route takes every part of this name for a file
BODILESS = ("GET", "HEAD", "OPTIONS")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LONG_DIGITS = re.compile(rb"[0-9]{19}")  # a body without such a run holds no integer past 64 bits


class UploadedFilesOnly:
    """Plain ASGI middleware in front of the Gradio app. A request's body is read whole
    first: over ``max_body`` bytes (plus a form's overhead) it gets 413, whatever its
    encoding. A JSON body that is not strict JSON, or that names a file outside ``folder``
    (Gradio's upload folder), or carries one inline, gets 400; so does a form (an upload)
    with a nameless file or too many parts. Only then does the app see the request."""

    def __init__(self, app, folder: str | os.PathLike, max_body: int) -> None:
        self.app = app
        self.folder = os.path.realpath(folder)
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS:
            await self.app(scope, receive, send)
            return
        kind, params = content_type(scope)
        most = self.max_body + (FORM_OVERHEAD if kind == b"multipart/form-data" else 0)
        body = await read_body(receive, most)
        if body is None:
            await refuse(send, 413, f"the body is over {most:,} bytes")
            return
        problem = self.refusal(body, kind, params)
        if problem:
            await refuse(send, 400, problem)
            return
        await self.app(scope, replay(body, receive), send)

    def refusal(
        self, body: bytes, kind: bytes = b"application/json", params: dict | None = None
    ) -> str | None:
        """Why ``body`` (of content type ``kind``) may not reach the app, or None."""
        if kind == b"multipart/form-data":
            return form_refusal(body, (params or {}).get(b"boundary", b""))
        if kind == b"application/x-www-form-urlencoded" and not json_readable(body):
            return None  # a plain form (Gradio's login), which no route reads as JSON
        if not body:
            return None
        # The strict reading. Starlette reads bodies with the standard library's json, which
        # also takes NaN, UTF-16 and -32, a byte-order mark and lone surrogates: a body this
        # refuses may not go on. Where both read a body they read the same, but for integers
        # past 64 bits (floats here, whole there, and echoed whole by Gradio's range checks):
        # those are refused too.
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return NOT_STRICT_JSON
        if LONG_DIGITS.search(body) and not json_readable(body, parse_int=int64):
            return NOT_STRICT_JSON
        for file in file_objects(data):
            path, url = file.get("path"), file.get("url")
            if isinstance(url, str) and url.startswith("data:"):
                return INLINE_REFUSED
            if not (isinstance(path, str) and self.holds(path)):
                return REFUSED
        return None

    def holds(self, path: str) -> bool:
        """Whether ``path`` is a regular file inside the upload folder: no device, pipe or
        folder is ever opened, hashed or copied."""
        try:
            real = os.path.realpath(path)  # "..", symbolic links and relative paths resolved
            inside = os.path.commonpath([real, self.folder]) == self.folder
            return inside and stat.S_ISREG(os.stat(real).st_mode)
        except (OSError, ValueError):  # no such file, a NUL in the name, another drive
            return False


def file_objects(data: Any) -> list[dict]:
    """Every object in ``data`` that Gradio would take for a file: one with a ``path``, or
    marked as ``gradio.FileData`` (walked without recursion: bodies may nest deep)."""
    found, todo = [], [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            meta = item.get("meta")
            marked = isinstance(meta, dict) and meta.get("_type") == "gradio.FileData"
            if "path" in item or marked:
                found.append(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def json_readable(body: bytes, **hooks: Any) -> bool:
    """Whether the standard library's json (Starlette's reader) reads ``body`` at all
    (with ``hooks`` such as ``parse_int``, which may refuse what they see)."""
    try:
        json.loads(body, **hooks)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    return True


def int64(digits: str) -> int:
    """An integer literal as json reads it, refused past 64 bits."""
    value = int(digits)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("an integer past 64 bits")
    return value


def form_refusal(body: bytes, boundary: bytes) -> str | None:
    """Why a multipart body may not reach the app: no boundary, a part without a field
    name, a file without a name (Gradio's upload route answers a nameless one with a 500
    and leaves the request's other files in its temp folder), or more than
    :data:`MOST_FORM_PARTS` parts."""
    if not boundary:
        return "refused: a multipart body needs its boundary in the Content-Type header"
    if json_readable(body):  # a route that reads JSON whatever the header says would take it
        return "refused: a multipart body that is JSON"
    parts: list[dict[bytes, bytes]] = []
    header: dict[str, bytes] = {"name": b"", "value": b""}

    def header_end() -> None:
        if header["name"].lower() == b"content-disposition":
            parts[-1].update(parse_options_header(header["value"])[1])
        header["name"] = header["value"] = b""

    callbacks = {
        "on_part_begin": lambda: parts.append({}),
        "on_header_field": lambda data, start, end: header.update(
            name=header["name"] + data[start:end]
        ),
        "on_header_value": lambda data, start, end: header.update(
            value=header["value"] + data[start:end]
        ),
        "on_header_end": header_end,
    }
    try:
        MultipartParser(boundary, callbacks).write(body)
    except Exception:  # python-multipart raises its own errors for a malformed body
        return "refused: the multipart body is malformed"
    if len(parts) > MOST_FORM_PARTS:
        return f"refused: at most {MOST_FORM_PARTS} files and fields in one upload"
    for part in parts:
        if not part.get(b"name"):
            return "refused: every part of a multipart body needs a field name"
        is_file = b"filename" in part
        if (is_file and os.path.basename(part[b"filename"]) in (b"", b".", b"..")) or (
            part[b"name"] == UPLOAD_FIELD and not is_file
        ):
            return "refused: an uploaded file needs a name"
    return None


def content_type(scope) -> tuple[bytes, dict[bytes, bytes]]:
    """The request's media type, lower case, and its parameters (``boundary``...)."""
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            kind, params = parse_options_header(value)
            return kind.lower(), params
    return b"", {}


async def read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None once it passes ``limit`` bytes."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def replay(body: bytes, receive):
    """A ``receive`` that hands the app the body already read, then waits as the original
    does (for the client's disconnect)."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def refuse(send, status: int, message: str) -> None:
    body = orjson.dumps({"detail": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def gradio_app_kwargs(demo, max_body: int) -> dict[str, Any]:
    """``app_kwargs`` for ``demo.launch`` and ``gr.mount_gradio_app``: the app behind this
    guard, without an OpenAPI schema of Gradio's routes. Also arms Gradio's own file check
    on ``demo``, which a mounted app never arms."""
    demo.has_launched = True
    guard = Middleware(UploadedFilesOnly, folder=demo.GRADIO_CACHE, max_body=max_body)
    return {"middleware": [guard], "openapi_url": None}
