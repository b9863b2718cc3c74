"""The tabs share the server fairly and answer bad input in one short line: figures drawn
one at a time (matplotlib is not thread-safe), the explorer's layer tables built once and
one at a time, and huge or non-finite numbers and huge names refused before any work,
quoting at most a little of them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client

import visionplay
from visionplay.errors import InvalidInputError, shown, whole_number
from visionplay.train import summary
from visionplay.tutorials.lessons import fit_line, learn_edge_kernel
from visionplay.ui.forecast import new_series
from visionplay.ui.learn import explore, fit_regression, train_edge

HUGE = "x" * 200_000
SHORT = 300  # no answer to a bad request needs more characters than this


@pytest.fixture(scope="module")
def queued_url() -> Iterator[str]:
    """The app as `visionplay serve` queues it: each event runs requests side by side."""
    from visionplay.bench.server import free_port
    from visionplay.serve.uploads import gradio_app_kwargs
    from visionplay.ui.app import build_app

    port = free_port()
    demo = build_app()
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        app_kwargs=gradio_app_kwargs(demo, 10 << 20),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_four_people_training_the_edge_kernel_at_once_all_get_their_plot(queued_url):
    clients = [Client(queued_url, verbose=False) for _ in range(4)]

    def train(i: int) -> tuple[dict, str]:
        return clients[i].predict(30, 0.01, i, api_name="/edge_train")[:2]

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(train, range(4)))
    for plot, text in answers:
        assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/webp;")
        assert text.startswith("**Learned kernel [0.9")


def rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
def test_exploring_a_large_architecture_costs_no_memory_for_its_weights():
    summary._layer_table.cache_clear()
    before, peak, done = rss(), [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        table, text = explore("vgg11")  # 133 million parameters: over 500 MB as float32
    finally:
        done.set()
        watcher.join()
    assert "Total parameters: **132,863,336**" in text and table is not None
    assert peak[0] - before < 200 << 20


def test_layer_tables_are_built_once_and_one_at_a_time(monkeypatch):
    summary._layer_table.cache_clear()
    real, calls, running, most = summary.summarize, [], [0], [0]
    lock = threading.Lock()

    def spy(name: str) -> list[summary.Layer]:
        with lock:
            calls.append(name)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the other threads to arrive
        try:
            return real(name)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(summary, "summarize", spy)
    names = ["lenet5", "fc2", "cnn_small", "linear"] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(explore, names))
    summary._layer_table.cache_clear()  # nothing the spy made outlives the test
    assert sorted(calls) == sorted(set(names)) and most[0] == 1
    assert all("Total parameters" in text for _, text in answers)


def test_explore_quotes_little_of_a_huge_name():
    table, text = explore(HUGE)
    assert table is None and "No architecture 'xxxx" in text and len(text) < SHORT


@pytest.mark.parametrize(
    "steps, lr, seed, message",
    [
        (30, 0.01, 10**30, "a seed must be a whole number from 0 to 2,147,483,647"),
        (30, 0.01, 2**70, "a seed must be a whole number"),
        (30, 0.01, -1, "a seed must be a whole number"),
        (30, 1e39, 0, "positive learning rate from 1e-12 to 10"),
        (30, float("inf"), 0, "positive learning rate"),
        (30, float("nan"), 0, "positive learning rate"),
        (30, None, 0, "positive learning rate"),
        (10_001, 0.01, 0, "steps must be a whole number from 1 to 10,000"),
        (float("inf"), 0.01, 0, "steps must be a whole number"),
        (2.5, 0.01, 0, "steps must be a whole number"),
    ],
)
def test_edge_panel_refuses_what_it_cannot_train(steps, lr, seed, message):
    plot, text, learned = train_edge(steps, lr, seed)
    assert plot is None and learned == [] and message in text
    assert "\n" not in text and len(text) < SHORT


@pytest.mark.parametrize(
    "lr, seed, message",
    [
        ("inf", 0, "positive learning rate from 1e-12 to 10; got inf"),
        ("1e400", 0, "positive learning rate"),
        ("nan", 0, "positive learning rate"),
        ("-inf", 0, "positive learning rate"),
        ("1e39", 0, "positive learning rate"),  # past float32: torch refused it mid-fit
        ("1e-8", 10**30, "a seed must be a whole number"),
        ("1e-8", 2**70, "a seed must be a whole number"),
        ("1" * 100_000, 0, "positive learning rate"),
        (HUGE, 0, "Not a learning rate:** 'xxxx"),
    ],
)
def test_regression_panel_refuses_before_any_work(lr, seed, message):
    began = time.perf_counter()
    plot, _, text = fit_regression(10_000, lr, seed)  # the most steps: seconds of work
    assert time.perf_counter() - began < 1
    assert plot is None and message in text and "\n" not in text and len(text) < SHORT


def test_the_lessons_themselves_check_what_they_are_given():
    for call in (lambda: learn_edge_kernel(30, 0.01, 2**64), lambda: fit_line(10, 1e39, 0)):
        with pytest.raises(InvalidInputError):
            call()


@pytest.mark.parametrize(
    "seed", [10**30, 2**70, -1, 0.5, 10**300], ids=["1e30", "2**70", "-1", "0.5", "1e300"]
)
def test_a_new_series_needs_a_seed_in_range(seed):
    with pytest.raises(gr.Error, match="a seed must be a whole number") as caught:
        new_series(seed)
    assert len(str(caught.value)) < SHORT
    assert new_series(2**31 - 1)[2] == 0  # the next seed wraps round, staying in range


def test_refusals_over_http_quote_little(queued_url):
    client = Client(queued_url, verbose=False)
    for args, api, message in [
        ((1e300,), "/new_series", "a seed must be a whole number"),
        (("mnist_gan", "7", 4, 1e300), "/generate", "A seed is a whole number"),
        (("mnist_gan", HUGE, 4, 0), "/generate", "no class 'xxxx"),
        (("mnist_gan", HUGE, 0, 1), "/generate_walk", "no class 'xxxx"),
    ]:
        with pytest.raises(Exception, match=message) as caught:
            client.predict(*args, api_name=api)
        assert len(str(caught.value)) < SHORT and "\n" not in str(caught.value)
    text = client.predict(30, 0.01, 1e300, api_name="/edge_train")[1]
    assert "a seed must be a whole number" in text and len(text) < SHORT
    with pytest.raises(Exception, match="400"):  # an integer past 64 bits: the guard's
        client.predict(10**300, api_name="/new_series")


def test_a_huge_label_is_refused_at_once():
    generator = visionplay.load("mnist_gan")
    began = time.perf_counter()
    for _ in range(100):
        with pytest.raises(InvalidInputError) as caught:
            generator.generate([HUGE] * 64)
    assert time.perf_counter() - began < 0.5
    assert len(str(caught.value)) < SHORT


def test_shown_and_whole_number():
    assert shown("abc") == "abc" and shown("y" * 50) == "y" * 40 + "..."
    assert shown(10**300).endswith("...") and len(shown(10**300)) == 43
    assert whole_number(3.0, "n", 1, 5) == 3
    for bad in (True, 2.5, float("nan"), float("inf"), "3", None, 6):
        with pytest.raises(InvalidInputError, match="n must be a whole number from 1 to 5"):
            whole_number(bad, "n", 1, 5)
