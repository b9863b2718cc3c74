"""One admission policy for every way in: the REST routes, the app's tabs, Ray replicas.

Work runs in worker threads, each piece holding one of the server's core slots while it
runs. Large work (a request past any of the limits below) first takes a turn in a lane
one slot narrower, so however much large work arrives, through whichever entry point, a
small request always finds a core. :data:`ADMISSION` is the process's one policy;
``visionplay serve`` sizes it to the requests it runs side by side.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import VisionplayError

# A request past any of these is large: decoding its pictures, running its batch or
# reading its series takes a core for long enough to hold small requests up.
LARGE_PIXELS = 1_000_000  # pixels decoded, all pictures together
LARGE_ROWS = 8  # pictures or tensor rows in one batch
LARGE_VALUES = 100_000  # values a model reads (``Model.work``: a long forecast reads many)
# The app's queue (visionplay.ui.app.queued): events waiting, from every client together,
# and events one client (one address) may have waiting or running.
MOST_QUEUED = 32
MOST_PER_CLIENT = 8

# How often a thread holding the GIL hands it over (Python's default: every 5 ms).
GIL_SWITCH_S = 0.0005

STOPPING = "the server is stopping: try again once it is back"
WAKE_S = 0.2  # how often work waiting for its turn looks whether the server is stopping

Result = TypeVar("Result")


def hand_over_sooner() -> None:
    """A server process's GIL goes from thread to thread sooner than Python's default: a
    small request crosses threads several times (event loop, worker, back), and each
    time waits for the thread of a live frame or a large batch to hand the GIL over."""
    sys.setswitchinterval(GIL_SWITCH_S)


def is_large(pixels: int = 0, rows: int = 1, values: int = 0) -> bool:
    """Whether work of this size takes the large lane."""
    return pixels > LARGE_PIXELS or rows > LARGE_ROWS or values > LARGE_VALUES


class Slots:
    """``count`` slots, taken first come, first served (a semaphore wakes its waiters in
    no set order, and a large request could wait behind ever newer ones); waiting gives up
    with :data:`STOPPING` once ``stopping()`` says so."""

    def __init__(self, count: int) -> None:
        self.free = count
        self._changed = threading.Condition()
        self._waiting: deque[object] = deque()

    def take(self, stopping: Callable[[], bool]) -> None:
        ticket = object()
        with self._changed:
            self._waiting.append(ticket)
            try:
                while not (self.free and self._waiting[0] is ticket):
                    if stopping():
                        raise VisionplayError(STOPPING)
                    self._changed.wait(WAKE_S)
            except BaseException:
                self._waiting.remove(ticket)
                self._changed.notify_all()
                raise
            self._waiting.popleft()
            self.free -= 1
            self._changed.notify_all()  # the next in line may find a slot too

    def waiting(self) -> bool:
        return bool(self._waiting)

    def give_back(self) -> None:
        with self._changed:
            self.free += 1
            self._changed.notify_all()


class Admission:
    """``cores`` slots for all work, and a lane of ``cores - 1`` (at least one) that large
    work passes first, each first come, first served. Blocking: call it in the worker
    thread that does the work."""

    def __init__(self, cores: int) -> None:
        self._holding = threading.local()
        self.stopping = False
        self.resize(cores)

    def resize(self, cores: int) -> None:
        """Size the slots anew (before serving: work already admitted keeps its slot)."""
        self.cores = max(1, cores)
        self._slots = Slots(self.cores)
        self._large = Slots(max(1, self.cores - 1))

    @contextmanager
    def turn(self, large: bool) -> Iterator[None]:
        """Hold a core slot (after a turn in the large lane, for large work) meanwhile. A
        turn taken inside one the thread holds is that same turn: the work is one piece."""
        if getattr(self._holding, "turn", False):
            yield
            return
        slots, lane = self._slots, self._large  # resize() may swap them meanwhile
        if large:
            lane.take(self.is_stopping)
        try:
            slots.take(self.is_stopping)
            self._holding.turn = True
            try:
                yield
            finally:
                self._holding.turn = False
                slots.give_back()
        finally:
            if large:
                lane.give_back()

    def idle_but_this(self) -> bool:
        """Whether no other work holds a core slot or waits for one, in either lane: work
        may then spread over every core without keeping a small request from one."""
        held = 1 if getattr(self._holding, "turn", False) else 0
        slots, lane = self._slots, self._large
        return slots.free + held >= self.cores and not slots.waiting() and not lane.waiting()

    def is_stopping(self) -> bool:
        return self.stopping

    def stop(self) -> None:
        """Work still waiting for its turn is refused with :data:`STOPPING` (a stopping
        server's grace is for the work already running)."""
        self.stopping = True

    def run(self, large: bool, work: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        """``work(*args, **kwargs)`` in its turn."""
        with self.turn(large):
            return work(*args, **kwargs)


ADMISSION = Admission(os.cpu_count() or 1)
