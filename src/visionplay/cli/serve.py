"""``visionplay serve``: the Gradio app and the REST routes on one port, or with ``--ray``
the REST routes alone from a Ray Serve deployment of N replicas."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..admission import ADMISSION, MOST_PER_CLIENT, STOPPING, hand_over_sooner
from ..errors import InvalidInputError, VisionplayError
from ..inference import import_onnxruntime
from ..locations import models_dirs
from ..serve.connections import AllowedHosts, HostRule, deadline_protocol, host_rule
from ..serve.uploads import gradio_app_kwargs

if TYPE_CHECKING:
    from gradio.routes import App as GradioApp

APP_NAME = "visionplay"  # the Serve application's name, on a local Ray or a cluster
GRACE_S = 3  # seconds a stopping server gives running requests and Gradio events to finish
# The Ray that `serve --ray` starts stays on loopback. With this switch off (Ray's default on
# macOS and Windows) its node's address is 127.0.0.1 and its servers listen there only;
# on, the node takes this machine's interface address and they listen on every interface.
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
LOOPBACK = "127.0.0.1"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("serve", help="start the web app")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=7860, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument(
        "--allowed-hosts",
        action="append",
        default=[],
        metavar="NAMES",
        help="more names to answer to in the Host header, comma-separated or "
        "repeated; *.domain for the names under domain, * for any (behind a "
        "proxy that rewrites Host). Always answered: localhost, 127.0.0.1, "
        "[::1] and --host; with --host 0.0.0.0 also any IP address and this "
        "machine's name",
    )
    add_models_dir(parser)
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=10.0,
        help="largest upload accepted, in MB (default: 10)",
    )
    parser.add_argument(
        "--max-pixels",
        type=float,
        default=None,
        metavar="MP",
        help="largest picture read, in megapixels, checked before decoding "
        "(default: $VISIONPLAY_MAX_PIXELS or 16); JPEGs are read reduced "
        "first",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=64,
        help="most pictures or tensor rows in one REST request (default: 64)",
    )
    parser.add_argument(
        "--queue-per-client",
        type=int,
        default=MOST_PER_CLIENT,
        metavar="N",
        help="most app events one client address may have waiting or running "
        f"(default: {MOST_PER_CLIENT}); behind a proxy every client shares its "
        "address",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="onnxruntime threads per request (default: $VISIONPLAY_THREADS or "
        "1); requests run side by side, as many as the cores hold",
    )
    parser.add_argument(
        "--keep-uploads-s",
        type=int,
        default=300,
        help="uploads and answers are deleted from the server's temp folder "
        "this many seconds after they were written (default: 300)",
    )
    ray = parser.add_argument_group(
        "Ray Serve",
        "the REST routes from N replicas (needs `pip install 'visionplay[ray]'`); "
        "the Gradio app keeps its queue in one process, so it is not served this way",
    )
    ray.add_argument("--ray", action="store_true", help="serve through Ray Serve")
    ray.add_argument("--replicas", type=int, default=1, help="how many copies of the models")
    ray.add_argument(
        "--cpus-per-replica",
        type=float,
        default=1.0,
        help="CPUs each replica reserves; it runs that many requests at a time (default: 1)",
    )
    ray.add_argument(
        "--address",
        default=None,
        help="a running Ray cluster (ray://HEAD:10001 or auto); default: a local "
        "Ray with this machine's CPUs",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:

    from ..preprocess import MAX_PIXELS_ENV

    if not args.max_upload_mb > 0 or args.keep_uploads_s < 1:
        raise InvalidInputError("--max-upload-mb and --keep-uploads-s must be positive")
    if args.queue_per_client < 1:
        raise InvalidInputError("--queue-per-client must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise InvalidInputError("--threads must be at least 1")
    if args.max_batch < 1 or (args.max_pixels is not None and not args.max_pixels > 0):
        raise InvalidInputError("--max-batch and --max-pixels must be positive")
    if args.max_pixels is not None:  # read by every picture's decoding, in this process
        os.environ[MAX_PIXELS_ENV] = str(round(args.max_pixels * 1e6))
    if args.ray and args.share:
        raise InvalidInputError("--share opens the Gradio app, which --ray does not serve")
    max_bytes = int(args.max_upload_mb * 1024 * 1024)
    hosts = host_rule(args.host, args.allowed_hosts)  # before start-up: a bad name fails fast
    import_onnxruntime()  # likewise: an install without it says what to add, not each request
    if not (args.ray and (args.address or "").startswith("ray://")):  # it listens here
        check_port_free(args.host, args.port)
    if args.ray:
        return run_ray(args, max_bytes, hosts)
    share_the_cores(args.threads)
    from ..ui.app import build_app, queued

    folders = models_dirs(args.models_dir)
    demo = build_app(folders, keep_uploads_s=args.keep_uploads_s)
    queued(demo, args.queue_per_client)
    if args.share:  # Gradio's tunnel carries its own app only: no REST routes there
        return launch_shared(demo, args.host, args.port, max_bytes)
    import gradio as gr

    from ..serve.rest import ServeSettings, create_app

    # One port: the REST routes first, the Gradio app mounted under them at "/", taking as
    # file inputs only what was uploaded to it.
    routes = create_app(ServeSettings(folders, max_bytes, args.max_batch))
    app = gr.mount_gradio_app(
        routes,
        demo,
        path="/",
        max_file_size=max_bytes,
        app_kwargs=gradio_app_kwargs(demo, max_bytes),
    )
    print(
        f"visionplay: the app on http://{args.host}:{args.port}/, REST at "
        "/v2/models/NAME/infer, /predict/NAME, /generate/NAME and /live/NAME",
        flush=True,
    )
    serve_until_stopped(app, args.host, args.port, hosts)
    return 0


def serve_until_stopped(app, host: str, port: int, hosts: HostRule | None = None) -> None:
    """uvicorn until SIGTERM or Ctrl-C, then a stop that takes at most about ``GRACE_S``.
    ``app`` answers only the Host headers ``hosts`` allows (default: those of ``host``), and
    each connection must send its requests in the time :mod:`visionplay.serve.connections`
    allows. As the stop begins, the mounted Gradio app ends its heartbeat streams (each
    open tab holds one) and starts no more queued events (:func:`stop_gradio`)."""
    import uvicorn

    gradio = mounted_gradio(app)
    stop_began: list[float] = []

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            stop_began.append(time.monotonic())
            ADMISSION.stop()  # work still waiting for its turn is told so
            if gradio is not None:
                stop_gradio(gradio)
            await super().shutdown(sockets)

    guarded = AllowedHosts(app, host_rule(host) if hosts is None else hosts)
    config = uvicorn.Config(
        guarded,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACE_S,
        http=deadline_protocol(),
    )
    # After its clean stop, uvicorn passes the SIGTERM it handled on to the handler it
    # found; the default one kills the process (exit -15). Ignored there, the exit is 0.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = Server(config)
    interrupted = False
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl-C, passed on by uvicorn after its clean stop
        interrupted = True
    if stop_began:
        exit_by(stop_began[0] + GRACE_S, 130 if interrupted else 0)
    if interrupted:
        raise KeyboardInterrupt
    if not server.started:  # uvicorn has logged why
        raise VisionplayError(f"the server did not start on {host}:{port}")


def mounted_gradio(app) -> GradioApp | None:
    """The Gradio app mounted in ``app``, or None."""
    from gradio.routes import App as GradioApp

    for route in app.routes:
        if isinstance(getattr(route, "app", None), GradioApp):
            return route.app
    return None


def stop_gradio(gradio: GradioApp) -> None:
    """What ``Blocks.close`` would do for a stop that lets running events finish (a mounted
    app never runs it): end the heartbeat streams, refuse new events as if the queue were
    full, and tell the clients of those still waiting that the server is stopping. Each part
    is skipped if this Gradio no longer has it."""
    heartbeats_end = getattr(gradio, "stop_event", None)
    if heartbeats_end is not None:
        heartbeats_end.set()
    try:
        from gradio.server_messages import ProcessCompletedMessage

        from ..ui.app import waiting_in

        queue = gradio.get_blocks()._queue
        queue.max_size = 0
        waiting = waiting_in(queue)
        for each in queue.event_queue_per_concurrency_id.values():
            each.queue.clear()
    except (AttributeError, ImportError):
        return
    for event in waiting:
        queue.event_ids_to_events.pop(event._id, None)
        with contextlib.suppress(KeyError):  # its session has gone
            queue.send_message(
                event,
                ProcessCompletedMessage(
                    output={"error": STOPPING}, success=False, title="Server stopping"
                ),
            )


def exit_by(deadline: float, code: int) -> None:
    """End the process with ``code`` if it is still exiting at ``deadline``
    (``time.monotonic()``). Gradio runs each event in a worker thread that cancelling its
    task does not stop, and Python's exit waits for every such thread however long it runs;
    its answer has nowhere to go once the server has stopped. A watchdog rather than a join
    here: idle pool threads end only as the exit begins."""

    def watch() -> None:
        # The main thread counts as ended once the interpreter is exiting.
        while time.monotonic() < deadline or threading.main_thread().is_alive():
            time.sleep(0.05)
        with contextlib.suppress(Exception):  # flushed: os._exit skips the exit's clean-up
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    threading.Thread(target=watch, name="visionplay-exit", daemon=True).start()


def launch_shared(demo, host: str, port: int, max_bytes: int) -> int:
    """Gradio's own server and its public tunnel, stopped by SIGTERM as by Ctrl-C: unhandled,
    SIGTERM would kill the process at once and leave the tunnel's client process running."""
    signal.signal(signal.SIGTERM, interrupt)
    demo.launch(
        server_name=host,
        server_port=port,
        share=True,
        max_file_size=max_bytes,
        prevent_thread_lock=True,
        app_kwargs=gradio_app_kwargs(demo, max_bytes),
    )
    try:
        threading.Event().wait()  # until Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:  # ends the heartbeat streams, then the server; Gradio kills the tunnel at exit
        demo.close()
    return 0


def share_the_cores(threads: int | None) -> None:
    """Give each request ``threads`` onnxruntime threads (default: $VISIONPLAY_THREADS, else
    one) and run as many requests side by side as that fills the cores: the admission
    policy the tabs and the REST routes share. One thread per request, requests side by
    side, serves more requests a second than two threads each (BENCHMARKS.md). Before any
    model loads: sessions read their threads when they open. And the GIL is handed over
    sooner (:func:`visionplay.admission.hand_over_sooner`)."""
    from ..inference import THREADS_ENV, session_threads

    threads = threads or session_threads() or 1
    os.environ[THREADS_ENV] = str(threads)
    ADMISSION.resize(max(1, (os.cpu_count() or 1) // threads))
    hand_over_sooner()


def run_ray(args: argparse.Namespace, max_bytes: int, hosts: HostRule) -> int:
    if not args.address:  # before Ray is imported: it reads this then
        os.environ.update(LOCAL_RAY_ENV)
    try:
        import ray
        from ray import serve

        from ..serve.ray_serve import deployment, runtime_env
        from ..serve.rest import ServeSettings
    except ImportError:
        raise VisionplayError("--ray needs Ray Serve: pip install 'visionplay[ray]'") from None

    max_pixels = None if args.max_pixels is None else round(args.max_pixels * 1e6)
    settings = ServeSettings(max_body=max_bytes, max_batch=args.max_batch)
    app = deployment(settings, args.replicas, args.cpus_per_replica, max_pixels, hosts)
    # The models travel with the job, to every node: the stack's, in one folder.
    carried = runtime_env(models_dirs(args.models_dir))
    if args.address:
        ray.init(address=args.address, runtime_env=carried)
    else:
        cpus, needed = os.cpu_count() or 1, args.replicas * args.cpus_per_replica
        if needed > cpus:
            raise InvalidInputError(
                f"{args.replicas} replicas x {args.cpus_per_replica:g} CPUs need {needed:g} "
                f"CPUs; this machine has {cpus}: lower --replicas or --cpus-per-replica, or "
                "give --address of a Ray cluster"
            )
        ray.init(
            num_cpus=cpus, include_dashboard=False, runtime_env=carried, _node_ip_address=LOOPBACK
        )  # kept by Ray only with LOCAL_RAY_ENV set
    # ray.init installs a SIGTERM handler that aborts the process; a service manager's
    # SIGTERM should unwind like Ctrl-C, through the clean-up below.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        try:  # returns once every replica is up
            serve.run(app, name=APP_NAME, route_prefix="/")
        except RuntimeError as err:  # Ray has logged the details above
            raise VisionplayError(f"Ray Serve did not start: {str(err).splitlines()[0]}") from None
        print(
            f"visionplay: {args.replicas} Ray Serve replicas on http://{args.host}:{args.port}/ "
            "(REST: /v2/models/NAME/infer, /predict/NAME, /generate/NAME)",
            flush=True,
        )
        threading.Event().wait()  # until Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        if args.address:  # a cluster is shared: take down our application, not Serve itself
            serve.delete(APP_NAME)
        else:  # the local Ray is ours: all of it goes
            serve.shutdown()
        ray.shutdown()
    return 0


def interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def check_port_free(host: str, port: int) -> None:
    """Say so before the minutes of start-up, and before Ray's proxy fails with a traceback."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise InvalidInputError(
                f"cannot listen on {host}:{port} ({err.strerror}): "
                "is another server there? Pass --port"
            ) from None


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    """``--models-dir``, as every command that serves or lists the models takes it."""
    parser.add_argument(
        "--models-dir",
        "--models",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="a folder of your own models, searched before $VISIONPLAY_MODELS's and the "
        "shipped models (repeatable: the first folder holding a name serves it)",
    )
