"""Fixtures shared by the tests: a free port and the app served on one."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    return find_free_port()


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app over the shipped models ($VISIONPLAY_MODELS or exported/), served in-process."""
    from visionplay.app import build_app  # gradio takes seconds to import: only when needed

    port = find_free_port()
    demo = build_app()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
