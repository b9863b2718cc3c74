"""The Draw tab: a canvas of our own whose digit the MNIST model reads while it is drawn.

The tab is one ``gr.HTML`` (``#digit-draw``): a plain 2D canvas with pointer events
(``#digit-sketchpad``; mouse, touch and stylus draw alike), a pen width, Undo and Clear
(``#digit-clear``), and beside it the answer (``#digit-label``: the top class, the top
three scores and which drawing they are for), what the model sees (``#digit-seen``, the
28x28 input) and a message (``#digit-message``: the hint on an empty canvas).

The canvas sends its strokes as JSON (:mod:`visionplay.strokes`, a few kilobytes; no
picture is uploaded) to :func:`answer` through gr.HTML's server functions: one POST, its
reply drawn by the page. While the pen moves it asks at most every ``LIVE_INTERVAL_MS``
and never with an answer outstanding (the newest drawing replaces any waiting one, so
nothing piles up); on pen-up it asks at once. A Gradio event would cost a queue join, an
event stream and the page's state updates: 45 ms p50 a round trip doing nothing, on the
bench's two cores, against 10 ms for the POST (BENCHMARKS.md, "Drawing in a browser").
An answer to an older drawing than the one shown, or to one since cleared, is dropped.

Programs get the same answer from the ``draw`` API endpoint (gradio_client's
``api_name="/draw"`` with the strokes JSON), which goes through Gradio's queue.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import gradio as gr

from .. import strokes as pen
from ..config import NOT_A_DIGIT
from ..errors import InvalidInputError
from ..tasks import Classifier
from .widgets import classify, try_load

DRAW_HINT = "Draw a digit anywhere on the canvas: any size, any stroke."
NOT_A_DIGIT_HINT = "That does not look like a digit to the model: draw one digit, 0 to 9."
PEN_WIDTHS = (6, 40, 18)  # the pen width slider: lowest, highest, to start with
MIN_STEP = 1.5  # canvas pixels the pen moves before the canvas keeps another point
LIVE_INTERVAL_MS = 40  # while the pen moves, at most one question this often

TEMPLATE = f"""
<div class="vp-draw">
  <div class="vp-left">
    <div id="digit-sketchpad" class="vp-pad">
      <canvas width="{pen.CANVAS}" height="{pen.CANVAS}" role="img"
              aria-label="Drawing area: draw a digit with the mouse, a finger or a pen"></canvas>
    </div>
    <div class="vp-tools">
      <label>Pen <input type="range" class="vp-width" min="{PEN_WIDTHS[0]}"
             max="{PEN_WIDTHS[1]}" value="{PEN_WIDTHS[2]}" aria-label="Pen width"></label>
      <button type="button" class="vp-undo">Undo</button>
      <button type="button" class="vp-clear" id="digit-clear">Clear</button>
    </div>
  </div>
  <div class="vp-right">
    <div id="digit-label" class="vp-answer"></div>
    <div class="vp-seen-title">What the model sees (28x28):</div>
    <canvas id="digit-seen" width="28" height="28"></canvas>
    <div id="digit-message" class="vp-message">{DRAW_HINT}</div>
  </div>
</div>
"""

CSS = """
.vp-draw { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.vp-left { flex: 3 1 300px; max-width: 400px; display: flex; flex-direction: column; gap: 8px; }
.vp-right { flex: 2 1 240px; display: flex; flex-direction: column; gap: 8px; min-width: 0; }
.vp-pad canvas {
  display: block; width: 100%; aspect-ratio: 1; touch-action: none; cursor: crosshair;
  background: #fff; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-md);
}
.vp-tools { display: flex; gap: 8px; align-items: center; }
.vp-tools label { display: flex; gap: 6px; align-items: center; margin-right: auto; }
.vp-tools button {
  padding: 4px 14px; border-radius: var(--radius-md); cursor: pointer;
  border: 1px solid var(--button-secondary-border-color);
  background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color);
}
.vp-answer { min-height: 9em; }
.digit-top { font-size: 3.5em; font-weight: 700; line-height: 1.1; }
.digit-top.vp-words { font-size: 2em; }  /* "not a digit" */
.digit-scores { list-style: none; margin: 0; padding: 0; }
.digit-scores li { display: grid; grid-template-columns: 4em 1fr 4.5em; gap: 8px; margin: 0; }
.digit-bar { align-self: center; height: 8px; border-radius: 4px; background: var(--color-accent); }
.digit-score { text-align: right; font-variant-numeric: tabular-nums; }
.digit-read { color: var(--body-text-color-subdued); font-size: 0.9em; }
#digit-seen {
  width: 224px; height: 224px; image-rendering: pixelated; background: #000;
  border-radius: var(--radius-md);
}
#digit-seen.vp-none { visibility: hidden; }
"""

# Runs once the widget is on the page: `element` is its root, `props.value` its value
# (the strokes JSON, kept for the page's state), `server.answer` calls :func:`answer` in
# one POST (see gr.HTML's js_on_load and server_functions). The script draws on the
# template's canvases and fills in its answer nodes. gr.HTML would rebuild any node that
# differs from its template, but only when the rendered template changes, and this one
# reads no prop: it never does.
SCRIPT = (
    f"""
const SIZE = {pen.CANVAS}, MAX_STROKES = {pen.MAX_STROKES}, MAX_POINTS = {pen.MAX_POINTS};
const MIN_STEP = {MIN_STEP}, INTERVAL = {LIVE_INTERVAL_MS}, HINT = {json.dumps(DRAW_HINT)};
"""
    + """
const canvas = element.querySelector("#digit-sketchpad canvas");
const ctx = canvas.getContext("2d");
const width = element.querySelector(".vp-width");
const label = element.querySelector("#digit-label");
const seen = element.querySelector("#digit-seen");
const message = element.querySelector("#digit-message");
let strokes = [], points = 0, current = null, pointer = null, box = null;
let version = 0;    // the drawing's version: +1 at every change
let shown = 0;      // the version whose answer (or hint) is on show
let asked = 0;      // the newest version asked about
let inflight = 0, waiting = false, timer = 0, lastAsked = -Infinity;

function style(w) {
  ctx.lineWidth = w; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.strokeStyle = ctx.fillStyle = "#000";
}
function dot(p, w) {
  style(w); ctx.beginPath(); ctx.arc(p[0], p[1], w / 2, 0, 2 * Math.PI); ctx.fill();
}
function segment(a, b, w) {
  style(w); ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
}
function paint(s) {
  if (s.points.length === 1) return dot(s.points[0], s.width);
  style(s.width); ctx.beginPath(); ctx.moveTo(s.points[0][0], s.points[0][1]);
  for (const p of s.points.slice(1)) ctx.lineTo(p[0], p[1]);
  ctx.stroke();
}
function repaint() {
  ctx.clearRect(0, 0, SIZE, SIZE);
  strokes.forEach(paint);
  points = strokes.reduce((n, s) => n + s.points.length, 0);
}

function showHint(text) {
  label.replaceChildren(); seen.classList.add("vp-none"); message.textContent = text;
}
function showAnswer(a) {
  if (!a.label) return showHint(a.message || HINT);
  const top = document.createElement("div");
  top.className = a.label.length > 1 ? "digit-top vp-words" : "digit-top";
  top.textContent = a.label;
  const list = document.createElement("ul");
  list.className = "digit-scores";
  for (const c of a.confidences) {
    const row = document.createElement("li"), name = document.createElement("span");
    const bar = document.createElement("span"), score = document.createElement("span");
    name.className = "digit-class"; name.textContent = c.label;
    bar.className = "digit-bar"; bar.style.width = (100 * c.confidence).toFixed(1) + "%";
    score.className = "digit-score"; score.textContent = (100 * c.confidence).toFixed(1) + "%";
    row.append(name, bar, score); list.append(row);
  }
  const read = document.createElement("div");
  read.className = "digit-read"; read.textContent = "read from " + a.read;
  label.replaceChildren(top, list, read);
  const pixels = new ImageData(28, 28), bytes = atob(a.seen);
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes.charCodeAt(i);
    pixels.data.set([v, v, v, 255], 4 * i);
  }
  seen.getContext("2d").putImageData(pixels, 0, 0);
  seen.classList.remove("vp-none");
  message.textContent = a.message;
}

// Ask about the drawing as it is now. While the pen moves, one question at a time: when
// the drawing changes with an answer outstanding, only that it changed is remembered (the
// newest drawing replaces any waiting one) and asked when the answer comes. On pen-up,
// ask at once, beside an answer still on its way.
async function ask(now) {
  clearTimeout(timer); timer = 0;
  if (version === asked || version === shown) return;
  if (inflight && !(now && inflight < 2)) { waiting = true; return; }
  if (!strokes.length) { shown = asked = version; return showHint(HINT); }
  const question = asked = version;
  inflight++; waiting = false; lastAsked = performance.now();
  try {
    const a = await server.answer(JSON.stringify(strokes));
    if (question > shown) { shown = question; showAnswer(a); }
  } catch (err) {
    if (question > shown) { shown = question; showHint("Could not reach the server: " + err); }
  }
  inflight--;
  if (waiting && !inflight) askSoon(pointer === null);
}
function askSoon(now) {
  if (now) return ask(true);
  if (inflight) { waiting = true; return; }
  if (!timer) timer = setTimeout(ask, Math.max(0, lastAsked + INTERVAL - performance.now()));
}
function changed(now) { version++; askSoon(now); }
function keep() { props.value = JSON.stringify(strokes); }  // the component's value

function at(e) {
  const clamp = (v) => Math.round(Math.min(SIZE, Math.max(0, v)) * 10) / 10;
  return [clamp((e.clientX - box.left) * SIZE / box.width),
          clamp((e.clientY - box.top) * SIZE / box.height)];
}
function extend(p) {
  const last = current.points[current.points.length - 1];
  if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP || points >= MAX_POINTS) return false;
  current.points.push(p); points++;
  segment(last, p, current.width);
  return true;
}
canvas.addEventListener("pointerdown", (e) => {
  if (pointer !== null || e.button !== 0) return;
  if (strokes.length >= MAX_STROKES || points >= MAX_POINTS) return;
  e.preventDefault();
  pointer = e.pointerId;
  try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
  box = canvas.getBoundingClientRect();
  current = {width: Number(width.value), points: [at(e)]};
  strokes.push(current); points++;
  dot(current.points[0], current.width);
  changed(false);
});
canvas.addEventListener("pointermove", (e) => {
  if (e.pointerId !== pointer) return;
  const moves = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  let moved = false;
  for (const move of moves.length ? moves : [e]) moved = extend(at(move)) || moved;
  if (moved) changed(false);
});
function end(e) {
  if (e.pointerId !== pointer) return;
  if (e.type === "pointerup" && extend(at(e))) version++;
  pointer = null; current = null;
  askSoon(true);  // the whole drawing, at once (unless it is asked already)
  keep();
}
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);
element.querySelector(".vp-undo").addEventListener("click", () => {
  if (pointer !== null || !strokes.length) return;
  strokes.pop(); repaint(); changed(true); keep();
});
element.querySelector(".vp-clear").addEventListener("click", () => {
  pointer = null; current = null; strokes = []; repaint();
  version++; shown = asked = version; showHint(HINT);  // answers on their way are dropped
  keep();
});
showHint(HINT);
// Shown again (a tab switched back to): draw what the value holds.
try {
  const kept = JSON.parse(props.value || "[]");
  if (Array.isArray(kept) && kept.length) {
    strokes = kept.filter((s) => s && Array.isArray(s.points) && s.points.length);
    repaint(); changed(true);
  }
} catch (err) { strokes = []; }
// For tests and the bench: what is drawn.
canvas.vpDrawing = () => ({strokes: strokes.length, points, json: JSON.stringify(strokes)});
"""
)


def answer(model: Classifier, value: Any) -> dict[str, Any]:
    """What the tab shows for a drawing (strokes JSON, as the canvas sends it): ``label``
    (the top class, or None when there is nothing to read), ``confidences`` (the top
    three, as gr.Label has them), ``seen`` (the 28x28 input the model read: base64 of its
    784 bytes, row by row, 0 black to 255 white), ``read`` (what the drawing was made of:
    "1 stroke, 3 points") and ``message`` (empty, the hint for an empty canvas, or what is
    wrong with the strokes, or :data:`NOT_A_DIGIT_HINT` when the reader says "not a
    digit").

    Its pieces: :func:`visionplay.strokes.check` and :func:`~visionplay.strokes.render`,
    then :func:`.widgets.classify` (``model.prepare``, the same as for any picture)."""
    nothing: dict[str, Any] = {"label": None, "confidences": [], "seen": None, "read": ""}
    try:
        drawing = pen.check(value)
    except InvalidInputError as err:
        return {**nothing, "message": f"Could not read that drawing: {err}"}
    if not drawing:
        return {**nothing, "message": DRAW_HINT}
    # The page enlarges the 28x28 input itself.
    scores, seen, message = classify(model, pen.render(drawing), top_k=3, hint=DRAW_HINT, scale=1)
    if not scores:
        return {**nothing, "read": pen.describe(drawing), "message": message.replace("**", "")}
    label = next(iter(scores))
    return {
        "label": label,
        "confidences": [{"label": k, "confidence": round(v, 6)} for k, v in scores.items()],
        "seen": base64.b64encode(seen.tobytes()).decode(),
        "read": pen.describe(drawing),
        "message": NOT_A_DIGIT_HINT if label == NOT_A_DIGIT else message,
    }


def draw_tab(directory: str | os.PathLike | None) -> None:
    model, problem = try_load("mnist", directory)
    with gr.Tab("Draw", id="mnist"):
        if model is None:
            gr.Markdown(problem)
            return

        def answer_strokes(strokes: str) -> dict:
            """The model's reading of a drawing: strokes JSON as the Draw tab's canvas sends
            it, [{"width": 18, "points": [[x, y], ...]}, ...] on a 400x400 canvas. Answers
            label, confidences (top 3), seen (the 28x28 input: base64 of 784 bytes, row by
            row), read and message."""
            return answer(model, strokes)

        answer_strokes.__name__ = "answer"  # `server.answer` in the page
        answer_strokes.__annotations__ = {"strokes": str, "return": dict}  # for gr.api
        gr.HTML(
            value="[]",
            html_template=TEMPLATE,
            css_template=CSS,
            js_on_load=SCRIPT,
            apply_default_css=False,
            server_functions=[answer_strokes],
            elem_id="digit-draw",
        )
        gr.api(answer_strokes, api_name="draw")
