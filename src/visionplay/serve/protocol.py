"""The Open Inference Protocol v2's requests and answers, as pure functions: no HTTP here
(:mod:`visionplay.serve.rest` routes them). A request is checked whole (sizes, shapes
through the model's own ``check_shapes``, datatypes, options, the outputs asked for)
before any of its data is converted, and what one request may make the server do is
bounded: rows, pixels (read from the pictures' headers) and values.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson  # Gradio's own dependency

from ..admission import is_large
from ..preprocess import max_pixels, picture_pixels
from ..tasks import Model
from ..tasks.classification import TOP_K

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

# Triton's binary tensor extension: raw bytes after the JSON, sized by a header.
BINARY_HEADER = "inference-header-content-length"
BINARY_REFUSED = (
    "binary tensor data (Triton's extension) is not taken: send the tensor "
    "as JSON 'data' (tritonclient: set_data_from_numpy(..., binary_data=False))"
)


class HTTPError(Exception):
    """A refusal with its HTTP status: the routes answer it as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def shown(text: str, most: int = 40) -> str:
    """A client's name or path, cut short for an error line."""
    return text if len(text) <= most else f"{text[:most]}..."


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


def typed_shape(spec: dict[str, Any], declared: dict[str, Any], model: Model) -> list[int]:
    """An input's shape, as a list of sizes, once its datatype is the one the model's
    metadata declares (``declared``)."""
    name, shape, datatype = spec.get("name"), spec.get("shape"), spec.get("datatype")
    if datatype != declared["datatype"] or datatype not in READ_AS:
        raise HTTPError(
            400,
            f"input {name!r}: datatype {shown(str(datatype))!r} is not taken: "
            f"{model.name}'s {name} is {declared['datatype']}",
        )
    if not sizes(shape):
        raise HTTPError(400, f"input {name!r}: 'shape' must be a list of sizes")
    return shape


def check_fit(
    name: str, shape: list[int], declared: dict[str, Any], model: Model, max_batch: int
) -> None:
    """An input's shape against the one its metadata declares (-1: any size) and the
    request's bounds: what the task's own check leaves to the graph."""
    wanted = declared["shape"]
    fits = len(shape) == len(wanted) and all(w in (-1, shape[i]) for i, w in enumerate(wanted))
    if not fits:
        form = ", ".join("N" if w == -1 else str(w) for w in wanted)
        raise HTTPError(
            400, f"input {name!r}: {model.name} takes shape ({form}); got {shown(str(shape))}"
        )
    check_rows(name, shape, model, max_batch)


def typed_values(spec: dict[str, Any], shape: list[int]) -> np.ndarray:
    """The data of an input whose shape :func:`read_tensors` checked: as many values, of its
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


def inputs_by_name(model: Model, specs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A request's inputs by the model's names: a model of one input takes it whatever it
    is called; a model of several takes each once by name."""
    wanted = model.input_names()
    if len(wanted) == 1:
        return {wanted[0]: specs[0]}
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
    return by_name


def read_tensors(
    model: Model, specs: list[dict[str, Any]], max_batch: int
) -> tuple[np.ndarray, ...]:
    """The model's inputs, in the order its ``run`` takes them; their shapes (one batch
    size for all, and what the model itself takes) are checked before any data is
    converted."""
    wanted = model.input_names()
    by_name = inputs_by_name(model, specs)
    declared = dict(zip(wanted, tensor_meta(model.session.get_inputs()), strict=True))
    shapes = [typed_shape(by_name[n], declared[n], model) for n in wanted]
    model.check_shapes(shapes)  # first: the task says what it takes in its own words
    for n, shape in zip(wanted, shapes, strict=True):
        check_fit(n, shape, declared[n], model, max_batch)
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
    options = model.options_from(top_k=given.get("top_k", TOP_K), steps=given.get("steps"))
    for key, value in options.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise HTTPError(400, f"parameters.{key} must be a whole number >= 1")
    return options


def requested_outputs(model: Model, requested: Any, pictures: bool) -> tuple[str, ...] | None:
    """The names in a request's ``outputs`` (None: all): each one the model gives, once.
    Their count is compared first, so a long list costs no more than its parsing."""
    if requested is None:
        return None
    shape = "'outputs' must be a list of {\"name\": ...} objects"
    if not isinstance(requested, list):
        raise HTTPError(400, shape)
    offered = model.output_names(pictures)
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
    """Check an infer request's JSON and decode its input; nothing runs yet. The input is
    the model's own tensors, or, for a model of one input, encoded pictures (BYTES)."""
    inputs, wanted = body.get("inputs"), model.input_names()
    if not (
        isinstance(inputs, list)
        and len(inputs) == len(wanted)
        and all(isinstance(spec, dict) for spec in inputs)
    ):
        several = f"of {len(wanted)} inputs, by name: {', '.join(wanted)}"
        raise HTTPError(
            400, f"'inputs' must be a list {several if wanted[1:] else 'with one input'}"
        )
    for i, spec in enumerate(inputs):
        if "binary_data_size" in parameters(spec, f"inputs[{i}]."):
            raise HTTPError(400, BINARY_REFUSED)
    encoded = len(inputs) == 1 and inputs[0].get("datatype") == "BYTES"
    requested = requested_outputs(model, body.get("outputs"), encoded)
    options = model_options(model, parameters(body, ""))
    if encoded:
        pictures, pixels = decode_bytes(inputs[0], model, max_batch)
        large = is_large(pixels=pixels, rows=len(pictures))
        return InferRequest(pictures, options, requested, large)
    tensors = read_tensors(model, inputs, max_batch)
    rows = len(tensors[0])
    read = model.work(tensors[0][0].size, rows, **options)
    return InferRequest(tensors, options, requested, is_large(rows=rows, values=read))


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
