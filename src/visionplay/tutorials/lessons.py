"""Two of the tutorials' small lessons, small enough to run live in the Learn tab.

* Seed 001: cross-correlation, and a 1x2 kernel learned by gradient descent that finds the
  vertical edges of a 6x8 picture with a dark band (it ends close to [1, -1]).
* Seed 004: linear regression on y = 10x + 4 + noise, x in [0, 100) by 0.01, fitted three
  ways that take the same steps: gradients written by hand, autograd, and nn.Linear with
  torch.optim.SGD. With the tutorial's summed squared loss the curvature along w is
  2 * sum(x^2) ~ 6.7e7, so any learning rate above 2 / 6.7e7 ~ 3e-8 overshoots further at
  every step and the loss runs to inf, then NaN.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from ..errors import InvalidInputError, checked_seed, shown, whole_number
from ..preprocess import open_image

EDGE_KERNEL = np.array([[1.0, -1.0]], np.float32)  # light-to-dark left to right gives +1
APPLY_MAX_SIDE = 96  # a user's picture is shrunk to this before the kernel runs over it
# What a lesson accepts: outside these rates nothing is learnt or shown (past float32's
# range torch refuses the rate outright), and more steps only keep a server busy.
LR_RANGE = (1e-12, 10.0)
MOST_STEPS = 10_000


def checked(steps: object, lr: object, seed: object) -> tuple[int, float, int]:
    """A lesson's steps, learning rate and seed as asked for, checked before any work is
    done: anything else is a one-line :class:`InvalidInputError`."""
    low, high = LR_RANGE
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not low <= lr <= high:
        raise InvalidInputError(
            f"need a positive learning rate from {low:g} to {high:g}; got {shown(lr)}"
        )
    return whole_number(steps, "steps", 1, MOST_STEPS), float(lr), checked_seed(seed)


def descend(
    loss_of: Callable[[], torch.Tensor], parameters: tuple[torch.Tensor, ...], lr: float, steps: int
) -> list[float]:
    """Plain gradient descent as the tutorials write it: backward() finds the gradients,
    each parameter moves by -lr times its own. The loss before each step's update."""
    losses = []
    for _ in range(steps):
        loss = loss_of()
        loss.backward()
        with torch.no_grad():
            for parameter in parameters:
                parameter -= lr * parameter.grad
                parameter.grad = None
        losses.append(loss.item())
    return losses


def corr2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D cross-correlation, what a conv layer computes: each output is the sum of the
    kernel times the window under it. (H, W) and (h, w) give (H - h + 1, W - w + 1)."""
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def band_image() -> np.ndarray:
    """Seed 001's 6x8 picture: white (1) with its middle four columns black (0)."""
    image = np.ones((6, 8), np.float32)
    image[:, 2:6] = 0
    return image


@dataclass
class EdgeFit:
    image: np.ndarray  # (6, 8)
    target: np.ndarray  # (6, 7): +1 where white turns black, -1 where black turns white
    kernel: np.ndarray  # (1, 2), learned
    bias: float
    losses: list[float]  # summed squared error before each step's update

    @property
    def output(self) -> np.ndarray:
        return corr2d(self.image, self.kernel) + self.bias


def learn_edge_kernel(steps: int = 30, lr: float = 0.01, seed: int = 0) -> EdgeFit:
    """Seed 001's experiment: a (1, 2) kernel and a bias, randomly initialised, trained by
    plain gradient descent on the summed squared error against the true edge map."""
    steps, lr, seed = checked(steps, lr, seed)
    image = band_image()
    target = corr2d(image, EDGE_KERNEL)
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(1, 1, 1, 2, generator=generator, requires_grad=True)
    bias = torch.randn(1, generator=generator, requires_grad=True)
    x, y = torch.from_numpy(image)[None, None], torch.from_numpy(target)[None, None]
    losses = descend(
        lambda: ((torch.nn.functional.conv2d(x, weight, bias) - y) ** 2).sum(),
        (weight, bias),
        lr,
        steps,
    )
    return EdgeFit(image, target, weight.detach()[0, 0].numpy(), bias.item(), losses)


def apply_kernel(
    picture: object, kernel: np.ndarray, bias: float = 0.0, max_side: int = APPLY_MAX_SIDE
) -> tuple[np.ndarray, np.ndarray]:
    """A picture (anything :func:`.preprocess.open_image` reads) as grey levels in [0, 1],
    shrunk to at most ``max_side`` pixels a side, and the kernel's response over it."""
    image = open_image(picture).convert("L")
    if min(image.size) < max(kernel.shape):
        raise InvalidInputError(
            f"the picture is {image.width}x{image.height} pixels; the kernel needs at least "
            f"{kernel.shape[1]}x{kernel.shape[0]}"
        )
    image.thumbnail((max_side, max_side), Image.Resampling.BOX)
    grey = np.asarray(image, np.float32) / 255
    return grey, corr2d(grey, kernel) + bias


# Seed 004: linear regression three ways.

TRUE_W, TRUE_B = 10.0, 4.0


def regression_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x from 0 to 100 by 0.01 (10,000 points) and y = 10x + 4 + N(0, 1) noise."""
    x = np.arange(0, 100, 0.01, dtype=np.float32)
    noise = np.random.default_rng(seed).standard_normal(x.size).astype(np.float32)
    return x, TRUE_W * x + TRUE_B + noise


def curvatures(x: np.ndarray) -> tuple[float, float]:
    """The smallest and largest eigenvalues of the summed squared loss's Hessian,
    2 * [[sum x^2, sum x], [sum x, n]]. Gradient descent diverges when lr > 2 / largest;
    the slow direction (mostly b, since x is not centred) shrinks by lr * smallest a step."""
    x = x.astype(np.float64)
    hessian = 2 * np.array([[x @ x, x.sum()], [x.sum(), x.size]])
    smallest, largest = np.linalg.eigvalsh(hessian)
    return float(smallest), float(largest)


@dataclass
class LineFit:
    method: str
    w: float
    b: float
    losses: np.ndarray  # summed squared error at each step, before its update
    seconds: float

    @property
    def diverged_at(self) -> int | None:
        """The first step whose loss is no longer finite, if any."""
        bad = np.flatnonzero(~np.isfinite(self.losses))
        return int(bad[0]) if bad.size else None


def fit_by_hand(x, y, w, b, lr, steps) -> tuple[float, float, list[float]]:
    """dL/dw = sum 2(wx + b - y) x and dL/db = sum 2(wx + b - y), written out in numpy."""
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            residual = w * x + b - y
            losses.append(float(residual @ residual))
            w, b = w - lr * float(2 * residual @ x), b - lr * float(2 * residual.sum())
    return w, b, losses


def fit_by_autograd(x, y, w, b, lr, steps) -> tuple[float, float, list[float]]:
    """The same loss in torch; backward() finds the gradients."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    w, b = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    losses = descend(lambda: ((w * x + b - y) ** 2).sum(), (w, b), lr, steps)
    return w.item(), b.item(), losses


def fit_by_module(x, y, w, b, lr, steps) -> tuple[float, float, list[float]]:
    """nn.Linear(1, 1), MSELoss(reduction="sum") and torch.optim.SGD: the library's way."""
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(w)
        model.bias.fill_(b)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss(reduction="sum")  # the tutorial's summed loss, so lr means the same
    x, y = torch.from_numpy(x)[:, None], torch.from_numpy(y)[:, None]
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model.weight.item(), model.bias.item(), losses


FITS: dict[str, Callable] = {
    "by hand (numpy)": fit_by_hand,
    "autograd": fit_by_autograd,
    "nn.Linear + SGD": fit_by_module,
}


def fit_line(
    steps: int = 3000, lr: float = 1e-8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[LineFit]]:
    """The data and one fit per method in :data:`FITS`, all from the same random start."""
    steps, lr, seed = checked(steps, lr, seed)
    x, y = regression_data(seed)
    start_w, start_b = np.random.default_rng(seed + 1).standard_normal(2).tolist()
    fits = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 10,000 numbers a step: a second thread only slows nn.Linear
    try:
        for method, fit in FITS.items():
            fit(x[:2], y[:2], start_w, start_b, lr, 1)  # one-off set-up (torch.optim's) untimed
            began = time.perf_counter()
            w, b, losses = fit(x, y, start_w, start_b, lr, steps)
            fits.append(LineFit(method, w, b, np.array(losses), time.perf_counter() - began))
    finally:
        torch.set_num_threads(threads)
    return x, y, fits
