"""A process's resident memory, and how far one piece of work raises its peak: what the
security tests measure of a server under attack (Linux's /proc)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def memory_mb(pid: int, field: str) -> float:
    """``field`` of /proc/PID/status (VmRSS now, VmHWM the peak) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


def peak_growth(pid: int, work: Callable[[], Any]) -> tuple[Any, float]:
    """What ``work`` returns, and how far the peak resident memory of process ``pid`` rose
    above its memory before (MB): VmHWM, restarted through clear_refs."""
    before = memory_mb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    result = work()
    return result, memory_mb(pid, "VmHWM") - before
