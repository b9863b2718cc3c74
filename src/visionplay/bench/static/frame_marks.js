// The number each frame of the bench's fake camera clips carries, read back in the page: a
// row of black and white squares near the frame's corner, bit 0 first (`mark`, from
// visionplay/bench/live.py MARK). Playwright evaluates it with `mark` before the recorders
// (live_recorder.js, stream_recorder.js), which use the two functions it leaves.
(mark) => {
  const probe = document.createElement("canvas");
  probe.width = mark.bits * mark.size;
  probe.height = mark.size;
  const ctx = probe.getContext("2d", {willReadFrequently: true});
  // The number a video's current frame or a picture shows (`width`: its own width, the
  // clip's or a copy scaled), or -1 where a square is neither black nor white.
  window.__vpReadMark = (source, width) => {
    const scale = width / mark.width;
    ctx.drawImage(source, mark.x * scale, mark.y * scale, probe.width * scale,
      probe.height * scale, 0, 0, probe.width, probe.height);
    const pixels = ctx.getImageData(0, 0, probe.width, probe.height).data;
    let number = 0;
    for (let bit = 0; bit < mark.bits; bit++) {
      const at = ((mark.size >> 1) * probe.width + bit * mark.size + (mark.size >> 1)) * 4;
      const grey = (pixels[at] + pixels[at + 1] + pixels[at + 2]) / 3;
      if (grey > 64 && grey < 192) return -1;
      if (grey >= 192) number |= 1 << bit;
    }
    return number;
  };
  // Each frame `video` presents from now on: [its presentation time, its number] into
  // `shown` (requestVideoFrameCallback: one call per frame the video element shows).
  window.__vpWatchFrames = (video, shown) => {
    const each = (now, frame) => {
      shown.push([frame.presentationTime, window.__vpReadMark(video, video.videoWidth)]);
      video.requestVideoFrameCallback(each);
    };
    video.requestVideoFrameCallback(each);
  };
}
