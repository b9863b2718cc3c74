// The Face tab's live view: gr.HTML runs this once its template (face_live.html) is on the
// page, as the body of a function of `element` (the template's root) and `server`
// (`server.follow` answers a frame in one POST, where the app is served without the REST
// routes). See visionplay/ui/face.py for the contract tests and tools rely on.
//
// The camera plays in a plain <video>; each new camera frame is drawn small on a canvas of
// our own and sent as a JPEG with the previous answer (the server keeps nothing), at most
// one request in flight: a frame that comes meanwhile is only remembered, and when the
// answer arrives the newest frame, as the video shows it then, is sent. Nothing queues.
// The answer's points are in the small frame's pixels; the page scales them to the
// camera's own and draws them on the overlay.
const root = element.querySelector("#face-live");
const config = root.dataset;
const WIDTH = Number(config.width), QUALITY = Number(config.quality);
const CONTOURS = JSON.parse(config.contours);  // [first, last, closed] runs of the 68 points
// A dot's radius and a line's width as shares of the face's side, as the server draws them.
const DOT_SHARE = Number(config.dotShare), LINE_SHARE = Number(config.lineShare);
const RETRY_MS = 500;  // after an error, before the next frame is sent
const GUARD_MS = 1000;  // how often a running view checks it is still on show
const startButton = root.querySelector("#face-live-start");
const stopButton = root.querySelector("#face-live-stop");
const view = root.querySelector(".vp-live-view");
const video = root.querySelector("#face-live-video");
const overlay = root.querySelector("#face-live-overlay");
const stats = root.querySelector("#face-live-stats");
const message = root.querySelector("#face-live-message");
const ctx = overlay.getContext("2d");
const small = document.createElement("canvas");
const smallCtx = small.getContext("2d");

let stream = null;
let session = 0;        // +1 at every start and stop: answers of an older one are dropped
let inflight = false;   // a request is on its way
let fresh = false;      // the camera has shown a frame not sent yet
let previous = null;    // the last answer, sent back with the next frame
let following = "";     // the model it is from
let via = "route";      // the REST route, or the tab's server function where there is none
let drawn = 0;          // answers drawn, since the page was loaded
let recent = [];        // when the answers of the last second were drawn

// The keypoint model picked in the tab's model picker (#face-model, Gradio's radio
// inputs); "" asks the server for the tab's first.
function picked() {
  const input = document.querySelector("#face-model input:checked");
  return input ? input.value : "";
}
function routeUrl(model) {
  const base = (window.gradio_config && window.gradio_config.root) || window.location.href;
  const path = config.route + encodeURIComponent(model);
  return new URL(path, base.endsWith("/") ? base : base + "/").href;
}

function refusal(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
    return config.refused;
  }
  return config.missing + (err && err.message ? " (" + err.message + ")" : "");
}

async function start() {
  if (stream) return;
  const mine = ++session;
  startButton.disabled = true;
  message.textContent = "Starting the camera...";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    startButton.disabled = false;
    message.textContent = config.insecure;
    return;
  }
  let camera;
  try {
    camera = await navigator.mediaDevices.getUserMedia(
      {video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false});
  } catch (err) {
    if (mine === session) { startButton.disabled = false; message.textContent = refusal(err); }
    return;
  }
  if (mine !== session) { camera.getTracks().forEach((track) => track.stop()); return; }
  stream = camera;
  video.srcObject = stream;
  try { await video.play(); } catch { /* muted inline video plays; a pause is harmless */ }
  previous = null;
  view.classList.add("vp-on");
  stopButton.disabled = false;
  message.textContent = "";
  everyFrame(mine);
  guard(mine);
}

// The page hidden, or the tab switched away from: stop the camera. A hidden video may
// show no more frames, so this does not wait for one.
function onShow() {
  return !document.hidden && root.isConnected && root.offsetParent !== null;
}
function guard(mine) {
  const timer = setInterval(() => {
    if (mine !== session) clearInterval(timer);
    else if (!onShow()) stop();
  }, GUARD_MS);
}

function stop() {
  session++;
  inflight = false; fresh = false; previous = null; recent = [];
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  view.classList.remove("vp-on");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  overlay.dataset.faces = "[]";
  startButton.disabled = false; stopButton.disabled = true;
  stats.textContent = "";
}

// Every new camera frame: send it, or remember that one came while a request is out.
function everyFrame(mine) {
  const next = (callback) => video.requestVideoFrameCallback
    ? video.requestVideoFrameCallback(callback) : requestAnimationFrame(callback);
  let shownAt = -1;
  const onFrame = () => {
    if (mine !== session) return;
    if (!onShow()) { stop(); return; }
    if (video.currentTime !== shownAt) { shownAt = video.currentTime; fresh = true; ask(mine); }
    next(onFrame);
  };
  next(onFrame);
}

// The video's frame as it is now, small, as the body of a request.
function grab() {
  const cameraWidth = video.videoWidth, cameraHeight = video.videoHeight;
  const width = Math.min(WIDTH, cameraWidth);
  const height = Math.round(cameraHeight * width / cameraWidth);
  if (small.width !== width || small.height !== height) {
    small.width = width; small.height = height; previous = null;
  }
  const model = picked();
  if (model !== following) { following = model; previous = null; }  // another model's faces
  const capturedAt = performance.now();
  smallCtx.drawImage(video, 0, 0, width, height);
  const url = small.toDataURL("image/jpeg", QUALITY);
  const body = JSON.stringify(
    {frame: url.slice(url.indexOf(",") + 1), previous, t: capturedAt / 1000});
  return {body, model, capturedAt, scale: cameraWidth / width, cameraWidth, cameraHeight};
}

async function send(body, model) {
  if (via === "route" && model) {
    const response = await fetch(routeUrl(model), {
      method: "POST", headers: {"content-type": "application/json"}, body,
    });
    if (response.status !== 404 && response.status !== 405) return response.json();
    via = "server";  // an app served without the REST routes: the tab's own function
  }
  return server.follow(body, model);
}

async function ask(mine) {
  if (inflight || !fresh || mine !== session || !video.videoWidth) return;
  fresh = false; inflight = true;
  const frame = grab();
  let answer;
  try {
    answer = await send(frame.body, frame.model);
  } catch (err) {
    answer = {error: "Could not reach the server: " + err.message};
  }
  if (mine !== session) return;
  inflight = false;
  if (!answer || answer.error) {
    message.textContent = (answer && answer.error) || "The server sent no answer.";
    previous = null;
    setTimeout(() => { fresh = true; ask(mine); }, RETRY_MS);
    return;
  }
  message.textContent = "";
  previous = answer;
  draw(answer, frame);
  ask(mine);  // a frame that came meanwhile: at once
}

function draw(answer, frame) {
  if (overlay.width !== frame.cameraWidth || overlay.height !== frame.cameraHeight) {
    overlay.width = frame.cameraWidth; overlay.height = frame.cameraHeight;
  }
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  // Pixel centres: a small frame's pixel x covers the camera's (x + 0.5) * scale - 0.5.
  const toCamera = (v) => Math.round(((v + 0.5) * frame.scale - 0.5) * 10) / 10;
  const found = answer.faces.map((face) => face.points.map(([x, y]) => [toCamera(x), toCamera(y)]));
  found.forEach(paint);
  overlay.dataset.faces = JSON.stringify(found);
  overlay.dataset.frames = String(++drawn);
  const now = performance.now(), latency = now - frame.capturedAt;
  overlay.dataset.latencyMs = latency.toFixed(1);
  recent.push(now);
  while (recent[0] < now - 1000) recent.shift();
  stats.textContent = `${recent.length} answers/s, ${latency.toFixed(0)} ms capture to drawn` +
    (answer.ms === undefined ? "" : ` (server ${answer.ms.toFixed(0)} ms)`);
}

// One face: its contours, then its points, both sized by the face.
function paint(points) {
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const radius = Math.max(0.5, side / DOT_SHARE);
  ctx.lineWidth = Math.max(1, side / LINE_SHARE);
  ctx.lineJoin = "round";
  ctx.strokeStyle = "rgb(0, 200, 255)";
  for (const [first, last, closed] of CONTOURS) {
    ctx.beginPath();
    ctx.moveTo(points[first][0], points[first][1]);
    for (let i = first + 1; i <= last; i++) ctx.lineTo(points[i][0], points[i][1]);
    if (closed) ctx.closePath();
    ctx.stroke();
  }
  ctx.fillStyle = "rgb(255, 40, 80)";
  for (const [x, y] of points) {
    ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI); ctx.fill();
  }
}

startButton.addEventListener("click", start);
stopButton.addEventListener("click", stop);
