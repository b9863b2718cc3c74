"""Plain HTTP beside the app: the Open Inference Protocol v2 routes (what Triton, KServe and
MLServer speak) and a short ``POST /predict/{name}`` for curl. Everything goes through
:func:`visionplay.load`, as the app does; this module only translates JSON.

    GET  /v2                        (server metadata)
    GET  /v2/health/live            GET /v2/health/ready
    GET  /v2/models/{name}          GET /v2/models/{name}/ready
    POST /v2/models/{name}/infer    POST /predict/{name}   (body: the image file's bytes)

An infer request carries either the model's own FP32 input tensor, already prepared, or
one BYTES input per picture holding the encoded file (PNG, JPEG, ...) in base64, which is
prepared exactly as ``load(name).predict`` prepares it. Errors answer ``{"error": "..."}``
with 400 (bad input), 404 (unknown model) or 413 (body too large).

What one request may make the server do is bounded, not only its bytes: at most
``max_batch`` pictures or tensor rows, pictures of at most ``preprocess.max_pixels()``
pixels in all (read from their headers before decoding), series of at most 10,000 values
in all. Large requests (many pixels or rows) take turns in a lane one core narrower than
the server, so a small request always finds a core free.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson  # Gradio's own dependency
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from . import __version__, series
from .errors import ModelNotFoundError, VisionplayError
from .inference import ForecastModel, KeypointModel, Model, list_exported, load
from .preprocess import max_pixels, picture_pixels

DEFAULT_TOP_K = 3
MAX_BODY = 10 << 20  # bytes; `visionplay serve --max-upload-mb` sets it
MAX_BATCH = 64  # pictures or tensor rows in one request; `visionplay serve --max-batch`
MAX_NAME = 100  # characters of a model name; longer ones are not looked up
# A request past either of these runs in the large lane.
LARGE_PIXELS = 1_000_000
LARGE_BATCH = 8
log = logging.getLogger(__name__)
BYTES_INPUT = {  # what a BYTES input means, per task (a forecaster takes none)
    "classification": "an encoded picture: probabilities and the top labels",
    "keypoints": "an encoded picture: every face's box, 68 points and score",
}


# Triton's binary tensor extension: raw bytes after the JSON, sized by a header.
BINARY_HEADER = "inference-header-content-length"
BINARY_REFUSED = (
    "binary tensor data (Triton's extension) is not taken: send the tensor "
    "as JSON 'data' (tritonclient: set_data_from_numpy(..., binary_data=False))"
)


class HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_response(data: Any, status: int = 200) -> Response:
    """orjson-encoded: a probability vector of floats encodes several times faster."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def tensor_meta(values) -> list[dict[str, Any]]:
    """onnxruntime's input/output descriptions in the protocol's terms (-1: any size)."""
    return [
        {
            "name": v.name,
            "datatype": "FP32",
            "shape": [d if isinstance(d, int) else -1 for d in v.shape],
        }  # fmt: skip
        for v in values
    ]


def metadata(model: Model) -> dict[str, Any]:
    cfg = model.cfg
    bytes_input = BYTES_INPUT.get(cfg.task)
    return {
        "name": model.name,
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": tensor_meta(model.session.get_inputs()),
        "outputs": tensor_meta(model.session.get_outputs()),
        "parameters": {
            "task": cfg.task,
            "labels": list(cfg.labels),
            **({"bytes_input": bytes_input} if bytes_input else {}),
        },
    }


def as_tensor(spec: dict[str, Any], model: Model, max_batch: int) -> np.ndarray:
    """An FP32 input of the protocol -> the model's batch, its shape checked before its
    data is converted: at most ``max_batch`` rows, a forecaster's series one channel of at
    most 10,000 values in all."""
    name, shape = spec.get("name"), spec.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise HTTPError(400, f"input {name!r}: 'shape' must be a list of sizes")
    expected = list(model.cfg.input_size)
    if model.cfg.task == "forecast":
        if len(shape) != 3 or shape[2] != 1:
            raise HTTPError(400, f"{model.name} takes shape [N, steps, 1] (one channel); "
                            f"got {shape}")  # fmt: skip
        if math.prod(shape) > series.MAX_LENGTH:
            raise HTTPError(400, f"{model.name} takes at most {series.MAX_LENGTH:,} values in "
                            f"a request; shape {shape} holds {math.prod(shape):,}")  # fmt: skip
    elif len(shape) != len(expected) + 1 or shape[1:] != expected:
        raise HTTPError(400, f"{model.name} takes shape [N, {', '.join(map(str, expected))}]; "
                        f"got {shape}")  # fmt: skip
    if not 1 <= shape[0] <= max_batch:
        raise HTTPError(400, f"input {name!r}: a batch of 1 to {max_batch} is taken; "
                        f"got {shape[0]:,}")  # fmt: skip
    count, data = math.prod(shape), spec.get("data")  # math.prod: no int64 overflow
    flat = isinstance(data, list) and not (data and isinstance(data[0], list))
    if not isinstance(data, list) or (flat and len(data) != count):
        raise HTTPError(400, f"input {name!r}: shape {shape} holds {count:,} values; 'data' "
                        "must be a list of as many numbers")  # fmt: skip
    try:
        with np.errstate(over="ignore"):  # past float32's range is inf, refused when it runs
            array = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError):
        raise HTTPError(400, f"input {name!r}: 'data' must be numbers") from None
    if array.size != count:
        raise HTTPError(400, f"input {name!r}: shape {shape} holds {count:,} values, "
                        f"'data' has {array.size:,}")  # fmt: skip
    return array.reshape(shape)


def decode_bytes(spec: dict[str, Any], max_batch: int) -> tuple[list[bytes], int]:
    """The encoded pictures of a BYTES input and their pixels in all (counted from their
    headers): at most ``max_batch`` pictures and :func:`.preprocess.max_pixels` pixels."""
    name, data = spec.get("name"), spec.get("data")
    if not isinstance(data, list) or not data or not all(isinstance(d, str) for d in data):
        raise HTTPError(400, f"input {name!r}: BYTES 'data' must be a list of "
                        "base64 strings, one encoded picture each")  # fmt: skip
    if len(data) > max_batch:
        raise HTTPError(400, f"input {name!r}: at most {max_batch} pictures a request; "
                        f"got {len(data):,}")  # fmt: skip
    try:
        pictures = [base64.b64decode(d, validate=True) for d in data]
    except (binascii.Error, ValueError):
        raise HTTPError(400, f"input {name!r}: 'data' is not valid base64") from None
    pixels, limit = sum(map(picture_pixels, pictures)), max_pixels()
    if pixels > limit:
        raise HTTPError(400, f"input {name!r}: the pictures hold {pixels / 1e6:.1f} megapixels "
                        f"in all; at most {limit / 1e6:g} are read in one request")  # fmt: skip
    return pictures, pixels


def output(name: str, values: np.ndarray | list, datatype: str = "FP32") -> dict[str, Any]:
    array = np.asarray(values, dtype=np.float32 if datatype == "FP32" else object)
    data = array.ravel().tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def classify(model: Model, batch: np.ndarray, top_k: int) -> list[dict[str, Any]]:
    probabilities = model.run(batch)
    order = np.argsort(-probabilities, axis=1)[:, :top_k]
    labels = [[model.labels[i] for i in row] for row in order]
    return [output("probabilities", probabilities), output("labels", labels, "BYTES"),
            output("scores", np.take_along_axis(probabilities, order, axis=1))]  # fmt: skip


@dataclass(frozen=True)
class InferRequest:
    """A checked infer request: its input (an FP32 batch or encoded pictures), top-k, the
    outputs asked for (None: all) and whether it runs in the large lane."""

    data: np.ndarray | list[bytes]
    top_k: int
    outputs: list[dict[str, Any]] | None
    large: bool


def parameters(holder: dict[str, Any], where: str) -> dict[str, Any]:
    """A request's or an input's ``parameters``: absent, or an object."""
    found = holder.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise HTTPError(400, f"{where}'parameters' must be an object")
    return found


def read_request(model: Model, body: dict[str, Any], max_batch: int) -> InferRequest:
    """Check an infer request's JSON and decode its input; nothing runs yet."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise HTTPError(400, "'inputs' must be a list with one input")
    spec = inputs[0]
    if "binary_data_size" in parameters(spec, "inputs[0]."):
        raise HTTPError(400, BINARY_REFUSED)
    requested = body.get("outputs")
    if requested is not None and not (
        isinstance(requested, list)
        and all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in requested)
    ):
        raise HTTPError(400, "'outputs' must be a list of {\"name\": ...} objects")
    top_k = parameters(body, "").get("top_k", DEFAULT_TOP_K)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise HTTPError(400, "parameters.top_k must be a whole number >= 1")
    datatype = spec.get("datatype")
    if datatype == "FP32":
        batch = as_tensor(spec, model, max_batch)
        return InferRequest(batch, top_k, requested, large=len(batch) > LARGE_BATCH)
    if datatype == "BYTES":
        if isinstance(model, ForecastModel):
            raise HTTPError(400, f"{model.name} takes an FP32 series, not BYTES")
        pictures, pixels = decode_bytes(spec, max_batch)
        if isinstance(model, KeypointModel) and len(pictures) != 1:
            raise HTTPError(400, f"{model.name} takes one picture per request")
        large = len(pictures) > LARGE_BATCH or pixels > LARGE_PIXELS
        return InferRequest(pictures, top_k, requested, large)
    raise HTTPError(400, f"datatype {datatype!r} is not taken: send FP32 (a prepared tensor) "
                    "or BYTES (an encoded picture)")  # fmt: skip


def infer(model: Model, request: InferRequest) -> list[dict[str, Any]]:
    """The protocol's outputs for one infer request (runs in a worker thread): all that
    the model gives, or those named in the request's ``outputs``, in that order."""
    outputs = compute(model, request.data, request.top_k)
    requested = request.outputs
    if requested is None:
        return outputs
    produced = {o["name"]: o for o in outputs}
    unknown = [o["name"] for o in requested if o["name"] not in produced]
    if unknown:
        raise HTTPError(400, f"{model.name} has no output {unknown[0]!r} for this input; "
                        f"it gives {', '.join(produced)}")  # fmt: skip
    return [produced[o["name"]] for o in requested]


def compute(model: Model, data: np.ndarray | list[bytes], top_k: int) -> list[dict[str, Any]]:
    """Every output the model gives for a checked FP32 batch or list of encoded pictures."""
    if isinstance(data, np.ndarray):
        if isinstance(model, ForecastModel):
            return [output("forecast", model.forecast_batch(data[:, :, 0]))]
        if isinstance(model, KeypointModel):
            return [output("points", model.run(data))]
        return classify(model, data, top_k)
    if isinstance(model, KeypointModel):
        faces = model.predict(data[0])
        return [output("boxes", np.reshape([f.box for f in faces], (-1, 4))),
                output("points", np.reshape([f.points for f in faces], (-1, 68, 2))),
                output("scores", [f.score for f in faces])]  # fmt: skip
    return classify(model, np.stack([model.prepare(p) for p in data]), top_k)


def create_router(
    directory: str | os.PathLike | None = None,
    max_body: int = MAX_BODY,
    concurrency: int | None = None,
    max_batch: int = MAX_BATCH,
) -> APIRouter:
    """The routes, over the models in ``directory``; bodies over ``max_body`` bytes get 413,
    batches over ``max_batch`` pictures or rows 400.

    Models run in worker threads, at most ``concurrency`` at a time (default: one per CPU
    core): more would only fight over the cores and the GIL (BENCHMARKS.md). Large
    requests also queue for a lane of one slot fewer.
    """
    router = APIRouter()
    limiter = CapacityLimiter(concurrency or os.cpu_count() or 1)
    large_lane = CapacityLimiter(max(1, limiter.total_tokens - 1))

    async def in_worker(function: Callable, *args: Any, large: bool = False) -> Any:
        work = functools.partial(function, *args)
        if not large:
            return await to_thread.run_sync(work, limiter=limiter)
        async with large_lane:
            return await to_thread.run_sync(work, limiter=limiter)

    def model_or_404(name: str) -> Model:
        # Only the folder's own models (load() would also open a path), and a 404 that does
        # not tell a caller where the server keeps its files.
        plain = name.replace("_", "").replace("-", "")
        try:
            if len(name) <= MAX_NAME and plain.isascii() and plain.isalnum():
                return load(name, directory)
        except ModelNotFoundError:
            pass
        served = ", ".join(list_exported(directory)) or "none"
        shown = name if len(name) <= 40 else f"{name[:40]}..."
        raise HTTPError(404, f"no model {shown!r} here; served: {served}")

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            raise HTTPError(413, f"the body is {int(declared):,} bytes; at most {max_body:,}")

        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    raise HTTPError(413, f"the body is over {max_body:,} bytes")
        except ClientDisconnect:  # the client's doing, not a failure of ours to log
            raise HTTPError(400, "the client went before its body had arrived") from None
        return bytes(body)

    async def answer(work) -> Response:
        try:
            return json_response(await work())
        except HTTPError as err:
            return error(err.status, str(err))
        except VisionplayError as err:
            return error(400, str(err))
        except Exception:  # a bug of ours: the log gets the traceback, the client one line
            log.exception("visionplay: a request failed")
            return error(500, "the server failed on this request; its log says why")

    @router.get("/v2")
    async def server_metadata() -> dict:
        return {"name": "visionplay", "version": __version__, "extensions": []}

    @router.get("/v2/health/live")
    async def live() -> dict:
        return {"live": True}

    @router.get("/v2/health/ready")
    async def ready() -> Response:
        models = list_exported(directory)
        status = 200 if models else 503
        return json_response({"ready": bool(models), "models": models}, status)

    @router.get("/v2/models/{name}")
    async def model_metadata(name: str) -> Response:
        async def work():
            return metadata(model_or_404(name))

        return await answer(work)

    @router.get("/v2/models/{name}/ready")
    async def model_ready(name: str) -> Response:
        async def work():
            model_or_404(name)
            return {"name": name, "ready": True}

        return await answer(work)

    @router.post("/v2/models/{name}/infer")
    async def model_infer(name: str, request: Request) -> Response:
        async def work():
            model = model_or_404(name)
            if BINARY_HEADER in request.headers:
                raise HTTPError(400, BINARY_REFUSED)
            try:
                body = orjson.loads(await body_of(request))
            except orjson.JSONDecodeError as err:
                raise HTTPError(400, f"the body is not JSON: {err}") from None
            if not isinstance(body, dict):
                raise HTTPError(400, "the body must be a JSON object with 'inputs'")
            checked = read_request(model, body, max_batch)
            outputs = await in_worker(infer, model, checked, large=checked.large)
            request_id = body.get("id") or uuid.uuid4().hex
            return {"model_name": name, "model_version": "1", "id": request_id,
                    "outputs": outputs}  # fmt: skip

        return await answer(work)

    @router.post("/predict/{name}")
    async def predict(name: str, request: Request, k: int = DEFAULT_TOP_K) -> Response:
        async def work():
            model = model_or_404(name)
            data = await body_of(request)
            if not data:
                raise HTTPError(400, "the body is empty: send the picture's bytes")
            if k < 1:
                raise HTTPError(400, "k must be at least 1")
            if isinstance(model, ForecastModel):
                values = await in_worker(model.forecast, data.decode("utf-8", "replace"))
                return {"model": name, "forecast": values.tolist()}
            large = picture_pixels(data) > LARGE_PIXELS
            if isinstance(model, KeypointModel):
                faces = await in_worker(model.predict, data, large=large)
                return {"model": name, "faces": [
                    {"box": list(f.box), "points": f.points.tolist(), "score": f.score}
                    for f in faces]}  # fmt: skip
            top = await in_worker(model.predict, data, k, large=large)
            return {"model": name, "predictions": [
                {"label": p.label, "score": p.score, "index": p.index} for p in top]}  # fmt: skip

        return await answer(work)

    return router


def create_app(
    directory: str | os.PathLike | None = None,
    max_body: int = MAX_BODY,
    concurrency: int | None = None,
    max_batch: int = MAX_BATCH,
) -> FastAPI:
    """A FastAPI app with the routes alone; ``visionplay serve`` mounts the Gradio app on it."""
    app = FastAPI(title="visionplay", docs_url=None, redoc_url=None)
    app.include_router(create_router(directory, max_body, concurrency, max_batch))
    app.add_exception_handler(RequestValidationError, invalid_parameter)
    return app


async def invalid_parameter(request: Request, err: RequestValidationError) -> Response:
    """FastAPI's own check of a route's parameters (``?k=abc``), in the protocol's error body
    with 400 instead of FastAPI's 422 ``detail`` list."""
    first = err.errors()[0]
    where = " ".join(str(part) for part in first.get("loc", ()))
    return error(400, f"{where}: {first.get('msg', 'invalid')}")
