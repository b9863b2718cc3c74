// Installed once the page has its label: pointer times (the events' own stamps), the
// drawing at each pen-up (the Draw tab's canvas tells it), and each change of the label.
// Playwright evaluates it; visionplay/bench/browser.py reads window.__vpBench.
() => {
  const rec = window.__vpBench = {downs: [], ups: [], changes: []};
  const label = document.querySelector("#digit-label");
  const shown = () => {  // the label's text, less Gradio's status tracker (its timers)
    const walk = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    let text = "";
    while (walk.nextNode()) {
      if (!walk.currentNode.parentElement.closest('[data-testid="status-tracker"]')) {
        text += walk.currentNode.data;
      }
    }
    return text.trim();
  };
  let text = shown();
  new MutationObserver(() => {
    const now = performance.now(), t = shown();
    if (t !== text) { text = t; rec.changes.push([now, t]); }
  }).observe(label, {subtree: true, childList: true, characterData: true});
  window.__vpShown = shown;
  // A pen-up ends a stroke begun on the canvas, wherever it lands (the Sketchpad's does
  // not land on its canvas).
  let drawing = false;
  window.addEventListener("pointerdown", (e) => {
    drawing = e.target instanceof HTMLCanvasElement && !!e.target.closest("#digit-sketchpad");
    if (drawing) rec.downs.push(e.timeStamp);
  }, true);
  window.addEventListener("pointerup", (e) => {
    if (drawing) rec.ups.push([e.timeStamp, null]);
  }, true);
  window.addEventListener("pointerup", () => {  // bubbling: after the canvas took the point
    const canvas = document.querySelector("#digit-sketchpad canvas");
    if (drawing && canvas.vpDrawing) rec.ups.at(-1)[1] = canvas.vpDrawing();
    drawing = false;
  });
}
