"""More than one process: training on PyTorch's own distributed engine (`torch.distributed`, launched by
``torchrun``; `torch.nn.parallel.DistributedDataParallel` for the built-in trainer).

A `DistContext` is this process's place in the job (rank, local rank, world size, backend, the hosts) and
the few collectives the product needs on top of what DDP does itself:

- `DistContext.reduce_mean`: a step's scalars averaged over the ranks, in one ``all_reduce``;
- `DistContext.agree`: the ranks' stop and pause wishes combined (MAX) in one ``all_reduce`` at each step
  boundary, so that every rank stops or pauses at the same step. Rank 0 reads the run's command file
  (Pause/Stop from the dashboard) and its own verdicts (divergence, steps done); any rank may ask to stop
  (Ctrl-C or SIGTERM). A paused job ticks `agree` a few times a second, so that no rank waits in a
  collective longer than that and a signal to any rank is heard while paused.
- `DistContext.broadcast`: rank 0's choices (the run id, the checkpoint to resume from) to every rank;
  `DistContext.gather`: every rank's object on every rank (the tracking API's check that the ranks log
  the same names, when they change).

Only rank 0 writes the run folder. An exception on any rank ends its process; gloo reports the closed
connection to the other ranks' next collective at once (a ``RuntimeError``), which ends them too, so no
rank is left waiting (on NCCL set ``TORCH_NCCL_ASYNC_ERROR_HANDLING=1``, torchrun's default since 2.2).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import inspect
import os
import re
import socket
import sys
import traceback
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistContext",
    "DistributedError",
    "collective_failure",
    "current",
    "from_env",
    "job_fields",
    "launched_by_torchrun",
]

# A collective waits this long for a rank before it fails (torch's default is 30 min for gloo): a paused
# job ticks far more often, so only a rank that is gone (killed, hung) makes it fail.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)
PAUSE_TICK_SECONDS = 0.2  # how often a paused job's ranks meet (`agree`)


class DistributedError(RuntimeError):
    """A distributed job that cannot start or go on (a bad environment, another rank gone)."""


# What gloo says of a collective whose other end went away: most often another rank's end, seen from here
BROKEN_COLLECTIVE = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")


def collective_failure(exc: BaseException, world_size: int, step: int) -> str | None:
    """The error a run records when ``exc`` is a broken collective of a ``world_size``-process job at
    ``step`` (torch.distributed's `DistError`, or a RuntimeError in gloo's words for a closed connection:
    `BROKEN_COLLECTIVE`), or None for another exception. Most often another rank ended, and rank 0 alone
    reads it as a network fault: the text says so, with gloo's message cut to its first sentence and
    without its source path ("Read error [127.0.0.1]:148: Connection reset by peer", not
    "[/__w/pytorch/.../pair.cc:545] Read error ... GLHF!")."""
    broken = isinstance(exc, dist.DistError) or (
        isinstance(exc, RuntimeError) and any(said in str(exc) for said in BROKEN_COLLECTIVE)
    )
    if not broken:
        return None
    said = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip()).split(". ", 1)[0]
    return (
        f"a collective of the {world_size}-process job failed at step {step} "
        f"(another rank most likely ended: its own output says why): {type(exc).__name__}: {said}"
    )


@dataclass(frozen=True)
class DistContext:
    """This process's place in a job of ``world_size`` processes (``rank`` 0 .. world_size - 1;
    ``local_rank`` on its host), talking over ``backend`` (``gloo`` on the CPU, ``nccl`` on CUDA);
    ``hosts``: every rank's host name, in rank order."""

    rank: int
    local_rank: int
    world_size: int
    backend: str
    hosts: tuple[str, ...]

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder."""
        return self.rank == 0

    def device(self, requested: str) -> torch.device:
        """The device this rank trains on: ``auto`` or ``cuda`` take the local rank's GPU (``cuda:<local
        rank>``) when there is one, else the CPU; an explicit ``cuda:N`` or ``cpu`` is kept."""
        if requested in ("auto", "cuda") and torch.cuda.is_available():
            return torch.device("cuda", self.local_rank % torch.cuda.device_count())
        if requested == "cuda":
            raise DistributedError("device='cuda' is not available here: no CUDA GPU; use auto or cpu")
        return torch.device(requested if requested not in ("auto", "mps") else "cpu")

    def _collective_device(self) -> torch.device:
        # NCCL reduces CUDA tensors only; gloo reduces CPU tensors
        if self.backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def reduce_mean(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` (any shape, float) averaged over the ranks: one ``all_reduce`` (sum) divided by the
        world size. A NaN on any rank makes that entry NaN: a divergence on one rank is seen by all."""
        out = values.to(self._collective_device(), dtype=torch.float32).clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        out /= self.world_size
        return out.to(values.device)

    def agree(self, stop: bool, pause: bool = False) -> tuple[bool, bool]:
        """(stop, pause) of the whole job: any rank's wish (MAX over the ranks), in one ``all_reduce``.
        Every rank calls it at the same points (each step boundary, each paused tick)."""
        flags = torch.tensor([int(stop), int(pause)], dtype=torch.int32, device=self._collective_device())
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        got = flags.tolist()
        return bool(got[0]), bool(got[1])

    def agree_max(self, *wishes: int) -> tuple[int, ...]:
        """Each of ``wishes`` (small whole numbers: flags, codes) as its maximum over the ranks, in one
        ``all_reduce``: `agree` for a caller with more to agree on (the tracking API's stop, pause and
        signal). Every rank calls it at the same points with as many wishes."""
        flags = torch.tensor(wishes, dtype=torch.int32, device=self._collective_device())
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return tuple(flags.tolist())

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (any picklable object), in rank order, on every rank
        (``all_gather_object``: pickled, so for what is rare, not per step)."""
        found: list[Any] = [None] * self.world_size
        dist.all_gather_object(found, value)
        return found

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) on every rank (``broadcast_object_list``)."""
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def status_fields(self) -> dict[str, Any]:
        """What status.json records of the job: world_size, backend, hosts (distinct, in rank order)."""
        return {
            "world_size": self.world_size,
            "backend": self.backend,
            "hosts": list(dict.fromkeys(self.hosts)),
        }


def job_fields(ctx: DistContext | None) -> dict[str, Any]:
    """status.json's fields for the job writing a run: `DistContext.status_fields`, or one process
    (world_size 1, no backend) on this host, so that a run resumed alone no longer reads as a job."""
    if ctx is not None:
        return ctx.status_fields()
    return {"world_size": 1, "backend": None, "hosts": [socket.gethostname()]}


def launched_by_torchrun() -> bool:
    """True in a process that torchrun (or another launcher setting ``WORLD_SIZE`` > 1) started."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def _context(backend: str) -> DistContext:
    rank, world = dist.get_rank(), dist.get_world_size()
    hosts: list[Any] = [None] * world
    dist.all_gather_object(hosts, socket.gethostname())
    local = int(os.environ.get("LOCAL_RANK", rank))
    return DistContext(rank, local, world, backend, tuple(str(h) for h in hosts))


def from_env(device: str = "auto") -> DistContext | None:
    """Join the job torchrun started (its ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT``): ``nccl`` when this rank trains on CUDA, else ``gloo``. None outside such a job (one
    process: nothing to join). Raises `DistributedError` for an environment torchrun did not make."""
    if not launched_by_torchrun():
        return None
    if dist.is_initialized():
        return current()
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise DistributedError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} not set: start the job with "
            "torchrun --nproc-per-node N -m gan_core train ..."
        )
    local = int(os.environ.get("LOCAL_RANK", "0"))
    on_cuda = device in ("auto", "cuda") and torch.cuda.is_available() or device.startswith("cuda:")
    backend = "nccl" if on_cuda and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local % torch.cuda.device_count())
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return current()


# (the default group, its context): asked once per group. The group is held weakly: a strong reference
# here would keep it alive past the user's destroy_process_group() (see `shutdown`).
_known: tuple[weakref.ref, DistContext] | None = None


def current() -> DistContext | None:
    """The job of an already initialised process group with more than one rank (a user's own torchrun
    script, Lightning's ``strategy="ddp"``), else None. The first call for a group is a collective (the
    host names): every rank makes it, at the same point."""
    global _known
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    group = dist.group.WORLD
    if _known is None or _known[0]() is not group:
        _known = (weakref.ref(group), _context(str(dist.get_backend())))
    return _known[1]


def _release_import_time_defaults() -> None:
    """Put None (the default group, looked up at call time: what these signatures mean) back wherever a
    loaded ``torch.distributed`` module holds a process group as a default argument: its functions, and
    the methods of its classes.

    Such modules write ``group=group.WORLD`` in their signatures (`torch.distributed.nn.functional`'s
    broadcast, gather, all_reduce, ...; ZeroRedundancyOptimizer's ``_broadcast_object``;
    ``ShardedGradScaler.__init__``), evaluated once, at the module's import: imported before
    ``init_process_group`` the default is None; imported after it (DDP's constructor imports
    ``torch._dynamo``, which imports `torch.distributed.nn.functional`), the default is the group object
    itself, which then outlives ``destroy_process_group`` (measured: 10 references, the group and its gloo
    threads alive at exit). Called as every group is destroyed, any group held so is about to be dead: None
    is what the module would hold had it been imported before."""
    loaded = list(sys.modules.items())
    modules = [m for name, m in loaded if m is not None and name.startswith("torch.distributed")]
    with warnings.catch_warnings():  # (a deprecated object, torch.distributed.reduce_op, warns if looked at)
        warnings.simplefilter("ignore")
        for value in (value for module in modules for value in list(vars(module).values())):
            with contextlib.suppress(AttributeError, TypeError, ValueError):  # (an odd object: skipped)
                members = list(vars(value).values()) if isinstance(value, type) else []
                for candidate in (value, *members):
                    _groups_out_of_defaults(candidate, dist.ProcessGroup)


def _groups_out_of_defaults(candidate: Any, group_type: type) -> None:
    """None in place of each ``group_type`` among ``candidate``'s default arguments (a function, a
    classmethod or staticmethod, a decorated function: the one it wraps); nothing for anything else."""
    function = getattr(candidate, "__func__", candidate)
    function = inspect.unwrap(function) if callable(function) else None
    defaults = getattr(function, "__defaults__", None)
    if defaults and any(isinstance(d, group_type) for d in defaults):
        function.__defaults__ = tuple(None if isinstance(d, group_type) else d for d in defaults)


def shutdown() -> None:
    """Leave the job: free what may still hold the process group, then `torch.distributed.
    destroy_process_group`. Published as ``gan_core.track.destroy_process_group``, to call in place of
    torch's in a ``finally``; a no-op when no group is initialised.

    What it frees: the locals of the frames an exception now leaving is carrying (its traceback's,
    `traceback.clear_frames`: a ``main()`` that raised still holds its DDP wrappers there; the traceback
    itself is kept, without those locals), then whatever sits in reference cycles (`gc.collect`: a
    process's first DDP step leaves its wrapper in one; a trainer object whose callbacks refer back to it
    is in one). What is still reachable (a DDP wrapper in a module's globals) it leaves: measured, such
    jobs did not abort either (what aborts is what the cycles hold).

    Why: a gloo group still held after ``destroy_process_group`` is freed during the interpreter's
    shutdown, where its worker threads, taking the GIL, abort the process ("terminate called without an
    active exception", SIGABRT; pytorch/pytorch#179291), and torchrun reports a finished job as failed.
    One holder no collection frees: torch's own modules imported after the group was made keep it in
    their default arguments (`torch.distributed.nn.functional`, which DDP's constructor imports through
    ``torch._dynamo``; `_release_import_time_defaults`); the group then outlived every such call, with its
    worker threads, and a job under load aborted at exit now and then (a CI run, 1 job in hundreds).
    Measured with a 5-step 2-rank DDP job under torchrun, 20 launches each (``python -m
    benchmarks.ddp_exit``): torch's call alone aborted 6 to 13 of 20 (the wrappers in globals, in a
    ``main()`` that returned or raised), this call 0 of 20 in each case."""
    global _known
    _known = None
    if dist.is_available():
        _release_import_time_defaults()
    leaving = sys.exc_info()[1]  # in a `finally` (or an `except`), the exception on its way out
    if leaving is not None:
        traceback.clear_frames(leaving.__traceback__)  # frames still executing are left as they are
    del leaving
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
