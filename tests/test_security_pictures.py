"""Pictures that cost more than their header says, and formats no photo comes in (issue 33):
a progressive JPEG is counted at its full size on every route and in the CLI, and only PNG,
JPEG, WebP, GIF, BMP and TIFF are opened for a client; any other is refused by name. The Learn
tab's Sketchpad, which Gradio decodes itself, counts every pixel of a file or blob it is sent."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from memory import peak_growth
from PIL import Image

import visionplay
from visionplay.bench.inputs import digit_drawing, png_bytes
from visionplay.bench.server import free_port, start_server, stop_server
from visionplay.errors import InvalidInputError
from visionplay.preprocess import open_unloaded, picture_pixels

ROOT = Path(__file__).resolve().parents[1]
SIDE = 13_000
MOST_MB = 300  # what four such requests at once may add to a process's peak memory
REFUSED = ("EPS", "PCX", "ICO", "PSD")
READ = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "MPO")


def encoded(image: Image.Image, kind: str, **options: Any) -> bytes:
    if kind == "PSD":  # PIL reads PSD but cannot write it: its 26-byte header will do
        mode = 3  # RGB
        header = b"8BPS" + (1).to_bytes(2, "big") + bytes(6) + (3).to_bytes(2, "big")
        sizes = image.height.to_bytes(4, "big") + image.width.to_bytes(4, "big")
        return header + sizes + (8).to_bytes(2, "big") + mode.to_bytes(2, "big")
    if kind == "MPO":  # a JPEG with a second picture in it, as stereo cameras write
        options = {"save_all": True, "append_images": [image], **options}
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def on_white(drawing: Image.Image) -> Image.Image:
    return Image.alpha_composite(Image.new("RGBA", drawing.size, "white"), drawing).convert("RGB")


@pytest.fixture(scope="module")
def big_jpegs() -> dict[str, bytes]:
    """A 13,000 x 13,000 picture as a progressive JPEG of a few MB, which libjpeg decodes
    whole whatever the draft scale, and as a baseline one, which it decodes reduced."""
    tile = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L"),
            Image.radial_gradient("L"),
            Image.effect_noise((256, 256), 50),
        ),
    )
    picture = tile.resize((SIDE, SIDE), Image.Resampling.NEAREST)
    options = {"quality": 10, "subsampling": 0}
    return {
        "progressive": encoded(picture, "JPEG", progressive=True, **options),
        "baseline": encoded(picture, "JPEG", **options),
    }


@pytest.fixture(scope="module")
def measured_server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """`visionplay serve` in its own process, the models these tests call warmed up:
    (url, its pid). It serves the REST routes and the Gradio app on one port."""
    port, log = free_port(), tmp_path_factory.mktemp("log") / "server.log"
    server, _ = start_server(ROOT / "exported", port, log, ready="v2/health/ready")
    url = f"http://127.0.0.1:{port}"
    try:
        for name in ("mnist", "face_keypoints", "cifar10"):
            httpx.post(f"{url}/predict/{name}", content=png_bytes(digit_drawing()), timeout=60)
        yield url, server.pid
    finally:
        stop_server(server)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def post_all(url: str, route: str, body: bytes, times: int) -> list[httpx.Response]:
    return at_once([partial(httpx.post, url + route, content=body, timeout=120)] * times)


def call(client: httpx.Client, endpoint: str, data: list, session: str | None = None) -> str:
    """Everything a client gets back from one call of a Gradio ``endpoint`` with ``data``
    (in the Gradio ``session`` given, whose state the call reads)."""
    started = client.post(
        f"gradio_api/call/{endpoint}", json={"data": data, "session_hash": session}
    )
    if not started.is_success:
        return started.text
    return client.get(f"gradio_api/call/{endpoint}/{started.json()['event_id']}").text


def upload(client: httpx.Client, name: str, content: bytes) -> dict:
    """The Gradio file value of ``content`` uploaded as ``name``."""
    path = client.post("gradio_api/upload", files={"files": (name, content)}).json()[0]
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


@pytest.mark.parametrize("route", ["/predict/face_keypoints", "/predict/mnist"])
def test_a_progressive_jpeg_bomb_costs_the_server_little_memory(measured_server, big_jpegs, route):
    """Four at once, each refused with 400 and why; the same picture as a baseline JPEG is
    read reduced. Either way the server's peak memory grows by at most 300 MB."""
    url, pid = measured_server
    answers, grown = peak_growth(pid, lambda: post_all(url, route, big_jpegs["progressive"], 4))
    assert [a.status_code for a in answers] == [400] * 4, answers[0].text
    assert "13,000 x 13,000 pixels (a progressive" in answers[0].json()["error"]
    assert grown <= MOST_MB
    answers, grown = peak_growth(pid, lambda: post_all(url, route, big_jpegs["baseline"], 4))
    assert [a.status_code for a in answers] == [200] * 4, answers[0].text
    assert grown <= MOST_MB


def test_the_tabs_refuse_a_progressive_jpeg_bomb_and_other_formats(measured_server, big_jpegs):
    """Two Face and two Photo calls at once on the uploaded bomb: each says why, and the
    server's peak memory grows by at most 300 MB. An EPS upload is refused by name."""
    url, pid = measured_server
    with httpx.Client(base_url=url + "/", timeout=120) as client:
        bomb = upload(client, "bomb.jpg", big_jpegs["progressive"])
        calls = [lambda: call(client, "faces", [bomb, True])] * 2
        calls += [lambda: call(client, "photo", [bomb, "cifar10"])] * 2
        answers, grown = peak_growth(pid, lambda: at_once(calls))
        eps = upload(client, "seven.eps", encoded(on_white(digit_drawing()), "EPS"))
        refused = call(client, "photo", [eps, "cifar10"])
    for answer in answers:
        assert "event: complete" in answer and "Could not read that picture" in answer, answer
        assert "bomb.jpg is too large to decode safely" in answer, answer
    assert grown <= MOST_MB
    assert "seven.eps is in EPS format; send PNG, JPEG" in refused, refused


def run_cli(*argv: str, folder: Path) -> tuple[int, str, str, float]:
    """``visionplay ARGV`` in a child process: its exit status, stdout, stderr and peak
    resident memory (MB), measured by the kernel for that child alone."""
    out, err = folder / "stdout", folder / "stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "visionplay.cli.main", *argv], stdout=stdout, stderr=stderr
        )
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return child.returncode, out.read_text(), err.read_text(), usage.ru_maxrss / 1024


def test_the_cli_refuses_a_progressive_jpeg_bomb_in_one_line(big_jpegs, tmp_path):
    """Exit status 2, one line, and a peak memory near that of reading a small picture."""
    bomb, small = tmp_path / "bomb.jpg", tmp_path / "small.png"
    bomb.write_bytes(big_jpegs["progressive"])
    small.write_bytes(png_bytes(digit_drawing()))
    status, out, err, peak = run_cli("predict", str(bomb), "-m", "face_keypoints", folder=tmp_path)
    assert status == 2 and out == "", (status, out, err)
    assert err.count("\n") == 1 and "bomb.jpg is too large to decode safely" in err, err
    status, _, err, usual = run_cli("predict", str(small), "-m", "face_keypoints", folder=tmp_path)
    assert status == 0, err
    assert peak - usual <= MOST_MB


def jpeg_header(side: int, frame: int = 0xC0, in_scan: int = 3) -> bytes:
    """A JPEG's markers up to its first scan and no picture data: enough to count it.
    ``frame`` is its SOF marker; ``in_scan`` of its three components are in that scan."""

    def segment(code: int, body: bytes) -> bytes:
        return bytes([0xFF, code]) + (len(body) + 2).to_bytes(2, "big") + body

    components = b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    sof = bytes([8]) + side.to_bytes(2, "big") * 2 + bytes([3]) + components
    sos = bytes([in_scan]) + b"".join(bytes([i, 0]) for i in range(1, in_scan + 1))
    return b"\xff\xd8" + segment(frame, sof) + segment(0xDA, sos + bytes([0, 63, 0]))


def test_only_a_one_scan_sequential_jpeg_is_counted_reduced():
    """libjpeg decodes a baseline or extended sequential JPEG whose first scan holds every
    colour a band at a time; any other it holds whole, so that is counted at full size, as
    is any JPEG for a caller that decodes it without a draft (``reduced=False``)."""
    cases = {  # (SOF marker, components in the first scan): read reduced
        (0xC0, 3): True,
        (0xC1, 3): True,  # baseline, extended sequential
        (0xC2, 3): False,
        (0xC6, 3): False,  # progressive
        (0xC9, 3): False,
        (0xCA, 3): False,  # arithmetic coding
        (0xC3, 3): False,  # lossless
        (0xC0, 1): False,  # sequential, one scan per colour
    }
    for (frame, in_scan), reduced in cases.items():
        header = jpeg_header(3000, frame, in_scan)
        assert picture_pixels(header) == (1500 * 1500 if reduced else 3000 * 3000), hex(frame)
        if reduced:
            assert open_unloaded(io.BytesIO(jpeg_header(SIDE, frame, in_scan))).size == (1625,) * 2
        else:
            with pytest.raises(InvalidInputError, match="13,000 x 13,000 pixels .a progressive"):
                open_unloaded(io.BytesIO(jpeg_header(SIDE, frame, in_scan)))
    with pytest.raises(InvalidInputError, match="13,000 x 13,000 pixels, and at most"):
        open_unloaded(io.BytesIO(jpeg_header(SIDE)), reduced=False)  # for Gradio's own decode


def refuse_to_open(*args: Any) -> None:
    raise AssertionError("a refused format was opened through its plugin")


def test_only_photo_and_drawing_formats_are_read(measured_server, tmp_path, monkeypatch):
    """EPS, PCX, ICO, PSD: refused by name, from bytes, from a file and over REST (the
    body and a BYTES input), nothing opened through their plugins; the photo formats read."""
    url, _ = measured_server
    Image.init()
    for kind in REFUSED:  # in this process; the server's run as they are
        monkeypatch.setitem(Image.OPEN, kind, (refuse_to_open, Image.OPEN[kind][1]))
    model, drawing = visionplay.load("mnist"), on_white(digit_drawing())
    for kind in REFUSED:
        picture, reason = encoded(drawing, kind), f"in {kind} format; send PNG, JPEG, WebP,"
        with pytest.raises(InvalidInputError, match=f"^the picture is {reason}"):
            model.predict(picture)
        (tmp_path / f"seven.{kind.lower()}").write_bytes(picture)
        with pytest.raises(InvalidInputError, match=f"^seven.{kind.lower()} is {reason}"):
            model.predict(tmp_path / f"seven.{kind.lower()}")
        answer = httpx.post(f"{url}/predict/mnist", content=picture, timeout=30)
        assert answer.status_code == 400 and reason in answer.json()["error"], answer.text
        data = [base64.b64encode(picture).decode()]
        body = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": data}]}
        answer = httpx.post(f"{url}/v2/models/mnist/infer", json=body, timeout=30)
        assert answer.status_code == 400 and reason in answer.json()["error"], answer.text
    for kind in READ:
        assert model.predict(encoded(drawing, kind))[0].label == "7", kind


def completed(answer: str) -> list:
    """The outputs of a Gradio call's complete event (``call``'s answer)."""
    assert "event: complete" in answer, answer
    return json.loads(answer.split("event: complete\ndata: ", 1)[1].splitlines()[0])


def trained(client: httpx.Client) -> str:
    """A Gradio session whose Learn tab has trained its edge kernel."""
    session = secrets.token_hex(8)
    assert "Learned kernel" in call(client, "edge_train", [30, 0.01, 0], session)
    return session


def send_blob(
    client: httpx.Client,
    session: str,
    blob_id: str,
    content: bytes,
    kind: str = "composite",
    index: str = "null",
) -> httpx.Response:
    """Send ``content`` as a drawing's composite (or ``kind``: background, layer number
    ``index``) to the Learn tab's Sketchpad, as Gradio's front end does before each change
    event, which then names only ``blob_id``."""
    config = client.get("config").json()
    pad = next(c["id"] for c in config["components"] if c["props"].get("elem_id") == "edge-pad")
    fields = {
        "id": blob_id,
        "type": kind,
        "index": index,
        "component_id": str(pad),
        "fn_name": "accept_blobs",
        "session_hash": session,
    }
    files = {"file": ("composite.png", content)}
    return client.post("gradio_api/component_server/", data=fields, files=files)


def test_the_sketchpad_reads_a_baseline_jpeg_bomb_reduced(measured_server, big_jpegs):
    """Gradio's editor would decode every pixel of the file: four /edge_apply calls at once
    on a 13,000 x 13,000 baseline JPEG reach the tab as the file, which it reads reduced.
    Each answers in one line; the server's peak memory grows by at most 300 MB."""
    url, pid = measured_server
    with httpx.Client(base_url=url + "/", timeout=120) as client:
        editor = {
            "background": None,
            "layers": [],
            "composite": upload(client, "bomb.jpg", big_jpegs["baseline"]),
        }
        # A session each: Gradio streams one call of a session at a time.
        calls = [partial(call, client, "edge_apply", [editor], trained(client)) for _ in "1234"]
        answers, grown = peak_growth(pid, lambda: at_once(calls))
    for answer in answers:
        message = completed(answer)[1]
        assert "strongest response" in message and "\n" not in message, message
    assert grown <= MOST_MB


def test_the_sketchpad_checks_the_blobs_it_is_sent(measured_server, big_jpegs):
    """A blob (the browser sends a drawing's at each change; an event may name it by id)
    is checked like a file before Gradio decodes it: a progressive JPEG bomb is refused in
    one line, a baseline one read reduced, each within 300 MB; a drawing reads as before,
    and a blob is read once. A layer numbered past a drawing's few is refused."""
    url, pid = measured_server
    drawing = png_bytes(on_white(digit_drawing()))
    with httpx.Client(base_url=url + "/", timeout=120) as client:
        session = trained(client)
        for blob_id, content in [*big_jpegs.items(), ("drawing", drawing)]:
            assert send_blob(client, session, blob_id, content).is_success
            apply = partial(call, client, "edge_apply", [{"id": blob_id}], session)
            (_, message), grown = peak_growth(pid, lambda: completed(apply()))  # noqa: B023
            assert grown <= MOST_MB, blob_id
            if blob_id == "progressive":
                assert "\n" not in message and "13,000 x 13,000 pixels (a progressive" in message
            else:
                assert "strongest response" in message, message
        assert "Draw on the canvas" in completed(apply())[1]  # its blob went with the first call
        refused = send_blob(client, session, "layers", drawing, "layer", str(10**7))
    assert refused.status_code == 400 and "at most" in refused.json()["detail"], refused.text


def test_the_sketchpad_s_blob_store_is_bounded():
    """Blobs no event takes (the browser sends some at every change of a drawing) are
    dropped oldest first past the store's bound; the newest stay for their events."""
    import gradio as gr
    from gradio.data_classes import DataWithFiles

    from visionplay.ui.widgets import BLOB_BYTES, tolerant

    pad, blob = tolerant(gr.Sketchpad(type="numpy")), bytes(BLOB_BYTES // 4)
    for i in range(12):
        data = {"id": str(i), "type": "composite", "index": "null"}
        pad.accept_blobs(DataWithFiles(data=data, files=[("composite.png", blob)]))
    stored = pad.blob_storage
    assert list(stored) == ["9", "10", "11"]  # four would pass the bound with their ids
