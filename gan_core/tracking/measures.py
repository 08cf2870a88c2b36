"""The per-step measurements every run records, computed one way for the built-in trainer and for a user's
own loop (`gan_core.track`): D's accuracies and mean outputs from its logits with the loss's own rule, and
gradient norms from the parameters. Everything stays on the device: the caller moves a step's scalars to
the host in one transfer (CONVENTIONS rule 7)."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from gan_core.losses import GANLoss

# The device types whose gradients get_total_norm itself sends to ``torch._foreach_norm`` (torch's private
# ``torch.utils._foreach_utils._device_has_foreach_support``: copied, not imported); a tensor subclass
# (a DTensor, say) takes get_total_norm's own path.
_FOREACH_DEVICES = frozenset({"cpu", "cuda", "xpu", "mtia", "privateuseone"})


_CPU = torch.device("cpu")
_PLAIN = (Tensor, torch.nn.Parameter)  # not a subclass such as a DTensor: those take get_total_norm's path

# One step's gradient norm as `GradNorms.parts` leaves it, one tensor: the per-tensor norms (1-D) or, off
# the foreach path or without gradients, the total itself (0-d; NaN without gradients).
NormParts = Tensor
_NAN = float("nan")
_GRAD = operator.attrgetter("grad")  # a parameter's gradient: half the time of ``p.grad`` read twice


class GradNorms:
    """The total L2 norm of one fixed list of parameters' gradients, measured step after step: the
    trainer's and the tracking API's d_grad_norm and g_grad_norm. Measured, never clipped; no host sync.

    The value is ``torch.nn.utils.get_total_norm``'s: the L2 norm of the per-tensor norms. When every
    parameter is a plain tensor of one device and dtype (any single-device model; PyTorch keeps each
    gradient on its parameter's device and dtype) it is computed by that function's own ops,
    ``torch._foreach_norm`` then ``torch.linalg.vector_norm`` of their stack, with the checks done once
    here instead of on every call; anything else (mixed devices or dtypes, tensor subclasses such as
    DTensor) goes through ``get_total_norm``. In two halves: `parts` now, while the gradients are there
    (the next update changes them), and `totals` later, for many steps' parts in two ops (the tracking
    API's batches). Inside a training loop on the CPU every small op costs ~10-40 µs with cold caches, and
    this is paid twice a step (`python -m benchmarks.tracking --profile`). The parts are one tensor, not
    one per parameter: a batch of steps holds few Python objects, so that it gives Python's garbage
    collector little to promote and scan (a full collection in a process with torch loaded takes ~0.3 s)."""

    def __init__(self, params: Iterable[Tensor]):
        self.params = list(params)
        first = self.params[0] if self.params else None
        self.foreach = first is not None and first.device.type in _FOREACH_DEVICES
        self.foreach = self.foreach and all(
            type(p) in _PLAIN and p.device == first.device and p.dtype == first.dtype for p in self.params
        )
        self.device = first.device if first is not None else _CPU

    def parts(self) -> NormParts:
        """This step's norm in parts (`NormParts`): the stacked per-tensor norms of the gradients there
        now, or the total (0-d) off the foreach path; a 0-d NaN when no parameter has a gradient."""
        return self._parts([p.grad for p in self.params if p.grad is not None])

    def _parts(self, grads: list[Tensor]) -> NormParts:
        if not grads:
            return torch.full((), _NAN, device=self.device)
        with torch.no_grad():  # a gradient of create_graph=True is measured, not joined to its graph
            if self.foreach:
                return torch.stack(torch._foreach_norm(grads))
            return torch.nn.utils.get_total_norm(grads)

    def norms(self, device: torch.device, required: bool = False) -> list[Tensor]:
        """This step's norm as 0-d tensors on ``device``, for the caller to stack with its other numbers
        in one op (the tracking API's per-step copy): the per-tensor norms of the gradients there now
        when they are on ``device`` and on the foreach path (no stack here: each op inside a training
        loop costs ~25-50 µs on the CPU, `python -m benchmarks.tracking --profile`), else the total
        alone (`__call__`, moved); their L2 norm is the total (`host_total`). No parameter with a
        gradient: the total is NaN, or with ``required`` `NoGradients` is raised (found while listing
        the gradients, which the norm does anyway: no op, no sync)."""
        grads = [g for g in map(_GRAD, self.params) if g is not None]  # (one attribute read each)
        if not grads and required:
            raise NoGradients(len(self.params))
        if grads and self.foreach and self.device == device:
            if not torch.is_grad_enabled():  # the tracking API calls it under no_grad already
                return list(torch._foreach_norm(grads))
            with torch.no_grad():
                return list(torch._foreach_norm(grads))
        total = _total(self._parts(grads))
        return [total if total.device == device else total.to(device)]

    def __call__(self, required: bool = False) -> Tensor:
        """The total now: a 0-d tensor on the parameters' device (NaN without gradients; `NoGradients`
        then with ``required``)."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads and required:
            raise NoGradients(len(self.params))
        return _total(self._parts(grads))


class NoGradients(ValueError):
    """`GradNorms.norms` (``required=True``) found no parameter with a gradient: measured before the
    ``backward()`` or after a ``zero_grad()`` (``set_to_none``, the default), or of no parameters at
    all (``parameters``: how many were given)."""

    def __init__(self, parameters: int):
        self.parameters = parameters
        super().__init__(
            f"none of {parameters} parameters has a gradient" if parameters else "no parameters were given"
        )


def totals(parts: Sequence[NormParts]) -> Tensor:
    """The totals of N steps' `GradNorms.parts`, shape (N,), on the first one's device: for N steps of
    one model (as many per-tensor norms each) one stack and one ``vector_norm`` over rows; row by row
    otherwise. ``parts`` must not be empty."""
    first = parts[0]
    if first.dim() == 1 and all(p.shape == first.shape for p in parts):
        return torch.linalg.vector_norm(torch.stack(list(parts)), dim=1)
    device = first.device
    return torch.stack([_total(p).to(device) for p in parts])


def host_total(norms: Sequence[float]) -> float:
    """The L2 norm of `GradNorms.norms`' values read back to the host: the total gradient norm, in
    float64 (``math.fsum``; NaN or inf when a part is)."""
    return math.sqrt(math.fsum(v * v for v in norms))


def _total(parts: NormParts) -> Tensor:
    return torch.linalg.vector_norm(parts) if parts.dim() == 1 else parts.reshape(())


def grad_norm(params: Iterable[Tensor]) -> Tensor:
    """Total L2 norm of the parameters' gradients now (`GradNorms`): a 0-d tensor on their device, NaN
    when no parameter has a gradient. No host sync. A loop measuring the same parameters every step
    keeps a `GradNorms` instead, whose checks run once."""
    return GradNorms(params)()


def as_float32(x: Tensor) -> Tensor:
    """``x`` as float32: itself when it is already (no tensor call at all: inside a training loop each
    small tensor call costs microseconds, `benchmarks.tracking --profile`), else ``x.float()``."""
    return x if x.dtype == torch.float32 else x.float()


@torch.no_grad()
def d_metrics(
    loss: GANLoss,
    real_logits: Tensor,
    fake_logits: Tensor,
    loss_real: Tensor,
    loss_fake: Tensor,
    d_grad_norm: Tensor,
    d_loss: Tensor | None = None,
) -> Tensor:
    """One D update's scalars, stacked on the logits' device in `schema.D_METRICS` order: d_loss (``d_loss``
    when given, else ``loss_real + loss_fake``), d_loss_real, d_loss_fake, d_acc_real, d_acc_fake (shares
    in [0, 1] by `GANLoss.accuracy`: the loss's threshold, or the median rule for a critic), d_real, d_fake
    (means of `GANLoss.output`: probabilities for the BCE losses, raw scores otherwise), d_grad_norm.

    ``real_logits`` and ``fake_logits``: D's raw outputs, any shape with the batch first (flattened);
    the losses are 0-d tensors. Returns a float32 tensor of shape (8,). No host sync. The same numbers
    as row 0 of `d_metrics_steps` on the one update."""
    # under no_grad nothing made here joins the caller's graph: no detach calls (a few µs each)
    real_logits = as_float32(real_logits).reshape(-1)
    fake_logits = as_float32(fake_logits).reshape(-1)
    total = loss_real + loss_fake if d_loss is None else d_loss.reshape(())
    device = real_logits.device
    if d_grad_norm.device != device:  # a NaN norm made on the CPU (no gradients)
        d_grad_norm = d_grad_norm.to(device)
    if loss.threshold is not None and real_logits.shape == fake_logits.shape:
        shares = _threshold_shares(loss, real_logits[None], fake_logits[None])[0]
    else:  # a critic's median rule, or batches of two sizes
        acc_real, acc_fake = loss.accuracy(real_logits, fake_logits)
        shares = torch.stack(
            (acc_real, acc_fake, loss.output(real_logits).mean(), loss.output(fake_logits).mean())
        )
    # torch.cat promotes dtypes: a float64 or half loss comes out float32 below
    return as_float32(torch.cat((torch.stack((total, loss_real, loss_fake)), shares, d_grad_norm.reshape(1))))


def _threshold_shares(loss: GANLoss, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """(K, 4): per row of the (K, B) logits, d_acc_real, d_acc_fake, d_real, d_fake for a loss with a
    fixed threshold. The four in one reduction over rows: real > threshold and fake <= threshold
    (`losses.threshold_accuracy`'s verdicts), then each batch's `GANLoss.output`. 7 small ops whatever
    K is: in a training loop on the CPU each small op costs about 10 µs whatever its size."""
    threshold = loss.threshold
    verdicts = torch.stack((real_logits > threshold, fake_logits <= threshold), 1)
    outputs = loss.output(torch.stack((real_logits, fake_logits), 1))
    return torch.cat((verdicts, outputs), 1).mean(2)  # cat promotes the verdicts to float


@torch.no_grad()
def d_metrics_steps(
    loss: GANLoss,
    real_logits: Sequence[Tensor],
    fake_logits: Sequence[Tensor],
    loss_real: Sequence[Tensor | None],
    loss_fake: Sequence[Tensor | None],
    d_grad_norm: Sequence[Tensor] | Tensor,
    d_loss: Sequence[Tensor | None],
) -> Tensor:
    """`d_metrics` of K D updates at once: the k-th element of each sequence is the k-th update's argument
    (logits any shape with the batch first, the rest 0-d tensors on the logits' device, the norms also as one
    (K,) tensor, e.g. `totals` of the updates' `GradNorms.parts`; a None ``d_loss`` is its ``loss_real +
    loss_fake``, a None half is the loss's own, ``loss.d(real, fake, loss.real_target)``: the loss's real
    target, 1 unless it is `GANLoss.smoothed`). Returns a float32 tensor of shape (K, 8), row k equal to
    `d_metrics` of update k (tests/test_measures.py). No host sync.

    When the loss has a fixed threshold and every update's real and fake batches have one size, the
    halves, shares and means of all K come from a few reductions over (K, B) (`_threshold_shares`, the
    loss's ``d`` with ``dim=1``), so that the tracking API's work per batch of steps does not grow with
    the steps' count (each small op costs ~10 µs in a training loop on the CPU); otherwise row by row."""
    k = len(real_logits)
    reals = [as_float32(r).reshape(-1) for r in real_logits]
    fakes = [as_float32(f).reshape(-1) for f in fake_logits]
    size = reals[0].shape
    if loss.threshold is None or any(r.shape != size or f.shape != size for r, f in zip(reals, fakes)):
        rows = []
        for r, f, half_r, half_f, norm, total in zip(
            reals, fakes, loss_real, loss_fake, d_grad_norm, d_loss, strict=True
        ):
            if half_r is None or half_f is None:
                own = loss.d(r, f, loss.real_target)
                half_r = own[0] if half_r is None else half_r
                half_f = own[1] if half_f is None else half_f
            rows.append(d_metrics(loss, r, f, half_r, half_f, norm, total))
        return torch.stack(rows)
    device = reals[0].device
    stacked = torch.stack((*reals, *fakes))  # (2K, B): one copy of the logits
    halves = []
    for given in (loss_real, loss_fake):
        if all(t is not None for t in given):
            halves.append(torch.stack(list(given)))
        elif any(t is not None for t in given):  # some given, some the loss's own: row by row
            own = loss.d(stacked[:k], stacked[k:], loss.real_target, dim=1)[len(halves)]  # (K,)
            halves.append(torch.stack([own[i] if t is None else t for i, t in enumerate(given)]))
        else:
            halves.append(None)
    if all(t is None for t in d_loss):
        total = None
    else:
        if any(t is None for t in d_loss) and (halves[0] is None or halves[1] is None):
            own = loss.d(stacked[:k], stacked[k:], loss.real_target, dim=1)
            halves = [own[i] if h is None else h for i, h in enumerate(halves)]
        total = torch.stack(
            [halves[0][i] + halves[1][i] if t is None else t.reshape(()) for i, t in enumerate(d_loss)]
        )
    if isinstance(d_grad_norm, Tensor):
        norms = d_grad_norm if d_grad_norm.device == device else d_grad_norm.to(device)
    else:
        norms = torch.stack([n if n.device == device else n.to(device) for n in d_grad_norm])
    return d_metrics_stacked(loss, stacked[:k], stacked[k:], halves[0], halves[1], norms, total)


def d_metrics_stacked(
    loss: GANLoss,
    real_logits: Tensor,
    fake_logits: Tensor,
    loss_real: Tensor | None,
    loss_fake: Tensor | None,
    d_grad_norm: Tensor,
    d_loss: Tensor | None,
) -> Tensor:
    """`d_metrics_steps` of K D updates already stacked, for a loss with a fixed threshold: the logits (K, B)
    (every update's real and fake batch of one size B), the rest (K,) on their device; a None half is the
    loss's own (``loss.d(real, fake, loss.real_target, dim=1)``: 1 unless the loss is `GANLoss.smoothed`), a
    None ``d_loss`` is ``loss_real + loss_fake``. Returns float32 (K, 8), row k equal to `d_metrics` of update
    k. About ten ops whatever K is (the tracking API's batch: `TrackedRun` stacks its updates' copies in two).
    `ValueError` for a loss without a fixed threshold (a critic: `d_metrics_steps` row by row)."""
    if loss.threshold is None:
        raise ValueError(f"d_metrics_stacked needs a loss with a fixed threshold, not {loss.name!r}")
    real_logits, fake_logits = as_float32(real_logits), as_float32(fake_logits)
    shares = _threshold_shares(loss, real_logits, fake_logits)
    if loss_real is None or loss_fake is None:
        own = loss.d(real_logits, fake_logits, loss.real_target, dim=1)
        loss_real = own[0] if loss_real is None else loss_real
        loss_fake = own[1] if loss_fake is None else loss_fake
    total = loss_real + loss_fake if d_loss is None else d_loss
    losses = torch.stack((total, loss_real, loss_fake), 1)
    # torch.cat promotes dtypes: a float64 or half loss comes out float32 below
    return as_float32(torch.cat((losses, shares, d_grad_norm[:, None]), 1))
