"""Only files uploaded to this app may be named in a request to the Gradio app.

A Gradio client sends a file input as ``{"path": ..., "meta": {"_type": "gradio.FileData"}}``
after uploading it. Gradio 6.31 checks that the path lies in its upload folder only once
``Blocks.launch()`` has run (``processing_utils._check_allowed`` returns early while
``blocks.has_launched`` is False), and ``gr.mount_gradio_app`` never sets it: a mounted app
copies any file the process can read into its cache and serves it back. So every JSON
body sent to the Gradio app passes :class:`UploadedFilesOnly` first, whichever way the
app was started (README, "Security").
"""

from __future__ import annotations

import os
from typing import Any

import orjson  # Gradio's own dependency
from starlette.middleware import Middleware

REFUSED = (
    "refused: a file in a request must be one uploaded to this app first "
    "(POST it to /gradio_api/upload and send the path that returns)"
)
INLINE_REFUSED = "refused: send pictures as uploaded files, not inline data: URLs"


class UploadedFilesOnly:
    """Plain ASGI middleware: a POST whose JSON names a file outside ``folder`` (Gradio's
    upload folder), or carries one inline, is answered 400 before the app sees it; a body
    over ``max_body`` bytes gets 413. Uploads themselves (multipart forms) pass through."""

    def __init__(self, app, folder: str | os.PathLike, max_body: int) -> None:
        self.app = app
        self.folder = os.path.realpath(folder)
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or is_form(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.max_body)
        if body is None:
            await refuse(send, 413, f"the body is over {self.max_body:,} bytes")
            return
        problem = self.refusal(body)
        if problem:
            await refuse(send, 400, problem)
            return
        await self.app(scope, replay(body, receive), send)

    def refusal(self, body: bytes) -> str | None:
        """Why ``body`` may not reach the app, or None."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # not JSON: Gradio's own parsing refuses it
        for file in file_objects(data):
            path, url = file.get("path"), file.get("url")
            if isinstance(url, str) and url.startswith("data:"):
                return INLINE_REFUSED
            if not (isinstance(path, str) and self.holds(path)):
                return REFUSED
        return None

    def holds(self, path: str) -> bool:
        real = os.path.realpath(path)  # "..", symbolic links and relative paths resolved
        return os.path.commonpath([real, self.folder]) == self.folder


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


def is_form(scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return value.split(b";")[0].strip().lower() == b"multipart/form-data"
    return False


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
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def gradio_app_kwargs(demo, max_body: int) -> dict[str, Any]:
    """``app_kwargs`` for ``demo.launch`` and ``gr.mount_gradio_app``: the app with this guard."""
    return {"middleware": [Middleware(UploadedFilesOnly, folder=demo.GRADIO_CACHE,
                                      max_body=max_body)]}  # fmt: skip
