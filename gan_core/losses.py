"""GAN objectives as small pure functions, picked by name from `LOSSES`.

Every discriminator returns logits (raw scores); each loss works on them directly in a numerically
stable form (softplus / BCE-with-logits), never Sigmoid + BCELoss.

A `GANLoss` bundles, for one objective:

- ``d(real_logits, fake_logits, real_target)`` -> (loss_real, loss_fake); D's loss is their sum, so
  for ``minimax`` at equilibrium (D(x) = 0.5 everywhere) it is 2·ln 2 ≈ 1.386.
- ``g(fake_logits)`` -> G's loss.
- ``output(logits)`` -> what the charts call D's output: a probability sigmoid(logit) for the
  probability-type losses, the raw score otherwise.
- ``midpoint``: the output at which D cannot tell (0.5) or None for unbounded critic scores.
- ``accuracy(real_logits, fake_logits)`` -> (acc_real, acc_fake): the fraction of real samples D calls
  real and of fake samples it calls fake. Near 0.5 each when D cannot tell, 1.0 each when it separates
  them perfectly. The threshold never looks at labels:

  * minimax, nonsaturating: D(x) = sigmoid(logit) > 0.5, i.e. logit > 0;
  * lsgan: output > 0.5, half-way between its targets 0 (fake) and 1 (real);
  * hinge: score > 0, half-way between its margins -1 and +1;
  * wgan, wgan-gp: the critic's loss is unchanged by adding a constant to every score, so no fixed
    threshold means anything; the threshold is the median of the batch's pooled real and fake scores.
    With as many real as fake samples, a perfect separation puts the median between the two groups
    (both accuracies 1.0), and indistinguishable scores interleave around it (both near 0.5).

Label smoothing (``real_target`` < 1) applies to minimax, nonsaturating and lsgan; hinge and the
Wasserstein losses have no targets to smooth and ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LossPair = tuple[Tensor, Tensor]


def _bce_d(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> LossPair:
    # -[t·log σ(r) + (1-t)·log(1-σ(r))] in softplus form; fake target 0: -log(1-σ(f)) = softplus(f).
    loss_real = (real_target * F.softplus(-real_logits) + (1 - real_target) * F.softplus(real_logits)).mean()
    loss_fake = F.softplus(fake_logits).mean()
    return loss_real, loss_fake


def minimax_g(fake_logits: Tensor) -> Tensor:
    """Saturating G loss of the original paper: minimise log(1 - D(G(z))) = -softplus(f)."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_g(fake_logits: Tensor) -> Tensor:
    """Non-saturating G loss: minimise -log D(G(z)) = softplus(-f)."""
    return F.softplus(-fake_logits).mean()


def lsgan_d(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> LossPair:
    """Least squares (Mao et al. 2017), targets b=real_target for real, a=0 for fake; ½ as in the paper."""
    return 0.5 * ((real_logits - real_target) ** 2).mean(), 0.5 * (fake_logits**2).mean()


def lsgan_g(fake_logits: Tensor) -> Tensor:
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


def hinge_d(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> LossPair:
    """Hinge (Lim & Ye 2017; SAGAN, BigGAN): relu(1 - r) + relu(1 + f)."""
    return F.relu(1.0 - real_logits).mean(), F.relu(1.0 + fake_logits).mean()


def hinge_g(fake_logits: Tensor) -> Tensor:
    return -fake_logits.mean()


def wasserstein_d(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> LossPair:
    """Critic loss E[C(fake)] - E[C(real)], split as (-E[C(real)], E[C(fake)])."""
    return -real_logits.mean(), fake_logits.mean()


def wasserstein_g(fake_logits: Tensor) -> Tensor:
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, generator=None
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(‖∇C(x̂)‖₂ - 1)²] on random interpolates x̂."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(interpolates)
    (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    return ((grads.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def _threshold_accuracy(threshold: float) -> Callable[[Tensor, Tensor], LossPair]:
    def accuracy(real_logits: Tensor, fake_logits: Tensor) -> LossPair:
        return (real_logits > threshold).float().mean(), (fake_logits <= threshold).float().mean()

    return accuracy


def median_accuracy(real_logits: Tensor, fake_logits: Tensor) -> LossPair:
    """Accuracy against the median of the pooled scores: needs no labels and no fixed offset."""
    threshold = torch.cat([real_logits, fake_logits]).median()
    return (real_logits > threshold).float().mean(), (fake_logits <= threshold).float().mean()


@dataclass(frozen=True)
class GANLoss:
    name: str
    d: Callable[..., LossPair]
    g: Callable[[Tensor], Tensor]
    output: Callable[[Tensor], Tensor]
    accuracy: Callable[[Tensor, Tensor], LossPair]
    midpoint: float | None
    uses_label_smoothing: bool = True
    clips_weights: bool = False
    gradient_penalty: bool = False

    @property
    def unused_fields(self) -> frozenset[str]:
        """The config fields this loss ignores, of ``label_smoothing``, ``clip_value`` and ``gp_weight``:
        forms leave them out for it."""
        used = {
            "label_smoothing": self.uses_label_smoothing,
            "clip_value": self.clips_weights,
            "gp_weight": self.gradient_penalty,
        }
        return frozenset(name for name, uses in used.items() if not uses)


def _identity(x: Tensor) -> Tensor:
    return x


LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss("minimax", _bce_d, minimax_g, torch.sigmoid, _threshold_accuracy(0.0), 0.5),
    "nonsaturating": GANLoss(
        "nonsaturating", _bce_d, nonsaturating_g, torch.sigmoid, _threshold_accuracy(0.0), 0.5
    ),
    "lsgan": GANLoss("lsgan", lsgan_d, lsgan_g, _identity, _threshold_accuracy(0.5), 0.5),
    "hinge": GANLoss(
        "hinge", hinge_d, hinge_g, _identity, _threshold_accuracy(0.0), None, uses_label_smoothing=False
    ),
    "wgan": GANLoss(
        "wgan",
        wasserstein_d,
        wasserstein_g,
        _identity,
        median_accuracy,
        None,
        uses_label_smoothing=False,
        clips_weights=True,
    ),
    "wgan-gp": GANLoss(
        "wgan-gp",
        wasserstein_d,
        wasserstein_g,
        _identity,
        median_accuracy,
        None,
        uses_label_smoothing=False,
        gradient_penalty=True,
    ),
}


def get_loss(name: str) -> GANLoss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: allowed {', '.join(LOSSES)}") from None
