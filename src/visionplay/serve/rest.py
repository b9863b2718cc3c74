"""Plain HTTP beside the app: the Open Inference Protocol v2 routes (what Triton, KServe and
MLServer speak) and a short ``POST /predict/{name}`` for curl. Everything goes through
:func:`visionplay.load`, as the app does; this module only translates JSON.

    GET  /v2                        (server metadata; also /v2/)
    GET  /v2/health/live            GET /v2/health/ready
    GET  /v2/models/{name}          GET /v2/models/{name}/ready
    POST /v2/models/{name}/infer    POST /predict/{name}   (body: a picture's bytes, or a series)
    GET  /generate/{name}?label=..  (a generator's pictures of one class, as a PNG grid)

Each /v2/models/{name} route is also at /v2/models/{name}/versions/{version}: a model has the
one version its manifest entry names (``"version"``), else ``"1"``.

An infer request carries either the model's own FP32 input tensor, already prepared, or
one BYTES input per picture holding the encoded file (PNG, JPEG, ...) in base64, which is
prepared exactly as ``load(name).predict`` prepares it. A model of several inputs (a
generator's FP32 ``z`` and INT64 ``label``) takes each by name, of the datatype and shape
its metadata declares. Errors answer ``{"error": "..."}`` with 400 (bad input), 404
(unknown model, version or route), 405 (wrong method), 413 (body too large), 500 (a
failure of ours) or 503 (no models); so does every other path under /v2.

What one request may make the server do is bounded, not only its bytes: at most
``max_batch`` pictures or tensor rows, pictures of at most ``preprocess.max_pixels()``
pixels in all (read from their headers before decoding), series of at most 10,000 values
in all, each output the model gives asked for at most once. Requests run in their turn
under :data:`visionplay.admission.ADMISSION`, the policy the app's tabs share: large ones
(many pixels, rows or values read) take turns in a lane one core narrower than the server,
so a small request always finds a core free.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import logging
import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson  # Gradio's own dependency
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from .. import __version__
from ..admission import ADMISSION, is_large
from ..errors import ModelNotFoundError, VisionplayError
from ..inference import list_exported, load
from ..manifest import MANIFEST
from ..preprocess import max_pixels, picture_pixels
from ..series import count_values
from ..tasks import Generator, Model, picture_grid

DEFAULT_TOP_K = 3
MAX_BODY = 10 << 20  # bytes; `visionplay serve --max-upload-mb` sets it
MAX_BATCH = 64  # pictures or tensor rows in one request; `visionplay serve --max-batch`
MAX_NAME = 100  # characters of a model name; longer ones are not looked up
DEFAULT_VERSION = "1"  # a model's version when its manifest entry names none
MOST_IN_WORKERS = 64  # requests in worker threads at once, running or waiting their turn
# GET /generate: the most pictures in one grid (fewer where the server's batch limit is
# lower), and how many it draws when the request does not say.
MAX_GRID = 64
DEFAULT_GRID = 16
# onnxruntime's element types in the protocol's names; the inputs of a model of several
# are read as these (others are not taken).
DATATYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(uint8)": "UINT8",
    "tensor(bool)": "BOOL",
}
READ_AS = {"FP32": np.float32, "INT64": np.int64}
INT64_LOW, INT64_HIGH = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
# The outputs of the tasks that answer more than their graph's one (``Model.output_name``),
# by task and whether the input is encoded pictures: what their ``tensor_outputs`` and
# ``picture_outputs`` give (a test holds them to it). A request's "outputs" are checked
# against these before anything runs.
TASK_OUTPUTS = {
    ("classification", False): ("probabilities", "labels", "scores"),
    ("classification", True): ("probabilities", "labels", "scores"),
    ("keypoints", True): ("boxes", "points", "scores"),
}
log = logging.getLogger(__name__)


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


def shown(text: str, most: int = 40) -> str:
    """A client's name or path, cut short for an error line."""
    return text if len(text) <= most else f"{text[:most]}..."


@functools.lru_cache(maxsize=16)
def manifest_versions(manifest: Path, stamp: int) -> dict[str, str]:
    """The versions ``manifest`` names, by model; cached per file and modification time
    (``stamp``), so a request reads no JSON. An unreadable manifest names none."""
    try:
        models = json.loads(manifest.read_text()).get("models", {})
        return {
            name: str(entry["version"])
            for name, entry in models.items()
            if isinstance(entry, dict) and entry.get("version") not in (None, "")
        }
    except (OSError, ValueError, AttributeError):
        return {}


def model_version(model: Model) -> str:
    """The model's one version: its manifest entry's ``version``, else ``"1"``."""
    manifest = model.path.parent / MANIFEST
    try:
        stamp = manifest.stat().st_mtime_ns
    except OSError:
        return DEFAULT_VERSION
    return manifest_versions(manifest, stamp).get(model.name, DEFAULT_VERSION)


def tensor_meta(values) -> list[dict[str, Any]]:
    """onnxruntime's input/output descriptions in the protocol's terms (-1: any size)."""
    return [
        {
            "name": v.name,
            "datatype": DATATYPES.get(v.type, "FP32"),
            "shape": [d if isinstance(d, int) else -1 for d in v.shape],
        }
        for v in values
    ]


def metadata(model: Model, version: str) -> dict[str, Any]:
    return {
        "name": model.name,
        "versions": [version],
        "platform": "onnxruntime_onnx",
        "inputs": tensor_meta(model.session.get_inputs()),
        "outputs": tensor_meta(model.session.get_outputs()),
        "parameters": {
            "task": model.task,
            "labels": list(model.labels),
            **({"bytes_input": model.bytes_input} if model.bytes_input else {}),
        },
    }


def sizes(shape: Any) -> bool:
    """Whether ``shape`` is the protocol's list of sizes."""
    return isinstance(shape, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    )


def check_rows(name: Any, shape: list[int], model: Model, max_batch: int) -> None:
    """An input's shape within the request's bounds: the model's most values, and 1 to
    ``max_batch`` rows."""
    most = model.max_request_values
    if most is not None and math.prod(shape) > most:
        raise HTTPError(
            400,
            f"{model.name} takes at most {most:,} values in a request; "
            f"shape {shape} holds {math.prod(shape):,}",
        )
    if not 1 <= shape[0] <= max_batch:
        raise HTTPError(
            400, f"input {name!r}: a batch of 1 to {max_batch} is taken; got {shape[0]:,}"
        )


def data_array(spec: dict[str, Any], shape: list[int], dtype: Any) -> np.ndarray:
    """An input's 'data' as a flat array of ``dtype``, holding as many values as its checked
    ``shape`` (the count is compared before anything is converted)."""
    name, data = spec.get("name"), spec.get("data")
    count = math.prod(shape)  # math.prod: no int64 overflow
    flat = isinstance(data, list) and not (data and isinstance(data[0], list))
    if not isinstance(data, list) or (flat and len(data) != count):
        raise HTTPError(
            400,
            f"input {name!r}: shape {shape} holds {count:,} values; 'data' "
            "must be a list of as many numbers",
        )
    try:
        with np.errstate(over="ignore"):  # past float32's range is inf, refused later
            array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError):
        raise HTTPError(400, f"input {name!r}: 'data' must be numbers") from None
    if array.size != count:
        raise HTTPError(
            400, f"input {name!r}: shape {shape} holds {count:,} values, 'data' has {array.size:,}"
        )
    return array


def as_tensor(spec: dict[str, Any], model: Model, max_batch: int) -> np.ndarray:
    """An FP32 input of the protocol -> the model's batch, its shape checked (by the model,
    and at most ``max_batch`` rows) before its data is converted."""
    name, shape = spec.get("name"), spec.get("shape")
    if not sizes(shape):
        raise HTTPError(400, f"input {name!r}: 'shape' must be a list of sizes")
    model.check_shape(shape)
    check_rows(name, shape, model, max_batch)
    return data_array(spec, shape, np.float32).reshape(shape)


def typed_shape(
    spec: dict[str, Any], declared: dict[str, Any], model: Model, max_batch: int
) -> list[int]:
    """The shape of one input of a model of several, checked against what its metadata
    declares (``declared``: datatype and shape, -1 any size) and the batch limit."""
    name, shape, datatype = spec.get("name"), spec.get("shape"), spec.get("datatype")
    if datatype != declared["datatype"] or datatype not in READ_AS:
        raise HTTPError(
            400,
            f"input {name!r}: datatype {shown(str(datatype))!r} is not taken: "
            f"{model.name}'s {name} is {declared['datatype']}",
        )
    if not sizes(shape):
        raise HTTPError(400, f"input {name!r}: 'shape' must be a list of sizes")
    wanted = declared["shape"]
    fits = len(shape) == len(wanted) and all(w in (-1, shape[i]) for i, w in enumerate(wanted))
    if not fits:
        form = ", ".join("N" if w == -1 else str(w) for w in wanted)
        raise HTTPError(
            400, f"input {name!r}: {model.name} takes shape ({form}); got {shown(str(shape))}"
        )
    check_rows(name, shape, model, max_batch)
    return shape


def typed_values(spec: dict[str, Any], shape: list[int]) -> np.ndarray:
    """The data of an input whose shape :func:`typed_shape` checked: as many values, of its
    datatype (whole numbers for INT64: never a float cut short), finite."""
    name, datatype = spec.get("name"), spec["datatype"]
    # INT64 as JSON gave it (objects): numpy would take 2.0 and true for whole numbers.
    array = data_array(spec, shape, np.float32 if datatype == "FP32" else object)
    if datatype == "INT64" and not all(
        type(v) is int and INT64_LOW <= v <= INT64_HIGH for v in array.flat
    ):
        raise HTTPError(
            400, f"input {name!r}: INT64 'data' must be whole numbers within int64's range"
        )
    if datatype == "FP32" and not np.isfinite(array).all():
        raise HTTPError(
            400,
            f"input {name!r}: 'data' must be finite numbers; it holds NaN, "
            "infinity or values past float32's range",
        )
    return array.astype(READ_AS[datatype], copy=False).reshape(shape)


def named_tensors(
    model: Model, specs: list[dict[str, Any]], max_batch: int
) -> tuple[np.ndarray, ...]:
    """The inputs of a model of several, each once by name, in the order its ``run`` takes
    them; their shapes (one batch size for all) are checked before any data is converted."""
    wanted = model.input_names()
    declared = {d["name"]: d for d in tensor_meta(model.session.get_inputs())}
    by_name: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name = spec.get("name")
        if not isinstance(name, str) or name not in wanted or name in by_name:
            raise HTTPError(
                400,
                f"{model.name} takes the inputs {', '.join(wanted)}, each "
                f"once by name; got {shown(str(name))!r}",
            )
        by_name[name] = spec
    shapes = [typed_shape(by_name[n], declared[n], model, max_batch) for n in wanted]
    if len({shape[0] for shape in shapes}) > 1:
        rows = ", ".join(f"{n} {shape[0]:,}" for n, shape in zip(wanted, shapes, strict=True))
        raise HTTPError(400, f"{model.name}'s inputs must hold one batch size; got {rows}")
    return tuple(typed_values(by_name[n], s) for n, s in zip(wanted, shapes, strict=True))


def decode_bytes(spec: dict[str, Any], model: Model, max_batch: int) -> tuple[list[bytes], int]:
    """The encoded pictures of a BYTES input and their pixels in all (counted from their
    headers): at most ``max_batch`` pictures (fewer if the model says so) and
    :func:`.preprocess.max_pixels` pixels."""
    name, data = spec.get("name"), spec.get("data")
    if model.bytes_input is None:
        raise HTTPError(400, f"{model.name} takes an FP32 tensor, not BYTES")
    if not isinstance(data, list) or not data or not all(isinstance(d, str) for d in data):
        raise HTTPError(
            400,
            f"input {name!r}: BYTES 'data' must be a list of "
            "base64 strings, one encoded picture each",
        )
    most = min(max_batch, model.max_pictures or max_batch)
    if len(data) > most:
        raise HTTPError(
            400,
            f"input {name!r}: {model.name} takes at most {most} "
            f"picture{'s' * (most != 1)} a request; got {len(data):,}",
        )
    try:
        pictures = [base64.b64decode(d, validate=True) for d in data]
    except (binascii.Error, ValueError):
        raise HTTPError(400, f"input {name!r}: 'data' is not valid base64") from None
    pixels, limit = sum(map(picture_pixels, pictures)), max_pixels()
    if pixels > limit:
        raise HTTPError(
            400,
            f"input {name!r}: the pictures hold {pixels / 1e6:.1f} megapixels "
            f"in all; at most {limit / 1e6:g} are read in one request",
        )
    return pictures, pixels


def output(name: str, values: np.ndarray) -> dict[str, Any]:
    """One output tensor of the protocol; an array of strings is BYTES."""
    array = np.asarray(values)
    datatype = "BYTES" if array.dtype.kind in "OUS" else "FP32"
    data = (array if datatype == "BYTES" else array.astype(np.float32)).ravel().tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


@dataclass(frozen=True)
class InferRequest:
    """A checked infer request: its input (the model's tensors, in the order its ``run``
    takes them, or encoded pictures), the options for the model (``parameters``: ``top_k``,
    ``steps``), the names of the outputs asked for (None: all) and whether it runs in the
    large lane."""

    data: tuple[np.ndarray, ...] | list[bytes]
    options: dict[str, Any]
    outputs: tuple[str, ...] | None
    large: bool


def parameters(holder: dict[str, Any], where: str) -> dict[str, Any]:
    """A request's or an input's ``parameters``: absent, or an object."""
    found = holder.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise HTTPError(400, f"{where}'parameters' must be an object")
    return found


def model_options(model: Model, given: dict[str, Any]) -> dict[str, Any]:
    """The request's ``top_k`` and ``steps`` that the model takes, checked as whole numbers."""
    options = model.options_from(top_k=given.get("top_k", DEFAULT_TOP_K), steps=given.get("steps"))
    for key, value in options.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise HTTPError(400, f"parameters.{key} must be a whole number >= 1")
    return options


def offered_outputs(model: Model, pictures: bool) -> tuple[str, ...]:
    """The names of the outputs ``model`` answers for encoded pictures or its own tensors."""
    return TASK_OUTPUTS.get((model.task, pictures), (model.output_name,))


def requested_outputs(model: Model, requested: Any, pictures: bool) -> tuple[str, ...] | None:
    """The names in a request's ``outputs`` (None: all): each one the model gives, once.
    Their count is compared first, so a long list costs no more than its parsing."""
    if requested is None:
        return None
    shape = "'outputs' must be a list of {\"name\": ...} objects"
    if not isinstance(requested, list):
        raise HTTPError(400, shape)
    offered = offered_outputs(model, pictures)
    if len(requested) > len(offered):
        raise HTTPError(
            400,
            f"'outputs' names {len(requested):,} outputs; {model.name} gives "
            f"{len(offered)}: {', '.join(offered)}, each at most once",
        )
    if not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in requested):
        raise HTTPError(400, shape)
    names = tuple(o["name"] for o in requested)
    for i, name in enumerate(names):
        if name not in offered:
            raise HTTPError(
                400,
                f"{model.name} has no output {shown(name)!r} for this input; "
                f"it gives {', '.join(offered)}",
            )
        if name in names[:i]:
            raise HTTPError(400, f"'outputs' names {shown(name)!r} twice; ask for each once")
    return names


def read_request(model: Model, body: dict[str, Any], max_batch: int) -> InferRequest:
    """Check an infer request's JSON and decode its input; nothing runs yet."""
    inputs, wanted = body.get("inputs"), model.input_names()
    if not (
        isinstance(inputs, list)
        and len(inputs) == len(wanted)
        and all(isinstance(spec, dict) for spec in inputs)
    ):
        raise HTTPError(
            400,
            "'inputs' must be a list with one input"
            if len(wanted) == 1
            else f"'inputs' must be a list of {len(wanted)} inputs, by name: {', '.join(wanted)}",
        )
    for i, spec in enumerate(inputs):
        if "binary_data_size" in parameters(spec, f"inputs[{i}]."):
            raise HTTPError(400, BINARY_REFUSED)
    encoded = len(wanted) == 1 and inputs[0].get("datatype") == "BYTES"
    requested = requested_outputs(model, body.get("outputs"), encoded)
    options = model_options(model, parameters(body, ""))
    if len(wanted) > 1:
        tensors = named_tensors(model, inputs, max_batch)
        return InferRequest(tensors, options, requested, is_large(rows=len(tensors[0])))
    spec, datatype = inputs[0], inputs[0].get("datatype")
    if datatype == "FP32":
        batch = as_tensor(spec, model, max_batch)
        read = model.work(batch[0].size, len(batch), **options)
        return InferRequest((batch,), options, requested, is_large(rows=len(batch), values=read))
    if datatype == "BYTES":
        pictures, pixels = decode_bytes(spec, model, max_batch)
        large = is_large(pixels=pixels, rows=len(pictures))
        return InferRequest(pictures, options, requested, large)
    raise HTTPError(
        400,
        f"datatype {datatype!r} is not taken: send FP32 (a prepared tensor) "
        "or BYTES (an encoded picture)",
    )


def read_infer_body(model: Model, raw: bytes, max_batch: int) -> tuple[InferRequest, str]:
    """An infer request's bytes -> the checked request and the id to answer with."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise HTTPError(400, f"the body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise HTTPError(400, "the body must be a JSON object with 'inputs'")
    return read_request(model, body, max_batch), request_id(body)


def request_id(body: dict[str, Any]) -> str:
    """The request's ``id`` to echo, as the protocol's string (a number as its digits), or
    a fresh one."""
    given = body.get("id")
    if given is None or given == "":
        return uuid.uuid4().hex
    if isinstance(given, bool) or not isinstance(given, (str, int)):
        raise HTTPError(400, "'id' must be a string")
    return str(given)


def infer(model: Model, request: InferRequest) -> list[dict[str, Any]]:
    """The protocol's outputs for one infer request (runs in a worker thread): all that
    the model gives, or those named in the request's ``outputs``, in that order."""
    if isinstance(request.data, tuple):
        produced = model.tensor_outputs(*request.data, **request.options)
    else:
        produced = model.picture_outputs(request.data, **request.options)
    names = request.outputs if request.outputs is not None else produced
    unknown = [n for n in names if n not in produced]
    if unknown:
        raise HTTPError(
            400,
            f"{model.name} has no output {unknown[0]!r} for this input; "
            f"it gives {', '.join(produced)}",
        )
    return [output(n, produced[n]) for n in names]


def answered(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A route that returns data -> one that answers it as JSON (a :class:`Response` it
    makes itself, as it is), and every error as ``{"error": "..."}`` with its status: ours
    with theirs, a refused input 400, and a bug of ours 500 with one line (the traceback
    goes to the log)."""

    @functools.wraps(handler)
    async def route(*args: Any, **kwargs: Any) -> Response:
        try:
            answer = await handler(*args, **kwargs)
            return answer if isinstance(answer, Response) else json_response(answer)
        except HTTPError as err:
            return error(err.status, str(err))
        except VisionplayError as err:
            return error(400, str(err))
        except Exception:
            log.exception("visionplay: a request failed")
            return error(500, "the server failed on this request; its log says why")

    return route


class Routes:
    """The routes over the models of one folder, with what they share: the limits on a
    body and a batch, and the worker threads.

    Models run in worker threads, in their turn under the process's admission policy
    (:mod:`visionplay.admission`), which ``concurrency`` sizes (default: one slot per CPU
    core): more would only fight over the cores and the GIL (BENCHMARKS.md).
    """

    def __init__(
        self,
        directory: str | os.PathLike | None,
        max_body: int,
        concurrency: int | None,
        max_batch: int,
    ) -> None:
        self.directory, self.max_body, self.max_batch = directory, max_body, max_batch
        if concurrency:
            ADMISSION.resize(concurrency)
        self.threads = CapacityLimiter(MOST_IN_WORKERS)

    async def in_worker(
        self,
        function: Callable,
        *args: Any,
        large: bool | Callable[[], bool] = False,
        **kwargs: Any,
    ) -> Any:
        """``function(*args, **kwargs)`` in a worker thread, in its turn; ``large`` may be
        a function the worker asks first (to read a request's size off the event loop)."""

        def work() -> Any:
            big = large() if callable(large) else large
            return ADMISSION.run(big, function, *args, **kwargs)

        return await to_thread.run_sync(work, limiter=self.threads)

    def model(self, name: str) -> Model:
        """The folder's own model ``name`` (load() would also open a path), or a 404 that
        does not tell a caller where the server keeps its files; nor does the 500 of a file
        that will not open (its message names the path: it goes to the log)."""
        plain = name.replace("_", "").replace("-", "")
        try:
            if len(name) <= MAX_NAME and plain.isascii() and plain.isalnum():
                return load(name, self.directory)
        except ModelNotFoundError:
            pass
        except VisionplayError as err:
            log.error("visionplay: model %r does not open: %s", name, err)
            raise HTTPError(
                500, f"model {name!r} is here but does not open; the server's log says why"
            ) from None
        served = ", ".join(list_exported(self.directory)) or "none"
        raise HTTPError(404, f"no model {shown(name)!r} here; served: {served}")

    def served(self, name: str, version: str | None = None) -> tuple[Model, str]:
        """The model ``name`` and its version; a ``version`` asked for must be that one."""
        model = self.model(name)
        has = model_version(model)
        if version is not None and version != has:
            raise HTTPError(
                404, f"model {name!r} has no version {shown(version)!r}; versions: {has}"
            )
        return model, has

    async def body(self, request: Request) -> bytes:
        """The request's body, refused (413) once past ``max_body`` bytes."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise HTTPError(413, f"the body is {int(declared):,} bytes; at most {self.max_body:,}")
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body:
                    raise HTTPError(413, f"the body is over {self.max_body:,} bytes")
        except ClientDisconnect:  # the client's doing, not a failure of ours to log
            raise HTTPError(400, "the client went before its body had arrived") from None
        return bytes(body)

    @answered
    async def ready(self) -> dict[str, Any]:
        models = list_exported(self.directory)
        if not models:
            raise HTTPError(503, "no models to serve: export one with `visionplay export --onnx`")
        return {"ready": True, "models": models}

    @answered
    async def model_metadata(self, name: str) -> dict[str, Any]:
        return metadata(*self.served(name))

    @answered
    async def versioned_metadata(self, name: str, version: str) -> dict[str, Any]:
        return metadata(*self.served(name, version))

    @answered
    async def model_ready(self, name: str) -> dict[str, Any]:
        self.served(name)
        return {"name": name, "ready": True}

    @answered
    async def versioned_ready(self, name: str, version: str) -> dict[str, Any]:
        self.served(name, version)
        return {"name": name, "ready": True}

    @answered
    async def infer(self, name: str, request: Request) -> dict[str, Any]:
        return await self.run_infer(name, None, request)

    @answered
    async def versioned_infer(self, name: str, version: str, request: Request) -> dict[str, Any]:
        return await self.run_infer(name, version, request)

    async def run_infer(self, name: str, version: str | None, request: Request) -> dict[str, Any]:
        model, version = self.served(name, version)
        if BINARY_HEADER in request.headers:
            raise HTTPError(400, BINARY_REFUSED)
        raw = await self.body(request)
        # Parsed and converted off the event loop: a batch of many rows takes a while.
        read = functools.partial(read_infer_body, model, raw, self.max_batch)
        checked, answer_id = await to_thread.run_sync(read, limiter=self.threads)
        outputs = await self.in_worker(infer, model, checked, large=checked.large)
        return {"model_name": name, "model_version": version, "id": answer_id, "outputs": outputs}

    @answered
    async def predict(
        self, name: str, request: Request, k: int = DEFAULT_TOP_K, steps: int | None = None
    ) -> dict[str, Any]:
        """The body is the input's bytes: a picture, or a series as text or CSV."""
        model = self.model(name)
        data = await self.body(request)
        if not data:
            raise HTTPError(400, "the body is empty: send the picture's bytes (or the series)")
        for key, value in (("k", k), ("steps", steps)):
            if value is not None and value < 1:
                raise HTTPError(400, f"{key} must be at least 1")
        options = model.options_from(top_k=k, steps=steps)
        large = functools.partial(predict_is_large, model, data, options)
        answer = await self.in_worker(model.predict, data, large=large, **options)
        return {"model": name, model.answer_key: model.to_json(answer)}

    @answered
    async def generate(
        self,
        name: str,
        label: str,
        count: int | None = None,
        seed: int = 0,
        columns: int | None = None,
    ) -> Response:
        """``count`` pictures of the class ``label`` (an index or a name), their latent
        vectors drawn from ``seed``, as one PNG grid of ``columns`` (default: square-ish)."""
        model = self.model(name)
        if not isinstance(model, Generator):
            raise HTTPError(
                400,
                f"{name} draws no pictures: it is a {model.task} model; "
                "/generate takes a generator",
            )
        most = min(MAX_GRID, self.max_batch)
        count = min(DEFAULT_GRID, most) if count is None else count
        if not 1 <= count <= most:
            raise HTTPError(400, f"count must be 1 to {most}; got {count:,}")
        if seed < 0:
            raise HTTPError(400, f"seed must be 0 or more; got {shown(str(seed))}")
        if columns is not None and not 1 <= columns <= count:
            raise HTTPError(400, f"columns must be 1 to count ({count}); got {columns:,}")
        if len(label) > MAX_NAME:  # no class is called so; the error would echo it all
            raise HTTPError(400, f"label must be at most {MAX_NAME} characters; got {len(label):,}")
        png = await self.in_worker(
            grid_png, model, label, count, seed, columns, large=is_large(rows=count)
        )
        return Response(png, media_type="image/png")


def predict_is_large(model: Model, data: bytes, options: dict[str, Any]) -> bool:
    """Whether a /predict body is large work: a picture by its pixels (from its header),
    a series by the values its forecast reads (each value's digits counted, not parsed)."""
    if model.bytes_input is not None:
        return is_large(pixels=picture_pixels(data))
    return is_large(values=model.work(count_values(data), **options))


def grid_png(model: Generator, label: str, count: int, seed: int, columns: int | None) -> bytes:
    """The encoded grid of ``count`` pictures of ``label`` (runs in a worker thread)."""
    buffer = io.BytesIO()
    picture_grid(model.generate([label] * count, seed), columns).save(buffer, format="PNG")
    return buffer.getvalue()


@answered
async def server_metadata() -> dict[str, Any]:
    return {"name": "visionplay", "version": __version__, "extensions": []}


@answered
async def live() -> dict[str, bool]:
    return {"live": True}


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PROTOCOL_ROUTES = "/v2, /v2/health/live|ready, /v2/models/NAME[/versions/VERSION][/ready|/infer]"


def unrouted(router: APIRouter) -> Callable[[Request], Any]:
    """The last route under /v2: any other path or method gets the protocol's error (404 or
    405), not FastAPI's ``{"detail": ...}``, nor, under ``visionplay serve``, the Gradio app
    mounted at "/"."""

    async def refuse(request: Request) -> Response:
        path, method = request.url.path, request.method
        allowed = sorted(
            {
                m
                for route in router.routes
                if getattr(route, "methods", None)
                and route.matches(request.scope)[0] is Match.PARTIAL
                for m in route.methods
            }
        )
        if allowed:
            answer = error(405, f"{shown(path, 80)} takes {', '.join(allowed)}, not {method}")
            answer.headers["allow"] = ", ".join(allowed)
            return answer
        return error(404, f"no route {shown(path, 80)} here; served: {PROTOCOL_ROUTES}")

    return refuse


def create_router(
    directory: str | os.PathLike | None = None,
    max_body: int = MAX_BODY,
    concurrency: int | None = None,
    max_batch: int = MAX_BATCH,
) -> APIRouter:
    """The routes, over the models in ``directory``; bodies over ``max_body`` bytes get 413,
    batches over ``max_batch`` pictures or rows 400. See :class:`Routes` for the workers."""
    routes = Routes(directory, max_body, concurrency, max_batch)
    router = APIRouter()
    router.add_api_route("/v2", server_metadata, methods=["GET"])
    router.add_api_route("/v2/", server_metadata, methods=["GET"])  # the protocol's spelling
    router.add_api_route("/v2/health/live", live, methods=["GET"])
    router.add_api_route("/v2/health/ready", routes.ready, methods=["GET"])
    model, versioned = "/v2/models/{name}", "/v2/models/{name}/versions/{version}"
    router.add_api_route(model, routes.model_metadata, methods=["GET"])
    router.add_api_route(f"{model}/ready", routes.model_ready, methods=["GET"])
    router.add_api_route(f"{model}/infer", routes.infer, methods=["POST"])
    router.add_api_route(versioned, routes.versioned_metadata, methods=["GET"])
    router.add_api_route(f"{versioned}/ready", routes.versioned_ready, methods=["GET"])
    router.add_api_route(f"{versioned}/infer", routes.versioned_infer, methods=["POST"])
    router.add_api_route("/predict/{name}", routes.predict, methods=["POST"])
    router.add_api_route("/generate/{name}", routes.generate, methods=["GET"])
    for path in ("/v2", "/v2/{rest:path}"):  # after every route: it takes what they do not
        router.add_api_route(path, unrouted(router), methods=ANY_METHOD, include_in_schema=False)
    return router


def create_app(
    directory: str | os.PathLike | None = None,
    max_body: int = MAX_BODY,
    concurrency: int | None = None,
    max_batch: int = MAX_BATCH,
) -> FastAPI:
    """A FastAPI app with the routes alone; ``visionplay serve`` mounts the Gradio app on it."""
    # No docs, and no OpenAPI schema either: the routes are documented in this module.
    app = FastAPI(title="visionplay", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_router(directory, max_body, concurrency, max_batch))
    app.add_exception_handler(RequestValidationError, invalid_parameter)
    return app


async def invalid_parameter(request: Request, err: RequestValidationError) -> Response:
    """FastAPI's own check of a route's parameters (``?k=abc``), in the protocol's error body
    with 400 instead of FastAPI's 422 ``detail`` list."""
    first = err.errors()[0]
    where = " ".join(str(part) for part in first.get("loc", ()))
    return error(400, f"{where}: {first.get('msg', 'invalid')}")
