"""Generators and discriminators: an MLP pair for 2D points and small images, a DCGAN pair for 28/32/64 px.

Every discriminator returns one logit (raw score) per sample, shape (B,); the loss decides how to read
it (see `gan_core.losses`). Generators return samples in the data's shape: (B, 2) points in data units
(linear output) or (B, C, H, W) images in [-1, 1] (tanh output).

`MODELS` is the one registry of network families by name (the config's choices, the sidebar's menu and
the CLI come from it); `build_models` builds the pair the config names.

Class conditioning (`CONDITIONINGS`, the config's ``conditioning``), for labelled data with ``n_classes``
classes. Labels are int64 class indices, shape (B,), in 0..n_classes-1 (not checked: a host sync per
batch; `nn.Embedding` raises an IndexError on the CPU for one out of range).

- G, in every conditional mode, takes the class as a learned embedding (`LABEL_EMBEDDING` values)
  concatenated with z (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"):
  ``G(z, labels)``. ``labels=None`` means the balanced, deterministic mix ``arange(B) % n_classes``
  (`balanced_labels`), so a caller that passes only z still gets every class in turn.
- D: ``concat`` feeds the label in with the sample (an embedding concatenated with the flattened input
  for the MLP, one extra input channel of H x W embedded values for the DCGAN); ``projection`` (Miyato &
  Koyama 2018, "cGANs with Projection Discriminator") keeps D's trunk phi and last layer psi and adds the
  inner product of a class embedding with phi(x): logit = psi(phi(x)) + <embed(y), phi(x)>, the
  embedding spectrally normalised when D is; ``acgan`` (Odena et al. 2017, "Conditional Image Synthesis
  with Auxiliary Classifier GANs") leaves D's input alone and adds a class head on phi(x):
  ``D(x, with_class_logits=True)`` returns (logits (B,), class logits (B, n_classes)) from one pass.
  ``D(x, labels)`` uses the labels where the mode feeds them to D (concat, projection; None: balanced as
  for G) and ignores them otherwise (none, acgan: D judges x alone).

An unconditional pair (``none``) is built exactly as before (the same modules and state-dict keys), so
checkpoints written before conditioning existed load unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _sn

from gan_core.losses import get_loss

if TYPE_CHECKING:
    # For type hints only: gan_core.config imports this module to take its model names from `MODELS`, so
    # importing the config here at run time would be a cycle.
    from gan_core.config import GANConfig

DCGAN_SIZES = (28, 32, 64)  # the image sides the DCGAN pair is built for
# Values in the learned class embedding that G (and the MLP's concat D) takes beside its input: enough to
# keep ten or a hundred classes apart, and about as long as z (a length near sqrt(32)) at initialisation.
LABEL_EMBEDDING = 32


@dataclass(frozen=True)
class Conditioning:
    """One way of giving the networks the class label (see the module docstring)."""

    doc: str  # one line for the config's help
    source: str  # the paper it follows; "" for none
    label_input: bool = False  # D reads the label with the sample (concat)
    projection: bool = False  # D adds <embed(y), phi(x)> to its logit (projection)
    class_head: bool = False  # D predicts the class with a head of its own (acgan)

    @property
    def conditional(self) -> bool:
        """G takes a label (every mode but none)."""
        return self.source != ""

    @property
    def label_to_d(self) -> bool:
        """D's logit depends on the label it is given (concat, projection)."""
        return self.label_input or self.projection


# The one list of conditioning modes, in menu order: the config's choices and the sidebar's menu.
CONDITIONINGS: dict[str, Conditioning] = {
    "none": Conditioning("unconditional", ""),
    "concat": Conditioning("a label embedding fed to G and D", "Mirza & Osindero 2014", label_input=True),
    "projection": Conditioning(
        "D's logit psi(phi(x)) + <embed(y), phi(x)>", "Miyato & Koyama 2018", projection=True
    ),
    "acgan": Conditioning(
        "D also predicts the class (auxiliary classifier)", "Odena et al. 2017", class_head=True
    ),
}


def balanced_labels(n: int, n_classes: int, device: torch.device | str = "cpu") -> Tensor:
    """The default class mix: ``arange(n) % n_classes``, int64 (n,) on ``device`` (every class in turn)."""
    return torch.arange(n, device=device) % n_classes


def model_classes(G: nn.Module) -> int:
    """How many classes a generator is conditioned on: 0 for an unconditional one (or a user's own)."""
    return int(getattr(G, "n_classes", 0))


class _ConditionalG(nn.Module):
    """The label input every generator shares: ``n_classes`` 0 (unconditional) or an embedding of the
    label concatenated with z."""

    def _init_labels(self, n_classes: int) -> int:
        """Sets up the label embedding; returns how many values G's first layer takes beside z."""
        self.n_classes = n_classes
        if not n_classes:
            return 0
        self.label_embedding = nn.Embedding(n_classes, LABEL_EMBEDDING)
        return LABEL_EMBEDDING

    def _input(self, z: Tensor, labels: Tensor | None) -> Tensor:
        if not self.n_classes:
            if labels is not None:
                raise ValueError("labels given to an unconditional generator: allowed only labels=None")
            return z
        if labels is None:
            labels = balanced_labels(z.shape[0], self.n_classes, z.device)
        return torch.cat([z, self.label_embedding(labels)], dim=1)


class MLPGenerator(_ConditionalG):
    """Four linear layers, ReLU between them: z (B, latent_dim) [+ labels (B,)] -> (B, *sample_shape)."""

    def __init__(
        self, latent_dim: int, width: int, sample_shape: tuple[int, ...], image: bool, n_classes: int = 0
    ):
        super().__init__()
        self.sample_shape = sample_shape
        out = math.prod(sample_shape)
        extra = self._init_labels(n_classes)
        self.net = nn.Sequential(
            nn.Linear(latent_dim + extra, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, out),
            nn.Tanh() if image else nn.Identity(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(self._input(z, labels)).view(z.shape[0], *self.sample_shape)


class _ConditionalD(nn.Module):
    """What both discriminators share. ``net`` is the unconditional network (the same modules and
    state-dict keys as before conditioning existed): its last layer is psi, the layers before it compute
    the features phi(x). Conditioning adds a label input (concat), a projection embedding or a class head
    (see the module docstring); each family says how the label joins its input (`_label_input`)."""

    def _init_labels(self, conditioning: str, n_classes: int, label_values: int) -> int:
        """Sets up the label embedding of a concat D (``label_values`` values per class); returns how
        many values the label adds to the input (0 unless concat)."""
        self.conditioning = CONDITIONINGS[conditioning]
        self.n_classes = n_classes if self.conditioning.conditional else 0
        if not self.conditioning.label_input:
            return 0
        self.label_embedding = nn.Embedding(n_classes, label_values)
        return label_values

    def _init_heads(self, features: int, class_head: Callable[[], nn.Module], wrap: Callable) -> None:
        """The projection embedding (``features`` = phi(x)'s size) or the acgan class head (made by
        ``class_head``), by mode. Nothing is built otherwise: an unconditional D draws no more from the
        global RNG than before, so a seed initialises it as it always did."""
        if self.conditioning.projection:
            # Initialised as psi is (a linear map of phi(x) to one logit per class, nn.Linear's own
            # uniform(±1/sqrt(features))), not N(0, 1), which would swamp psi's logit at the start.
            projection = nn.Embedding(self.n_classes, features)
            nn.init.uniform_(projection.weight, -(features**-0.5), features**-0.5)
            self.projection = wrap(projection)  # spectrally normalised with D, as in Miyato & Koyama
        if self.conditioning.class_head:
            self.class_head = class_head()

    def _label_input(self, x: Tensor, embedded: Tensor) -> Tensor:  # pragma: no cover - per family
        raise NotImplementedError

    def forward(
        self, x: Tensor, labels: Tensor | None = None, *, with_class_logits: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Logits (B,) for samples ``x``; with ``with_class_logits`` (acgan only) also the class head's
        logits (B, n_classes) from the same pass. ``labels`` (B,) int64: see the module docstring."""
        mode = self.conditioning
        if with_class_logits and not mode.class_head:
            raise ValueError("with_class_logits=True needs an acgan discriminator (conditioning='acgan')")
        if not mode.conditional:
            return self.net(x).view(-1)
        if labels is None and mode.label_to_d:
            labels = balanced_labels(x.shape[0], self.n_classes, x.device)
        if mode.label_input:  # concat: the label enters with the sample
            return self.net(self._label_input(x, self.label_embedding(labels))).view(-1)
        features = self.net[:-1](x)  # phi(x)
        logits = self.net[-1](features).view(-1)  # psi(phi(x))
        if mode.projection:
            logits = logits + (self.projection(labels) * features.flatten(1)).sum(dim=1)
        if not with_class_logits:
            return logits
        return logits, self.class_head(features).view(x.shape[0], self.n_classes)


class MLPDiscriminator(_ConditionalD):
    """Four linear layers, LeakyReLU(0.2) between them, spectrally normalised on request: (B, *sample_shape)
    -> logits (B,)."""

    def __init__(
        self,
        width: int,
        sample_shape: tuple[int, ...],
        spectral_norm: bool,
        conditioning: str = "none",
        n_classes: int = 0,
    ):
        super().__init__()
        wrap = _sn if spectral_norm else (lambda m: m)
        extra = self._init_labels(conditioning, n_classes, LABEL_EMBEDDING)
        self.net = nn.Sequential(
            nn.Flatten(),
            wrap(nn.Linear(math.prod(sample_shape) + extra, width)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(width, width)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(width, width)),
            nn.LeakyReLU(0.2),  # phi(x): (B, width)
            wrap(nn.Linear(width, 1)),  # psi
        )
        self._init_heads(width, lambda: wrap(nn.Linear(width, n_classes)), wrap)

    def _label_input(self, x: Tensor, embedded: Tensor) -> Tensor:
        return torch.cat([x.flatten(1), embedded], dim=1)  # net's Flatten leaves (B, F) as it is


class DCGANGenerator(_ConditionalG):
    """Radford et al. 2016: transposed convolutions with BatchNorm and ReLU, tanh output.

    ``ngf`` (the config's ``width``) is the channel count of the last hidden layer; each layer back
    towards z doubles it. A conditional G reads z and the label embedding as one 1 x 1 input.
    """

    def __init__(self, latent_dim: int, ngf: int, channels: int, size: int, n_classes: int = 0):
        super().__init__()
        latent_dim += self._init_labels(n_classes)  # the first layer's input: z and the label

        def up(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]

        if size == 28:
            layers = [
                nn.ConvTranspose2d(latent_dim, ngf * 4, 7, 1, 0, bias=False),  # (ngf*4) x 7 x 7
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                *up(ngf * 4, ngf * 2),  # (ngf*2) x 14 x 14
                nn.ConvTranspose2d(ngf * 2, channels, 4, 2, 1),  # channels x 28 x 28
            ]
        else:
            mult = 4 if size == 32 else 8
            layers = [
                nn.ConvTranspose2d(latent_dim, ngf * mult, 4, 1, 0, bias=False),  # (ngf*mult) x 4 x 4
                nn.BatchNorm2d(ngf * mult),
                nn.ReLU(True),
            ]
            while mult > 1:  # each block doubles the side: 4 -> 8 -> 16 (-> 32 for 64 px)
                layers += up(ngf * mult, ngf * mult // 2)
                mult //= 2
            layers.append(nn.ConvTranspose2d(ngf, channels, 4, 2, 1))  # channels x size x size
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        z = self._input(z.view(z.shape[0], -1), labels)
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(_ConditionalD):
    """Strided convolutions with LeakyReLU(0.2) down to one logit.

    BatchNorm is used as in DCGAN, except with spectral norm or a gradient penalty, where per-sample
    independence matters (WGAN-GP's penalty is per sample) and SNGAN uses no normalisation. phi(x) is the
    last feature map ((ndf*k) x 4 x 4, or (ndf*2) x 7 x 7 at 28 px) and psi the convolution over all of it;
    a projection D's embedding has one value per feature, an acgan class head is psi's twin with one
    output per class. A concat D reads the label as one more input channel (H x W embedded values).
    """

    def __init__(
        self,
        ndf: int,
        channels: int,
        size: int,
        spectral_norm: bool,
        batch_norm: bool,
        conditioning: str = "none",
        n_classes: int = 0,
    ):
        super().__init__()
        wrap = _sn if spectral_norm else (lambda m: m)
        self.size = size
        if self._init_labels(conditioning, n_classes, size * size):  # concat: one more input channel
            channels += 1

        def down(c_in: int, c_out: int) -> list[nn.Module]:
            norm = nn.BatchNorm2d(c_out) if batch_norm else nn.Identity()
            return [wrap(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm)), norm, nn.LeakyReLU(0.2, True)]

        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        if size == 28:
            layers += down(ndf, ndf * 2)  # (ndf*2) x 7 x 7
            mult, side = 2, 7
        else:
            mult, side = 1, size // 2
            while side > 4:  # halve the side down to 4 x 4
                layers += down(ndf * mult, ndf * mult * 2)
                mult, side = mult * 2, side // 2
        layers.append(wrap(nn.Conv2d(ndf * mult, 1, side, 1, 0)))  # psi
        self.net = nn.Sequential(*layers)
        head = lambda: wrap(nn.Conv2d(ndf * mult, n_classes, side, 1, 0))  # noqa: E731
        self._init_heads(ndf * mult * side * side, head, wrap)

    def _label_input(self, x: Tensor, embedded: Tensor) -> Tensor:
        return torch.cat([x, embedded.view(x.shape[0], 1, self.size, self.size)], dim=1)


def _dcgan_init(module: nn.Module) -> None:
    # DCGAN paper: all weights from N(0, 0.02); BatchNorm scale from N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        # Under spectral norm `weight` is computed on each access; initialise the stored original.
        if parametrize.is_parametrized(module, "weight"):
            nn.init.normal_(module.parametrizations.weight.original, 0.0, 0.02)
        else:
            nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _build_mlp(cfg: GANConfig, sample_shape: tuple[int, ...], n_classes: int) -> tuple[nn.Module, nn.Module]:
    image = len(sample_shape) == 3
    return (
        MLPGenerator(cfg.latent_dim, cfg.width, sample_shape, image, n_classes),
        MLPDiscriminator(cfg.width, sample_shape, cfg.spectral_norm, cfg.conditioning, n_classes),
    )


def _build_dcgan(
    cfg: GANConfig, sample_shape: tuple[int, ...], n_classes: int
) -> tuple[nn.Module, nn.Module]:
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] not in DCGAN_SIZES:
        raise ValueError(f"dcgan needs square images of {DCGAN_SIZES} px, got shape {sample_shape}")
    channels, size = sample_shape[0], sample_shape[1]
    generator = DCGANGenerator(cfg.latent_dim, cfg.width, channels, size, n_classes)
    batch_norm = not (cfg.spectral_norm or get_loss(cfg.loss).gradient_penalty)
    discriminator = DCGANDiscriminator(
        cfg.width, channels, size, cfg.spectral_norm, batch_norm, cfg.conditioning, n_classes
    )
    generator.apply(_dcgan_init)
    discriminator.apply(_dcgan_init)
    return generator, discriminator


@dataclass(frozen=True)
class ModelSpec:
    """One network family: how to build its pair, and what data it takes (the config checks these)."""

    build: Callable[[GANConfig, tuple[int, ...], int], tuple[nn.Module, nn.Module]]
    takes_points: bool  # builds a pair for 2D points, not only for images
    image_sizes: tuple[int, ...] | None = None  # the image sides it is built for; None: any


# The one list of network families, in menu order: gan_core.config takes its MODELS choices from it.
MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec(_build_mlp, takes_points=True),
    "dcgan": ModelSpec(_build_dcgan, takes_points=False, image_sizes=DCGAN_SIZES),
}


def build_models(
    cfg: GANConfig, sample_shape: tuple[int, ...], n_classes: int = 0
) -> tuple[nn.Module, nn.Module]:
    """G and D for ``cfg`` and the data's sample shape ((2,) or (C, H, W)); on the CPU. ``n_classes``:
    the data's classes (`DataSource.n_classes`, a checkpoint's ``n_classes``), used when
    ``cfg.conditioning`` is not ``none`` and ignored otherwise. ValueError for a shape the model is not
    built for, or a conditional config with fewer than two classes."""
    if CONDITIONINGS[cfg.conditioning].conditional:
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(
                f"conditioning={cfg.conditioning!r} needs the data's number of classes (2 or more), "
                f"got n_classes={n_classes!r}"
            )
    else:
        n_classes = 0
    return MODELS[cfg.model].build(cfg, sample_shape, n_classes)
