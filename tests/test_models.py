"""Models: the registry builds every family, and D's normalisation follows what the loss says of itself."""

import pytest
import torch
from torch import nn

from gan_core.config import LOSSES, GANConfig
from gan_core.losses import get_loss
from gan_core.models import DCGAN_SIZES, MODELS, build_models

SMALL = dict(width=8, latent_dim=4, batch_size=4, device="cpu")


@pytest.mark.parametrize("model", list(MODELS))
def test_each_model_builds_a_pair_for_the_data_it_takes(model):
    spec = MODELS[model]
    shapes = ([(2,)] if spec.takes_points else []) + [(1, side, side) for side in spec.image_sizes or (8,)]
    for shape in shapes:
        dataset = "ring8" if shape == (2,) else "digits"
        image_size = 0 if shape == (2,) else shape[1]
        cfg = GANConfig(dataset=dataset, model=model, image_size=image_size, **SMALL)
        G, D = build_models(cfg, shape)
        samples = G(torch.randn(3, cfg.latent_dim))
        assert samples.shape == (3, *shape)
        assert D(samples).shape == (3,)  # one logit per sample


def test_dcgan_refuses_a_shape_it_is_not_built_for():
    cfg = GANConfig(dataset="digits", model="dcgan", image_size=DCGAN_SIZES[0], **SMALL)
    with pytest.raises(ValueError, match="dcgan needs square images"):
        build_models(cfg, (1, 8, 8))


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("loss", LOSSES)
def test_dcgan_d_has_batch_norm_unless_spectral_norm_or_a_gradient_penalty(loss, spectral_norm):
    # WGAN-GP's penalty is per sample, so D must not mix samples through batch statistics
    cfg = GANConfig(
        dataset="digits", model="dcgan", image_size=28, loss=loss, spectral_norm=spectral_norm, **SMALL
    )
    G, D = build_models(cfg, (1, 28, 28))
    d_batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert d_batch_norm == (not spectral_norm and not get_loss(loss).gradient_penalty)
    assert any(isinstance(m, nn.BatchNorm2d) for m in G.modules())  # G keeps DCGAN's batch norm
