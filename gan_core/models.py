"""Generators and discriminators: an MLP pair for 2D points and small images, a DCGAN pair for 28/32/64 px.

Every discriminator returns one logit (raw score) per sample, shape (B,); the loss decides how to read
it (see `gan_core.losses`). Generators return samples in the data's shape: (B, 2) points in data units
(linear output) or (B, C, H, W) images in [-1, 1] (tanh output).

`MODELS` is the one registry of network families by name (the config's choices, the sidebar's menu and
the CLI come from it); `build_models` builds the pair the config names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _sn

from gan_core.losses import get_loss

if TYPE_CHECKING:
    # For type hints only: gan_core.config imports this module to take its model names from `MODELS`, so
    # importing the config here at run time would be a cycle.
    from gan_core.config import GANConfig

DCGAN_SIZES = (28, 32, 64)  # the image sides the DCGAN pair is built for


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, width: int, sample_shape: tuple[int, ...], image: bool):
        super().__init__()
        self.sample_shape = sample_shape
        out = math.prod(sample_shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Linear(width, out),
            nn.Tanh() if image else nn.Identity(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.sample_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, width: int, sample_shape: tuple[int, ...], spectral_norm: bool):
        super().__init__()
        wrap = _sn if spectral_norm else (lambda m: m)
        self.net = nn.Sequential(
            nn.Flatten(),
            wrap(nn.Linear(math.prod(sample_shape), width)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(width, width)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(width, width)),
            nn.LeakyReLU(0.2),
            wrap(nn.Linear(width, 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).view(-1)


class DCGANGenerator(nn.Module):
    """Radford et al. 2016: transposed convolutions with BatchNorm and ReLU, tanh output.

    ``ngf`` (the config's ``width``) is the channel count of the last hidden layer; each layer back
    towards z doubles it.
    """

    def __init__(self, latent_dim: int, ngf: int, channels: int, size: int):
        super().__init__()

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

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Strided convolutions with LeakyReLU(0.2) down to one logit.

    BatchNorm is used as in DCGAN, except with spectral norm or a gradient penalty, where per-sample
    independence matters (WGAN-GP's penalty is per sample) and SNGAN uses no normalisation.
    """

    def __init__(self, ndf: int, channels: int, size: int, spectral_norm: bool, batch_norm: bool):
        super().__init__()
        wrap = _sn if spectral_norm else (lambda m: m)

        def down(c_in: int, c_out: int) -> list[nn.Module]:
            norm = nn.BatchNorm2d(c_out) if batch_norm else nn.Identity()
            return [wrap(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm)), norm, nn.LeakyReLU(0.2, True)]

        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        if size == 28:
            layers += down(ndf, ndf * 2)  # (ndf*2) x 7 x 7
            layers.append(wrap(nn.Conv2d(ndf * 2, 1, 7, 1, 0)))
        else:
            mult, side = 1, size // 2
            while side > 4:  # halve the side down to 4 x 4
                layers += down(ndf * mult, ndf * mult * 2)
                mult, side = mult * 2, side // 2
            layers.append(wrap(nn.Conv2d(ndf * mult, 1, 4, 1, 0)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).view(-1)


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


def _build_mlp(cfg: GANConfig, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    image = len(sample_shape) == 3
    return (
        MLPGenerator(cfg.latent_dim, cfg.width, sample_shape, image),
        MLPDiscriminator(cfg.width, sample_shape, cfg.spectral_norm),
    )


def _build_dcgan(cfg: GANConfig, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] not in DCGAN_SIZES:
        raise ValueError(f"dcgan needs square images of {DCGAN_SIZES} px, got shape {sample_shape}")
    channels, size = sample_shape[0], sample_shape[1]
    generator = DCGANGenerator(cfg.latent_dim, cfg.width, channels, size)
    batch_norm = not (cfg.spectral_norm or get_loss(cfg.loss).gradient_penalty)
    discriminator = DCGANDiscriminator(cfg.width, channels, size, cfg.spectral_norm, batch_norm)
    generator.apply(_dcgan_init)
    discriminator.apply(_dcgan_init)
    return generator, discriminator


@dataclass(frozen=True)
class ModelSpec:
    """One network family: how to build its pair, and what data it takes (the config checks these)."""

    build: Callable[[GANConfig, tuple[int, ...]], tuple[nn.Module, nn.Module]]
    takes_points: bool  # builds a pair for 2D points, not only for images
    image_sizes: tuple[int, ...] | None = None  # the image sides it is built for; None: any


# The one list of network families, in menu order: gan_core.config takes its MODELS choices from it.
MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec(_build_mlp, takes_points=True),
    "dcgan": ModelSpec(_build_dcgan, takes_points=False, image_sizes=DCGAN_SIZES),
}


def build_models(cfg: GANConfig, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """G and D for ``cfg`` and the data's sample shape ((2,) or (C, H, W)); on the CPU. ValueError for a
    shape the model is not built for."""
    return MODELS[cfg.model].build(cfg, sample_shape)
