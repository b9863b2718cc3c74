"""The Learn tab: the tutorials' small experiments, computed for real in the browser.

Four panels over code that lives elsewhere: the model explorer (:mod:`..tutorials.explorer`,
ONNX metadata through :func:`.load`), the learned edge detector and linear regression
(:mod:`..tutorials.lessons`), and FC vs CNN on shuffled pixels (the result file that
``visionplay experiment permute`` writes). torch and matplotlib are imported only when a
panel computes something, so they cost the app's start-up nothing.

"Seed NNN" names one of the five tutorials the project follows: see docs/tutorials.md.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from ..admission import ADMISSION, is_large
from ..errors import VisionplayError, shown
from ..inference import load
from ..locations import Folders, search_path
from ..plots import drawing
from .widgets import as_image, pixels_of, plotted, tolerant

if TYPE_CHECKING:  # torch, which the lessons import, only once a panel computes
    from ..tutorials.lessons import EdgeFit, LineFit

LAYER_HEADERS = ["layer", "type", "output shape", "parameters"]
FIT_HEADERS = ["method", "w", "b", "final loss", "time (ms)"]
LEARNING_RATES = ["1e-9", "1e-8", "2e-8", "3e-8", "1e-7", "1e-6"]  # the limit is ~3.0e-8
PERMUTE_FILE = Path("experiments") / "permute.json"
PERMUTE_COMMAND = "visionplay experiment permute --out exported/experiments"
EDGE_HINT = "Draw on the canvas, or upload or paste a picture: the learned kernel runs over it."


# Model explorer


def explore(name: str | None, directory: Folders = None) -> tuple[Any, str]:
    """The layer table of a registered architecture and, when it is exported, its ONNX
    file's inputs, outputs, opset and metadata."""
    from ..tutorials.explorer import architecture, onnx_opsets

    if not name:
        return None, "Pick an architecture."
    arch = architecture(name)
    if arch is None:
        return None, f"**No architecture {shown(name)!r}:** pick one from the list."
    rows = [
        [layer.name, layer.kind, str(layer.output_shape), layer.parameters] for layer in arch.layers
    ]
    text = [f"**{name}**: {arch.description}", f"Total parameters: **{arch.parameters:,}**"]
    try:
        model = load(name, directory)
    except VisionplayError:
        text.append("Not exported: no ONNX file ships for it.")
    else:
        text += [
            f"Exported as `{model.path.name}` (opset {onnx_opsets(model.path)})",
            f"Inputs: {_shapes(model.session.get_inputs())}",
            f"Outputs: {_shapes(model.session.get_outputs())}",
            "Metadata: " + ", ".join(f"`{k}`" for k in sorted(model.metadata)),
            f"Training: `{model.metadata.get('training', '')}`",
        ]
    return gr.Dataframe(rows, headers=LAYER_HEADERS), "\n\n".join(text)


def _shapes(values) -> str:
    """An ONNX session's inputs or outputs: "`x` tensor(float) [1, 1, 28, 28]; ..."."""
    return "; ".join(f"`{v.name}` {v.type} {v.shape}" for v in values)


def architectures() -> Any:
    """The explorer's choices, filled in when the Learn tab opens: listing the registry
    imports the models, and so torch, which the other tabs never need."""
    from ..tutorials.explorer import architecture_names

    return gr.Dropdown(choices=architecture_names())


def explorer_panel(directory: Folders) -> gr.Dropdown:
    with gr.Tab("Model explorer", id="learn-explorer"):
        gr.Markdown("Every registered architecture, layer by layer, for its natural input.")
        # explore() checks the name against the registry itself
        choice = gr.Dropdown(
            [], value=None, label="Architecture", allow_custom_value=True, elem_id="learn-arch"
        )
        info = gr.Markdown("Pick an architecture.", elem_id="learn-info")
        table = gr.Dataframe(headers=LAYER_HEADERS, interactive=False, elem_id="learn-layers")

        def show(name: str | None) -> tuple[Any, str]:
            return explore(name, directory)

        choice.change(show, choice, [table, info], api_name="explore")
    return choice


# Cross-correlation and a learned edge detector (seed 001)


def train_edge(steps: float, lr: float, seed: float) -> tuple[Any, str, list[float]]:
    """Train the 1x2 kernel; a figure of picture, target, output and loss, a summary, and
    the learned [k1, k2, bias] for the "your picture" half of the panel."""
    from ..tutorials.lessons import learn_edge_kernel

    try:
        with ADMISSION.turn(large=True):  # training, however small
            fit = learn_edge_kernel(steps, lr, 0 if seed is None else seed)
    except VisionplayError as err:  # what it was given, or a stopping server
        return None, f"**Cannot train that:** {err}", []
    k1, k2 = fit.kernel[0]
    diverged = not np.isfinite(fit.losses[-1])
    text = (
        f"**Learned kernel [{k1:.4f}, {k2:.4f}]**, bias {fit.bias:.4f}, after {len(fit.losses)} "
        f"steps at lr {lr:g}; the exact edge kernel is [1, -1] with bias 0. "
        f"Loss {fit.losses[0]:.4g} at the first step, {fit.losses[-1]:.3g} at the last."
    )
    if diverged:
        text += " **The learning rate is too large: the loss diverged.**"
    return edge_figure(fit), text, [float(k1), float(k2), fit.bias]


def edge_figure(fit: EdgeFit) -> Any:
    """Picture, target, the learned kernel's output and the loss per step, side by side."""
    titles = ("picture X (6x8)", "target edges Y (6x7)", "learned kernel on X")
    with drawing() as plt:
        fig, axes = plt.subplots(
            1, 4, figsize=(12, 2.8), gridspec_kw={"width_ratios": [8, 7, 7, 9]}
        )
        for ax, values, title in zip(
            axes[:3], (fit.image, fit.target, fit.output), titles, strict=True
        ):
            if ax is axes[0]:
                ax.imshow(values, cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set(title=title, xticks=[], yticks=[])
        axes[3].semilogy(np.arange(1, len(fit.losses) + 1), fit.losses, "o-", markersize=3)
        axes[3].set(title="loss per step", xlabel="step")
        axes[3].grid(alpha=0.3)
        fig.tight_layout()
        return plotted(fig)


def apply_edge(value: Any, learned: list[float]) -> tuple[Any, str]:
    """The learned kernel over the user's picture: grey input beside its response."""
    from ..tutorials.lessons import apply_kernel

    image = as_image(value)
    if not learned:
        return None, "Train the kernel first."
    if image is None:
        return None, EDGE_HINT
    kernel = np.array([learned[:2]], np.float32)
    try:
        with ADMISSION.turn(is_large(pixels=pixels_of(image))):
            grey, response = apply_kernel(image, kernel, learned[2])
    except VisionplayError as err:
        return None, f"**Could not read that picture:** {err}"
    if np.ptp(grey) == 0:
        return None, EDGE_HINT
    limit = max(float(np.abs(response).max()), 1e-6)
    return response_figure(grey, response, limit), (
        f"The strongest response is {limit:.2f}. Only vertical edges answer: a 1x2 kernel "
        "compares each pixel with its right-hand neighbour, never with the one below."
    )


def response_figure(grey: np.ndarray, response: np.ndarray, limit: float) -> Any:
    """The user's picture in grey beside the kernel's response to it."""
    with drawing() as plt:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        axes[0].imshow(grey, cmap="gray", vmin=0, vmax=1)
        axes[0].set(title=f"in grey, {grey.shape[1]}x{grey.shape[0]}")
        colours = axes[1].imshow(response, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[1].set(title="response (red: light to dark)")
        fig.colorbar(colours, ax=axes[1], shrink=0.8)
        for ax in axes:
            ax.set(xticks=[], yticks=[])
        fig.tight_layout()
        return plotted(fig)


def edge_panel() -> None:
    with gr.Tab("Edge detector", id="learn-edge"):
        gr.Markdown(
            "A conv layer computes a **cross-correlation**: the kernel slides over the picture "
            "and each output is the sum of the kernel times the pixels under it. Here a 1x2 "
            "kernel and a bias start random and learn, by gradient descent on the summed "
            "squared error, to turn the 6x8 picture into its edge map."
        )
        # The lesson checks the rate and seed itself, quoting at most a little of a bad one:
        # Gradio's own range check on a Number would quote all of it.
        with gr.Row():
            steps = gr.Slider(1, 100, value=30, step=1, label="steps", elem_id="edge-steps")
            lr = gr.Number(0.01, label="learning rate", elem_id="edge-lr")
            seed = gr.Number(0, label="seed", precision=0)
            train = gr.Button("Train the kernel", variant="primary", elem_id="edge-train")
        plot = gr.Plot(show_label=False, elem_id="edge-plot")
        summary = gr.Markdown("Press **Train the kernel**.", elem_id="edge-summary")
        learned = gr.State([])
        with gr.Row():
            pad = tolerant(
                gr.Sketchpad(
                    label="Your picture",
                    type="numpy",
                    image_mode="RGBA",
                    sources=("upload", "clipboard"),
                    canvas_size=(240, 160),
                    brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                    layers=False,
                    transforms=(),
                    elem_id="edge-pad",
                    elem_classes=["brush-ready"],
                    scale=2,
                )
            )
            response = gr.Plot(show_label=False, elem_id="edge-response", scale=3)
        message = gr.Markdown(EDGE_HINT, elem_id="edge-message")

        train.click(train_edge, [steps, lr, seed], [plot, summary, learned], api_name="edge_train")
        train.click(apply_edge, [pad, learned], [response, message], api_name=False)
        pad.change(
            apply_edge,
            [pad, learned],
            [response, message],
            trigger_mode="always_last",
            show_progress="hidden",
            api_name="edge_apply",
        )


# Linear regression three ways (seed 004)


def fit_regression(steps: float, lr: str | float, seed: float) -> tuple[Any, Any, str]:
    """A plot of the data, the three fitted lines and their losses; a table of w and b
    beside the truth and the closed-form least squares; and what happened, in words."""
    from ..tutorials.lessons import TRUE_B, TRUE_W, curvatures, fit_line

    try:
        rate = float(lr)
    except (TypeError, ValueError):
        return None, None, f"**Not a learning rate:** {shown(str(lr))!r}"
    try:
        with ADMISSION.turn(large=True):  # three fits of up to thousands of steps
            x, y, fits = fit_line(steps, rate, 0 if seed is None else seed)
    except VisionplayError as err:  # what it was given, or a stopping server
        return None, None, f"**Cannot fit that:** {err}"
    slope, intercept = np.polyfit(x.astype(np.float64), y.astype(np.float64), 1)
    rows = [
        [f.method, f"{f.w:.4f}", f"{f.b:.4f}", f"{f.losses[-1]:.6g}", f"{1000 * f.seconds:.0f}"]
        for f in fits
    ]
    rows.append(["least squares (closed form)", f"{slope:.4f}", f"{intercept:.4f}", "", ""])
    rows.append(["truth", f"{TRUE_W:.4f}", f"{TRUE_B:.4f}", "", ""])

    smallest, largest = curvatures(x)
    text = [
        f"The three methods take the same steps from the same start, so they agree. "
        f"Steps above lr 2/{largest:.3g} = **{2 / largest:.2g}** overshoot (the loss's "
        f"curvature along w is that large because x runs to 100)."
    ]
    diverged = fits[0].diverged_at
    if diverged is not None:
        text.append(
            f"**At lr {rate:g} the loss diverged:** every step overshoots further, "
            f"and at step {diverged + 1} it overflowed to inf, then NaN."
        )
    else:
        text.append(
            f"w settles within a few steps; b moves only about {rate * smallest:.1e} "
            f"of its remaining way per step (about {1 / (rate * smallest):,.0f} steps per "
            "e-fold), which is why the tutorial ran 50,000 steps."
        )
    return fits_figure(x, y, fits), gr.Dataframe(rows, headers=FIT_HEADERS), " ".join(text)


def fits_figure(x: np.ndarray, y: np.ndarray, fits: list[LineFit]) -> Any:
    """The data with each method's fitted line, and each method's loss per step."""
    with drawing() as plt:
        fig, (data_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 3.6))
        data_ax.plot(x[::50], y[::50], ".", color="0.6", markersize=2, label="data (every 50th)")
        ends = np.array([x[0], x[-1]])
        for f, style in zip(fits, ("-", "--", ":"), strict=True):
            if np.isfinite([f.w, f.b]).all():
                data_ax.plot(ends, f.w * ends + f.b, style, linewidth=1.5, label=f.method)
            loss_ax.plot(np.arange(1, len(f.losses) + 1), f.losses, style, label=f.method)
        data_ax.set(xlabel="x", ylabel="y", title="y = 10x + 4 + noise")
        loss_ax.set(xlabel="step", ylabel="summed squared error", yscale="log", title="loss")
        for ax in (data_ax, loss_ax):
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return plotted(fig)


def regression_panel() -> None:
    with gr.Tab("Linear regression", id="learn-regression"):
        gr.Markdown(
            "10,000 points, x from 0 to 100 by 0.01, y = 10x + 4 + N(0, 1) noise, fitted by "
            "gradient descent on the summed squared error three ways: gradients written by "
            "hand in numpy, torch autograd, and `nn.Linear` with `torch.optim.SGD`."
        )
        with gr.Row():
            steps = gr.Slider(100, 10_000, value=3000, step=100, label="steps", elem_id="fit-steps")
            lr = gr.Dropdown(
                LEARNING_RATES,
                value="1e-8",
                allow_custom_value=True,
                label="learning rate",
                elem_id="fit-lr",
            )
            seed = gr.Number(0, label="seed", precision=0)
            fit = gr.Button("Fit", variant="primary", elem_id="fit-run")
        plot = gr.Plot(show_label=False, elem_id="fit-plot")
        table = gr.Dataframe(headers=FIT_HEADERS, interactive=False, elem_id="fit-table")
        summary = gr.Markdown("Press **Fit**.", elem_id="fit-summary")
        fit.click(fit_regression, [steps, lr, seed], [plot, table, summary], api_name="fit_line")


# FC vs CNN on shuffled pixels (seed 002)


def permutation_view(directory: Folders) -> tuple[str, list]:
    """The recorded table, and (caption, picture) pairs: each example digit as given and
    with its pixels moved by the experiment's permutation."""
    from ..tutorials.experiments import PERMUTE_MODELS, permuted

    paths = [folder / PERMUTE_FILE for folder in search_path(directory)]
    path = next((p for p in paths if p.is_file()), paths[0])
    try:
        result = json.loads(path.read_text())
        images = np.array(result["examples"]["images"], np.uint8)
        labels = result["examples"]["labels"]
        order = result["permutation"]
    except (OSError, ValueError, KeyError) as err:
        # the models folder is the server's business: only its part of the path is shown
        return (
            f"**No experiment result `{PERMUTE_FILE}`** ({type(err).__name__}) beside the "
            f"models. Make it with `{PERMUTE_COMMAND}` (a few minutes).",
            [],
        )
    lines = ["| model | parameters | plain pixels | permuted pixels |", "|---|---:|---:|---:|"]
    for arch, title in PERMUTE_MODELS.items():
        accuracy = result["table"][arch]
        lines.append(
            f"| {title} | {result['parameters'][arch]:,} | {accuracy['plain']:.2%} "
            f"| {accuracy['permuted']:.2%} |"
        )
    lines.append(
        f"\nMNIST test accuracy after {result['epochs']} epoch(s) on "
        f"{result['train_images']:,} images ({result['optimizer']}, seed {result['seed']}); "
        f"{result['test_images']:,} test images. Made by `{PERMUTE_COMMAND}`."
    )
    gallery = []
    for image, label in zip(images, labels, strict=True):
        gallery.append((image.repeat(4, 0).repeat(4, 1), f"{label}, as given"))
        gallery.append((permuted(image, order).repeat(4, 0).repeat(4, 1), f"{label}, permuted"))
    return "\n".join(lines), gallery


def permutation_panel(directory: Folders) -> None:
    with gr.Tab("FC vs CNN", id="learn-permute"):
        gr.Markdown(
            "FC2(8) and CNN-small(6) have nearly the same number of parameters. Move every "
            "picture's pixels by one fixed permutation, for training and testing alike: the "
            "fully connected net does not care, since it never knew which pixels were "
            "neighbours; the CNN loses what its small kernels relied on."
        )
        table, gallery = permutation_view(directory)
        gr.Markdown(table, elem_id="permute-table")
        gr.Gallery(
            gallery,
            columns=4,
            height="auto",
            label="Test digits before and after the permutation",
            elem_id="permute-gallery",
        )


TRAINING_EXTRA = ("torch", "matplotlib")  # what `pip install "visionplay[train]"` brings
LEARN_NEEDS_TRAINING = (
    "**The Learn tab trains small models as you watch, with PyTorch**, which this "
    'serving-only install does not have: `pip install "visionplay[train]"` adds it. '
    "The other tabs need nothing more."
)


def learn_tab(directory: Folders) -> None:
    if not all(importlib.util.find_spec(name) for name in TRAINING_EXTRA):
        with gr.Tab("Learn", id="learn"):
            gr.Markdown(LEARN_NEEDS_TRAINING, elem_id="learn-message")
        return
    with gr.Tab("Learn", id="learn") as tab, gr.Tabs():
        choice = explorer_panel(directory)
        edge_panel()
        regression_panel()
        permutation_panel(directory)
    tab.select(architectures, None, choice, api_name=False)
