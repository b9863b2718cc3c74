"""``visionplay bench``: onnxruntime vs PyTorch per shipped model, the app under load, the
Draw tab drawn on in Chromium, and the Face tab's live camera view beside Gradio's own
webcam streaming."""

from __future__ import annotations

import argparse
from pathlib import Path

# The flags' defaults: a bench summary's command names only the flags that differ.
DEFAULTS = {"runs": 200, "warmup": 20, "batch": 32, "clients": [1, 8, 32], "requests": 64}
DEFAULT_DRAWINGS, DEFAULT_MIXED_S, DEFAULT_LIVE_S = 10, 30.0, 10.0


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench", help="measure latency and throughput: models (onnxruntime vs PyTorch) and the app"
    )
    parser.add_argument("models", nargs="*", help="default: every exported model")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="one folder of models to bench (default: the first of $VISIONPLAY_MODELS, else the "
        "shipped models)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULTS["runs"],
        help="timed batch-1 runs per engine (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULTS["warmup"],
        help="untimed runs first (default: %(default)s)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULTS["batch"],
        help="batch size for throughput (default: %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        nargs="*",
        default=DEFAULTS["clients"],
        help="concurrent app clients to try; none skips the app",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=DEFAULTS["requests"],
        help="requests per tab at each concurrency level",
    )
    parser.add_argument("--no-app", action="store_true", help="models only (no app, no browser)")
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="skip the browser parts (Chromium draws on the Draw tab; the live camera view)",
    )
    parser.add_argument(
        "--mixed",
        type=float,
        default=DEFAULT_MIXED_S,
        metavar="SECONDS",
        help="seconds of heavy work from every entry point at once, with a "
        "small REST request every 100 ms beside it; 0 skips it",
    )
    parser.add_argument(
        "--live",
        type=float,
        default=DEFAULT_LIVE_S,
        metavar="SECONDS",
        help="seconds of each of the live part's runs: the Face tab's live camera view in "
        "Chromium (a fake camera), four at once, four replayed by HTTP clients, and Gradio's "
        "webcam streaming; 0 skips it",
    )
    parser.add_argument(
        "--drawings",
        type=int,
        default=DEFAULT_DRAWINGS,
        help="digits the browser part draws on each page",
    )
    parser.add_argument(
        "--ray",
        type=int,
        nargs="*",
        default=None,
        metavar="REPLICAS",
        help="also the REST route from `serve --ray` with each number of "
        "replicas (--ray alone: 1 2; needs visionplay[ray])",
    )
    parser.add_argument(
        "--cuda",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure on the GPU (default: when one is usable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/bench"),
        help="bench.json, bench.png and summary.json (the figures the docs quote) go here "
        "(default: %(default)s)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..bench import run_bench
    from ..bench.browser import format_browser
    from ..bench.live import format_live
    from ..bench.mixed import format_mixed
    from ..bench.report import format_report, save_report
    from ..errors import InvalidInputError

    for flag in ("runs", "batch", "requests", "drawings"):
        if getattr(args, flag) < 1:
            raise InvalidInputError(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    for flag in ("mixed", "live"):
        if getattr(args, flag) < 0:
            raise InvalidInputError(
                f"--{flag} must be 0 or more seconds, got {getattr(args, flag):g}"
            )
    if any(clients < 1 for clients in args.clients):
        raise InvalidInputError(f"--clients must each be at least 1, got {args.clients}")
    ray_replicas = [1, 2] if args.ray == [] else args.ray or []
    if any(replicas < 1 for replicas in ray_replicas):
        raise InvalidInputError(f"--ray replica counts must each be at least 1, got {args.ray}")
    report = run_bench(
        args.models_dir,
        args.models,
        args.runs,
        max(0, args.warmup),
        args.batch,
        app_levels=() if args.no_app else args.clients,
        app_requests=args.requests,
        cuda=args.cuda,
        ray_replicas=ray_replicas,
        browser_drawings=0 if args.no_app or args.no_browser else args.drawings,
        mixed_seconds=0 if args.no_app else args.mixed,
        live_seconds=0 if args.no_app or args.no_browser else args.live,
    )
    print(format_report(report))
    if "mixed" in report:
        print("\n".join(format_mixed(report["mixed"])))
    if "browser" in report:
        print("\n".join(format_browser(report["browser"])))
    if "live" in report:
        print("\n".join(format_live(report["live"])))
    json_path, png_path = save_report(report, args.out)
    print(f"saved {json_path}, {png_path} and {json_path.parent / 'summary.json'}")
    return 0
