"""matplotlib set up for writing files: every chart visionplay draws comes through here.

torch-free and imported lazily, so serving pays for matplotlib only when a chart is drawn.
"""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend: charts go to PNG files or arrays, never to
    a window, so drawing works on a server without a display."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot is first imported
    import matplotlib.pyplot as plt

    return plt
