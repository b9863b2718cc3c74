"""The one matplotlib set-up every chart goes through."""

from __future__ import annotations

import os
import subprocess
import sys


def test_pyplot_draws_off_screen_without_torch():
    # A fresh interpreter asking for another backend: Agg must be pyplot()'s own choice.
    code = (
        "import sys; from visionplay.plots import pyplot; plt = pyplot(); "
        "fig, ax = plt.subplots(); ax.plot([0, 1]); fig.canvas.draw(); "
        "print(plt.get_backend().lower(), 'torch' in sys.modules)"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["agg", "False"]
