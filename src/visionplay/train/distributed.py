"""torchrun support for the trainers: one process per device, gradients averaged by DDP.

A trainer needs no change to run under ``torchrun --nproc_per_node=N trainers/X.py``:
:func:`.loop.pick_device` joins the process group that torchrun's environment
describes (NCCL on GPUs, gloo on CPUs), :func:`.loop.fit` wraps the model in
DistributedDataParallel and gives each process its share of every epoch through a
DistributedSampler, and only rank 0 shows progress, prints, and writes metrics and
checkpoints. Run as a single process, every function here is a no-op.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist


def launched() -> bool:
    """True in a process that torchrun started as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device_name: str = "auto") -> torch.device:
    """Join the process group once; this process's device (its own GPU, or the CPU)."""
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        atexit.register(dist.destroy_process_group)
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Rank 0, or the only process: the one that prints and writes."""
    return rank() == 0


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The model as the training step should call it: DDP across processes, else itself."""
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def sum_over_processes(*values: float) -> list[float]:
    """Each value summed over all processes (to report whole-epoch figures)."""
    if not active():
        return list(values)
    totals = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        totals = totals.cuda()
    dist.all_reduce(totals)
    return totals.cpu().tolist()


def barrier() -> None:
    if active():
        dist.barrier()
