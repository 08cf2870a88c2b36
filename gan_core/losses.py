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
- ``midpoint``: the output at which D cannot tell (0.5; t/2 under label smoothing, below) or None for
  unbounded critic scores.
- ``accuracy(real_logits, fake_logits)`` -> (acc_real, acc_fake): the fraction of real samples D calls
  real and of fake samples it calls fake. Near 0.5 each when D cannot tell, 1.0 each when it separates
  them perfectly. The verdict compares each score with the loss's ``threshold``, which never looks at
  labels:

  * minimax, nonsaturating: D(x) = sigmoid(logit) > 0.5, i.e. logit > 0;
  * lsgan: output > 0.5, half-way between its targets 0 (fake) and 1 (real);
  * hinge: score > 0, half-way between its margins -1 and +1;
  * wgan, wgan-gp (``is_critic``, ``threshold`` None): the critic's loss is unchanged by adding a
    constant to every score, so no fixed threshold means anything; the threshold is the median of the
    batch's pooled real and fake scores (`median_accuracy`; for batches of two sizes, the point with as
    many pooled scores at or below it as there are fakes).
    A perfect separation puts it between the two groups (both accuracies 1.0), and indistinguishable
    scores interleave around it (both near 0.5).

Label smoothing (``real_target`` t = 1 - ``label_smoothing`` < 1) applies to minimax, nonsaturating and
lsgan; hinge and the Wasserstein losses have no targets to smooth and ignore it. It moves the verdict:
the optimal D is then D*(x) = t·p_data(x) / (p_data(x) + p_model(x)) (Salimans et al. 2016, "Improved
Techniques for Training GANs", §3.4), so a D that cannot tell (p_data = p_model) outputs t/2, not 0.5,
and the Bayes decision boundary p_data = p_model is D = t/2. `GANLoss.smoothed` gives the loss with
that target: ``midpoint`` t/2, ``threshold`` the raw score whose output is t/2 (logit(t/2) for the BCE
losses, t/2 for lsgan), and D's loss at that point as ``equilibrium_d_loss`` (BCE:
-(t·ln(t/2) + (1-t)·ln(1-t/2)) - ln(1-t/2), 1.295 at t = 0.7, in place of 2 ln 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

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
    """Least-squares G loss (Mao et al. 2017, eq. 2 with c = 1): ½·mean((f - 1)²), G pulling D's scores on
    its samples to the real target; ``fake_logits`` of any shape, a 0-d tensor."""
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


def hinge_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    """Hinge (Lim & Ye 2017; SAGAN, BigGAN): relu(1 - r) + relu(1 + f)."""
    return _mean(F.relu(1.0 - real_logits), dim), _mean(F.relu(1.0 + fake_logits), dim)


def hinge_g(fake_logits: Tensor) -> Tensor:
    """Hinge G loss (Lim & Ye 2017; SAGAN, BigGAN): -mean(f), no margin on G's side; ``fake_logits`` of any
    shape, a 0-d tensor."""
    return -fake_logits.mean()


def wasserstein_d(
    real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0, dim: int | None = None
) -> LossPair:
    """Critic loss E[C(fake)] - E[C(real)], split as (-E[C(real)], E[C(fake)])."""
    return -_mean(real_logits, dim), _mean(fake_logits, dim)


def wasserstein_g(fake_logits: Tensor) -> Tensor:
    """Wasserstein G loss (Arjovsky et al. 2017): -E[C(G(z))] = -mean(f); ``fake_logits`` of any shape, a
    0-d tensor."""
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
    """(acc_real, acc_fake) of a critic, whose scores have no fixed offset: against the median of the
    pooled scores (the lower one, torch.median's), needs no labels. ``real_logits`` and ``fake_logits`` of
    any shapes, flattened; 0-d float tensors in [0, 1].

    With batches of two sizes the median would call a perfect critic's 64 reals and 16 fakes 0.625 and
    1.0 (a review): the threshold is the pooled scores' n_fake-th smallest (`torch.kthvalue`), with as
    many scores at or below it as there are fakes; for batches of one size that is the median itself."""
    real, fake = real_logits.reshape(-1), fake_logits.reshape(-1)
    pooled = torch.cat([real, fake])
    if real.numel() == fake.numel() or fake.numel() == 0:
        return threshold_accuracy(real, fake, pooled.median())
    return threshold_accuracy(real, fake, pooled.kthvalue(fake.numel()).values)


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
    - ``score_of_output``: the inverse of ``output`` on a float (logit for the sigmoid outputs, identity
      for lsgan): the raw score whose output is a given value; None where no output has a fixed meaning
      to map back (hinge, the critics).
    - ``probability_output``: whether ``output`` is sigmoid(score), a probability in (0, 1) (minimax,
      nonsaturating), whatever the threshold.
    - ``margin``: the score margin m of a margin loss (hinge: real scores are pushed above +m, fake ones
      below -m, and beyond them D's loss no longer changes); None for the others. The 2D view's colour
      scale spans threshold ± m (`charts.heatmap_half_range`).
    - ``real_target``: D's target on real samples, t = 1 - ``label_smoothing``; 1.0 for the losses as
      listed in `LOSSES`. Under one-sided label smoothing (Salimans et al. 2016, "Improved Techniques for
      Training GANs", §3.4) the optimal D is t·p_data / (p_data + p_model): a D that cannot tell outputs
      t/2, which is the decision boundary p_data = p_model. `smoothed` gives the loss with t < 1, its
      ``midpoint`` t/2, ``threshold`` the score whose output is t/2, ``equilibrium_d_loss`` recomputed.
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
    score_of_output: Callable[[float], float] | None = None
    probability_output: bool = False
    margin: float | None = None
    real_target: float = 1.0
    # `smoothed`'s memo, shared by a loss and its smoothed forms (the trainer asks each step: a dict
    # lookup, no dataclass built); not part of the loss's identity.
    _smoothed: dict[float, GANLoss] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.real_target == 1.0:
            self._smoothed[0.0] = self

    def smoothed(self, label_smoothing: float) -> GANLoss:
        """This objective with one-sided label smoothing ``label_smoothing`` = ls in [0, 1): D's real target
        t = 1 - ls, ``midpoint`` t/2 (the optimal D's output where p_data = p_model: Salimans et al. 2016,
        §3.4), ``threshold`` the raw score whose output is t/2 (the Bayes decision boundary), its rule in
        words with the numbers, and ``equilibrium_d_loss`` = D's loss (``d`` at target t) with every score
        at that threshold, where the unsmoothed loss has such a value.

        Memoised: the same object for the same ls. ``self`` (or the unsmoothed loss, when called on a
        smoothed one) when ls is 0 or the loss ignores label smoothing (``uses_label_smoothing`` False:
        hinge, wgan, wgan-gp). Raises ValueError when ls is outside [0, 1)."""
        try:
            return self._smoothed[label_smoothing]
        except (KeyError, TypeError):  # not yet made, or not a number (checked below)
            pass
        if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing {label_smoothing!r}: allowed a number in [0, 1)")
        base = self._smoothed[0.0]  # smoothing is measured from the unsmoothed loss
        if not self.uses_label_smoothing:
            self._smoothed[label_smoothing] = base
            return base
        target = 1.0 - float(label_smoothing)
        midpoint = target / 2.0
        threshold = base.score_of_output(midpoint)
        equilibrium, label = None, ""
        if base.equilibrium_d_loss is not None:
            at = torch.tensor([threshold], dtype=torch.float64)
            equilibrium = float(sum(base.d(at, at, target)))
            label = f"equilibrium {equilibrium:.3f} (label smoothing {label_smoothing:g})"
        if base.probability_output:
            rule = (
                f"D(x) = sigmoid(score) > {midpoint:g} (half the smoothed real target {target:g}), "
                f"i.e. score > {threshold:.3f}"
            )
        else:
            rule = f"score > {midpoint:g}, half-way between the targets 0 (fake) and {target:g} (real)"
        made = replace(
            base,
            real_target=target,
            midpoint=midpoint,
            threshold=threshold,
            threshold_rule=rule,
            equilibrium_d_loss=equilibrium,
            equilibrium_label=label,
        )
        object.__setattr__(made, "_smoothed", base._smoothed)
        base._smoothed[label_smoothing] = made
        return made

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


def _identity(x):
    return x


def _logit(p: float) -> float:
    """The raw score whose sigmoid is ``p`` (0 < p < 1): ln(p / (1 - p))."""
    return math.log(p / (1.0 - p))


_SIGMOID_RULE = "D(x) = sigmoid(score) > 0.5, i.e. score > 0"
_MEDIAN_RULE = "score > the median of the batch's pooled real and fake scores"
_BCE = dict(
    output=torch.sigmoid,
    threshold=0.0,
    threshold_rule=_SIGMOID_RULE,
    midpoint=0.5,
    equilibrium_d_loss=BCE_EQUILIBRIUM_D_LOSS,
    equilibrium_label="equilibrium 2 ln 2",
    score_of_output=_logit,
    probability_output=True,
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
        score_of_output=_identity,
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
        margin=1.0,
    ),
    # Arjovsky et al. 2017: a critic kept 1-Lipschitz by clipping its weights.
    "wgan": GANLoss("wgan", wasserstein_d, wasserstein_g, **_CRITIC, clips_weights=True),
    # Gulrajani et al. 2017: the same critic kept near 1-Lipschitz by a gradient penalty instead.
    "wgan-gp": GANLoss("wgan-gp", wasserstein_d, wasserstein_g, **_CRITIC, gradient_penalty=True),
}


def get_loss(name: str) -> GANLoss:
    """The objective named ``name`` in `LOSSES` (unsmoothed: `GANLoss.smoothed` for a label smoothing);
    ValueError naming the allowed names for any other."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}: allowed {', '.join(LOSSES)}") from None
