"""One admission policy for every entry point: large work takes a lane one core narrower,
so a small request always finds a core; the app's queue is bounded for everyone and for
each client; a request counts by the work it asks for."""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx
import pytest

import visionplay
from visionplay.admission import (
    ADMISSION,
    LARGE_VALUES,
    MOST_PER_CLIENT,
    MOST_QUEUED,
    STOPPING,
    Admission,
    is_large,
)
from visionplay.bench.server import free_port
from visionplay.series import count_values
from visionplay.serve.rest import predict_is_large
from visionplay.ui.app import queued


def holding(
    admission: Admission, large: bool, started: threading.Event, release: threading.Event
) -> threading.Thread:
    def hold() -> None:
        with admission.turn(large):
            started.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_large_work_leaves_a_core_for_small_work():
    admission, release = Admission(cores=2), threading.Event()
    first, second = threading.Event(), threading.Event()
    threads = [holding(admission, True, first, release), holding(admission, True, second, release)]
    assert first.wait(5)
    assert not second.wait(0.3), "a second large piece ran beside the first on two cores"
    small = threading.Event()
    threads.append(holding(admission, False, small, release))
    assert small.wait(5), "a small piece found no core beside large work"
    release.set()
    for thread in threads:
        thread.join(10)
    assert second.is_set()  # its turn came once the first was done


def test_small_work_takes_every_core_but_no_more():
    admission, release = Admission(cores=2), threading.Event()
    started = [threading.Event() for _ in range(3)]
    threads = [holding(admission, False, event, release) for event in started]
    assert started[0].wait(5) and started[1].wait(5)
    assert not started[2].wait(0.3)
    release.set()
    for thread in threads:
        thread.join(10)
    assert all(event.is_set() for event in started)


def test_turns_come_first_come_first_served():
    """Work waiting for the one slot gets it in the order it asked."""
    admission, order = Admission(cores=1), []
    release = threading.Event()
    first = threading.Event()
    blocker = holding(admission, False, first, release)
    assert first.wait(5)

    def wait_then_note(i: int) -> None:
        with admission.turn(large=False):
            order.append(i)

    waiters = []
    for i in range(6):
        waiters.append(threading.Thread(target=wait_then_note, args=(i,)))
        waiters[-1].start()
        deadline = time.monotonic() + 5
        while len(admission._slots._waiting) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # in line before the next one asks
    time.sleep(0.5)  # longer than a waiter's wake-up: each has looked again, and waits on
    release.set()
    for thread in [blocker, *waiters]:
        thread.join(10)
    assert order == list(range(6))


def test_a_stopping_server_refuses_the_work_still_waiting():
    admission, release, started = Admission(cores=1), threading.Event(), threading.Event()
    blocker = holding(admission, False, started, release)
    assert started.wait(5)
    refused: list[str] = []

    def wait() -> None:
        try:
            with admission.turn(large=False):
                pass
        except visionplay.errors.VisionplayError as err:
            refused.append(str(err))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    admission.stop()
    waiter.join(5)
    release.set()
    blocker.join(5)
    assert refused == [STOPPING]


def test_a_turn_inside_a_turn_is_the_same_turn():
    """A tab's function that takes its turn and calls one that does too must not wait for
    a second slot: with every slot held that way, it would wait for ever."""
    admission = Admission(cores=1)

    def nested() -> None:
        with admission.turn(large=True), admission.turn(large=False):
            pass
        with admission.turn(large=False):  # the slot was given back
            pass

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "the inner turn waited for a slot its own thread held"


def test_a_request_counts_by_the_work_it_asks_for():
    """A forecast of many steps on a long series is large work; a short one is not; a
    picture counts by its pixels, from its header."""
    forecaster = visionplay.load("timeseries")
    long_series = ",".join(["0.5"] * 9000).encode()
    assert count_values(long_series) == 9000
    assert predict_is_large(forecaster, long_series, {"steps": 1000})
    assert forecaster.work(9000, steps=1000) > LARGE_VALUES
    assert not predict_is_large(forecaster, ",".join(["0.5"] * 50).encode(), {"steps": 10})
    digits = visionplay.load("mnist")
    from PIL import Image

    from visionplay.bench.inputs import png_bytes

    assert predict_is_large(digits, png_bytes(Image.new("L", (2000, 1000))), {})
    assert not predict_is_large(digits, png_bytes(Image.new("L", (400, 400))), {})
    assert is_large(rows=9) and not is_large(rows=8)


def test_the_server_sizes_the_policy(monkeypatch):
    """``visionplay serve`` sizes the process's one policy to the requests its cores run
    side by side, each with the onnxruntime threads it is given, and hands the GIL over
    sooner than Python's default."""
    from visionplay.admission import GIL_SWITCH_S
    from visionplay.cli.serve import share_the_cores
    from visionplay.inference import THREADS_ENV

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    monkeypatch.setenv(THREADS_ENV, "1")
    before, switch = ADMISSION.cores, sys.getswitchinterval()
    try:
        share_the_cores(None)
        assert ADMISSION.cores == 8 and os.environ[THREADS_ENV] == "1"
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_S)
        assert switch > GIL_SWITCH_S  # Python's default is longer
        share_the_cores(2)
        assert ADMISSION.cores == 4 and os.environ[THREADS_ENV] == "2"
    finally:
        ADMISSION.resize(before)
        sys.setswitchinterval(switch)


@pytest.fixture(scope="module")
def slow_app():
    """A queued() app whose one endpoint takes a second, on a free port."""
    import gradio as gr

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: time.sleep(1) or text, box, box, api_name="slow")
    port = free_port()
    queued(demo).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_one_client_cannot_fill_the_queue(slow_app):
    demo, url = slow_app
    assert demo._queue.max_size == MOST_QUEUED
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [
            client.post("gradio_api/call/slow", json={"data": [str(i)]})
            for i in range(MOST_PER_CLIENT + 3)
        ]
        statuses = [a.status_code for a in answers]
        assert statuses[:MOST_PER_CLIENT] == [200] * MOST_PER_CLIENT, statuses
        refused = answers[MOST_PER_CLIENT:]
        assert all(a.status_code == 503 for a in refused), statuses
        assert "requests waiting or running already" in refused[0].text
        first = answers[0].json()["event_id"]
        assert "event: complete" in client.get(f"gradio_api/call/slow/{first}").text


def test_work_spreads_over_the_cores_only_while_no_other_work_wants_one():
    policy = Admission(2)
    assert policy.idle_but_this()
    with policy.turn(large=True):
        assert policy.idle_but_this()  # its own slot is no other work
        holding, release = threading.Event(), threading.Event()

        def small() -> None:
            with policy.turn(large=False):
                holding.set()
                release.wait(5)

        other = threading.Thread(target=small)
        other.start()
        assert holding.wait(5)
        assert not policy.idle_but_this()
        release.set()
        other.join()
        assert policy.idle_but_this()
