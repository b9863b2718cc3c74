// Installed on the Face tab once its live view runs: each new answer the overlay canvas
// draws (#face-live-overlay's data-frames, data-faces, data-latency-ms) with the moment the
// page saw it, and with `watchFrames` (after frame_marks.js) each camera frame the view's
// video shows with its number (performance.now() times, both). Playwright evaluates it;
// visionplay/bench/live.py reads window.__vpLive and calls window.__vpLiveMark() to open
// and close a window.
(watchFrames) => {
  const overlay = document.querySelector("#face-live-overlay");
  const drawn = () => Number(overlay.dataset.frames || 0);
  const rec = window.__vpLive = {answers: [], shown: [], marks: []};
  let frames = drawn();
  new MutationObserver(() => {
    const now = performance.now(), count = drawn();
    if (count === frames) return;  // the same answer (its other attributes set apart)
    frames = count;
    rec.answers.push([
      now, count, Number(overlay.dataset.latencyMs), overlay.dataset.faces || "[]",
    ]);
  }).observe(overlay, {
    attributes: true, attributeFilter: ["data-frames", "data-faces", "data-latency-ms"],
  });
  if (watchFrames) window.__vpWatchFrames(document.querySelector("#face-live video"), rec.shown);
  // [when, answers drawn so far]: the counts between two marks over their time is the rate.
  window.__vpLiveMark = () => {
    rec.marks.push([performance.now(), drawn()]);
    return rec.marks.at(-1);
  };
}
