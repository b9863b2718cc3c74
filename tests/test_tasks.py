"""One object per task: every shipped model keeps the same contract, and the CLI, REST and
the Python API give the same answer, in the same JSON, because the model makes it."""

from __future__ import annotations

import inspect
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import visionplay
from visionplay import series
from visionplay.admission import LARGE_ROWS
from visionplay.cli.main import main
from visionplay.config import FACE_KEYPOINTS, MNIST, TASK_SETTINGS, DataConfig, KeypointSettings
from visionplay.errors import InvalidInputError, VisionplayError
from visionplay.inference import list_exported
from visionplay.locations import examples_dir
from visionplay.serve.rest import create_app
from visionplay.tasks import TASKS, ForecastModel, Model, task_class

SHIPPED = list_exported()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as client:
        yield client


def as_file_bytes(example) -> bytes:
    """What a client sends for the example: a PNG, the series written out exactly, or the
    class to draw."""
    if isinstance(example, Image.Image):
        buffer = io.BytesIO()
        example.save(buffer, "PNG")
        return buffer.getvalue()
    if isinstance(example, str):  # a generator's class
        return example.encode()
    return ", ".join(repr(float(v)) for v in example).encode()


def test_every_shipped_task_is_there():
    tasks = {visionplay.load(name).task for name in SHIPPED}
    assert {"classification", "keypoints", "forecast"} <= tasks


@pytest.mark.parametrize("name", SHIPPED)
def test_load_gives_the_class_of_the_files_task(name):
    model = visionplay.load(name)
    assert isinstance(model, Model)
    assert type(model) is task_class(model.cfg.task) and model.task == model.cfg.task
    assert [i.name for i in model.session.get_inputs()] == list(type(model).input_names())
    assert model.session.get_outputs()[0].name == type(model).output_name
    inputs = type(model).example_inputs(model.cfg, 2)
    assert model.run(*inputs).shape == (2, *type(model).output_shape(model.cfg))


@pytest.mark.parametrize("name", SHIPPED)
def test_predict_answers_in_json_and_text_and_agrees_with_its_batch(name):
    model = visionplay.load(name)
    example = model.example()
    answer = model.predict(example)
    encoded = json.loads(json.dumps(model.to_json(answer)))
    assert encoded == model.to_json(answer)
    lines = model.to_text(answer)
    assert lines and all(isinstance(line, str) and line for line in lines)
    twice = model.predict_batch([example, example])
    assert [model.to_json(a) for a in twice] == [model.to_json(answer)] * 2


@pytest.mark.parametrize("name", SHIPPED)
def test_rest_predict_is_the_models_own_json(client, name):
    model = visionplay.load(name)
    example = model.example()
    body = as_file_bytes(example)
    answer = client.post(f"/predict/{name}", content=body)
    assert answer.status_code == 200, answer.text
    expected = model.to_json(model.predict(body))
    assert answer.json() == {"model": name, model.answer_key: expected}
    meta = client.get(f"/v2/models/{name}").json()["parameters"]
    assert meta["task"] == model.task
    assert meta.get("bytes_input") == model.bytes_input


@pytest.mark.parametrize("name", SHIPPED)
def test_cli_predict_json_is_the_models_own_json(name, tmp_path, capsys):
    model = visionplay.load(name)
    example = model.example()
    path = tmp_path / ("input.png" if isinstance(example, Image.Image) else "input.csv")
    path.write_bytes(as_file_bytes(example))
    if model.task == "generation":  # it reads no files: `predict` says what to ask instead
        assert main(["predict", str(path), "-m", name, "--json"]) == 2
        assert "is a generator" in capsys.readouterr().err
        return
    assert main(["predict", str(path), "-m", name, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {str(path): model.to_json(model.predict(path))}
    assert main(["predict", str(path), "-m", name]) == 0
    first, *rest = model.to_text(model.predict(path))
    assert capsys.readouterr().out.splitlines() == [f"{path}: {first}", *rest]


def test_options_are_only_those_a_task_takes():
    classifier, forecaster = visionplay.load("mnist"), visionplay.load("timeseries")
    faces = visionplay.load("face_keypoints")
    given = {"top_k": 5, "steps": 7}
    assert classifier.options_from(**given) == {"top_k": 5}
    assert forecaster.options_from(**given) == {"steps": 7}
    assert faces.options_from(**given) == {}
    assert len(classifier.predict(classifier.example(), **classifier.options_from(**given))) == 5
    assert len(forecaster.predict(forecaster.example(), **forecaster.options_from(**given))) == 7


def test_rest_predict_takes_a_forecasts_steps_and_a_classifiers_k(client):
    values = series.generate(1, 50, seed=3)[0]
    body = ", ".join(map(str, values)).encode()
    answer = client.post("/predict/timeseries?steps=4", content=body).json()
    assert len(answer["forecast"]) == 4
    assert client.post("/predict/timeseries?steps=0", content=body).status_code == 400
    picture = as_file_bytes(visionplay.load("mnist").example())
    assert len(client.post("/predict/mnist?k=2", content=picture).json()["predictions"]) == 2


def test_a_face_is_the_same_json_over_rest_and_in_the_cli(client, tmp_path, capsys):
    model = visionplay.load("face_keypoints")
    picture = model.example()
    path = tmp_path / "face.png"
    picture.save(path)
    rest = client.post("/predict/face_keypoints", content=path.read_bytes()).json()["faces"]
    assert main(["predict", str(path), "-m", "face_keypoints", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)[str(path)]
    assert rest == cli and rest, "the example face was not found"
    face = rest[0]
    assert len(face["box"]) == 4 and len(face["points"]) == model.num_points
    assert all(len(point) == 2 for point in face["points"])


def test_a_forecaster_reads_a_series_file_as_text_or_a_csv_with_a_header(tmp_path):
    model = visionplay.load("timeseries")
    values = series.generate(1, 50, seed=5)[0]
    expected = model.forecast(values)
    plain = tmp_path / "plain.txt"
    plain.write_text(" ".join(repr(float(v)) for v in values))
    csv = tmp_path / "with-header.csv"
    csv.write_text("value\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    for path in (plain, csv, str(plain)):  # a str is a path, as it is for a picture
        np.testing.assert_allclose(model.predict(path), expected, rtol=1e-6)
    bad = tmp_path / "words.csv"
    bad.write_text("a,b\nc,d\n")
    with pytest.raises(InvalidInputError, match=r"^words\.csv: "):
        model.predict(bad)
    with pytest.raises(InvalidInputError, match="missing.csv cannot be read"):
        model.predict(tmp_path / "missing.csv")


def test_drawing_is_for_tasks_whose_answer_has_a_place_in_the_picture(tmp_path):
    classifier, faces = visionplay.load("mnist"), visionplay.load("face_keypoints")
    picture = faces.example().convert("RGB")
    drawn = faces.draw(picture, faces.predict(picture))
    assert drawn.size == picture.size and drawn.tobytes() != picture.tobytes()
    with pytest.raises(InvalidInputError, match="no place in a picture"):
        classifier.draw(picture, classifier.predict(classifier.example()))


def test_every_task_has_a_class_and_an_unknown_one_is_refused():
    assert set(TASKS) == {
        "classification",
        "keypoints",
        "detection",
        "forecast",
        "reconstruction",
        "generation",
    }
    assert set(TASK_SETTINGS) <= set(TASKS)
    with pytest.raises(VisionplayError, match="unknown task 'poetry'"):
        task_class("poetry")


@pytest.mark.parametrize("cls", list(TASKS.values()), ids=list(TASKS))
def test_every_task_class_is_public_and_keeps_the_one_shape(cls):
    """Callers never ask which task they hold: every class is in the package's names, runs
    on one array per input name, and takes as keywords only the options it names."""
    assert cls.__name__ in visionplay.__all__ and getattr(visionplay, cls.__name__) is cls
    for method in ("run", "tensor_outputs", "picture_outputs", "predict", "predict_batch"):
        parameters = list(inspect.signature(getattr(cls, method)).parameters.values())
        first = parameters[1]
        if method in ("run", "tensor_outputs"):
            assert first.kind is first.VAR_POSITIONAL, f"{cls.__name__}.{method}"
        named = {p.name for p in parameters[2:] if p.kind is not p.VAR_KEYWORD}
        any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)
        assert named <= set(cls.options), f"{cls.__name__}.{method} takes {named}"
        if method != "run":  # the raw pass takes the graph's inputs alone
            assert any_keyword or set(cls.options) <= named, f"{cls.__name__}.{method}"


def test_a_config_written_before_the_settings_were_typed_still_reads():
    older = FACE_KEYPOINTS.to_dict()
    older["extra"] = {**older.pop("settings"), "detector_framing": [0.0, 0.1, 0.9]}
    assert DataConfig.from_json(json.dumps(older)).settings == KeypointSettings(
        detector="face_detector", detector_framing=(0.0, 0.1, 0.9)
    )
    assert visionplay.load("face_keypoints").cfg.settings.detector_framing is not None
    assert DataConfig.from_dict(MNIST.to_dict()) == MNIST and MNIST.settings is None


def test_bytes_are_not_taken_by_a_forecaster(client):
    body = {"inputs": [{"name": "series", "datatype": "BYTES", "shape": [1], "data": ["eA=="]}]}
    answer = client.post("/v2/models/timeseries/infer", json=body)
    assert answer.status_code == 400 and "not BYTES" in answer.json()["error"]
    assert isinstance(visionplay.load("timeseries"), ForecastModel)


def test_the_example_pictures_ship_for_every_picture_model():
    for name in SHIPPED:
        model = visionplay.load(name)
        if model.bytes_input is not None:
            found = sorted(examples_dir().glob(f"{name}-*"))
            assert found, f"no example picture for {name}"


@pytest.mark.parametrize("count", [1, 2, 5, 64])
def test_a_batch_read_across_cores_is_the_batch_read_at_once(count):
    reader = visionplay.load("mnist")
    made = visionplay.load("mnist_gan").generate(list(range(10)) * 7, seed=5)[:count]
    batch = made[:, None].astype(np.float32) / 255
    whole = reader.session.run(None, {"image": batch})[0]
    np.testing.assert_allclose(
        reader.across_cores({"image": batch}, count), whole, rtol=1e-5, atol=1e-6
    )


def test_a_session_of_one_thread_reads_a_large_batch_across_the_cores(monkeypatch):
    reader, shares = visionplay.load("mnist"), []
    monkeypatch.setattr(reader, "splits_large_batches", True)
    original = reader.across_cores
    monkeypatch.setattr(reader, "across_cores", lambda *a: shares.append(a[1]) or original(*a))
    reader.run(np.zeros((LARGE_ROWS, 1, 28, 28), np.float32))  # a small batch runs whole
    assert shares == []
    reader.run(np.zeros((LARGE_ROWS + 1, 1, 28, 28), np.float32))
    assert shares == [LARGE_ROWS + 1]


def test_a_forecasts_json_is_a_body_rest_reads_and_answers_alike(client):
    """What ``to_json`` writes (a JSON list of numbers) is a series REST takes, and REST's
    answer is ``to_json`` of the Python API's."""
    model = visionplay.load("timeseries")
    values = series.generate(1, 50, seed=4)[0]
    body = json.dumps(model.to_json(values)).encode()
    answer = client.post("/predict/timeseries?steps=3", content=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["forecast"] == model.to_json(model.predict(values, steps=3))
    assert answer.json()["forecast"] == model.to_json(model.predict(body, steps=3))
    deep = b"[" * 100_000 + b"]" * 100_000  # nested past Python's depth
    bad_bodies = [(b'["a", 1]', "one list of numbers"), (b"[1, 2", "is not JSON")]
    for bad, message in [*bad_bodies, (deep, "is not JSON")]:
        refused = client.post("/predict/timeseries", content=bad)
        assert refused.status_code == 400 and message in refused.json()["error"]
