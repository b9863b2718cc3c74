"""The REST routes against the Open Inference Protocol's own schema: every route, unversioned
and versioned, for every shipped model, and the protocol's error object for every refusal
under /v2 (unknown route, model or version, wrong method, bad tensors, broken files)."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from fastapi.testclient import TestClient

import visionplay
from visionplay.bench.inputs import EXAMPLES
from visionplay.inference import list_exported
from visionplay.locations import models_dir
from visionplay.serve.rest import ServeSettings, create_app

SHIPPED = list_exported()
ROOT = Path(__file__).parents[1]

# The protocol's schema, restated from its OpenAPI document (components.schemas, the objects
# the server answers, as written there):
# https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/open_inference_rest.yaml
SCHEMAS = {
    "metadata_server_response": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "version", "extensions"],
    },
    "metadata_server_error_response": {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    },
    "metadata_model_response": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/metadata_tensor"}},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/metadata_tensor"}},
        },
        "required": ["name", "platform"],
    },
    "metadata_tensor": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["name", "datatype", "shape"],
    },
    "metadata_model_error_response": {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    },
    "parameters": {"type": "object"},
    "tensor_data": {
        "type": "array",
        "items": {
            "anyOf": [
                {"$ref": "#/components/schemas/tensor_data"},
                {"type": "number"},
                {"type": "string"},
                {"type": "boolean"},
            ]
        },
    },
    "response_output": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string"},
            "parameters": {"$ref": "#/components/schemas/parameters"},
            "data": {"$ref": "#/components/schemas/tensor_data"},
        },
        "required": ["name", "shape", "datatype", "data"],
    },
    "inference_response": {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": {"$ref": "#/components/schemas/parameters"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/response_output"}},
        },
        "required": ["model_name", "outputs"],
    },
    "inference_error_response": {
        "type": "object",
        "properties": {"error": {"type": "string"}},
    },
}
# Its paths and what each answers with 200 (None: the status alone, as the document says)
# and with an error. ${MODEL_NAME}, ${MODEL_VERSION} there; the unversioned model paths are
# inference_rest.md's "the version is optional" and Triton's.
PATHS = {
    "/v2/health/live": None,
    "/v2/health/ready": None,
    "/v2/": "metadata_server_response",
    "/v2/models/{name}/versions/{version}/ready": None,
    "/v2/models/{name}/versions/{version}": "metadata_model_response",
    "/v2/models/{name}/versions/{version}/infer": "inference_response",
}
ERRORS = {
    "/v2/": "metadata_server_error_response",
    "/v2/models/{name}/versions/{version}": "metadata_model_error_response",
    "/v2/models/{name}/versions/{version}/infer": "inference_error_response",
}


def check(schema: str, body: object) -> None:
    """``body`` against one of the protocol's schemas (its $refs resolved within SCHEMAS)."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": {"schemas": SCHEMAS}}
    jsonschema.Draft202012Validator(root).validate(body)


def check_error(answer, status: int, schema: str = "inference_error_response") -> str:
    """A refusal: its status, the protocol's error object and nothing else, one line that
    shows no traceback and no path of the server's."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    check(schema, body)
    assert set(body) == {"error"} and isinstance(body["error"], str)
    message = body["error"]
    assert message and "\n" not in message and "Traceback" not in message
    assert str(ROOT) not in message and str(models_dir()) not in message
    return message


def version_in_manifest(name: str, directory: Path | None = None) -> str:
    """What the manifest names as the model's version, else "1" (the protocol's, as Triton's)."""
    manifest = Path(directory or models_dir()) / "manifest.json"
    models = json.loads(manifest.read_text())["models"] if manifest.exists() else {}
    return str(models.get(name, {}).get("version") or "1")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServeSettings(max_body=2 << 20))) as client:
        yield client


def tensor_request(model: visionplay.Model, inputs: list[dict]) -> dict:
    """Two rows of each input the metadata declares (``inputs``), of the kind the task's
    class makes: one FP32 tensor for most models, a generator's FP32 z and INT64 label.
    Values to three decimals, so the detector's two pictures fit the body limit as JSON."""
    arrays = [
        np.round(array.astype(np.float64), 3) if array.dtype.kind == "f" else array
        for array in type(model).example_inputs(model.cfg, 2)
    ]
    tensors = [
        {
            "name": spec["name"],
            "datatype": spec["datatype"],
            "shape": list(array.shape),
            "data": array.ravel().tolist(),
        }
        for spec, array in zip(inputs, arrays, strict=True)
    ]
    return {"id": "r1", "inputs": tensors}


def bytes_request(name: str) -> dict:
    picture = sorted(EXAMPLES.glob(f"{name}-*"))[0].read_bytes()
    encoded = base64.b64encode(picture).decode()
    return {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [encoded]}]}


def test_server_routes_answer_the_protocols_objects(client):
    for path in ("/v2", "/v2/"):
        answer = client.get(path)
        assert answer.status_code == 200
        check(PATHS["/v2/"], answer.json())
    for path in ("/v2/health/live", "/v2/health/ready"):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("name", SHIPPED)
def test_model_routes_answer_the_protocols_objects(client, name, versioned):
    model, version = visionplay.load(name), version_in_manifest(name)
    base = f"/v2/models/{name}" + (f"/versions/{version}" if versioned else "")
    assert client.get(f"{base}/ready").status_code == 200

    meta = client.get(base)
    assert meta.status_code == 200
    check(PATHS["/v2/models/{name}/versions/{version}"], meta.json())
    meta = meta.json()
    assert meta["name"] == name and meta["versions"] == [version]

    assert [spec["name"] for spec in meta["inputs"]] == list(model.input_names())
    bodies = [tensor_request(model, meta["inputs"])]
    if model.bytes_input:
        bodies.append(bytes_request(name))
    for body in bodies:
        answer = client.post(f"{base}/infer", json=body)
        assert answer.status_code == 200, answer.text
        check(PATHS["/v2/models/{name}/versions/{version}/infer"], answer.json())
        answer = answer.json()
        assert answer["model_name"] == name and answer["model_version"] == version
        assert answer["id"] == body.get("id", answer["id"]) and answer["outputs"]


def infer_body(**tensor) -> dict:
    spec = {"name": "image", "datatype": "FP32", "shape": [1, 1, 28, 28], "data": [0.0] * 784}
    return {"inputs": [{**spec, **tensor}]}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "schema", "message"),
    [
        ("GET", "/v2/nope", None, 404, "inference_error_response", "no route /v2/nope"),
        (
            "GET",
            "/v2/models/mnist/versions/1/nope",
            None,
            404,
            "inference_error_response",
            "no route",
        ),
        ("GET", "/v2/models/mnist/", None, 404, "inference_error_response", "no route"),
        ("POST", "/v2", {}, 405, "metadata_server_error_response", "takes GET, not POST"),
        ("POST", "/v2/health/live", {}, 405, "inference_error_response", "takes GET"),
        ("GET", "/v2/models/mnist/infer", None, 405, "inference_error_response", "takes POST"),
        (
            "GET",
            "/v2/models/mnist/versions/1/infer",
            None,
            405,
            "inference_error_response",
            "takes POST",
        ),
        ("DELETE", "/v2/models/mnist", None, 405, "metadata_model_error_response", "takes GET"),
        ("GET", "/v2/models/nope", None, 404, "metadata_model_error_response", "no model 'nope'"),
        (
            "GET",
            "/v2/models/nope/versions/1",
            None,
            404,
            "metadata_model_error_response",
            "no model 'nope'",
        ),
        (
            "GET",
            "/v2/models/nope/versions/1/ready",
            None,
            404,
            "inference_error_response",
            "no model 'nope'",
        ),
        (
            "GET",
            "/v2/models/mnist/versions/2",
            None,
            404,
            "metadata_model_error_response",
            "model 'mnist' has no version '2'; versions: 1",
        ),
        (
            "GET",
            "/v2/models/mnist/versions/2/ready",
            None,
            404,
            "inference_error_response",
            "has no version '2'",
        ),
        (
            "POST",
            "/v2/models/mnist/versions/2/infer",
            infer_body(),
            404,
            "inference_error_response",
            "has no version '2'",
        ),
        (
            "POST",
            "/v2/models/mnist/versions/1/infer",
            b"{not json",
            400,
            "inference_error_response",
            "not JSON",
        ),
        (
            "POST",
            "/v2/models/mnist/versions/1/infer",
            infer_body(shape=[1, 3, 28, 28]),
            400,
            "inference_error_response",
            "takes a batch of shape",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            infer_body(datatype="INT64"),
            400,
            "inference_error_response",
            "datatype 'INT64' is not taken",
        ),
        (
            "POST",
            "/v2/models/mnist/infer",
            {**infer_body(), "id": {"a": 1}},
            400,
            "inference_error_response",
            "'id' must be a string",
        ),
        (
            "POST",
            "/v2/models/mnist/versions/1/infer",
            b"x" * (3 << 20),
            413,
            "inference_error_response",
            "at most 2,097,152",
        ),
    ],
)
def test_every_refusal_under_v2_is_the_protocols_error_object(
    client, method, path, body, status, schema, message
):
    if "/versions/1" in path and version_in_manifest("mnist") != "1":
        pytest.skip("the manifest names another version for mnist")
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = client.request(method, path, **(kwargs if body is not None else {}))
    assert message in check_error(answer, status, schema)
    if status == 405:
        assert answer.headers["allow"]


def test_a_number_as_id_is_echoed_as_the_protocols_string(client):
    answer = client.post("/v2/models/mnist/infer", json={**infer_body(), "id": 42})
    check("inference_response", answer.json())
    assert answer.json()["id"] == "42"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A models folder of its own, holding a copy of the shipped mnist."""
    shutil.copy(Path(models_dir()) / "mnist.onnx", tmp_path / "mnist.onnx")
    return tmp_path


def write_version(folder: Path, version: str, stamp: int) -> None:
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"models": {"mnist": {"version": version}}}))
    os.utime(manifest, ns=(stamp, stamp))  # a new modification time, however fast the writes


def test_the_manifest_names_the_version(folder):
    write_version(folder, "2026.12", 10**18)
    client = TestClient(create_app(ServeSettings(folder)))
    meta = client.get("/v2/models/mnist/versions/2026.12")
    check("metadata_model_response", meta.json())
    assert meta.json()["versions"] == ["2026.12"]
    assert client.get("/v2/models/mnist").json()["versions"] == ["2026.12"]
    answer = client.post("/v2/models/mnist/versions/2026.12/infer", json=infer_body())
    check("inference_response", answer.json())
    assert answer.json()["model_version"] == "2026.12"
    unversioned = client.post("/v2/models/mnist/infer", json=infer_body()).json()
    assert unversioned["model_version"] == "2026.12"
    refused = client.get("/v2/models/mnist/versions/1/ready")
    assert "no version '1'; versions: 2026.12" in check_error(refused, 404)

    write_version(folder, "3", 2 * 10**18)  # read again once the manifest changes
    assert client.get("/v2/models/mnist/versions/3/ready").status_code == 200
    assert client.get("/v2/models/mnist/versions/2026.12/ready").status_code == 404


def test_a_file_that_does_not_open_is_a_500_that_names_no_path(folder):
    (folder / "broken.onnx").write_bytes(b"not an onnx file")
    client = TestClient(create_app(ServeSettings(folder)))
    for path in ("/v2/models/broken", "/v2/models/broken/versions/1/ready"):
        message = check_error(client.get(path), 500, "metadata_model_error_response")
        assert "broken" in message and str(folder) not in message
    answer = client.post("/v2/models/broken/infer", json=infer_body())
    assert str(folder) not in check_error(answer, 500)
    assert client.get("/v2/models/mnist/ready").status_code == 200  # the others go on


def test_a_server_with_no_models_is_not_ready_in_the_protocols_error(tmp_path):
    client = TestClient(create_app(ServeSettings(tmp_path)))
    assert "no models" in check_error(client.get("/v2/health/ready"), 503)
    assert client.get("/v2/health/live").status_code == 200
    check_error(client.get("/v2/models/mnist"), 404, "metadata_model_error_response")
