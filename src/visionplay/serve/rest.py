"""Plain HTTP beside the app: the Open Inference Protocol v2 routes (what Triton, KServe and
MLServer speak) and a short ``POST /predict/{name}`` for curl. Everything goes through
:func:`visionplay.load`, as the app does; this module only translates JSON.

    GET  /v2                        (server metadata; also /v2/)
    GET  /v2/health/live            GET /v2/health/ready
    GET  /v2/models/{name}          GET /v2/models/{name}/ready
    POST /v2/models/{name}/infer    POST /predict/{name}   (body: a picture's bytes, or a series)
    GET  /generate/{name}?label=..  (a generator's pictures of one class, as a PNG grid;
                                     &count, &seed, &columns, &scale: each pixel enlarged)
    POST /live/{name}               (a face keypoint model: one video frame, faces followed)

``POST /live/{name}`` follows faces through a video one frame a request, keeping nothing
between requests: the body is JSON, ``{"frame": base64 JPEG/PNG/WebP, "previous": the last
answer or null, "t": seconds}`` (or a picture alone, for a first frame), and the answer is
``{"faces": [{"box", "points", "score", "velocity", "misses"}], "t", "size", "search_in",
"ms"}``, sent back as ``previous`` with the next frame (:mod:`visionplay.tracking`; ``ms``
is the server's time on the request). The Face tab's live view sends its camera's frames
here.

Each /v2/models/{name} route is also at /v2/models/{name}/versions/{version}: a model has the
one version its manifest entry names (``"version"``), else ``"1"``.

An infer request carries either the model's own FP32 input tensor, already prepared, or
one BYTES input per picture holding the encoded file (PNG, JPEG, ...) in base64, which is
prepared exactly as ``load(name).predict`` prepares it. A model of several inputs (a
generator's FP32 ``z`` and INT64 ``label``) takes each by name, of the datatype and shape
its metadata declares. Errors answer ``{"error": "..."}`` with 400 (bad input), 404
(unknown model, version or route), 405 (wrong method), 413 (body too large), 500 (a
failure of ours) or 503 (no models); so does every other path or method under /v2,
/predict and /generate.

What one request may make the server do is bounded, not only its bytes: at most
``max_batch`` pictures or tensor rows, pictures of at most ``preprocess.max_pixels()``
pixels in all (read from their headers before decoding), series of at most 10,000 values
in all, each output the model gives asked for at most once. Requests run in their turn
under :data:`visionplay.admission.ADMISSION`, the policy the app's tabs share: large ones
(many pixels, rows or values read) take turns in a lane one core narrower than the server,
so a small request always finds a core free.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson  # Gradio's own dependency
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from .. import __version__, tracking
from ..admission import ADMISSION, is_large
from ..errors import ModelNotFoundError, VisionplayError
from ..inference import list_exported, load
from ..locations import Folders
from ..manifest import MANIFEST
from ..preprocess import picture_pixels
from ..series import count_values
from ..tasks import Model
from ..tasks.classification import TOP_K
from ..tasks.generation import GRID, LONGEST_LABEL, MOST_IN_GRID, MOST_SCALE, picture_grid
from .protocol import (
    BINARY_HEADER,
    BINARY_REFUSED,
    HTTPError,
    infer,
    metadata,
    read_infer_body,
    shown,
)

MAX_BODY = 10 << 20  # bytes; `visionplay serve --max-upload-mb` sets it
MAX_BATCH = 64  # pictures or tensor rows in one request; `visionplay serve --max-batch`
MAX_NAME = 100  # characters of a model name; longer ones are not looked up
DEFAULT_VERSION = "1"  # a model's version when its manifest entry names none
MOST_IN_WORKERS = 64  # requests in worker threads at once, running or waiting their turn
log = logging.getLogger(__name__)


def json_response(data: Any, status: int = 200) -> Response:
    """orjson-encoded: a probability vector of floats encodes several times faster."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


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


@dataclass(frozen=True)
class ServeSettings:
    """What the routes are built with, wherever they are served (``visionplay serve``, a
    Ray replica, a test): the models' folder, or folders searched in order (None: the stack,
    :func:`visionplay.locations.models_dirs`), and the most bytes in a body and pictures or
    rows in a batch. How many requests run at
    once is the process's own (:data:`visionplay.admission.ADMISSION`, sized by whoever
    starts the server beside its onnxruntime threads)."""

    directory: Folders = None
    max_body: int = MAX_BODY
    max_batch: int = MAX_BATCH


class Routes:
    """The routes over the models of the settings' folders, with what they share: the
    settings and the worker threads.

    Models run in worker threads, in their turn under the process's admission policy
    (:mod:`visionplay.admission`).
    """

    def __init__(self, settings: ServeSettings) -> None:
        self.directory = settings.directory
        self.max_body, self.max_batch = settings.max_body, settings.max_batch
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

    # Each model route is served at its plain and its versioned path: the version, where
    # the path names one, is read from the path's parameters.

    @answered
    async def model_metadata(self, name: str, request: Request) -> dict[str, Any]:
        return metadata(*self.served(name, request.path_params.get("version")))

    @answered
    async def model_ready(self, name: str, request: Request) -> dict[str, Any]:
        self.served(name, request.path_params.get("version"))
        return {"name": name, "ready": True}

    @answered
    async def infer(self, name: str, request: Request) -> dict[str, Any]:
        model, version = self.served(name, request.path_params.get("version"))
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
        self, name: str, request: Request, k: int = TOP_K, steps: int | None = None
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
    async def follow(self, name: str, request: Request) -> dict[str, Any]:
        """One frame of a video, its faces followed from the previous answer the body holds:
        :func:`visionplay.tracking.answer`, and the server's milliseconds on it."""
        began = time.perf_counter()
        model = self.model(name)
        data = await self.body(request)
        # Live frames come back to back from every camera: they take the large lane, so
        # however many cameras are open a small request still finds a core.
        answer = await self.in_worker(tracking.answer, model, data, large=True)
        answer["ms"] = round((time.perf_counter() - began) * 1e3, 1)
        return answer

    @answered
    async def generate(
        self,
        name: str,
        label: str,
        count: int | None = None,
        seed: int = 0,
        columns: int | None = None,
        scale: int = 1,
    ) -> Response:
        """``count`` pictures of the class ``label`` (an index or a name), their latent
        vectors drawn from ``seed``, as one PNG grid of ``columns`` (default: square-ish),
        each pixel a ``scale`` x ``scale`` square."""
        model = self.model(name)
        most = min(MOST_IN_GRID, self.max_batch)
        count = min(GRID, most) if count is None else count
        if not 1 <= count <= most:
            raise HTTPError(400, f"count must be 1 to {most}; got {count:,}")
        if seed < 0:
            raise HTTPError(400, f"seed must be 0 or more; got {shown(str(seed))}")
        if columns is not None and not 1 <= columns <= count:
            raise HTTPError(400, f"columns must be 1 to count ({count}); got {columns:,}")
        if not 1 <= scale <= MOST_SCALE:
            raise HTTPError(400, f"scale must be 1 to {MOST_SCALE}; got {scale:,}")
        if len(label) > LONGEST_LABEL:  # no class is called so; the error would echo it all
            raise HTTPError(
                400, f"label must be at most {LONGEST_LABEL} characters; got {len(label):,}"
            )
        png = await self.in_worker(
            grid_png, model, label, count, seed, columns, scale, large=is_large(rows=count)
        )
        return Response(png, media_type="image/png")


def predict_is_large(model: Model, data: bytes, options: dict[str, Any]) -> bool:
    """Whether a /predict body is large work: a picture by its pixels (from its header),
    a series by the values its forecast reads (each value's digits counted, not parsed)."""
    if model.bytes_input is not None:
        return is_large(pixels=picture_pixels(data))
    return is_large(values=model.work(count_values(data), **options))


def grid_png(
    model: Model, label: str, count: int, seed: int, columns: int | None, scale: int = 1
) -> bytes:
    """The encoded grid of ``count`` pictures of ``label`` (runs in a worker thread)."""
    buffer = io.BytesIO()
    grid = picture_grid(model.generate([label] * count, seed), columns, scale=scale)
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


@answered
async def server_metadata() -> dict[str, Any]:
    return {"name": "visionplay", "version": __version__, "extensions": []}


@answered
async def live() -> dict[str, bool]:
    return {"live": True}


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PROTOCOL_ROUTES = "/v2, /v2/health/live|ready, /v2/models/NAME[/versions/VERSION][/ready|/infer]"
SHORT_ROUTES = "POST /predict/NAME, GET /generate/NAME, POST /live/NAME"
# The last routes under each prefix of ours, and what their 404 says is served there.
UNROUTED = {
    "/v2": PROTOCOL_ROUTES,
    "/v2/{rest:path}": PROTOCOL_ROUTES,
    "/predict/{rest:path}": SHORT_ROUTES,
    "/generate/{rest:path}": SHORT_ROUTES,
    "/live/{rest:path}": SHORT_ROUTES,
}


def unrouted(router: APIRouter, served: str = PROTOCOL_ROUTES) -> Callable[[Request], Any]:
    """A last route under a prefix of ours (/v2, /predict, /generate, /live): any other path or
    method gets the protocol's error (404 or 405), not FastAPI's ``{"detail": ...}``, nor,
    under ``visionplay serve``, the Gradio app mounted at "/"."""

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
        return error(404, f"no route {shown(path, 80)} here; served: {served}")

    return refuse


def create_router(settings: ServeSettings | None = None) -> APIRouter:
    """The routes, over the models in ``settings.directory``; bodies over ``max_body``
    bytes get 413, batches over ``max_batch`` pictures or rows 400. See :class:`Routes`."""
    routes = Routes(settings or ServeSettings())
    router = APIRouter()
    router.add_api_route("/v2", server_metadata, methods=["GET"])
    router.add_api_route("/v2/", server_metadata, methods=["GET"])  # the protocol's spelling
    router.add_api_route("/v2/health/live", live, methods=["GET"])
    router.add_api_route("/v2/health/ready", routes.ready, methods=["GET"])
    for model in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        router.add_api_route(model, routes.model_metadata, methods=["GET"])
        router.add_api_route(f"{model}/ready", routes.model_ready, methods=["GET"])
        router.add_api_route(f"{model}/infer", routes.infer, methods=["POST"])
    router.add_api_route("/predict/{name}", routes.predict, methods=["POST"])
    router.add_api_route("/generate/{name}", routes.generate, methods=["GET"])
    router.add_api_route("/live/{name}", routes.follow, methods=["POST"])
    for path, served in UNROUTED.items():  # after every route: each takes what they do not
        refuse = unrouted(router, served)
        router.add_api_route(path, refuse, methods=ANY_METHOD, include_in_schema=False)
    return router


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app with the routes alone; ``visionplay serve`` mounts the Gradio app on it."""
    # No docs, and no OpenAPI schema either: the routes are documented in this module.
    app = FastAPI(title="visionplay", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_router(settings))
    app.add_exception_handler(RequestValidationError, invalid_parameter)
    return app


async def invalid_parameter(request: Request, err: RequestValidationError) -> Response:
    """FastAPI's own check of a route's parameters (``?k=abc``), in the protocol's error body
    with 400 instead of FastAPI's 422 ``detail`` list."""
    first = err.errors()[0]
    where = " ".join(str(part) for part in first.get("loc", ()))
    return error(400, f"{where}: {first.get('msg', 'invalid')}")
