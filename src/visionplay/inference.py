"""The public API: ``visionplay.load(name)`` -> a model backed by onnxruntime.

No torch here. Everything a caller needs (input shape, normalisation, labels, how to
preprocess) is read from the ONNX file's metadata, written there by export; the file's
task picks the class that serves it (:mod:`visionplay.tasks`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from .errors import ModelNotFoundError, VisionplayError, not_installed
from .locations import Folders, search_path
from .locations import models_dir as models_dir  # where callers have long found it
from .tasks import Model, task_class
from .tasks.base import CONFIG_KEY

THREADS_ENV = "VISIONPLAY_THREADS"  # onnxruntime intra-op threads per session


def list_exported(directory: Folders = None) -> list[str]:
    """Names of the exported models in ``directory`` (a folder or several; default: the
    stack of :func:`visionplay.locations.models_dirs`)."""
    return sorted(find_exported(directory))


def find_exported(directory: Folders = None) -> dict[str, Path]:
    """Each exported model's name -> its file, the first folder's where several have one."""
    found: dict[str, Path] = {}
    for folder in search_path(directory):
        for path in sorted(models_in(folder)):
            found.setdefault(path.stem, path)
    return found


def models_in(folder: Path) -> list[Path]:
    """The ``.onnx`` files of one folder (none where it is missing or unreadable); a hidden
    one (export's staged copy) is no model."""
    try:
        return [p for p in folder.glob("*.onnx") if not p.name.startswith(".") and p.is_file()]
    except OSError:  # no such folder, or a name the file system refuses
        return []


def open_model(path: str | os.PathLike, providers: Sequence[str] | None = None) -> Model:
    """An onnxruntime session on ``path``, as the class of the task its metadata names.

    A file whose weights fail the checksum export wrote into it raises
    :class:`~visionplay.integrity.DamagedModelError`; one without a checksum (exported
    before checksums) is opened as it is."""
    from .integrity import check_model_file

    ort = import_onnxruntime()

    path = Path(path)
    check_model_file(path)
    try:
        session = ort.InferenceSession(
            str(path), sess_options=_session_options(), providers=_providers(providers)
        )
    except Exception as err:  # onnxruntime raises its own untyped errors for bad files
        raise VisionplayError(
            f"{path} is not a usable ONNX model ({str(err).splitlines()[0]}); "
            "re-create it with `visionplay export --onnx`"
        ) from None
    meta = session.get_modelmeta().custom_metadata_map
    task = json.loads(meta.get(CONFIG_KEY, "{}")).get("task", "classification")
    return task_class(task)(path, session)


def import_onnxruntime() -> ModuleType:
    """The onnxruntime module, or a one-line error naming the extra that installs it (no
    flavour of it comes with the package alone: docs/install.md)."""
    try:
        import onnxruntime
    except ModuleNotFoundError as err:
        missing = not_installed(err)
        if missing is None:  # onnxruntime is there, and lacks something of its own
            raise
        raise missing from None
    return onnxruntime


def _session_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime's default, one intra-op thread per physical core, gives the lowest
    # latency for one model (BENCHMARKS.md); many replicas on one machine may want fewer each.
    threads = session_threads()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # a CUDA build on a machine without a GPU is not an error
    # Threads still spin for a while after a run ends: the next session run on the same
    # cores (the Generate tab's reader, straight after its generator) waits on them.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


def session_threads() -> int | None:
    """onnxruntime's threads per session from ``$VISIONPLAY_THREADS``; None: its default."""
    threads = os.environ.get(THREADS_ENV, "").strip()
    if not threads:
        return None
    if not threads.isdigit() or int(threads) < 1:
        raise VisionplayError(f"${THREADS_ENV} must be a whole number >= 1, got {threads!r}")
    return int(threads)


def _providers(requested: Sequence[str] | None) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise VisionplayError(
                f"onnxruntime has no {', '.join(missing)}; available: {available}"
            )
        return list(requested)
    wanted = ["CUDAExecutionProvider"] if _cuda_usable() else []
    return [p for p in wanted if p in available] + ["CPUExecutionProvider"]


def _cuda_usable() -> bool:
    """onnxruntime-gpu lists CUDA even where no GPU or driver exists; ask the driver."""
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1" if os.name != "nt" else "nvcuda.dll")
        count = ctypes.c_int(0)
        return (
            cuda.cuInit(0) == 0
            and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0
        )
    except OSError:
        return False


# One session per file and providers, with the file's stamp (modification time, size,
# inode) when it was opened: a file that changes replaces its session, never adds one.
_cache: dict[tuple[str, tuple[str, ...]], tuple[tuple[int, int, int], Model]] = {}
_cache_lock = threading.Lock()


def resolve(name: str | os.PathLike, directory: Folders = None) -> Path:
    """A model name (``"mnist"``) or a path to an ``.onnx`` file -> the file's path. A name
    is looked for in each folder of ``directory`` in turn (default: the stack)."""
    text = os.fspath(name)
    is_path = text.endswith(".onnx") or os.sep in text or bool(os.altsep and os.altsep in text)
    folders = [Path(text).parent] if is_path else list(search_path(directory))
    if is_path:
        candidates = [Path(text)]
    elif text.startswith("."):  # export's staged copies are hidden: a name is never one
        candidates = []
    else:
        candidates = [folder / f"{text}.onnx" for folder in folders]
    for path in candidates:
        try:
            if path.is_file():
                return path.absolute()  # not resolve(): its realpath walk showed in profiles
        except OSError:  # a name longer than the file system allows
            continue
    known = ", ".join(list_exported(folders)) or "none"
    shown = text if len(text) <= 60 else f"{text[:60]}..."
    raise ModelNotFoundError(
        f"no exported model {shown!r} (looked in {', '.join(map(str, folders))}; "
        f"exported: {known}); train it and run `visionplay export --onnx`"
    )


def load(
    name: str | os.PathLike,
    directory: Folders = None,
    providers: Sequence[str] | None = None,
) -> Model:
    """Load an exported model by name or path; one session per file and process, opened
    again when the file changes. A name is looked for in ``directory`` (a folder or a list
    of them, in order), by default in the stack :func:`visionplay.locations.models_dirs`."""
    path = resolve(name, directory)
    found = path.stat()
    stamp = (found.st_mtime_ns, found.st_size, found.st_ino)
    key = (str(path), tuple(providers or ()))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None or cached[0] != stamp:
            forget(key[0], stamp)
            _cache[key] = (stamp, open_model(path, providers))
        return _cache[key][1]


def forget(path: str, stamp: tuple[int, int, int]) -> None:
    """Drop the sessions of ``path`` opened on another version of the file (the caller
    holds the cache's lock)."""
    for key in [k for k, (opened, _) in _cache.items() if k[0] == path and opened != stamp]:
        del _cache[key]
