"""matplotlib set up for writing files: every chart visionplay draws comes through here.

torch-free and imported lazily, so serving pays for matplotlib only when a chart is drawn.

matplotlib is not thread-safe (pyplot's figure list, the mathtext parser behind log-axis
tick labels), and the app's tabs answer requests in several threads at once: a figure is
built and rendered under :data:`DRAWING`, one at a time in the process (:func:`drawing`,
:func:`encoded`).
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

DRAWING = threading.RLock()  # held while any figure is built or rendered
FORMAT = "webp"  # what gr.Plot itself sends a figure as: it encodes fastest


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend: charts go to PNG files or arrays, never to
    a window, so drawing works on a server without a display."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot is first imported
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def drawing() -> Iterator[ModuleType]:
    """pyplot, with :data:`DRAWING` held until the block ends: build a figure and render it
    (:func:`encoded`) inside the block."""
    with DRAWING:
        yield pyplot()


def encoded(fig: Any, fmt: str = FORMAT) -> str:
    """``fig`` rendered now, under :data:`DRAWING`, as a ``data:`` URL; the figure is
    closed. Rendering is what parses text, so it must not wait until after the lock."""
    with drawing() as plt:
        try:
            with io.BytesIO() as buffer:
                fig.savefig(buffer, format=fmt)
                data = buffer.getvalue()
        finally:
            plt.close(fig)
    return f"data:image/{fmt};base64,{base64.b64encode(data).decode()}"
