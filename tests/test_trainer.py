"""Trainer: every loss on every data family for a few steps, updates, determinism, live changes, state."""

import math

import numpy as np
import pytest
import torch

from gan_core.config import LOSSES, GANConfig
from gan_core.evaluation import EVAL_COLUMNS
from gan_core.trainer import RECORD_COLUMNS, Trainer, generator_from_checkpoint, resolve_device

TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu")
FAMILIES = {
    "points": dict(dataset="ring8"),
    "image-mlp": dict(dataset="digits"),
    "image-dcgan": dict(dataset="digits", model="dcgan", image_size=28, width=4),
}


def col(record, name):
    return record[name]


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_on_every_data_family(loss, family):
    cfg = GANConfig(**{**TINY, **FAMILIES[family]}, loss=loss, d_steps=2)
    trainer = Trainer(cfg)
    g_before = [p.detach().clone() for p in trainer.G.parameters()]
    records = [trainer.step() for _ in range(3)]
    assert [col(r, "step") for r in records] == [1.0, 2.0, 3.0]
    for r in records:
        assert tuple(r) == RECORD_COLUMNS  # every column, in the CSV's order
        measured = dict(r)
        assert all(math.isnan(measured.pop(c)) for c in EVAL_COLUMNS)  # filled by the runner's evaluations
        assert all(math.isfinite(v) for v in measured.values()), measured
        assert 0.0 <= col(r, "d_acc_real") <= 1.0 and 0.0 <= col(r, "d_acc_fake") <= 1.0
        assert col(r, "d_loss") == pytest.approx(
            col(r, "d_loss_real") + col(r, "d_loss_fake"), rel=1e-5, abs=1e-6
        )
        assert col(r, "d_grad_norm") > 0 and col(r, "g_grad_norm") > 0
        assert col(r, "d_steps") == 2.0 and col(r, "lr_g") == cfg.lr_g
        assert col(r, "samples_per_s") > 0
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    if cfg.loss in ("minimax", "nonsaturating"):
        assert 0.0 < col(records[-1], "d_real") < 1.0


def test_d_steps_updates_discriminator_that_many_times():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8", d_steps=3))
    trainer.step()
    trainer.step()
    d_state = trainer.opt_d.state[trainer.d_params[0]]
    g_state = trainer.opt_g.state[trainer.g_params[0]]
    assert float(d_state["step"]) == 6.0 and float(g_state["step"]) == 2.0


def test_d_step_leaves_g_and_step_counter_alone():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8"))
    g_before = [p.detach().clone() for p in trainer.G.parameters()]
    d_before = [p.detach().clone() for p in trainer.D.parameters()]
    metrics = trainer.d_step()
    assert trainer.step_count == 0
    assert set(metrics) >= {"d_loss", "d_acc_real", "d_acc_fake", "d_grad_norm"}
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.D.parameters()))


def test_g_step_leaves_d_alone_and_records_a_step():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8"))
    d_before = [p.detach().clone() for p in trainer.D.parameters()]
    record = trainer.g_step()
    assert trainer.step_count == 1 and col(record, "step") == 1.0
    assert all(torch.equal(a, b) for a, b in zip(d_before, trainer.D.parameters()))
    assert math.isnan(col(record, "d_grad_norm"))  # D was not updated
    assert math.isfinite(col(record, "d_loss")) and col(record, "d_steps") == 1.0  # the setting in force


def test_wgan_clips_discriminator_weights():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8", loss="wgan", clip_value=0.05, lr_d=0.1))
    for _ in range(3):
        trainer.step()
    assert max(p.abs().max().item() for p in trainer.D.parameters()) <= 0.05 + 1e-7


def test_same_seed_gives_identical_records_apart_from_time():
    timing = {"time_s", "samples_per_s"}

    def run(seed):
        trainer = Trainer(GANConfig(**TINY, dataset="digits", seed=seed, instance_noise=0.1))
        return [[v for k, v in trainer.step().items() if k not in timing] for _ in range(5)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_set_hparams_changes_optimizers_and_rejects_fixed_fields():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8"))
    changed = trainer.set_hparams(lr_g=1e-3, beta1=0.0, d_steps=2)
    assert changed == {"lr_g": (2e-4, 1e-3), "beta1": (0.5, 0.0), "d_steps": (1, 2)}
    assert trainer.opt_g.param_groups[0]["lr"] == 1e-3
    assert trainer.opt_d.param_groups[0]["betas"] == (0.0, 0.999)
    record = trainer.step()
    assert col(record, "lr_g") == 1e-3 and col(record, "d_steps") == 2.0 and col(record, "beta1") == 0.0
    with pytest.raises(ValueError, match="'width' cannot change mid-run"):
        trainer.set_hparams(width=8)
    with pytest.raises(ValueError, match="lr_d"):
        trainer.set_hparams(lr_d=-1.0)


def test_state_dict_round_trip_continues_exactly():
    cfg = GANConfig(**TINY, dataset="ring8")
    timing = {"time_s", "samples_per_s"}
    straight = Trainer(cfg)
    for _ in range(3):
        straight.step()
    expected = [straight.step() for _ in range(3)]
    first = Trainer(cfg)
    for _ in range(3):
        first.step()
    state = first.state_dict()
    resumed = Trainer(cfg)
    resumed.load_state_dict(state)
    got = [resumed.step() for _ in range(3)]
    strip = lambda rows: [[v for k, v in r.items() if k not in timing] for r in rows]  # noqa: E731
    assert strip(got) == strip(expected)


def test_image_snapshot_uses_fixed_noise():
    trainer = Trainer(GANConfig(**TINY, dataset="digits"))
    a, b = trainer.snapshot()["grid"], trainer.snapshot()["grid"]
    assert a.shape == (8 * 8 + 9, 8 * 8 + 9, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    trainer.step()
    assert not np.array_equal(a, trainer.snapshot()["grid"])
    assert trainer.real_view()["grid"].shape == a.shape


def test_points_snapshot_has_heatmap_and_gradient_arrows():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8", spectral_norm=True))
    d_before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    view = trainer.snapshot(resolution=16)
    assert view["points"].shape == (1000, 2) and view["grads"].shape == (1000, 2)
    assert view["heatmap"].shape == (16, 16)
    assert tuple(view["bounds"]) == pytest.approx(trainer.data.bounds)
    assert ((view["heatmap"] > 0) & (view["heatmap"] < 1)).all()  # probabilities for nonsaturating
    # the view changes nothing in D (spectral norm's power iteration runs only in training mode)
    assert all(torch.equal(d_before[k], v) for k, v in trainer.D.state_dict().items())
    # arrows point where G's loss falls: a small move along them lowers it
    points = torch.as_tensor(view["points"])
    grads = torch.as_tensor(view["grads"])
    with torch.no_grad():
        trainer.D.eval()
        before = trainer.loss.g(trainer.D(points)).item()
        after = trainer.loss.g(trainer.D(points + 1e-3 * grads / grads.norm(dim=1, keepdim=True))).item()
    assert after < before
    # heatmap rows are y, columns are x: the corner cells are D's output at the bounds' corners
    xmin, xmax, ymin, ymax = trainer.data.bounds
    corner = torch.tensor([[xmax, ymin]])
    with torch.no_grad():
        expected = trainer.loss.output(trainer.D(corner)).item()
    assert view["heatmap"][0, -1] == pytest.approx(expected, rel=1e-4)
    assert trainer.real_view()["points"].shape == (1000, 2)


def test_generator_from_checkpoint_matches_trainer():
    trainer = Trainer(GANConfig(**TINY, dataset="ring8"))
    trainer.step()
    cfg, G = generator_from_checkpoint(trainer.state_dict())
    z = torch.randn(5, cfg.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(G(z), trainer.G.eval()(z))


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda:0")
    with pytest.raises(ValueError, match="mps"):
        resolve_device("mps")


def test_the_mode_seeking_ratio_is_a_ratio_of_means_as_in_the_msgan_code():
    """mean |G(z1) - G(z2)| / mean |z1 - z2| over the half batch (HelenMao/MSGAN), not the mean of each
    pair's ratio: a pair of nearly equal noises does not dominate it."""
    trainer = Trainer(GANConfig(**{**TINY, "batch_size": 4}, dataset="ring8", seed=0))
    noises = [torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[1e-3, 0.0], [3.0, 3.0]])]
    trainer._latent = lambda n: noises.pop(0)
    trainer.G_train = lambda z, labels: z**2
    # pairs: |G| apart (5e-7, 8), |z| apart (5e-4, 2); ratio of means 4.0, mean of ratios 2.0
    assert float(trainer._mode_seeking(None)) == pytest.approx(8.0000005 / 2.0005, rel=1e-5)


def test_the_mode_seeking_term_pushes_a_g_that_ignores_its_noise_apart():
    """MSGAN's ratio (mean |G(z1, y) - G(z2, y)| over mean |z1 - z2|): 0 for a G whose output does not
    depend on z, and G's updates with ms_weight raise it; with ms_weight 0 it is never computed."""
    cfg = GANConfig(**TINY, dataset="digits", conditioning="concat", ms_weight=1.0, seed=3)
    trainer = Trainer(cfg)
    first = trainer.G.net[0]  # the layer that reads z and the label embedding: z's weights nearly 0
    with torch.no_grad():
        first.weight[:, : cfg.latent_dim] *= 1e-3
    labels = torch.arange(cfg.batch_size) % 10
    before = float(trainer._mode_seeking(labels))
    for _ in range(30):
        trainer.g_step()
    after = float(trainer._mode_seeking(labels))
    assert 0.0 < before < 1e-3 and after > 10 * before
    plain = Trainer(GANConfig(**TINY, dataset="digits", conditioning="concat", seed=3))
    calls = []
    plain._mode_seeking = lambda labels: calls.append(labels)  # would fail the step if called
    plain.step()
    assert calls == []
