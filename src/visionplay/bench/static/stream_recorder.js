// Installed on the bare webcam streaming page (visionplay/bench/streaming.py) before it
// streams, after frame_marks.js: each time the output picture (#stream-out img) changes,
// when; once it is decoded, when and the number of the camera frame it shows; and each
// frame the webcam's video shows with its number (performance.now() times). Playwright
// evaluates it; visionplay/bench/live.py reads window.__vpStream and calls
// window.__vpStreamMark() to open and close a window.
() => {
  const out = document.querySelector("#stream-out");
  const rec = window.__vpStream = {updates: [], drawn: [], shown: [], marks: []};
  let src = null;
  const seen = () => {
    const img = out.querySelector("img");
    if (!img || !img.src || img.src === src) return;
    src = img.src;
    rec.updates.push(performance.now());
    img.decode().then(() => {
      rec.drawn.push([performance.now(), window.__vpReadMark(img, img.naturalWidth)]);
    }, () => {});  // replaced before it was decoded
  };
  new MutationObserver(seen).observe(out, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["src"],
  });
  window.__vpWatchFrames(document.querySelector("#stream-in video"), rec.shown);
  window.__vpStreamMark = () => {
    rec.marks.push([performance.now(), rec.updates.length]);
    return rec.marks.at(-1);
  };
}
