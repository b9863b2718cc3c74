"""The REST routes of :mod:`visionplay.serve.rest` as a Ray Serve deployment: N replicas, each a
process holding its own onnxruntime sessions, behind Ray's HTTP proxy (one port).

    visionplay serve --ray --replicas 2                            # starts a local Ray
    visionplay serve --ray --address auto --replicas 16 ...        # on a running cluster
    serve run --working-dir exported visionplay.serve.ray_serve:build replicas=2   # Ray's CLI

The models travel with the job (Ray's ``runtime_env`` working_dir: the ``.onnx`` files
only), so the nodes of a cluster need visionplay installed but not the models.
The local Ray that ``visionplay serve --ray`` starts keeps to 127.0.0.1; one that Ray's own
``serve run`` starts takes this machine's interface address and listens on every interface,
unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set for it (what ``visionplay serve`` sets).
Either way each replica's inter-deployment gRPC server listens on every interface: Ray Serve
binds it so whatever the node's address.
Needs the ``ray`` extra: ``pip install 'visionplay[ray]'``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ray import serve
from starlette.datastructures import MutableHeaders

from .. import admission
from ..errors import InvalidInputError
from ..inference import THREADS_ENV, find_exported, list_exported, load
from ..locations import Folders, as_folders, search_path
from ..preprocess import MAX_PIXELS_ENV
from .connections import AllowedHosts, HostRule, host_rule
from .rest import MAX_BATCH, ServeSettings, create_app

# What a replica needs from the models folder; the rest (.pt weights, curves) stays home.
SHIPPED = ["*.onnx"]


@serve.deployment
@serve.ingress()  # the app is built in each replica, after __init__ (below)
class Models:
    """One replica: every model in ``settings.directory`` (a folder or several) loaded
    before the first request, served ``concurrency`` requests at a time, one onnxruntime
    thread each, to the Host headers ``hosts`` allows (default: loopback names).
    ``directory`` None: the replica's working directory, where Ray unpacked the job's
    working_dir."""

    def __init__(
        self,
        settings: ServeSettings,
        concurrency: int = 1,
        max_pixels: int | None = None,
        hosts: HostRule | None = None,
    ) -> None:
        os.environ[THREADS_ENV] = "1"  # this process is the replica's own
        # Through the module: Ray pickles this class whole, and the policy (its locks) is
        # the replica process's own.
        admission.ADMISSION.resize(concurrency)
        admission.hand_over_sooner()
        if max_pixels is not None:
            os.environ[MAX_PIXELS_ENV] = str(max_pixels)
        folders = as_folders(settings.directory) or (Path.cwd(),)
        for name in list_exported(folders):
            load(name, folders)
        self.routes = create_app(replace(settings, directory=folders))
        self.routes.add_middleware(ServedBy, name=f"{socket.gethostname()}:{os.getpid()}")
        # Outermost: Ray's proxy passes the client's Host header on (DNS rebinding).
        rule = host_rule("127.0.0.1") if hosts is None else hosts
        self.routes.add_middleware(AllowedHosts, rule=rule)

    def __serve_build_asgi_app__(self):
        return self.routes


class ServedBy:
    """Names the replica that answered in an ``x-served-by`` header (host:pid), for whoever
    needs to see the load spread; plain ASGI, so it costs microseconds."""

    def __init__(self, app, name: str) -> None:
        self.app, self.name = app, name

    async def __call__(self, scope, receive, send) -> None:
        async def send_named(message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("x-served-by", self.name)
            await send(message)

        await self.app(scope, receive, send_named if scope["type"] == "http" else send)


def models_folders(directory: Folders = None) -> tuple[Path, ...]:
    """The folders of ``directory`` (default: the stack), absolute, checked to hold models."""
    folders = tuple(folder.resolve() for folder in search_path(directory))
    if not list_exported(folders):
        shown = ", ".join(map(str, folders))
        raise InvalidInputError(f"no exported models in {shown}: run `visionplay export --onnx`")
    return folders


def models_folder(directory: Folders = None) -> Path:
    """One folder that holds the models ``directory`` serves (default: the stack): the
    folder itself where one holds them all, else a temporary one with each name's file from
    the first folder that has it (Ray carries one working_dir)."""
    found = find_exported(models_folders(directory))
    holders = {path.parent for path in found.values()}
    if len(holders) == 1:
        return holders.pop()
    folder = Path(tempfile.mkdtemp(prefix="visionplay-models-"))
    atexit.register(shutil.rmtree, folder, True)
    for path in found.values():
        shutil.copy2(path, folder / path.name)
    return folder


def runtime_env(directory: Folders = None) -> dict[str, Any]:
    """The job's runtime_env for ``ray.init``: Ray zips the models folder's ``.onnx`` files
    and unpacks them on every node that starts a replica (it uploads a local working_dir
    only at the job level, not per deployment)."""
    folder = models_folder(directory)
    unshipped = [p.name for p in folder.iterdir() if not any(p.match(s) for s in SHIPPED)]
    return {"working_dir": str(folder), "excludes": unshipped}


def deployment(
    settings: ServeSettings | None = None,
    replicas: int = 1,
    cpus_per_replica: float = 1.0,
    max_pixels: int | None = None,
    hosts: HostRule | None = None,
) -> serve.Application:
    """The app for ``serve.run``: ``replicas`` copies of :class:`Models`, each reserving
    ``cpus_per_replica`` CPUs and running that many requests at a time, answering the Host
    headers ``hosts`` allows. ``settings.directory``: the folder (or folders, searched in
    order) where every replica finds the models; None: the job's working_dir
    (:func:`runtime_env`)."""
    settings = settings or ServeSettings()
    if replicas < 1 or not cpus_per_replica > 0:
        raise InvalidInputError("replicas and CPUs per replica must be positive")
    if settings.directory:
        folders = models_folders(settings.directory)
        settings = replace(settings, directory=tuple(map(str, folders)))
    return Models.options(
        num_replicas=replicas, ray_actor_options={"num_cpus": cpus_per_replica}
    ).bind(
        settings,
        concurrency=max(1, int(cpus_per_replica)),
        max_pixels=max_pixels,  # None: each replica's $VISIONPLAY_MAX_PIXELS or the default
        hosts=hosts,
    )


def build(args: dict[str, Any]) -> serve.Application:
    """For Ray's own CLI, with the models either carried along or at a path every node sees:

    serve run --working-dir exported visionplay.serve.ray_serve:build replicas=2
    serve run visionplay.serve.ray_serve:build replicas=2 models_dir=/shared/models \
        cpus_per_replica=1 host=0.0.0.0 allowed_hosts=models.example.org

    ``host`` (where Ray's proxy listens, default 127.0.0.1) and ``allowed_hosts`` set the
    Host headers answered, as ``visionplay serve --host --allowed-hosts`` do.
    """
    try:
        settings = ServeSettings(
            args.get("models_dir"), max_batch=int(args.get("max_batch", MAX_BATCH))
        )
        return deployment(
            settings,
            replicas=int(args.get("replicas", 1)),
            cpus_per_replica=float(args.get("cpus_per_replica", 1)),
            max_pixels=int(args["max_pixels"]) if "max_pixels" in args else None,
            hosts=host_rule(args.get("host", "127.0.0.1"), [args.get("allowed_hosts", "")]),
        )
    except ValueError as err:
        raise InvalidInputError(f"serve run visionplay.serve.ray_serve:build: {err}") from None
