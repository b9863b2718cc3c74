"""The bad-input corpus (tests/corpus.py, and bad strokes for the Draw tab) through the
Python API, the CLI and every app tab: a sensible answer or a clear error naming the
problem, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from corpus import BAD_SERIES, BLANK, UNREADABLE, make_pictures
from drawn import strokes
from gradio_client import Client, handle_file
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import visionplay
from visionplay.cli.main import main
from visionplay.errors import EmptyInputError, InvalidInputError, VisionplayError
from visionplay.models.registry import get_config
from visionplay.preprocess import prepare

IMAGE_MODELS = ("mnist", "fashion_mnist", "cifar10", "face_keypoints")


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    return make_pictures(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_api_answers_or_names_the_problem(name, pictures):
    model = visionplay.load(name)
    for case, path in pictures.items():
        if case in UNREADABLE:
            with pytest.raises(InvalidInputError, match=path.name):
                model.predict(path)
        elif case in BLANK and name in ("mnist", "fashion_mnist"):
            with pytest.raises(EmptyInputError, match="blank"):
                model.predict(path)
        elif name == "face_keypoints":
            assert model.predict(path) == [], case  # none of them holds a face
        else:
            top = model.predict(path)
            assert top and all(np.isfinite(p.score) for p in top), case


def test_bomb_is_refused_before_decoding(pictures):
    with pytest.raises(InvalidInputError, match="too large to decode safely"):
        visionplay.load("mnist").predict(pictures["bomb"])


def test_odd_formats_read_as_the_plain_picture(pictures):
    """CMYK, palette with transparency, 16-bit grey, the first frame of a GIF and an
    EXIF-rotated JPEG all show the same 7: the digit model reads it from each."""
    model = visionplay.load("mnist")
    odd = ("cmyk", "grey_16bit", "palette_transparent", "animated_gif", "exif_rotated")
    assert {model.predict(pictures[case])[0].label for case in odd} == {"7"}


def test_cli_exits_2_with_one_line(pictures, capsys):
    for case in sorted(UNREADABLE):
        assert main(["predict", str(pictures[case]), "-m", "mnist"]) == 2, case
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and pictures[case].name in error
    assert main(["predict", str(pictures["all_white"]), "-m", "mnist"]) == 2
    assert "blank" in capsys.readouterr().err
    assert main(["predict", str(pictures["cmyk"]), "-m", "cifar10"]) == 0


@pytest.mark.parametrize(("case", "message"), list(BAD_SERIES.values()), ids=list(BAD_SERIES))
def test_bad_series_through_the_api(case, message):
    with pytest.raises(VisionplayError, match=message):
        visionplay.load("timeseries").forecast(case.encode())  # a str would name a file


def test_series_text_is_refused_before_parsing():
    with pytest.raises(InvalidInputError, match="at most 500,000 are read"):
        visionplay.load("timeseries").forecast(b"1 " * 300_000)


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


# What a browser or a script may send the Draw tab instead of a drawing's strokes.
BAD_STROKES = {
    "not_json": "<p>Hello</p>",
    "a_picture_path": "/etc/passwd",
    "an_object": '{"width": 18, "points": [[1, 1]]}',
    "nan_width": '[{"width": NaN, "points": [[1, 1]]}]',
    "off_the_canvas": '[{"width": 18, "points": [[1, 1e9]]}]',
    "text_point": '[{"width": 18, "points": [["1", "2"]]}]',
    "no_points": '[{"width": 18, "points": []}]',
    "too_many_strokes": json.dumps([{"width": 18, "points": [[1, 1]]}] * 500),
    "too_many_points": json.dumps([{"width": 18, "points": [[1, 1]] * 6000}]),
    "nested": "[" * 50_000 + "]" * 50_000,
}


def test_every_tab_answers_the_corpus(client, pictures):
    for case, text in BAD_STROKES.items():
        reply = client.predict(text, api_name="/draw")
        assert reply["message"].startswith("Could not read that drawing: "), case
        assert reply["label"] is None and reply["seen"] is None, case
    for case, path in pictures.items():
        label, _, message = client.predict(handle_file(str(path)), "cifar10", api_name="/photo")
        if case in UNREADABLE:
            assert "Could not read that picture" in message and not label, case
        else:
            assert label["label"] in visionplay.load("cifar10").labels, case
        _, message = client.predict(handle_file(str(path)), True, api_name="/faces")
        assert ("Could not read" if case in UNREADABLE else "No face found") in message, case


def test_forecast_tab_answers_bad_series(client):
    for text, problem in BAD_SERIES.values():
        plot, message = client.predict(text, 10, api_name="/forecast")
        assert plot is None and (problem in message or "Press **New series**" in message)


# Property-based: any array a caller may hand over either becomes the model's input,
# finite and in range, or raises the documented error.

images = st.one_of(
    arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64))),
    arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 3, 4]))),
    arrays(
        np.float32,
        st.tuples(st.integers(1, 48), st.integers(1, 48), st.just(3)),
        elements=st.floats(-2, 300, width=32) | st.sampled_from([np.nan, np.inf]),
    ),
)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
@settings(max_examples=60, deadline=None)
@given(image=images)
def test_preprocessing_gives_a_valid_input_or_the_documented_error(name, image):
    cfg = get_config(name)
    try:
        prepared = prepare(image, cfg)
    except VisionplayError:
        return
    assert prepared.shape == tuple(cfg.input_size) and prepared.dtype == np.float32
    assert np.isfinite(prepared).all() and prepared.min() >= 0 and prepared.max() <= 1


def test_a_corrupt_model_breaks_only_its_tab(tmp_path, pictures):
    import shutil

    from visionplay.bench.server import free_port
    from visionplay.inference import models_dir
    from visionplay.ui.app import build_app

    shutil.copy(models_dir() / "mnist.onnx", tmp_path)
    (tmp_path / "face_keypoints.onnx").write_bytes(b"\x08\x07 not a protobuf")
    with pytest.raises(VisionplayError, match="not a usable ONNX model"):
        visionplay.load("face_keypoints", tmp_path)
    demo = build_app(tmp_path)
    texts = " ".join(str(getattr(block, "value", "") or "") for block in demo.blocks.values())
    assert "`face_keypoints.onnx` cannot be read" in texts and "visionplay export --onnx" in texts
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        reply = client.predict(strokes("7"), api_name="/draw")
        assert reply["label"] == "7" and reply["message"] == ""
    finally:
        demo.close()


@pytest.mark.parametrize("text", [b"a" * 200_000, b"x" * 150_000 + b"\n1", b"1,\x00,2"])
def test_a_series_no_csv_reader_takes_is_one_line(text):
    with pytest.raises(InvalidInputError):  # not csv.Error's traceback
        visionplay.load("timeseries").forecast(text)
