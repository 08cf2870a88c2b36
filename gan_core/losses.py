"""GAN objectives as small pure functions, picked by name from `LOSSES`.

Every discriminator returns logits (raw scores); each loss works on them directly in a numerically
stable form (softplus / BCE-with-logits), never Sigmoid + BCELoss.

A `GANLoss` bundles, for one objective:

- ``d(real_logits, fake_logits, real_target, dim=None)`` -> (loss_real, loss_fake); D's loss is their
  sum, so for ``minimax`` at equilibrium (D(x) = 0.5 everywhere) it is 2·ln 2 ≈ 1.386. The means are
  over every element, or over ``dim`` only: (K, B) logits of K batches give each batch's halves, (K,)
  (the tracking API measures a batch of steps so, `measures.d_metrics_steps`).
- ``g(fake_logits)`` -> G's loss.
- ``output(logits)`` -> what the charts call D's output: a probability sigmoid(logit) for the
  probability-type losses, the raw score otherwise.
- ``midpoint``: the output at which D cannot tell (0.5) or None for unbounded critic scores.
- ``accuracy(real_logits, fake_logits)`` -> (acc_real, acc_fake): the fraction of real samples D calls
  real and of fake samples it calls fake. Near 0.5 each when D cannot tell, 1.0 each when it separates
  them perfectly. The verdict compares each score with the loss's ``threshold``, which never looks at
  labels:

  * minimax, nonsaturating: D(x) = sigmoid(logit) > 0.5, i.e. logit > 0;
  * lsgan: output > 0.5, half-way between its targets 0 (fake) and 1 (real);
  * hinge: score > 0, half-way between its margins -1 and +1;
  * wgan, wgan-gp (``is_critic``, ``threshold`` None): the critic's loss is unchanged by adding a
    constant to every score, so no fixed threshold means anything; the threshold is the median of the
    batch's pooled real and fake scores.
    With as many real as fake samples, a perfect separation puts the median between the two groups
    (both accuracies 1.0), and indistinguishable scores interleave around it (both near 0.5).

Label smoothing (``real_target`` < 1) applies to minimax, nonsaturating and lsgan; hinge and the
Wasserstein losses have no targets to smooth and ignore it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LossPair = tuple[Tensor, Tensor]


def _mean(x: Tensor, dim: int | None) -> Tensor:
    return x.mean() if dim is None else x.mean(dim)


def _bce_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    # -[t·log σ(r) + (1-t)·log(1-σ(r))] in softplus form; fake target 0: -log(1-σ(f)) = softplus(f).
    if real_target == 1.0:  # the same value and gradient as the general form below, in 3 ops instead of 7
        loss_real = _mean(F.softplus(-real_logits), dim)
    else:
        loss_real = _mean(
            real_target * F.softplus(-real_logits) + (1 - real_target) * F.softplus(real_logits), dim
        )
    loss_fake = _mean(F.softplus(fake_logits), dim)
    return loss_real, loss_fake


def minimax_g(fake_logits: Tensor) -> Tensor:
    """Saturating G loss of the original paper: minimise log(1 - D(G(z))) = -softplus(f)."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_g(fake_logits: Tensor) -> Tensor:
    """Non-saturating G loss: minimise -log D(G(z)) = softplus(-f)."""
    return F.softplus(-fake_logits).mean()


def lsgan_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    """Least squares (Mao et al. 2017), targets b=real_target for real, a=0 for fake; ½ as in the paper."""
    return 0.5 * _mean((real_logits - real_target) ** 2, dim), 0.5 * _mean(fake_logits**2, dim)


def lsgan_g(fake_logits: Tensor) -> Tensor:
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


def hinge_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    """Hinge (Lim & Ye 2017; SAGAN, BigGAN): relu(1 - r) + relu(1 + f)."""
    return _mean(F.relu(1.0 - real_logits), dim), _mean(F.relu(1.0 + fake_logits), dim)


def hinge_g(fake_logits: Tensor) -> Tensor:
    return -fake_logits.mean()


def wasserstein_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    """Critic loss E[C(fake)] - E[C(real)], split as (-E[C(real)], E[C(fake)])."""
    return -_mean(real_logits, dim), _mean(fake_logits, dim)


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


def threshold_accuracy(real_logits: Tensor, fake_logits: Tensor, threshold: float | Tensor) -> LossPair:
    """(acc_real, acc_fake): the fraction of ``real_logits`` above ``threshold`` (called real) and of
    ``fake_logits`` at or below it (called fake); 0-d float tensors in [0, 1]."""
    return (real_logits > threshold).float().mean(), (fake_logits <= threshold).float().mean()


def median_accuracy(real_logits: Tensor, fake_logits: Tensor) -> LossPair:
    """Accuracy against the median of the pooled scores: needs no labels and no fixed offset."""
    return threshold_accuracy(real_logits, fake_logits, torch.cat([real_logits, fake_logits]).median())


# D's loss at the equilibrium of the original game (Goodfellow et al. 2014, Theorem 1: there D(x) = 1/2
# everywhere and the value is -log 4): -ln ½ on the real half plus -ln ½ on the fake half.
BCE_EQUILIBRIUM_D_LOSS = 2.0 * math.log(2.0)


@dataclass(frozen=True)
class GANLoss:
    """One GAN objective and what the rest of the engine needs to know about it, so that no caller tests
    a loss by name (a new loss is one entry in `LOSSES`).

    - ``d``, ``g``: the loss functions (see this module's docstring).
    - ``output``: what the charts call D's output (a probability for the BCE losses, else the raw score).
    - ``threshold``: the fixed raw-score threshold of D's verdict: a score above it is called real. It is
      what `accuracy` and the probe's Ask D use. None for a Wasserstein critic (see `is_critic`), which
      has no fixed threshold and uses the median rule instead.
    - ``threshold_rule``: that rule in words, for people (the probe's verdict, the Guide).
    - ``midpoint``: D's *output* at "cannot tell" (0.5), drawn on the charts; None for unbounded scores.
    - ``equilibrium_d_loss``: D's loss when it cannot tell, for the objectives that have such a known
      value (the BCE losses: 2 ln 2); None for the others. ``equilibrium_label`` names it on a chart.
    - ``uses_label_smoothing``: whether D's real target (``label_smoothing``) enters its loss.
    - ``clips_weights``: whether the critic's weights are clipped to ``clip_value`` after each step (WGAN).
    - ``gradient_penalty``: whether D's objective adds the gradient penalty weighted by ``gp_weight``
      (WGAN-GP); such a D must treat samples independently, so it has no batch norm (`gan_core.models`).
    - ``saturating_g``: whether G's loss saturates, its gradient fading as D rejects the fakes with
      confidence (minimax's log(1 - D(G(z))), Goodfellow et al. 2014 §3): the non-saturating loss is the
      cure the failure flags suggest.
    """

    name: str
    d: Callable[..., LossPair]
    g: Callable[[Tensor], Tensor]
    output: Callable[[Tensor], Tensor]
    threshold: float | None
    threshold_rule: str
    midpoint: float | None
    equilibrium_d_loss: float | None = None
    equilibrium_label: str = ""
    uses_label_smoothing: bool = True
    clips_weights: bool = False
    gradient_penalty: bool = False
    saturating_g: bool = False

    @property
    def is_critic(self) -> bool:
        """True for a Wasserstein critic (wgan, wgan-gp; Arjovsky et al. 2017): its scores are unbounded
        and its loss and G's are unchanged by adding a constant to every score, so no fixed threshold means
        anything (``threshold`` is None). Hinge scores are unbounded too, but its margins -1 and +1 fix a
        threshold: not a critic in this sense."""
        return self.threshold is None

    def accuracy(self, real_logits: Tensor, fake_logits: Tensor) -> LossPair:
        """(acc_real, acc_fake): the fraction of real samples D calls real and of fake samples it calls
        fake, by ``threshold``, or for a critic by the median of the pooled scores (`median_accuracy`)."""
        if self.threshold is None:
            return median_accuracy(real_logits, fake_logits)
        return threshold_accuracy(real_logits, fake_logits, self.threshold)

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


_SIGMOID_RULE = "D(x) = sigmoid(score) > 0.5, i.e. score > 0"
_MEDIAN_RULE = "score > the median of the batch's pooled real and fake scores"
_BCE = dict(
    output=torch.sigmoid,
    threshold=0.0,
    threshold_rule=_SIGMOID_RULE,
    midpoint=0.5,
    equilibrium_d_loss=BCE_EQUILIBRIUM_D_LOSS,
    equilibrium_label="equilibrium 2 ln 2",
)
_CRITIC = dict(
    output=_identity, threshold=None, threshold_rule=_MEDIAN_RULE, midpoint=None, uses_label_smoothing=False
)

# The one list of objectives: the config's choices, the sidebar's menu and the CLI's --loss come from it.
LOSSES: dict[str, GANLoss] = {
    # Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))), G minimises log(1 - D(G(z))).
    "minimax": GANLoss("minimax", _bce_d, minimax_g, **_BCE, saturating_g=True),
    # The same paper's fix for G's weak gradient early on: G maximises log D(G(z)); D's loss is the same.
    "nonsaturating": GANLoss("nonsaturating", _bce_d, nonsaturating_g, **_BCE),
    # Mao et al. 2017: least squares to the targets 0 (fake) and 1 (real).
    "lsgan": GANLoss(
        "lsgan",
        lsgan_d,
        lsgan_g,
        output=_identity,
        threshold=0.5,
        threshold_rule="score > 0.5, half-way between the targets 0 (fake) and 1 (real)",
        midpoint=0.5,
    ),
    # Lim & Ye 2017, as in SNGAN, SAGAN and BigGAN: margins -1 (fake) and +1 (real).
    "hinge": GANLoss(
        "hinge",
        hinge_d,
        hinge_g,
        output=_identity,
        threshold=0.0,
        threshold_rule="score > 0, half-way between the margins -1 (fake) and +1 (real)",
        midpoint=None,
        uses_label_smoothing=False,
    ),
    # Arjovsky et al. 2017: a critic kept 1-Lipschitz by clipping its weights.
    "wgan": GANLoss("wgan", wasserstein_d, wasserstein_g, **_CRITIC, clips_weights=True),
    # Gulrajani et al. 2017: the same critic kept near 1-Lipschitz by a gradient penalty instead.
    "wgan-gp": GANLoss("wgan-gp", wasserstein_d, wasserstein_g, **_CRITIC, gradient_penalty=True),
}


def get_loss(name: str) -> GANLoss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: allowed {', '.join(LOSSES)}") from None
