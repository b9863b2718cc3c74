// Gradio 6.31 has no option for a Sketchpad's starting tool: whenever its value is empty
// (page load, Clear, its own trash button) it switches to the "image" tool, shows "select
// the draw tool to start" and ignores strokes. So click the brush of every pad marked
// "brush-ready" whenever that hint (.empty) shows; watching the whole page also covers tabs
// that render later. Run once at page load (the app's `demo.load(js=...)`).
() => {
  const arm = () => {
    for (const pad of document.querySelectorAll(".brush-ready")) {
      const brush = pad.querySelector('.toolbar-wrap button[aria-label="Brush"]');
      if (pad.querySelector(".empty")) brush?.click();
    }
  };
  new MutationObserver(arm).observe(document.body, {childList: true, subtree: true});
  arm();
}
