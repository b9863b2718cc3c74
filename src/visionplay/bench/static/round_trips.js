// Round trips from the bare app's echo page, each doing nothing on the server: `count`
// Gradio events (textbox to textbox, through the queue), then `count` calls of a gr.HTML
// server function. Playwright evaluates it with `count`; the times are in ms.
async (count) => {
  const field = document.querySelector("#echo-in textarea");
  const echoed = () => document.querySelector("#echo-out textarea").value;
  const event = [], call = [];
  for (let i = 0; i < count; i++) {
    const text = "echo " + i, began = performance.now();
    field.value = text;
    field.dispatchEvent(new Event("input", {bubbles: true}));
    while (echoed() !== text) await new Promise((done) => setTimeout(done, 0));
    event.push(performance.now() - began);
  }
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    await window.__vpEcho("echo " + i);
    call.push(performance.now() - began);
  }
  return {event, call};
}
