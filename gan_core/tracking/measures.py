"""The per-step measurements every run records, computed one way for the built-in trainer and for a user's
own loop (`gan_core.track`): D's accuracies and mean outputs from its logits with the loss's own rule, and
gradient norms from the parameters. Everything stays on the device: the caller moves a step's scalars to
the host in one transfer (CONVENTIONS rule 7)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from gan_core.losses import GANLoss


def grad_norm(params: Iterable[Tensor]) -> Tensor:
    """Total L2 norm of the parameters' gradients (``torch.nn.utils.get_total_norm``), a 0-d tensor on their
    device, measured, never clipped; NaN when no parameter has a gradient. No host sync."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(float("nan"))
    return torch.nn.utils.get_total_norm(grads)


def _as_float(x: Tensor) -> Tensor:
    # no call at all for the common case (float32 already): inside a training loop each small tensor call
    # costs microseconds (`benchmarks.tracking --profile`)
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
    the losses are 0-d tensors. Returns a float32 tensor of shape (8,). No host sync."""
    real_logits = _as_float(real_logits.detach()).reshape(-1)
    fake_logits = _as_float(fake_logits.detach()).reshape(-1)
    loss_real, loss_fake = loss_real.detach(), loss_fake.detach()
    total = loss_real + loss_fake if d_loss is None else d_loss.detach().reshape(())
    acc_real, acc_fake = loss.accuracy(real_logits, fake_logits)
    device = real_logits.device
    if d_grad_norm.device != device:  # a NaN norm made on the CPU (no gradients)
        d_grad_norm = d_grad_norm.to(device)
    values = [
        total,
        loss_real,
        loss_fake,
        acc_real,
        acc_fake,
        loss.output(real_logits).mean(),
        loss.output(fake_logits).mean(),
        d_grad_norm.detach().reshape(()),
    ]
    # one stack (torch.stack promotes dtypes: a float64 or half loss comes out float32 below)
    return _as_float(torch.stack([_as_float(v) for v in values]))
