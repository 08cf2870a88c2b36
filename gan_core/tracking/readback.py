"""A step's scalars read back to the host one step late (the runner), or a batch of steps' at the next
batch (the tracking API, `TrackedRun.g_step`), so that the device never waits for the host.

A training step's scalars (losses, D's accuracies and outputs, gradient norms) are gathered into one
vector on the device. Reading it with ``.tolist()`` right away is a CPU-GPU synchronisation: the CPU
waits for the step's last kernel and cannot queue the next step's kernels meanwhile, so the GPU idles
for the host's bookkeeping every step. Measured on an H100 (issue 15) the built-in runner kept 0.85 of a
bare loop's steps/s that way.

`LaggedReadback` starts the copy instead: ``non_blocking`` into a pinned host buffer, followed by a CUDA
event; the values are read one step later, when the next step's kernels are already queued, by waiting
on that event (by then the copy has almost always landed). Two pinned buffers alternate, so a read never
races the next copy. Records, flags and banners therefore lag the training by one step, by design; the
callers read a step at once where exactness matters (before a snapshot, an evaluation, a checkpoint, a
pause, the end).

On the CPU (and any device without events) the same path runs with a no-op event: the vector is already
on the host, and the read is a plain ``.tolist()``.

Library: PyTorch's pinned memory, ``Tensor.copy_(non_blocking=True)`` and ``torch.cuda.Event``
(https://pytorch.org/docs/stable/notes/cuda.html#use-pinned-memory-buffers).
"""

from __future__ import annotations

import torch
from torch import Tensor


class _NoEvent:
    """The event of a device without asynchronous copies: already complete."""

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True


class PendingValues:
    """A step's (the runner) or a batch of steps' (the tracking API) scalar vector on its way to the host.
    `tolist` waits for it (at most for the copy)."""

    __slots__ = ("_host", "_event", "_values")

    def __init__(self, host: Tensor, event: torch.cuda.Event | _NoEvent):
        self._host = host
        self._event = event
        self._values: list[float] | None = None

    def ready(self) -> bool:
        """True when reading costs no wait (the copy has landed)."""
        return self._values is not None or bool(self._event.query())

    def tolist(self) -> list[float]:
        """The values as Python floats; the first call waits for the copy's event, later calls are free."""
        if self._values is None:
            self._event.synchronize()
            self._values = self._host.tolist()
            self._host = None  # the pinned buffer goes back to the ring's next-but-one copy
        return self._values


class LaggedReadback:
    """Start copying a 1-D float vector to the host without waiting; read it later (see the module).

    ``start(values)`` returns a `PendingValues`. On CUDA the copy goes into one of two pinned buffers
    (grown when a longer vector comes), so a `PendingValues` must be read before the second-next
    ``start``: the runner reads each step's values at the next step, the tracking API each batch's
    before it starts the next-but-one.
    """

    def __init__(self) -> None:
        self._buffers: list[Tensor] = []
        self._next = 0

    def start(self, values: Tensor) -> PendingValues:
        """Begin the host copy of ``values`` (shape (K,), any float dtype; read as float32 on CUDA, but
        float64 as float64)."""
        if values.device.type != "cuda":
            return PendingValues(values.detach(), _NoEvent())
        values = values.detach()
        wide = values.dtype is torch.float64  # (a float64 metric's batch: two float32 places a value)
        if not wide:
            values = values.float()
        size = values.numel() * (2 if wide else 1)
        if not self._buffers or self._buffers[0].numel() < size:
            # grown, never shrunk: the tracking API's batches vary in length, and pinning memory is slow
            capacity = max(size, 2 * self._buffers[0].numel()) if self._buffers else size
            self._buffers = [torch.empty(capacity, pin_memory=True) for _ in range(2)]
        host = self._buffers[self._next][:size]
        if wide:  # the buffer's start, as float64 (pinned memory is page-aligned)
            host = host.view(torch.float64)
        self._next ^= 1
        host.copy_(values.reshape(-1), non_blocking=True)
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(values.device))
        return PendingValues(host, event)


class PendingRow:
    """One step's row whose device values may still be on their way to the host: ``step`` and the
    ``known`` host values (column -> float) at once, the ``names``' values when `result` reads them
    (`PendingValues`). ``unmeasured``: the columns the step did not measure (`FlagMonitor.update`).
    Made by `Trainer.step_async` (the tracking API reads its batches of steps as `track._Batch`)."""

    __slots__ = ("step", "known", "names", "values", "unmeasured", "_row")

    def __init__(
        self,
        step: int,
        known: dict[str, float],
        names: tuple[str, ...],
        values: PendingValues,
        unmeasured: frozenset[str] | set[str] = frozenset(),
    ):
        self.step, self.known, self.names, self.values = step, known, names, values
        self.unmeasured = unmeasured
        self._row: dict[str, float] | None = None

    def ready(self) -> bool:
        """True when `result` costs no wait (the values have landed on the host)."""
        return self._row is not None or self.values.ready()

    def result(self) -> dict[str, float]:
        """The row: ``known`` then the named values, in that order; the first call waits for the values
        (at most for their copy), later calls return the same dict."""
        if self._row is None:
            row = dict(self.known)
            row.update(zip(self.names, self.values.tolist()))
            self._row = row
        return self._row
