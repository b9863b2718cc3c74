"""``visionplay serve`` in a child process on a free port, for the bench and the tests:
start it, wait until it answers, stop it as a service manager would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import VisionplayError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    directory: Path,
    port: int,
    log: Path,
    timeout: float = 120,
    options: Sequence[str] = (),
    ready: str = "",
) -> tuple[subprocess.Popen, float]:
    """``visionplay serve [options]`` in a child process, its output to ``log`` (a pipe
    nobody reads would fill up and stall it); returns it and its seconds until ``ready``
    (a path under the server's root) answers 200."""
    command = [
        sys.executable,
        "-m",
        "visionplay.cli.main",
        "serve",
        "--port",
        str(port),
        "--models-dir",
        str(directory),
        *options,
    ]
    return start_child(command, f"http://127.0.0.1:{port}/{ready}", log, timeout, "the server")


def start_child(
    command: Sequence[str], url: str, log: Path, timeout: float = 120, what: str = "the server"
) -> tuple[subprocess.Popen, float]:
    """``command`` in a child process, its output to ``log``; returns it and its seconds
    until ``url`` answers 200 (stopped, and an error naming ``what``, if it never does)."""
    began = time.perf_counter()
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_PROFILING": "1"},
        )
    while time.perf_counter() - began < timeout:
        if server.poll() is not None:
            raise VisionplayError(f"{what} exited: {log.read_text()[-500:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server, time.perf_counter() - began
        except OSError:
            time.sleep(0.05)
    stop_server(server)
    raise VisionplayError(f"{what} did not answer on {url} within {timeout:.0f} s")


def stop_server(server: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, as a service manager would (``--ray`` then shuts its Ray down); SIGKILL if
    it has not gone within ``timeout`` seconds. Returns its exit code."""
    server.terminate()
    try:
        return server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()
