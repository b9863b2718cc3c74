// The Draw tab's canvas: gr.HTML runs this once its template (draw.html) is on the page,
// as the body of a function of `element` (the template's root), `props` (`props.value`
// holds the strokes JSON, for the page's state) and `server` (`server.answer` asks the
// model picked above the canvas in one POST). See visionplay/ui/draw.py for what is asked
// when.
//
// Its limits, step, interval and hint are Python's (visionplay.strokes, visionplay.ui.draw),
// handed over as data attributes of the template's root, so each is defined once.
const config = element.querySelector(".vp-draw").dataset;
const MAX_STROKES = Number(config.maxStrokes), MAX_POINTS = Number(config.maxPoints);
const MIN_STEP = Number(config.minStep), INTERVAL = Number(config.interval);
const HINT = config.hint;
const canvas = element.querySelector("#digit-sketchpad canvas");
const SIZE = canvas.width;  // the strokes' coordinates: canvas pixels, not CSS pixels
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

// The reader picked in the tab's model picker (#digit-model, Gradio's radio inputs); ""
// asks the server for the tab's first.
function picked() {
  const input = document.querySelector("#digit-model input:checked");
  return input ? input.value : "";
}

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
  label.replaceChildren(); delete label.dataset.model;
  seen.classList.add("vp-none"); message.textContent = text;
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
  label.dataset.model = a.model;  // which reader answered (the page shows its card)
  const pixels = new ImageData(seen.width, seen.height), bytes = atob(a.seen);
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
    const a = await server.answer(JSON.stringify(strokes), picked());
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
  try { canvas.setPointerCapture(e.pointerId); } catch { /* a synthetic pointer */ }
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
// Another reader picked: the drawing is asked about again.
document.addEventListener("change", (e) => {
  if (e.target instanceof Element && e.target.closest("#digit-model")) changed(true);
});
showHint(HINT);
// Shown again (a tab switched back to): draw what the value holds.
try {
  const kept = JSON.parse(props.value || "[]");
  if (Array.isArray(kept) && kept.length) {
    strokes = kept.filter((s) => s && Array.isArray(s.points) && s.points.length);
    repaint(); changed(true);
  }
} catch { strokes = []; }
// For tests and the bench: what is drawn.
canvas.vpDrawing = () => ({strokes: strokes.length, points, json: JSON.stringify(strokes)});
